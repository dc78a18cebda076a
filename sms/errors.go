package sms

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error by what the caller should do about it. One table
// (kinds, below) maps each kind to its HTTP status and SMPP command_status,
// so every edge reports the same problem the same way.
type Kind uint8

const (
	Internal     Kind = iota // a bug or an unexpected failure; retryable by the caller
	Invalid                  // the request is malformed; do not retry
	Unauthorized             // missing or wrong credentials
	Forbidden                // authenticated but not allowed
	NotFound                 // no such thing
	Conflict                 // state does not allow it (already exists, revision changed)
	TooLarge                 // payload or body too large
	Unsupported              // unsupported media type / encoding / command
	Throttled                // slow down and retry
	Unavailable              // temporarily cannot serve (store down, shutting down); retry
	Permanent                // processing failed for good: park the message, do not retry
	OptedOut                 // the recipient opted out of texts from this sender (STOP); do not retry
)

type kindInfo struct {
	name string
	http int
	smpp uint32 // SMPP 3.4 command_status
}

// kinds is the single mapping of error kinds to wire codes.
var kinds = [...]kindInfo{
	Internal:     {"internal", http.StatusInternalServerError, 0x08},     // ESME_RSYSERR
	Invalid:      {"invalid", http.StatusBadRequest, 0x0B},               // ESME_RINVDSTADR by default; edges refine
	Unauthorized: {"unauthorized", http.StatusUnauthorized, 0x0E},        // ESME_RINVPASWD
	Forbidden:    {"forbidden", http.StatusForbidden, 0x0A},              // ESME_RINVSRCADR
	NotFound:     {"not_found", http.StatusNotFound, 0x67},               // ESME_RQUERYFAIL
	Conflict:     {"conflict", http.StatusConflict, 0x08},                // ESME_RSYSERR
	TooLarge:     {"too_large", http.StatusRequestEntityTooLarge, 0x01},  // ESME_RINVMSGLEN
	Unsupported:  {"unsupported", http.StatusUnsupportedMediaType, 0x03}, // ESME_RINVCMDID
	Throttled:    {"throttled", http.StatusTooManyRequests, 0x58},        // ESME_RTHROTTLED
	Unavailable:  {"unavailable", http.StatusServiceUnavailable, 0x14},   // ESME_RMSGQFUL
	Permanent:    {"permanent", http.StatusUnprocessableEntity, 0x45},    // ESME_RSUBMITFAIL
	OptedOut:     {"opted_out", http.StatusForbidden, 0x0401},            // vendor-specific (0x400-0x4FF): recipient opted out
}

func (k Kind) String() string {
	if int(k) < len(kinds) {
		return kinds[k].name
	}
	return fmt.Sprintf("kind(%d)", k)
}

// HTTPStatus is the HTTP status code for errors of this kind.
func (k Kind) HTTPStatus() int {
	if int(k) < len(kinds) {
		return kinds[k].http
	}
	return http.StatusInternalServerError
}

// SMPPStatus is the SMPP command_status for errors of this kind.
func (k Kind) SMPPStatus() uint32 {
	if int(k) < len(kinds) {
		return kinds[k].smpp
	}
	return 0x08
}

// Error is an error with a kind, a stable machine-readable code and a
// message that is safe to show to the user (it never contains a message
// body, a full phone number or a secret). Err is the internal cause, for
// logs only.
type Error struct {
	Kind    Kind
	Code    string // stable, snake_case, e.g. "invalid_number"
	Message string // user-safe
	Err     error  // internal cause; may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind and code with a formatted,
// user-safe message.
func Errorf(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of kind k and code that wraps cause. msg is user-safe.
func Wrap(k Kind, code, msg string, cause error) *Error {
	return &Error{Kind: k, Code: code, Message: msg, Err: cause}
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// CodeOf returns the code of the first *Error in err's chain, or "internal".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return "internal"
}

// PublicMessage returns the user-safe message of the first *Error in err's
// chain, or a generic text: internal causes are never shown to users.
func PublicMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

package sms

import (
	"errors"
	"fmt"
	"testing"
)

// TestErrorTableFromSpec pins every kind's wire codes to values taken from
// outside this package: the HTTP status numbers of RFC 9110/6585, the
// command_status values of the SMPP 3.4 specification (section 5.1.3) and,
// for opted-out recipients, the README ("HTTP 403 ... SMPP status 0x401").
// Literal numbers only: the package's own table is never the oracle.
func TestErrorTableFromSpec(t *testing.T) {
	for _, c := range []struct {
		k    Kind
		name string
		http int
		smpp uint32
	}{
		{Internal, "internal", 500, 0x00000008},         // ESME_RSYSERR
		{Invalid, "invalid", 400, 0x0000000B},           // ESME_RINVDSTADR
		{Unauthorized, "unauthorized", 401, 0x0000000E}, // ESME_RINVPASWD
		{Forbidden, "forbidden", 403, 0x0000000A},       // ESME_RINVSRCADR
		{NotFound, "not_found", 404, 0x00000067},        // ESME_RQUERYFAIL
		{Conflict, "conflict", 409, 0x00000008},         // ESME_RSYSERR
		{TooLarge, "too_large", 413, 0x00000001},        // ESME_RINVMSGLEN
		{Unsupported, "unsupported", 415, 0x00000003},   // ESME_RINVCMDID
		{Throttled, "throttled", 429, 0x00000058},       // ESME_RTHROTTLED
		{Unavailable, "unavailable", 503, 0x00000014},   // ESME_RMSGQFUL
		{Permanent, "permanent", 422, 0x00000045},       // ESME_RSUBMITFAIL
		{OptedOut, "opted_out", 403, 0x00000401},        // README: vendor-specific 0x401
	} {
		if got := c.k.String(); got != c.name {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(c.k), got, c.name)
		}
		if got := c.k.HTTPStatus(); got != c.http {
			t.Errorf("%s.HTTPStatus() = %d, want %d", c.name, got, c.http)
		}
		if got := c.k.SMPPStatus(); got != c.smpp {
			t.Errorf("%s.SMPPStatus() = %#x, want %#x", c.name, got, c.smpp)
		}
	}
}

// TestUnknownKindFallsBack: a kind past the table (a newer peer, a
// corrupted value) must not panic and reports an internal error on both
// edges. 12 is the first value after OptedOut; 255 the largest.
func TestUnknownKindFallsBack(t *testing.T) {
	for _, k := range []Kind{12, 13, 255} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("Kind(%d): panic %v", uint8(k), r)
				}
			}()
			if got, want := k.String(), fmt.Sprintf("kind(%d)", uint8(k)); got != want {
				t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
			}
			if got := k.HTTPStatus(); got != 500 {
				t.Errorf("Kind(%d).HTTPStatus() = %d, want 500", uint8(k), got)
			}
			if got := k.SMPPStatus(); got != 0x08 {
				t.Errorf("Kind(%d).SMPPStatus() = %#x, want 0x08 (ESME_RSYSERR)", uint8(k), got)
			}
		}()
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("kv: connection refused")
	for _, c := range []struct {
		name string
		err  *Error
		want string
	}{
		{"no cause", Errorf(Invalid, "invalid_number", "phone number %s", "is empty"), "phone number is empty"},
		{"with cause", Wrap(Unavailable, "unavailable", "try again", cause), "try again: kv: connection refused"},
		{"empty message with cause", Wrap(Internal, "", "", cause), ": kv: connection refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.err.Error(); got != c.want {
				t.Errorf("Error() = %q, want %q", got, c.want)
			}
		})
	}
	if got := Wrap(Unavailable, "unavailable", "try again", cause); !errors.Is(got, cause) {
		t.Error("Wrap: errors.Is does not reach the cause")
	}
	if got := Errorf(Invalid, "x", "y"); got.Unwrap() != nil {
		t.Errorf("Errorf: Unwrap() = %v, want nil", got.Unwrap())
	}
}

func TestErrorAccessorsDefaults(t *testing.T) {
	plain := errors.New("boom")
	for _, c := range []struct {
		name     string
		err      error
		kind     Kind
		code     string
		public   string
		internal bool
	}{
		{"nil", nil, Internal, "internal", "internal error", true},
		{"plain", plain, Internal, "internal", "internal error", true},
		{"typed", Errorf(Conflict, "idempotency_key_reused", "key reused"), Conflict, "idempotency_key_reused", "key reused", false},
		{"typed without code or message", &Error{Kind: Throttled}, Throttled, "internal", "internal error", false},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", Errorf(NotFound, "not_found", "no such message"))), NotFound, "not_found", "no such message", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := KindOf(c.err); got != c.kind {
				t.Errorf("KindOf = %v, want %v", got, c.kind)
			}
			if got := CodeOf(c.err); got != c.code {
				t.Errorf("CodeOf = %q, want %q", got, c.code)
			}
			if got := PublicMessage(c.err); got != c.public {
				t.Errorf("PublicMessage = %q, want %q", got, c.public)
			}
		})
	}
}

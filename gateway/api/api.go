package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/auth"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// Acceptor persists a message at ingress (internal/app.Ingress).
type Acceptor interface {
	Accept(ctx context.Context, m *sms.Message) error
	AcceptOnce(ctx context.Context, m *sms.Message, scope, key string, request []byte) (bool, error)
}

// Reader is the read model (archive/readmodel.Index).
type Reader interface {
	Get(ctx context.Context, id sms.MessageID) (readmodel.View, error)
	List(ctx context.Context, q readmodel.Query) ([]readmodel.View, sms.MessageID, error)
}

// Redactor returns the redacted form of a text; used to fingerprint
// idempotent requests without storing raw text.
type Redactor func(text string) string

// Config is what the API needs.
type Config struct {
	MaxBodyChars    int
	MaxRequestBytes int64
	Ingress         Acceptor
	Reader          Reader
	Directory       *directory.Directory
	Tokens          *auth.Tokens
	Redact          Redactor
	// WebhookAllow are the networks (CIDRs) employees' webhooks may reach
	// besides public addresses (config webhook.allow_networks).
	WebhookAllow []string
	// SandboxMO, when set, makes the sandbox carrier send an MO text
	// (POST /v1/sandbox/inbound).
	SandboxMO func(ctx context.Context, from, to sms.Number, body string) error
	// Search and Audit serve the compliance endpoints (/v1/compliance/...);
	// both nil: those endpoints are off.
	Search Searcher
	Audit  Auditor
	Holds  HoldKeeper // nil: no legal hold endpoints
	Export Exporter   // nil: no export endpoint
	// Ready reports readiness for /readyz and the state of each check
	// ("ok" or why not); nil: always ready.
	Ready func() (bool, map[string]string)
	// Limits are the rate limits (zero: none).
	Limits Limits
	// HSTS sends Strict-Transport-Security on every answer (the API is
	// served over TLS, directly or by a proxy in front).
	HSTS bool
	Log  *slog.Logger
}

// Server is the HTTP handler.
type Server struct {
	cfg Config
	mux *http.ServeMux

	mu      sync.Mutex
	holding map[string]heldNumbers // employee id -> numbers, cached briefly

	ipLim, tokLim, sendLim, failLim *limiter
	recips                          *recipients
	failLog                         *limiter // one failed-auth log line per IP per interval
}

type heldNumbers struct {
	nums []sms.Number
	exp  time.Time
}

// New returns the API handler.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), holding: map[string]heldNumbers{}}
	l := cfg.Limits
	s.ipLim = newLimiter(l.PerIP, l.IPBurst, l.MaxTrackedClients)
	s.tokLim = newLimiter(l.PerToken, l.TokenBurst, l.MaxTrackedClients)
	s.sendLim = newLimiter(float64(l.SendsPerMinute)/60, l.SendsPerMinute, l.MaxTrackedClients)
	s.failLim = newLimiter(float64(l.FailedAuthPerMinute)/60, l.FailedAuthPerMinute, l.MaxTrackedClients)
	s.failLog = newLimiter(1/cmpOrDur(l.FailedAuthLogInterval, time.Minute).Seconds(), 1, l.MaxTrackedClients)
	if l.NewRecipientsPerDay > 0 {
		s.recips = &recipients{max: l.NewRecipientsPerDay}
	}
	s.routes()
	return s
}

func cmpOrDur(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	if s.cfg.HSTS {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	if r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
		if ok, wait := s.ipLim.allow(clientIP(r, s.cfg.Limits.TrustForwardedFor), time.Now()); !ok {
			throttled(w, wait, "rate_limited", "too many requests from this address; retry after the Retry-After delay")
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// authFailed counts and logs (never the token) a failed authentication.
func (s *Server) authFailed(r *http.Request, why string) {
	ip := clientIP(r, s.cfg.Limits.TrustForwardedFor)
	s.failLim.allow(ip, time.Now())
	if ok, _ := s.failLog.allow(ip, time.Now()); ok {
		s.cfg.Log.Warn("authentication failed", "ip", ip, "path", r.URL.Path, "why", why)
	}
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		// For load balancers: 503 takes the node out of rotation while a
		// dependency it needs to carry a message is down; /healthz (200 while
		// the process serves) is the liveness probe.
		if s.cfg.Ready == nil {
			writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
			return
		}
		ok, checks := s.cfg.Ready()
		if !ok {
			w.Header().Set("Retry-After", "2")
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not_ready", "checks": checks,
				"error": map[string]string{"code": "not_ready", "message": "a dependency this node needs is down; see checks"}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
	})
	s.mux.Handle("POST /v1/messages", s.auth(auth.RoleEmployee, s.sendMessage))
	s.mux.Handle("GET /v1/messages/{id}", s.auth("", s.getMessage))
	s.mux.Handle("GET /v1/messages", s.auth("", s.listMessages))
	s.mux.Handle("GET /v1/me", s.auth("", s.me))

	s.mux.Handle("POST /v1/numbers", s.auth(auth.RoleAdmin, s.addNumber))
	s.mux.Handle("GET /v1/numbers", s.auth(auth.RoleAdmin, s.listNumbers))
	s.mux.Handle("GET /v1/numbers/{number}", s.auth(auth.RoleAdmin, s.getNumber))
	s.mux.Handle("POST /v1/numbers/{number}/assign", s.auth(auth.RoleAdmin, s.assignNumber))
	s.mux.Handle("POST /v1/numbers/{number}/release", s.auth(auth.RoleAdmin, s.releaseNumber))
	s.mux.Handle("POST /v1/employees", s.auth(auth.RoleAdmin, s.createEmployee))
	s.mux.Handle("GET /v1/employees", s.auth(auth.RoleAdmin, s.listEmployees))
	s.mux.Handle("GET /v1/employees/{id}", s.auth(auth.RoleAdmin, s.getEmployee))
	s.mux.Handle("PUT /v1/employees/{id}/webhook", s.auth(auth.RoleAdmin, s.setWebhook))
	s.mux.Handle("POST /v1/employees/{id}/tokens", s.auth(auth.RoleAdmin, s.issueToken))
	s.mux.Handle("POST /v1/sandbox/inbound", s.auth(auth.RoleAdmin, s.sandboxInbound))
	s.numbersRoutes()
	s.complianceRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, sms.Errorf(sms.NotFound, "not_found", "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

type ctxKey struct{}

func tokenOf(ctx context.Context) auth.Token {
	t, _ := ctx.Value(ctxKey{}).(auth.Token)
	return t
}

// auth checks the bearer token and, if role is set, that the token has it.
func (s *Server) auth(role string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.failLim != nil {
			// An address that keeps presenting bad tokens is refused before
			// another lookup (token guessing, a misconfigured client).
			ip := clientIP(r, s.cfg.Limits.TrustForwardedFor)
			if ok, wait := s.failLim.peek(ip, time.Now()); !ok {
				throttled(w, wait, "too_many_failed_auth", "too many failed authentications from this address; retry after the Retry-After delay")
				return
			}
		}
		hdr := r.Header.Get("Authorization")
		plain, ok := strings.CutPrefix(hdr, "Bearer ")
		if !ok {
			s.authFailed(r, "missing bearer token")
			w.Header().Set("WWW-Authenticate", `Bearer realm="smsgw"`)
			writeError(w, sms.Errorf(sms.Unauthorized, "unauthorized", "missing or invalid bearer token"))
			return
		}
		tok, err := s.cfg.Tokens.Lookup(r.Context(), strings.TrimSpace(plain))
		if err != nil {
			if sms.KindOf(err) == sms.Unauthorized {
				s.authFailed(r, "unknown or revoked token")
				w.Header().Set("WWW-Authenticate", `Bearer realm="smsgw", error="invalid_token"`)
			}
			writeError(w, err)
			return
		}
		if ok, wait := s.tokLim.allow(tok.Hash, time.Now()); !ok {
			throttled(w, wait, "rate_limited", "too many requests with this token; retry after the Retry-After delay")
			return
		}
		if role != "" && !tok.Has(role) {
			writeError(w, sms.Errorf(sms.Forbidden, "forbidden", "this token lacks the %s role", role))
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, tok))
		if role == auth.RoleAdmin && r.Method != http.MethodGet && s.cfg.Audit != nil {
			s.auditAdmin(w, r, h)
			return
		}
		h(w, r)
	})
}

// decode reads a JSON request body into v with the API's rules: JSON
// content type (415), size limit (413), well-formed (400 malformed_json),
// no unknown fields (400 unknown_field), a single object.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return nil, sms.Errorf(sms.Unsupported, "unsupported_media_type", "Content-Type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, sms.Errorf(sms.TooLarge, "payload_too_large", "request body exceeds %d bytes", s.cfg.MaxRequestBytes)
		}
		return nil, sms.Wrap(sms.Invalid, "malformed_request", "could not read the request body", err)
	}
	// encoding/json would quietly turn bytes that are not UTF-8, and
	// escaped lone surrogates, into U+FFFD: refuse them instead, naming
	// the field they are in.
	if off := badEncoding(body); off >= 0 {
		return nil, &fieldError{err: sms.Errorf(sms.Invalid, "invalid_encoding", "request body must be UTF-8 text (no lone surrogates)"), field: jsonKeyBefore(body, off)}
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return nil, &fieldError{err: sms.Errorf(sms.Invalid, "unknown_field", "unknown field %s", f), field: strings.Trim(f, `"`)}
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &fieldError{err: sms.Errorf(sms.Invalid, "invalid_type", "field %s must be a %s", te.Field, te.Type.Kind()), field: te.Field}
		}
		return nil, sms.Errorf(sms.Invalid, "malformed_json", "request body is not valid JSON")
	}
	if dec.More() {
		return nil, sms.Errorf(sms.Invalid, "malformed_json", "request body must be a single JSON object")
	}
	return body, nil
}

// fieldError is an *sms.Error that names the request field at fault.
type fieldError struct {
	err   *sms.Error
	field string
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func withField(err error, field string) error {
	var se *sms.Error
	if errors.As(err, &se) {
		return &fieldError{err: se, field: field}
	}
	return err
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	var b errorBody
	b.Error.Code = sms.CodeOf(err)
	b.Error.Message = sms.PublicMessage(err)
	var fe *fieldError
	if errors.As(err, &fe) {
		b.Error.Field = fe.field
	}
	k := sms.KindOf(err)
	if (k == sms.Throttled || k == sms.Unavailable) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, k.HTTPStatus(), b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// badEncoding returns the offset of the first byte that is not UTF-8, or
// of an escaped surrogate (\uD800-\uDFFF) that is not half of a pair,
// or -1.
func badEncoding(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		if b[i] == '\\' && i+1 < len(b) {
			if b[i+1] == 'u' {
				if hi, ok := hex4(b, i+2); ok && hi >= 0xD800 && hi <= 0xDFFF {
					lo, ok := -1, false
					if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
						var v int
						v, ok = hex4(b, i+8)
						lo = v
					}
					if hi >= 0xDC00 || !ok || lo < 0xDC00 || lo > 0xDFFF {
						return i
					}
					i += 12
					continue
				}
			}
			i += 2 // an escape: skip the escaped character (\\ or \")
			continue
		}
		i += n
	}
	return -1
}

func hex4(b []byte, at int) (int, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// jsonKeyBefore names the object key whose value holds offset off of a
// flat JSON object ("" when it cannot tell).
func jsonKeyBefore(b []byte, off int) string {
	colon := bytes.LastIndex(b[:off], []byte(`":`))
	if colon < 0 {
		return ""
	}
	start := bytes.LastIndexByte(b[:colon], '"')
	if start < 0 {
		return ""
	}
	return string(b[start+1 : colon])
}

package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/gateway/api"
	"github.com/smsgw/smsgw/internal/auth"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// The API is built here with its real dependencies — the directory and the
// tokens on an in-process JetStream, the SQLite read model — and test
// doubles only where the API hands work on: ingress (the pipeline), legal
// holds and exports (the archive), the audit trail.

const (
	bizNumber   = "+14155550100"
	bizNumber2  = "+14155550101"
	otherNumber = "+14155550102"
	customer    = "+14155550199"
	optedOut    = "+14155550198" // ingress refuses texts to this one (the recipient opted out)
	unreachable = "+14155550197" // ingress cannot persist texts to this one
)

// ingress is the Acceptor: it keeps what it accepted and honours
// idempotency keys per scope, as internal/app's ingress does.
type ingress struct {
	mu   sync.Mutex
	got  []*sms.Message
	keys map[string]idem // scope + "\x00" + key
	// scopes records the scope of every AcceptOnce.
	scopes []string
}

type idem struct {
	id  sms.MessageID
	req string
}

func (in *ingress) Accept(ctx context.Context, m *sms.Message) error {
	switch m.To {
	case optedOut:
		return sms.Errorf(sms.OptedOut, "recipient_opted_out", "the recipient opted out")
	case unreachable:
		return sms.Errorf(sms.Unavailable, "unavailable", "the message could not be persisted; retry")
	}
	if m.ID == "" {
		m.ID = sms.NewMessageID()
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.got = append(in.got, m)
	return nil
}

func (in *ingress) AcceptOnce(ctx context.Context, m *sms.Message, scope, key string, request []byte) (bool, error) {
	in.mu.Lock()
	in.scopes = append(in.scopes, scope)
	prev, ok := in.keys[scope+"\x00"+key]
	in.mu.Unlock()
	if ok {
		if prev.req != string(request) {
			return false, sms.Errorf(sms.Conflict, "idempotency_key_reused", "this Idempotency-Key was used with a different request")
		}
		m.ID = prev.id
		return true, nil
	}
	if err := in.Accept(ctx, m); err != nil {
		return false, err
	}
	in.mu.Lock()
	in.keys[scope+"\x00"+key] = idem{m.ID, string(request)}
	in.mu.Unlock()
	return false, nil
}

func (in *ingress) accepted() []*sms.Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]*sms.Message(nil), in.got...)
}

// audit is the audit trail; it fails while fail is set.
type audit struct {
	mu      sync.Mutex
	entries []archive.AuditEntry
	fail    bool
}

func (a *audit) append(ctx context.Context, e archive.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return errors.New("journal unavailable")
	}
	a.entries = append(a.entries, e)
	return nil
}

func (a *audit) setFail(v bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = v
}

func (a *audit) all() []archive.AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]archive.AuditEntry(nil), a.entries...)
}

// holds is the HoldKeeper.
type holds struct {
	mu      sync.Mutex
	matters map[string]archive.Matter
}

func (h *holds) Place(ctx context.Context, actor, name, reason string, q *readmodel.Search, ids []sms.MessageID) (archive.Matter, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := archive.Matter{ID: sms.NewULID(time.Now()), Name: name, Reason: reason, State: "active", CreatedBy: actor, CreatedAt: time.Now().UTC(), MessageIDs: []string{}, Segments: []string{}}
	for _, id := range ids {
		m.MessageIDs = append(m.MessageIDs, string(id))
	}
	h.matters[m.ID] = m
	return m, nil
}

func (h *holds) Release(ctx context.Context, actor, id string) (archive.Matter, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.matters[id]
	if !ok {
		return archive.Matter{}, sms.Errorf(sms.NotFound, "matter_not_found", "no such matter")
	}
	m.State, m.ReleasedBy = "released", actor
	h.matters[id] = m
	return m, nil
}

func (h *holds) Get(ctx context.Context, id string) (archive.Matter, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.matters[id]
	if !ok {
		return archive.Matter{}, sms.Errorf(sms.NotFound, "matter_not_found", "no such matter")
	}
	return m, nil
}

func (h *holds) List(ctx context.Context) ([]archive.Matter, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []archive.Matter{}
	for _, m := range h.matters {
		out = append(out, m)
	}
	return out, nil
}

// exporter is the Exporter.
type exporter struct{}

func (exporter) Export(ctx context.Context, actor string, q *readmodel.Search, matter string) ([]byte, archive.Manifest, error) {
	return []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), archive.Manifest{CreatedAt: time.Now().UTC(), CreatedBy: actor}, nil
}

// discardEvents is the directory's event sink: the API tests read state,
// not the change events.
type discardEvents struct{}

func (discardEvents) Emit(ctx context.Context, e sms.Event) error { return nil }

// env is an API under test and what it is built on.
type env struct {
	t       *testing.T
	srv     *httptest.Server
	dir     *directory.Directory
	tokens  *auth.Tokens
	idx     *readmodel.Index
	in      *ingress
	audit   *audit
	ready   bool
	readyMu sync.Mutex
	logs    *testenv.SyncBuffer

	admin, compliance, both string // staff tokens: admin only, compliance only, both roles
	jane, sam, newbie       string // employee tokens: jane holds bizNumber, sam holds bizNumber2 and otherNumber, newbie holds nothing
	roleless                string // the employee role without an employee (not issuable through the API)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	b := testenv.OpenBus(t)
	e := &env{t: t, in: &ingress{keys: map[string]idem{}}, audit: &audit{}, ready: true, logs: &testenv.SyncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	stores := directory.Stores{
		Numbers: b.KV(bus.BucketNumbers), Employees: b.KV(bus.BucketEmployees), Queues: b.KV(bus.BucketQueues),
		Conversations: b.KV(bus.BucketConversations), OptOuts: b.KV(bus.BucketOptOuts), Events: discardEvents{},
	}
	if e.dir, err = directory.Open(stores, directory.DefaultConfig(), log); err != nil {
		t.Fatal(err)
	}
	e.dir.SetCarriers([]string{"sandbox"})
	e.tokens = auth.New(b)
	if e.idx, err = readmodel.Open(filepath.Join(t.TempDir(), "readmodel.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.idx.Close() })
	h := api.New(api.Config{
		MaxBodyChars: 1600, MaxRequestBytes: 64 << 10,
		Ingress: e.in, Reader: e.idx, Directory: e.dir, Tokens: e.tokens,
		Redact: func(s string) string { return s },
		Search: e.idx, Audit: e.audit.append,
		Holds: &holds{matters: map[string]archive.Matter{}}, Export: exporter{},
		Ready: func() (bool, map[string]string) {
			e.readyMu.Lock()
			defer e.readyMu.Unlock()
			if !e.ready {
				return false, map[string]string{"archive": "unreachable"}
			}
			return true, map[string]string{"archive": "ok"}
		},
		SandboxMO: func(ctx context.Context, from, to sms.Number, body string) error {
			return nil
		},
		Log: log,
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)

	issue := func(name string, roles []string, employee string) string {
		tok, _, err := e.tokens.Issue(ctx, name, roles, employee)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	e.admin = issue("Ada (admin)", []string{auth.RoleAdmin}, "")
	e.compliance = issue("Carol (compliance)", []string{auth.RoleCompliance}, "")
	e.both = issue("Bootstrap (admin+compliance)", []string{auth.RoleAdmin, auth.RoleCompliance}, "")
	e.roleless = issue("employee role, no employee", []string{auth.RoleEmployee}, "")
	for _, emp := range []struct{ id, numbers string }{{"jane", bizNumber}, {"sam", bizNumber2 + " " + otherNumber}, {"newbie", ""}} {
		if _, err := e.dir.CreateEmployee(ctx, directory.Employee{ID: emp.id, Name: emp.id}); err != nil {
			t.Fatal(err)
		}
		for _, n := range strings.Fields(emp.numbers) {
			if _, err := e.dir.AddNumber(ctx, directory.Number{Number: sms.Number(n), Carrier: "sandbox"}, "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.dir.Assign(ctx, sms.Number(n), emp.id, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.jane = issue("employee jane", []string{auth.RoleEmployee}, "jane")
	e.sam = issue("employee sam", []string{auth.RoleEmployee}, "sam")
	e.newbie = issue("employee newbie", []string{auth.RoleEmployee}, "newbie")
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %s", r.status, r.body)
	}
	return m
}

// apiError is the documented error shape.
func (r resp) apiError(t *testing.T) (code, message, field string) {
	t.Helper()
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("answer %d is not a JSON error: %s", r.status, r.body)
	}
	return b.Error.Code, b.Error.Message, b.Error.Field
}

// do sends a request; body is sent as is when a string or []byte, JSON
// otherwise; hdr are name/value pairs (a Content-Type there wins).
func (e *env) do(method, path, token string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, data}
}

// archived puts a redacted, archived message into the read model.
func (e *env) archived(m sms.Message) sms.Message {
	e.t.Helper()
	if m.ID == "" {
		m.ID = sms.NewMessageID()
	}
	m.AcceptedAt = time.Now().UTC()
	m.ArchivedAt = m.AcceptedAt
	m.Segment = "segments/test"
	m.Verdict = sms.VerdictPass
	if err := e.idx.ApplyMessages(context.Background(), []sms.Message{m}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.idx.ApplyEvents(context.Background(), []sms.Event{{MessageID: m.ID, Status: sms.StatusArchived, At: m.ArchivedAt}}); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// TestSendMessageErrors: every error code the README documents for POST
// /v1/messages, with its status, its field, and nothing accepted.
func TestSendMessageErrors(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 1601)
	cases := []struct {
		name       string
		token      string
		body       any
		hdr        []string
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"no token", "", map[string]string{"to": customer, "body": "x"}, nil, 401, "unauthorized", ""},
		{"unknown token", "smsgw_notatoken", map[string]string{"to": customer, "body": "x"}, nil, 401, "unauthorized", ""},
		{"not a bearer token", "", map[string]string{"to": customer, "body": "x"}, []string{"Authorization", "Basic amFuZTpwdw=="}, 401, "unauthorized", ""},
		{"admin token", e.admin, map[string]string{"to": customer, "body": "x"}, nil, 403, "forbidden", ""},
		{"compliance token", e.compliance, map[string]string{"to": customer, "body": "x"}, nil, 403, "forbidden", ""},
		{"employee role without an employee", e.roleless, map[string]string{"to": customer, "body": "x"}, nil, 403, "not_an_employee", ""},
		{"from a number not held", e.jane, map[string]string{"to": customer, "from": bizNumber2, "body": "x"}, nil, 403, "unknown_sender", "from"},
		{"from a number nobody has", e.jane, map[string]string{"to": customer, "from": "+14155550999", "body": "x"}, nil, 403, "unknown_sender", "from"},
		{"no number held", e.newbie, map[string]string{"to": customer, "body": "x"}, nil, 403, "no_assigned_number", ""},
		{"several numbers held, no from", e.sam, map[string]string{"to": customer, "body": "x"}, nil, 400, "from_required", "from"},
		{"text/plain", e.jane, map[string]string{"to": customer, "body": "x"}, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
		{"no content type", e.jane, map[string]string{"to": customer, "body": "x"}, []string{"Content-Type", ""}, 415, "unsupported_media_type", ""},
		{"too large", e.jane, `{"to":"` + customer + `","body":"` + strings.Repeat("b", 70<<10) + `"}`, nil, 413, "payload_too_large", ""},
		{"malformed json", e.jane, `{"to": "+1415`, nil, 400, "malformed_json", ""},
		{"two objects", e.jane, `{"to":"` + customer + `","body":"a"}{}`, nil, 400, "malformed_json", ""},
		{"unknown field", e.jane, map[string]string{"to": customer, "body": "x", "cc": customer}, nil, 400, "unknown_field", "cc"},
		{"wrong type", e.jane, `{"to": 14155550199, "body": "x"}`, nil, 400, "invalid_type", "to"},
		{"to not E.164", e.jane, map[string]string{"to": "4155550199", "body": "x"}, nil, 400, "invalid_number", "to"},
		{"from not E.164", e.jane, map[string]string{"to": customer, "from": "jane's phone", "body": "x"}, nil, 400, "invalid_number", "from"},
		{"empty body", e.jane, map[string]string{"to": customer, "body": ""}, nil, 400, "empty_body", "body"},
		{"blank body", e.jane, map[string]string{"to": customer, "body": " \t\n"}, nil, 400, "empty_body", "body"},
		{"body too long", e.jane, map[string]string{"to": customer, "body": long}, nil, 400, "body_too_long", "body"},
		{"idempotency key too long", e.jane, map[string]string{"to": customer, "body": "x"}, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400, "invalid_idempotency_key", ""},
		{"recipient opted out", e.jane, map[string]string{"to": optedOut, "body": "x"}, nil, 403, "recipient_opted_out", ""},
		{"not persisted", e.jane, map[string]string{"to": unreachable, "body": "x"}, nil, 503, "unavailable", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/v1/messages", c.token, c.body, c.hdr...)
			if r.status != c.wantStatus {
				t.Fatalf("status %d %s, want %d", r.status, r.body, c.wantStatus)
			}
			code, msg, field := r.apiError(t)
			if code != c.wantCode || msg == "" || field != c.wantField {
				t.Errorf("error code %q field %q message %q, want code %q field %q and a message", code, field, msg, c.wantCode, c.wantField)
			}
			if got := r.header.Get("Retry-After"); (c.wantStatus == 503) != (got != "") {
				t.Errorf("Retry-After %q on a %d", got, r.status)
			}
			if c.wantStatus == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if strings.Contains(string(r.body), "14155550199") {
				t.Errorf("the error echoes the customer's number: %s", r.body)
			}
		})
	}
	if n := len(e.in.accepted()); n != 0 {
		t.Errorf("%d messages were accepted by refused requests", n)
	}
}

// The README documents invalid_encoding 400 for a body that is not UTF-8.
func TestSendMessageInvalidEncoding(t *testing.T) {
	e := newEnv(t)
	for _, body := range [][]byte{
		[]byte("{\"to\":\"" + customer + "\",\"body\":\"caf\xe9\"}"),          // Latin-1
		[]byte("{\"to\":\"" + customer + "\",\"body\":\"a\xff\xfeb\"}"),       // not UTF-8 at all
		[]byte("{\"to\":\"" + customer + "\",\"body\":\"x \\ud800 y\"}"),      // a lone high surrogate
		[]byte("{\"to\":\"" + customer + "\",\"body\":\"x \\udc00\"}"),        // a lone low surrogate
		[]byte("{\"to\":\"" + customer + "\",\"body\":\"nul \\u0000 here\"}"), // NUL
	} {
		r := e.do("POST", "/v1/messages", e.jane, body)
		if code, _, field := r.apiError(t); r.status != 400 || code != "invalid_encoding" || field != "body" {
			t.Errorf("body %q: %d %s, want 400 invalid_encoding on body", body, r.status, r.body)
		}
	}
}

// TestSendMessageAccepted: 202 with the id, the held number as sender, a
// Location; the message reaches ingress as the employee's, on the
// number's carrier.
func TestSendMessageAccepted(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/v1/messages", e.jane, map[string]string{"to": customer, "body": "hello"})
	if r.status != 202 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	m := r.json(t)
	id, _ := m["id"].(string)
	if m["status"] != "accepted" || m["from"] != bizNumber || m["to"] != customer || len(id) != 26 {
		t.Errorf("answer %v", m)
	}
	if r.header.Get("Location") != "/v1/messages/"+id {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	// sam names one of his numbers.
	if r := e.do("POST", "/v1/messages", e.sam, map[string]string{"to": customer, "from": otherNumber, "body": "hi"}); r.status != 202 || r.json(t)["from"] != otherNumber {
		t.Errorf("send from a named number: %d %s", r.status, r.body)
	}
	got := e.in.accepted()
	if len(got) != 2 {
		t.Fatalf("ingress got %d messages, want 2", len(got))
	}
	if g := got[0]; string(g.ID) != id || g.EmployeeID != "jane" || g.From != bizNumber || g.To != customer || g.Body != "hello" ||
		g.Direction != sms.Outbound || g.Carrier != "sandbox" || g.Source != sms.SourceHTTP {
		t.Errorf("ingress got %+v", g)
	}
	if got[1].EmployeeID != "sam" || got[1].From != otherNumber {
		t.Errorf("ingress got %+v", got[1])
	}
}

// TestIdempotencyKeyPerEmployee: the API scopes an Idempotency-Key to the
// employee sending: the same key from two employees is two messages, the
// same key and request from one employee is a replay, a different request
// under it a 409.
func TestIdempotencyKeyPerEmployee(t *testing.T) {
	e := newEnv(t)
	send := func(tok, from, body string) resp {
		req := map[string]string{"to": customer, "body": body}
		if from != "" {
			req["from"] = from
		}
		return e.do("POST", "/v1/messages", tok, req, "Idempotency-Key", "order-42")
	}
	j1 := send(e.jane, "", "your order shipped")
	s1 := send(e.sam, bizNumber2, "your order shipped")
	if j1.status != 202 || s1.status != 202 {
		t.Fatalf("first sends: %d %s / %d %s", j1.status, j1.body, s1.status, s1.body)
	}
	if j1.json(t)["id"] == s1.json(t)["id"] {
		t.Errorf("two employees using one key were given the same message id")
	}
	j2 := send(e.jane, "", "your order shipped")
	if j2.status != 202 || j2.json(t)["id"] != j1.json(t)["id"] || j2.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %s (Idempotent-Replayed %q)", j2.status, j2.body, j2.header.Get("Idempotent-Replayed"))
	}
	if j3 := send(e.jane, "", "something else"); j3.status != 409 {
		t.Errorf("reused key, other body: %d %s, want 409", j3.status, j3.body)
	} else if code, _, _ := j3.apiError(t); code != "idempotency_key_reused" {
		t.Errorf("reused key, other body: code %q", code)
	}
	e.in.mu.Lock()
	scopes := append([]string(nil), e.in.scopes...)
	e.in.mu.Unlock()
	if strings.Join(scopes, ",") != "jane,sam,jane,jane" {
		t.Errorf("idempotency scopes %v, want the sending employee each time", scopes)
	}
	if n := len(e.in.accepted()); n != 2 {
		t.Errorf("%d messages accepted, want 2 (one per employee)", n)
	}
}

// route is one endpoint of the README's tables and who may call it.
type route struct {
	method, path string
	body         any
	// who: the roles the README lets call it ("admin", "compliance",
	// "employee" — an employee for what is theirs), "any" (every token),
	// "none" (no token needed).
	who string
}

// readmeRoutes are the endpoints of the README's HTTP API table and its
// business-numbers paragraph, with their "who".
func readmeRoutes(e *env, msgID, convID, matter string) []route {
	return []route{
		{"POST", "/v1/messages", map[string]string{"to": customer, "body": "x"}, "employee"},
		{"GET", "/v1/me", nil, "any"},
		{"POST", "/v1/numbers", map[string]string{"number": "+14155550160"}, "admin"},
		{"GET", "/v1/numbers", nil, "admin"},
		{"GET", "/v1/numbers/" + bizNumber, nil, "admin"},
		{"POST", "/v1/numbers/" + otherNumber + "/assign", map[string]string{"employee_id": "newbie"}, "admin"},
		{"POST", "/v1/numbers/" + bizNumber2 + "/release", nil, "admin"},
		{"POST", "/v1/employees", map[string]string{"id": "kim", "name": "Kim"}, "admin"},
		{"GET", "/v1/employees", nil, "admin"},
		{"GET", "/v1/employees/jane", nil, "admin"},
		{"PUT", "/v1/employees/jane/webhook", map[string]string{"url": "https://hooks.example.com/jane"}, "admin"},
		{"POST", "/v1/employees/jane/tokens", map[string]string{}, "admin"},
		{"POST", "/v1/sandbox/inbound", map[string]string{"from": customer, "to": bizNumber, "body": "hi"}, "admin"},
		{"POST", "/v1/tokens", map[string]any{"name": "Eve", "roles": []string{"admin"}}, "admin"},
		{"GET", "/v1/compliance/messages?q=hello", nil, "compliance"},
		{"GET", "/v1/compliance/messages/" + msgID, nil, "compliance"},
		{"POST", "/v1/compliance/messages/" + msgID + "/reviews", map[string]string{"action": "flagged", "comment": "check"}, "compliance"},
		{"GET", "/v1/compliance/conversations?business=" + url.QueryEscape(bizNumber) + "&party=" + url.QueryEscape(customer), nil, "compliance"},
		{"POST", "/v1/compliance/holds", map[string]any{"name": "matter", "reason": "subpoena", "message_ids": []string{msgID}}, "compliance"},
		{"GET", "/v1/compliance/holds", nil, "compliance"},
		{"GET", "/v1/compliance/holds/" + matter, nil, "compliance"},
		{"POST", "/v1/compliance/holds/" + matter + "/release", nil, "compliance"},
		{"POST", "/v1/compliance/exports", map[string]any{"query": map[string]string{"q": "hello"}}, "compliance"},
		{"GET", "/healthz", nil, "none"},
		{"GET", "/readyz", nil, "none"},
		// Business numbers: admin only, except that employees read their own
		// assignments, set their own availability and read/answer the
		// conversations they own.
		{"POST", "/v1/numbers/import", nil, "admin"},
		{"PATCH", "/v1/numbers/" + bizNumber, map[string]string{"label": "front desk"}, "admin"},
		{"POST", "/v1/numbers/" + bizNumber + "/retire", nil, "admin"},
		{"POST", "/v1/numbers/" + bizNumber + "/restore", nil, "admin"},
		{"POST", "/v1/numbers/" + bizNumber + "/reassign", map[string]string{"employee_id": "jane"}, "admin"},
		{"GET", "/v1/numbers/" + bizNumber + "/history", nil, "admin"},
		{"GET", "/v1/numbers/" + bizNumber + "/menu", nil, "admin"},
		{"PUT", "/v1/numbers/" + bizNumber + "/menu", map[string]any{"options": []map[string]string{{"digit": "1", "queue": "desk"}}}, "admin"},
		{"DELETE", "/v1/numbers/" + bizNumber + "/menu", nil, "admin"},
		{"POST", "/v1/employees/import", nil, "admin"},
		{"PATCH", "/v1/employees/jane", map[string]string{"department": "sales"}, "admin"},
		{"POST", "/v1/employees/newbie/offboard", nil, "admin"},
		{"POST", "/v1/queues", map[string]string{"id": "desk", "name": "Desk"}, "admin"},
		{"GET", "/v1/queues", nil, "admin"},
		{"GET", "/v1/queues/desk", nil, "admin"},
		{"PATCH", "/v1/queues/desk", map[string]string{"name": "Front desk"}, "admin"},
		{"PUT", "/v1/queues/desk/agents/jane", map[string]int{"capacity": 2}, "admin"},
		{"DELETE", "/v1/queues/desk/agents/jane", nil, "admin"},
		{"GET", "/v1/optouts", nil, "admin"},
		{"POST", "/v1/optouts", map[string]string{"customer": "+14155550177"}, "admin"},
		{"GET", "/v1/optouts/" + customer, nil, "admin"},
		{"DELETE", "/v1/optouts/+14155550177", nil, "admin"},
		{"GET", "/v1/assignments", nil, "admin employee"},
		{"GET", "/v1/employees/jane/assignments", nil, "admin employee"},
		{"GET", "/v1/agents/jane", nil, "admin employee"},
		{"PUT", "/v1/agents/jane/availability", map[string]bool{"available": true}, "admin employee"},
		// ...and compliance reads conversations, audited (README, Compliance officers).
		{"GET", "/v1/conversations/" + convID, nil, "admin compliance employee"},
	}
}

// TestRolesPerRoute: tokens with exactly one role, against every route of
// the README: a token without the role the route names is refused 403
// (401 without a token); one with it is not refused.
func TestRolesPerRoute(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	msg := e.archived(sms.Message{Direction: sms.Inbound, From: customer, To: bizNumber, EmployeeID: "jane", Body: "hello there"})
	if err := e.dir.RecordMessage(ctx, &msg); err != nil {
		t.Fatal(err)
	}
	convID := directory.ConversationKey(bizNumber, customer)
	m, err := (&holds{matters: map[string]archive.Matter{}}).Place(ctx, "x", "y", "z", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"admin": e.admin, "compliance": e.compliance, "employee": e.jane}
	for _, rt := range readmeRoutes(e, string(msg.ID), convID, m.ID) {
		for _, role := range []string{"admin", "compliance", "employee", "no token"} {
			allowed := slices.Contains(strings.Fields(rt.who), role) || rt.who == "any" && role != "no token" || rt.who == "none"
			t.Run(rt.method+" "+rt.path+" as "+role, func(t *testing.T) {
				r := e.do(rt.method, rt.path, tokens[role], rt.body)
				switch {
				case role == "no token" && rt.who != "none":
					if r.status != 401 {
						t.Errorf("without a token: %d %s, want 401", r.status, r.body)
					}
				case !allowed:
					if r.status != 403 {
						t.Errorf("%s-only token: %d %s, want 403", role, r.status, r.body)
					} else if code, _, _ := r.apiError(t); code != "forbidden" {
						t.Errorf("%s-only token: code %q, want forbidden", role, code)
					}
				default:
					if r.status == 401 || r.status == 403 {
						t.Errorf("%s-only token refused: %d %s", role, r.status, r.body)
					}
				}
			})
		}
	}
}

// TestAdminReadsNoContent: an admin-only token manages numbers and people
// but never reads a message body: not by id, not in a list, not in a
// conversation. The compliance role reads them, audited; the owner reads
// their own, not audited.
func TestAdminReadsNoContent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const body = "my account number is ****6789"
	msg := e.archived(sms.Message{Direction: sms.Inbound, From: customer, To: bizNumber, EmployeeID: "jane", Body: body})
	if err := e.dir.RecordMessage(ctx, &msg); err != nil {
		t.Fatal(err)
	}
	convID := directory.ConversationKey(bizNumber, customer)

	// Admin only: nothing of the content.
	if r := e.do("GET", "/v1/messages/"+string(msg.ID), e.admin, nil); r.status != 404 || strings.Contains(string(r.body), body) {
		t.Errorf("admin reading a message: %d %s, want 404 without the body", r.status, r.body)
	}
	if r := e.do("GET", "/v1/messages", e.admin, nil); r.status != 403 || strings.Contains(string(r.body), body) {
		t.Errorf("admin listing messages: %d %s, want 403", r.status, r.body)
	}
	if r := e.do("GET", "/v1/messages?employee_id=jane", e.admin, nil); r.status != 403 || strings.Contains(string(r.body), body) {
		t.Errorf("admin listing jane's messages: %d %s, want 403", r.status, r.body)
	}
	r := e.do("GET", "/v1/conversations/"+convID, e.admin, nil)
	if r.status != 200 {
		t.Fatalf("admin reading the conversation's metadata: %d %s", r.status, r.body)
	}
	if c := r.json(t); c["messages"] != nil || strings.Contains(string(r.body), body) || c["message_count"] != float64(1) || c["owner"] != "jane" {
		t.Errorf("admin got the conversation %s, want its metadata (owner, count) without messages", r.body)
	}
	// Another employee: not even the metadata.
	if r := e.do("GET", "/v1/conversations/"+convID, e.sam, nil); r.status != 404 {
		t.Errorf("another employee reading the conversation: %d %s, want 404", r.status, r.body)
	}
	if r := e.do("GET", "/v1/messages/"+string(msg.ID), e.sam, nil); r.status != 404 {
		t.Errorf("another employee reading the message: %d %s, want 404", r.status, r.body)
	}
	if n := len(e.audit.all()); n != 0 {
		t.Errorf("%d audit records for reads that showed nothing", n)
	}

	// The owner reads their own, unaudited.
	if r := e.do("GET", "/v1/conversations/"+convID, e.jane, nil); r.status != 200 || !strings.Contains(string(r.body), body) {
		t.Errorf("owner reading the conversation: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/messages/"+string(msg.ID), e.jane, nil); r.status != 200 || r.json(t)["body"] != body {
		t.Errorf("owner reading the message: %d %s", r.status, r.body)
	}
	if n := len(e.audit.all()); n != 0 {
		t.Errorf("%d audit records for the owner's own reads, want 0", n)
	}

	// Compliance only: the content, each read audited under the token's name.
	for _, c := range []struct{ path, action string }{
		{"/v1/conversations/" + convID, "conversation.view"},
		{"/v1/messages/" + string(msg.ID), "message.view"},
		{"/v1/messages?employee_id=jane", "messages.list"},
	} {
		before := len(e.audit.all())
		r := e.do("GET", c.path, e.compliance, nil)
		if r.status != 200 || !strings.Contains(string(r.body), body) {
			t.Errorf("compliance GET %s: %d %s", c.path, r.status, r.body)
		}
		a := e.audit.all()
		if len(a) != before+1 || a[len(a)-1].Action != c.action || a[len(a)-1].Actor != "Carol (compliance)" || a[len(a)-1].ResultCount != 1 {
			t.Errorf("compliance GET %s: audit %+v, want one %s by Carol with 1 result", c.path, a[before:], c.action)
		}
	}
}

// TestAuditFailClosed: a compliance read or action whose audit record
// cannot be written is refused 503 audit_unavailable and shows nothing;
// a review that could not be audited is not recorded.
func TestAuditFailClosed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const body = "guaranteed returns of 20%"
	msg := e.archived(sms.Message{Direction: sms.Outbound, From: bizNumber, To: customer, EmployeeID: "jane", Body: body})
	if err := e.dir.RecordMessage(ctx, &msg); err != nil {
		t.Fatal(err)
	}
	convID := directory.ConversationKey(bizNumber, customer)
	e.audit.setFail(true)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/compliance/messages?q=guaranteed", nil},
		{"GET", "/v1/compliance/messages/" + string(msg.ID), nil},
		{"GET", "/v1/compliance/conversations?business=" + url.QueryEscape(bizNumber) + "&party=" + url.QueryEscape(customer), nil},
		{"POST", "/v1/compliance/messages/" + string(msg.ID) + "/reviews", map[string]string{"action": "escalated", "comment": "performance guarantee"}},
		{"GET", "/v1/messages/" + string(msg.ID), nil},
		{"GET", "/v1/messages", nil},
		{"GET", "/v1/conversations/" + convID, nil},
	} {
		r := e.do(c.method, c.path, e.compliance, c.body)
		code, _, _ := r.apiError(t)
		if r.status != 503 || code != "audit_unavailable" || r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s with the audit trail down: %d %s, want 503 audit_unavailable with Retry-After", c.method, c.path, r.status, r.body)
		}
		if strings.Contains(string(r.body), body) || strings.Contains(string(r.body), "guaranteed") {
			t.Errorf("%s %s showed content without an audit record: %s", c.method, c.path, r.body)
		}
	}
	rs, err := e.idx.Reviews(ctx, msg.ID)
	if err != nil || len(rs) != 0 {
		t.Errorf("reviews after a refused review: %v %v, want none", rs, err)
	}
	// The owner's own reads do not depend on the audit trail.
	if r := e.do("GET", "/v1/messages/"+string(msg.ID), e.jane, nil); r.status != 200 {
		t.Errorf("owner read with the audit trail down: %d %s", r.status, r.body)
	}
	// Back up: the same requests work and are audited.
	e.audit.setFail(false)
	if r := e.do("POST", "/v1/compliance/messages/"+string(msg.ID)+"/reviews", e.compliance, map[string]string{"action": "escalated", "comment": "performance guarantee"}); r.status != 201 {
		t.Errorf("review: %d %s", r.status, r.body)
	}
	if a := e.audit.all(); len(a) != 1 || a[0].Action != "review" || a[0].Params["id"] != string(msg.ID) || a[0].Params["action"] != "escalated" {
		t.Errorf("audit %+v, want the review", a)
	}
}

// TestAdminChangesAudited: every admin change leaves an audit record —
// who, what (method and path), the outcome — without the request body;
// an admin read does not.
func TestAdminChangesAudited(t *testing.T) {
	e := newEnv(t)
	if r := e.do("POST", "/v1/numbers", e.admin, map[string]string{"number": "+14155550160"}); r.status != 201 {
		t.Fatalf("add number: %d %s", r.status, r.body)
	}
	if r := e.do("PUT", "/v1/employees/jane/webhook", e.admin, map[string]string{"url": "https://hooks.example.com/jane?token=s3cr3t"}); r.status != 200 {
		t.Fatalf("set webhook: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/numbers", e.admin, map[string]string{"number": "+14155550160"}); r.status != 409 {
		t.Fatalf("add the number again: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/numbers", e.admin, nil); r.status != 200 {
		t.Fatalf("list numbers: %d", r.status)
	}
	a := e.audit.all()
	want := []struct{ action, status string }{
		{"admin POST /v1/numbers", "201"},
		{"admin PUT /v1/employees/jane/webhook", "200"},
		{"admin POST /v1/numbers", "409"},
	}
	if len(a) != len(want) {
		t.Fatalf("audit %+v, want %d records (reads are not audited)", a, len(want))
	}
	for i, w := range want {
		if a[i].Action != w.action || a[i].Params["status"] != w.status || a[i].Actor != "Ada (admin)" || a[i].Type != archive.AuditAction || a[i].At.IsZero() {
			t.Errorf("audit record %d = %+v, want %s by Ada with status %s", i, a[i], w.action, w.status)
		}
	}
	// Where the employee's texts will go is recorded in full (issue 13: a
	// webhook change used to be recorded as "webhook": "true").
	if got := a[1].Params["webhook_url"]; got != "https://hooks.example.com/jane?token=s3cr3t" {
		t.Errorf("webhook audit params %v, want the URL in full", a[1].Params)
	}
	if got := a[0].Params["webhook_url"]; got != "" {
		t.Errorf("a number's audit record names a webhook: %v", a[0].Params)
	}
}

// An issued token is audited by name, roles and id (a prefix of its hash),
// never by its value.
func TestTokenIssueAudited(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/v1/employees/jane/tokens", e.admin, map[string]string{})
	if r.status != 201 {
		t.Fatalf("issue token: %d %s", r.status, r.body)
	}
	plain, _ := r.json(t)["token"].(string)
	a := e.audit.all()
	if len(a) != 1 {
		t.Fatalf("audit %+v, want one record", a)
	}
	p := a[0].Params
	sum := sha256.Sum256([]byte(plain))
	if p["token_name"] != "employee jane" || p["token_roles"] != "employee" || p["token_id"] != hex.EncodeToString(sum[:])[:12] {
		t.Errorf("token audit params %v, want name, roles and the first 12 hex digits of the token's SHA-256", p)
	}
	if data, _ := json.Marshal(a[0]); plain == "" || strings.Contains(string(data), plain) {
		t.Errorf("audit record carries the token: %s", data)
	}
}

// TestHealthAndReadiness: /healthz answers whenever the process serves;
// /readyz follows readiness (503 not_ready with Retry-After when not).
func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 || r.json(t)["status"] != "ok" {
		t.Errorf("/healthz: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/readyz", "", nil); r.status != 200 || r.json(t)["status"] != "ready" {
		t.Errorf("/readyz: %d %s", r.status, r.body)
	}
	e.readyMu.Lock()
	e.ready = false
	e.readyMu.Unlock()
	r := e.do("GET", "/readyz", "", nil)
	if code, _, _ := r.apiError(t); r.status != 503 || code != "not_ready" || r.header.Get("Retry-After") == "" {
		t.Errorf("/readyz when not ready: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Errorf("/healthz when not ready: %d, want 200 (alive)", r.status)
	}
}

// TestReadErrors: the codes of GET /v1/messages[/{id}] and the compliance
// search, each naming its field.
func TestReadErrors(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path, token string
		status      int
		code, field string
	}{
		{"/v1/messages/not-an-id", e.jane, 400, "invalid_id", ""},
		{"/v1/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV", e.jane, 404, "message_not_found", ""},
		{"/v1/messages?direction=sideways", e.jane, 400, "invalid_direction", "direction"},
		{"/v1/messages?limit=0", e.jane, 400, "invalid_limit", "limit"},
		{"/v1/messages?limit=1001", e.jane, 400, "invalid_limit", "limit"},
		{"/v1/messages?page_token=nope", e.jane, 400, "invalid_page_token", "page_token"},
		{"/v1/nope", e.jane, 404, "not_found", ""},
		{"/v1/compliance/messages?party=4155550199", e.compliance, 400, "invalid_number", "party"},
		{"/v1/compliance/messages?business=x", e.compliance, 400, "invalid_number", "business"},
		{"/v1/compliance/messages?from=yesterday", e.compliance, 400, "invalid_date", "from"},
		{"/v1/compliance/messages?from=2026-03-02&to=2026-03-01", e.compliance, 400, "invalid_date_range", "to"},
		{"/v1/compliance/messages?verdict=maybe", e.compliance, 400, "invalid_verdict", "verdict"},
		{"/v1/compliance/messages?held=perhaps", e.compliance, 400, "invalid_held", "held"},
		{"/v1/compliance/messages?reviewed=perhaps", e.compliance, 400, "invalid_reviewed", "reviewed"},
		{"/v1/compliance/messages?direction=up", e.compliance, 400, "invalid_direction", "direction"},
		{"/v1/compliance/messages?limit=501", e.compliance, 400, "invalid_limit", "limit"},
		{"/v1/compliance/conversations?business=" + url.QueryEscape(bizNumber), e.compliance, 400, "invalid_number", "party"},
	} {
		r := e.do("GET", c.path, c.token, nil)
		code, msg, field := r.apiError(t)
		if r.status != c.status || code != c.code || field != c.field || msg == "" {
			t.Errorf("GET %s: %d %s, want %d %s (field %q)", c.path, r.status, r.body, c.status, c.code, c.field)
		}
	}
	if n := len(e.audit.all()); n != 0 {
		t.Errorf("refused compliance requests left %d audit records", n)
	}
}

// TestComplianceWriteErrors: reviews, holds, exports and staff tokens
// refuse bad requests with the field at fault.
func TestComplianceWriteErrors(t *testing.T) {
	e := newEnv(t)
	msg := e.archived(sms.Message{Direction: sms.Outbound, From: bizNumber, To: customer, EmployeeID: "jane", Body: "hello"})
	id := string(msg.ID)
	for _, c := range []struct {
		path, token string
		body        any
		status      int
		code, field string
	}{
		{"/v1/compliance/messages/" + id + "/reviews", e.compliance, map[string]string{"action": "shrug"}, 400, "invalid_action", "action"},
		{"/v1/compliance/messages/" + id + "/reviews", e.compliance, map[string]string{"action": "flagged", "comment": strings.Repeat("c", 4001)}, 400, "comment_too_long", "comment"},
		{"/v1/compliance/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV/reviews", e.compliance, map[string]string{"action": "flagged"}, 404, "message_not_found", ""},
		{"/v1/compliance/holds", e.compliance, map[string]any{"reason": "r", "message_ids": []string{id}}, 400, "invalid_name", "name"},
		{"/v1/compliance/holds", e.compliance, map[string]any{"name": "n", "message_ids": []string{id}}, 400, "invalid_reason", "reason"},
		{"/v1/compliance/holds", e.compliance, map[string]any{"name": "n", "reason": "r"}, 400, "hold_empty", "query"},
		{"/v1/compliance/holds", e.compliance, map[string]any{"name": "n", "reason": "r", "message_ids": []string{"nope"}}, 400, "invalid_message_id", "message_ids[0]"},
		{"/v1/compliance/holds", e.compliance, map[string]any{"name": "n", "reason": "r", "query": map[string]string{"limit": "5"}}, 400, "invalid_query", "query.limit"},
		{"/v1/compliance/holds", e.compliance, map[string]any{"name": "n", "reason": "r", "query": map[string]string{"party": "x"}}, 400, "invalid_number", "query.party"},
		{"/v1/compliance/exports", e.compliance, map[string]any{}, 400, "export_empty", "query"},
		{"/v1/tokens", e.admin, map[string]any{"roles": []string{"compliance"}}, 400, "invalid_name", "name"},
		{"/v1/tokens", e.admin, map[string]any{"name": "Eve"}, 400, "invalid_roles", "roles"},
		{"/v1/tokens", e.admin, map[string]any{"name": "Eve", "roles": []string{"employee"}}, 400, "invalid_roles", "roles"},
	} {
		r := e.do("POST", c.path, c.token, c.body)
		code, msg, field := r.apiError(t)
		if r.status != c.status || code != c.code || field != c.field || msg == "" {
			t.Errorf("POST %s %v: %d %s, want %d %s (field %q)", c.path, c.body, r.status, r.body, c.status, c.code, c.field)
		}
	}
	for _, a := range e.audit.all() {
		if strings.HasPrefix(a.Action, "review") || strings.HasPrefix(a.Action, "legal") {
			t.Errorf("a refused request was audited as done: %+v", a)
		}
	}
}

// TestStaffTokens: POST /v1/tokens issues a token with exactly the roles
// asked for; it works once, is shown once, and only its hash is kept.
func TestStaffTokens(t *testing.T) {
	e := newEnv(t)
	// Separation of duties: an admin-only token cannot make a compliance
	// token (it would read every employee's messages through it).
	for _, roles := range [][]string{{"compliance"}, {"admin", "compliance"}} {
		r := e.do("POST", "/v1/tokens", e.admin, map[string]any{"name": "Mallory", "roles": roles})
		if code, _, field := r.apiError(t); r.status != 403 || code != "compliance_requires_compliance" || field != "roles" {
			t.Errorf("admin-only token minting %v: %d %s, want 403 compliance_requires_compliance on roles", roles, r.status, r.body)
		}
	}
	r := e.do("POST", "/v1/tokens", e.both, map[string]any{"name": "Eve (compliance)", "roles": []string{"compliance"}})
	if r.status != 201 {
		t.Fatalf("issue: %d %s", r.status, r.body)
	}
	tok, _ := r.json(t)["token"].(string)
	if !strings.HasPrefix(tok, auth.TokenPrefix) {
		t.Fatalf("token %q", tok)
	}
	me := e.do("GET", "/v1/me", tok, nil)
	if roles, _ := me.json(t)["roles"].([]any); me.status != 200 || len(roles) != 1 || roles[0] != "compliance" {
		t.Errorf("/v1/me with the new token: %d %s", me.status, me.body)
	}
	if r := e.do("GET", "/v1/numbers", tok, nil); r.status != 403 {
		t.Errorf("the compliance token listing numbers: %d, want 403", r.status)
	}
}

// Escaped text that is valid (a surrogate pair, escaped quotes and
// backslashes) is accepted.
func TestSendMessageValidEscapes(t *testing.T) {
	e := newEnv(t)
	body := []byte("{\"to\":\"" + customer + "\",\"body\":\"smile \\ud83d\\ude00 \\\"quoted\\\" back\\\\slash caf\u00e9\"}")
	if r := e.do("POST", "/v1/messages", e.jane, body); r.status != 202 {
		t.Errorf("valid escapes: %d %s", r.status, r.body)
	}
}

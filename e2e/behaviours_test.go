package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/internal/app"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sandbox"
)

// TestIdempotencyKeyPerEmployee: an Idempotency-Key belongs to the
// employee who sends it. Two employees using the same key (same recipient,
// same text) send two messages; one employee repeating a request gets the
// same message; one employee reusing the key for another text gets 409.
func TestIdempotencyKeyPerEmployee(t *testing.T) {
	g := start(t, testConfig(t.TempDir()), nil)
	jane, _ := g.employee("jane.doe", bizNumber, "")
	sam, _ := g.employee("sam.agent", "+14155550101", "")
	req := map[string]string{"to": customer, "body": "your order 42 has shipped"}
	send := func(tok string, body map[string]string) response {
		return g.call("POST", "/v1/messages", tok, body, "Idempotency-Key", "order-42")
	}
	j1, s1 := send(jane, req), send(sam, req)
	if j1.Status != 202 || s1.Status != 202 {
		t.Fatalf("the same key from two employees: %d %s / %d %s, want 202 twice", j1.Status, j1.Body, s1.Status, s1.Body)
	}
	jid, sid := j1.json(t)["id"].(string), s1.json(t)["id"].(string)
	if jid == sid {
		t.Fatalf("two employees' messages under one key got one id %s", jid)
	}
	if s1.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("sam's first send was answered as a replay of jane's")
	}
	if r := send(sam, req); r.Status != 202 || r.json(t)["id"] != sid || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("sam repeating his request: %d %s, want a replay of %s", r.Status, r.Body, sid)
	}
	if r := send(jane, map[string]string{"to": customer, "body": "something else"}); r.Status != 409 || r.errorCode(t) != "idempotency_key_reused" {
		t.Errorf("jane reusing the key for another text: %d %s, want 409 idempotency_key_reused", r.Status, r.Body)
	}
	g.waitStatus(jid, jane, "delivered")
	g.waitStatus(sid, sam, "delivered")
	if m := g.mustCall(200, "GET", "/v1/messages/"+sid, sam, nil); m["from"] != "+14155550101" || m["employee_id"] != "sam.agent" {
		t.Errorf("sam's message = %v, want it from his number", m)
	}
	for _, from := range []string{bizNumber, "+14155550101"} {
		if n := countSubmits(g, and(fromTo(from, customer), "order 42 has shipped")); n != 1 {
			t.Errorf("the carrier got %d texts from %s, want 1", n, from)
		}
	}
}

func fromTo(num, to string) func(sandbox.Submitted) bool { return from(num, to) }

// TestOneRoleTokens: with tokens that carry exactly one role, through the
// node as wired: every compliance route (README: "who: compliance")
// refuses an admin-only and an employee token and serves a
// compliance-only one; an admin-only token reads no message content of
// anyone's — not a message, not a list, not a conversation's messages.
func TestOneRoleTokens(t *testing.T) {
	g := start(t, testConfig(t.TempDir()), nil)
	jane, _ := g.employee("jane.doe", bizNumber, "")
	sam, _ := g.employee("sam.agent", "+14155550101", "")
	const secretish = "my account number ends 6789, call me"
	g.textIn(customer, bizNumber, secretish)
	var in map[string]any
	eventually(t, "the customer's text in jane's inbox", func() bool {
		ms := g.inbox(jane)
		if len(ms) == 1 {
			in = ms[0]
		}
		return len(ms) == 1
	})
	id := in["id"].(string)
	adminOnly := g.mustCall(201, "POST", "/v1/tokens", g.Admin, map[string]any{"name": "it admin", "roles": []string{"admin"}})["token"].(string)
	officer := g.mustCall(201, "POST", "/v1/tokens", g.Admin, map[string]any{"name": "officer kim", "roles": []string{"compliance"}})["token"].(string)

	party := "business=" + url.QueryEscape(bizNumber) + "&party=" + url.QueryEscape(customer)
	hold := g.mustCall(201, "POST", "/v1/compliance/holds", officer, map[string]any{"name": "matter 1", "reason": "subpoena", "message_ids": []string{id}})["id"].(string)
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/compliance/messages?q=account", nil},
		{"GET", "/v1/compliance/messages/" + id, nil},
		{"POST", "/v1/compliance/messages/" + id + "/reviews", map[string]string{"action": "flagged"}},
		{"GET", "/v1/compliance/conversations?" + party, nil},
		{"POST", "/v1/compliance/holds", map[string]any{"name": "matter 2", "reason": "audit", "message_ids": []string{id}}},
		{"GET", "/v1/compliance/holds", nil},
		{"GET", "/v1/compliance/holds/" + hold, nil},
		{"POST", "/v1/compliance/holds/" + hold + "/release", nil},
		{"POST", "/v1/compliance/exports", map[string]any{"query": map[string]string{"q": "account"}}},
	}
	for _, rt := range routes {
		for name, tok := range map[string]string{"admin-only": adminOnly, "employee": jane} {
			if r := g.call(rt.method, rt.path, tok, rt.body); r.Status != 403 || r.errorCode(t) != "forbidden" {
				t.Errorf("%s %s with an %s token: %d %s, want 403 forbidden", rt.method, rt.path, name, r.Status, r.Body)
			}
		}
	}
	for _, rt := range routes {
		// (An export may answer 503 until the first checkpoint is signed:
		// what matters here is that the role lets it through.)
		if r := g.call(rt.method, rt.path, officer, rt.body); r.Status == 401 || r.Status == 403 || r.Status >= 300 && r.Status != 503 {
			t.Errorf("%s %s with a compliance-only token: %d %s", rt.method, rt.path, r.Status, r.Body)
		}
	}

	// Admin-only: no content.
	conv := "/v1/conversations/" + convID(bizNumber, customer)
	for _, c := range []struct {
		path   string
		status int
	}{{"/v1/messages/" + id, 404}, {"/v1/messages", 403}, {"/v1/messages?employee_id=jane.doe", 403}, {conv, 200}} {
		r := g.call("GET", c.path, adminOnly, nil)
		if r.Status != c.status || strings.Contains(string(r.Body), "6789") {
			t.Errorf("GET %s with an admin-only token: %d %s, want %d without the text", c.path, r.Status, r.Body, c.status)
		}
		if c.path == conv && r.Status == 200 && r.json(t)["messages"] != nil {
			t.Errorf("the admin-only token got the conversation's messages: %s", r.Body)
		}
	}
	// Another employee: not even that the conversation exists.
	if r := g.call("GET", conv, sam, nil); r.Status != 404 {
		t.Errorf("another employee reading the conversation: %d, want 404", r.Status)
	}
	// The compliance officer reads it.
	if r := g.call("GET", conv, officer, nil); r.Status != 200 || !strings.Contains(string(r.Body), "6789") {
		t.Errorf("compliance reading the conversation: %d %s", r.Status, r.Body)
	}
}

// TestAdminChangesAuditedInArchive: an admin change (assigning a number,
// setting a webhook) is an audit record in the archive: who, what, the
// outcome, and for a webhook where texts will go (the URL in full) — never
// the rest of a request body.
func TestAdminChangesAuditedInArchive(t *testing.T) {
	g := start(t, testConfig(t.TempDir()), nil)
	adminOnly := g.mustCall(201, "POST", "/v1/tokens", g.Admin, map[string]any{"name": "it admin", "roles": []string{"admin"}})["token"].(string)
	g.mustCall(201, "POST", "/v1/numbers", adminOnly, map[string]string{"number": bizNumber})
	g.mustCall(201, "POST", "/v1/employees", adminOnly, map[string]string{"id": "jane.doe", "name": "Jane"})
	g.mustCall(200, "POST", "/v1/numbers/"+bizNumber+"/assign", adminOnly, map[string]string{"employee_id": "jane.doe"})
	g.mustCall(200, "PUT", "/v1/employees/jane.doe/webhook", adminOnly, map[string]string{"url": "https://hooks.example.com/in?key=hunter2"})
	want := []string{"admin POST /v1/numbers", "admin POST /v1/employees", "admin POST /v1/numbers/" + bizNumber + "/assign", "admin PUT /v1/employees/jane.doe/webhook"}
	var got []archive.AuditEntry
	eventually(t, "the admin changes in the archive's audit trail", func() bool {
		got = got[:0]
		for _, e := range g.auditRecords(t) {
			if e.Actor == "it admin" {
				got = append(got, e)
			}
		}
		return len(got) >= len(want)
	})
	for i, w := range want {
		if got[i].Action != w || got[i].Params["status"] == "" || got[i].Params["status"][0] != '2' {
			t.Errorf("audit record %d = %+v, want %s with its 2xx status", i, got[i], w)
		}
	}
	for i, e := range got {
		url := e.Params["webhook_url"]
		switch {
		case i == 3 && url != "https://hooks.example.com/in?key=hunter2":
			t.Errorf("the webhook change's audit record %+v, want the URL in full", e)
		case i != 3 && url != "":
			t.Errorf("audit record %d names a webhook: %+v", i, e)
		}
		if data, _ := json.Marshal(e); strings.Contains(string(data), `"name":"Jane"`) {
			t.Errorf("an audit record carries the request body: %s", data)
		}
	}
}

// TestWebhookGivesUpAfterMaxAttempts: a webhook that keeps failing is
// tried webhook.max_attempts times, each retry after a longer wait than
// the one before (exponential backoff), then the text is failed — and it
// stays in the employee's inbox.
func TestWebhookGivesUpAfterMaxAttempts(t *testing.T) {
	var mu sync.Mutex
	var attempts []time.Time
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		attempts = append(attempts, time.Now())
		mu.Unlock()
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer hook.Close()
	cfg := testConfig(t.TempDir())
	cfg.Webhook.MaxAttempts = 3
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, hook.URL)
	g.textIn(customer, bizNumber, "are you open on sunday?")
	var id string
	eventually(t, "the text in jane's inbox", func() bool {
		ms := g.inbox(tok)
		if len(ms) == 1 {
			id = ms[0]["id"].(string)
		}
		return id != ""
	})
	m := g.waitStatus(id, tok, "failed")
	mu.Lock()
	got := append([]time.Time(nil), attempts...)
	mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("the webhook was called %d times before the text failed, want webhook.max_attempts = 3", len(got))
	}
	// Lower bounds only (a redelivery is never early); the second wait at
	// least doubles the first one's minimum.
	if d := got[1].Sub(got[0]); d < 1500*time.Millisecond {
		t.Errorf("first retry after %s: no backoff", d)
	}
	if d := got[2].Sub(got[1]); d < 3*time.Second {
		t.Errorf("second retry after %s: the backoff does not grow", d)
	}
	failed := false
	for _, e := range m["events"].([]any) {
		ev := e.(map[string]any)
		failed = failed || ev["status"] == "failed" && ev["detail"] == "webhook"
	}
	if !failed {
		t.Errorf("history %v lacks failed (webhook)", m["events"])
	}
	if ms := g.inbox(tok); len(ms) != 1 || ms[0]["body"] != "are you open on sunday?" {
		t.Errorf("inbox after the webhook gave up = %v, want the text", ms)
	}
}

// startCarrier runs a sandbox SMSC (system_id gw, password secret) for
// the rest of the test.
func startCarrier(t *testing.T, c sandbox.Config) *sandbox.Server {
	t.Helper()
	c.Addr, c.SystemID, c.Password = "127.0.0.1:0", "gw", "secret"
	s, err := sandbox.New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); s.Close(); <-done })
	return s
}

// TestCarrierFailureReceipt: the carrier takes the text and later sends a
// receipt saying it could not be delivered (UNDELIV): the text ends
// failed, with the carrier's reason in its history.
func TestCarrierFailureReceipt(t *testing.T) {
	const failing = "+14155550198"
	acme := startCarrier(t, sandbox.Config{FailTo: map[string]string{failing[1:]: "UNDELIV"}})
	cfg := testConfig(t.TempDir())
	cfg.Sandbox.Enabled = false
	cfg.Carriers = []config.Carrier{{Name: "acme", Addr: acme.Addr(), SystemID: "gw", Password: "secret"}}
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	undeliv := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": failing, "body": "your parcel is here"})["id"].(string)
	ok := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "your parcel is here too"})["id"].(string)
	g.waitStatus(undeliv, tok, "failed")
	// The status can be indexed before the events that came earlier (the
	// read model applies events in batches): wait for the whole history.
	history := func() string {
		var seen []string
		for _, e := range g.mustCall(200, "GET", "/v1/messages/"+undeliv, tok, nil)["events"].([]any) {
			ev := e.(map[string]any)
			seen = append(seen, ev["status"].(string)+"("+detailOf(ev["detail"])+")")
		}
		return strings.Join(seen, " ")
	}
	eventually(t, "the history to hold sent and failed (UNDELIV)", func() bool {
		h := history()
		return strings.Contains(h, "sent()") && strings.Contains(h, "failed(UNDELIV)")
	})
	if h := history(); strings.Contains(h, "delivered") {
		t.Errorf("history %s, want sent then failed (UNDELIV), never delivered", h)
	}
	g.waitStatus(ok, tok, "delivered")
	if n := len(acme.Submitted()); n != 2 {
		t.Errorf("acme took %d texts, want 2", n)
	}
}

func detailOf(v any) string {
	s, _ := v.(string)
	return s
}

// TestMTDeadLetter: a carrier that throttles every submit gets
// pipeline.max_deliver tries, then the text fails with a dead letter on
// DEAD — who, where and why, never the body — and the carrier never took
// it. (Slow: each try waits out 45 s of throttling.)
func TestMTDeadLetter(t *testing.T) {
	if testing.Short() {
		t.Skip("two 45 s submit attempts")
	}
	busy := startCarrier(t, sandbox.Config{ThrottleEvery: 1})
	cfg := testConfig(t.TempDir())
	cfg.Sandbox.Enabled = false
	cfg.Pipeline.MaxDeliver = 2
	cfg.Carriers = []config.Carrier{{Name: "busy", Addr: busy.Addr(), SystemID: "gw", Password: "secret"}}
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	const text = "the carrier will never take this one"
	id := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": text})["id"].(string)
	deadline := time.Now().Add(4 * time.Minute)
	for {
		r := g.call("GET", "/v1/messages/"+id, tok, nil)
		if r.Status == 200 && r.json(t)["status"] == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the throttled text never failed: %d %s", r.Status, r.Body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if n := len(busy.Submitted()); n != 0 {
		t.Errorf("the throttling carrier took %d texts", n)
	}
	dl := waitDeadLetter(t, g, id, text)
	if dl["stage"] != bus.ConsumerDeliverMT || dl["code"] != "carrier_throttled" || dl["deliveries"] != float64(2) {
		t.Errorf("dead letter = %v, want deliver-mt, carrier_throttled, after 2 deliveries", dl)
	}
}

// waitDeadLetter reads DEAD until it holds the dead letter of id, and
// checks no dead letter carries body.
func waitDeadLetter(t *testing.T, g *gateway, id, body string) map[string]any {
	t.Helper()
	var mu sync.Mutex
	var got map[string]any
	var raw []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.App.Bus.Consume(ctx, bus.StageConfig{Stream: bus.StreamDead, Durable: "e2e-dead", MaxDeliver: -1, Batch: 100, MaxWait: 20 * time.Millisecond, DeliverAll: true},
			func(ctx context.Context, batch []*bus.Msg) {
				for _, m := range batch {
					var dl map[string]any
					if json.Unmarshal(m.Data, &dl) == nil {
						mu.Lock()
						raw = append(raw, string(m.Data))
						if dl["message_id"] == id {
							got = dl
						}
						mu.Unlock()
					}
					_ = m.Ack()
				}
			})
	}()
	defer func() { cancel(); <-done }()
	eventually(t, "the dead letter of "+id, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return got != nil
	})
	mu.Lock()
	defer mu.Unlock()
	for _, r := range raw {
		if strings.Contains(r, body) {
			t.Errorf("a dead letter carries the body: %s", r)
		}
	}
	return got
}

// TestHealthAndReadiness: /healthz and /readyz answer without a token;
// /readyz says ready once NATS, the archive and the carrier bind are up.
func TestHealthAndReadiness(t *testing.T) {
	g := start(t, testConfig(t.TempDir()), nil)
	if r := g.call("GET", "/healthz", "", nil); r.Status != 200 || r.json(t)["status"] != "ok" {
		t.Errorf("/healthz = %d %s", r.Status, r.Body)
	}
	var last response
	eventually(t, "/readyz to say ready", func() bool {
		last = g.call("GET", "/readyz", "", nil)
		return last.Status == 200
	})
	checks, _ := last.json(t)["checks"].(map[string]any)
	for _, c := range []string{"nats", "archive", "carrier:" + app.SandboxCarrier} {
		if checks[c] != "ok" {
			t.Errorf("/readyz check %s = %v, want ok (checks %v)", c, checks[c], checks)
		}
	}
}

// TestS3BucketWithoutObjectLockRefused: the gateway does not start on a
// bucket without Object Lock, and says how to fix it.
func TestS3BucketWithoutObjectLockRefused(t *testing.T) {
	mc := testenv.StartMinIO(t)
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Archive.Backend = "s3"
	cfg.Archive.S3.Endpoint, cfg.Archive.S3.Bucket = mc.Endpoint, mc.NewPlainBucket(t)
	cfg.Archive.S3.AccessKeyID, cfg.Archive.S3.SecretAccessKey = mc.AccessKey, mc.SecretKey
	cfg.Archive.S3.UseTLS = false
	cfg.Archive.SigningKeyFile = filepath.Join(dir, "archive.key")
	if _, err := archive.WriteKeyFile(cfg.Archive.SigningKeyFile, "smsgw-e2e"); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, discardLog())
	if err == nil {
		a.Close()
		t.Fatal("the gateway started on a bucket without Object Lock")
	}
	for _, want := range []string{cfg.Archive.S3.Bucket, "Object Lock", "--object-lock-enabled-for-bucket"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("startup error %q does not mention %q", err, want)
		}
	}
	// The same bucket settings with Object Lock start.
	cfg.Archive.S3.Bucket = mc.NewLockedBucket(t)
	start(t, cfg, nil)
}

// TestSMPPAccountLimitsFromConfig: smpp.accounts max_binds, allowed_ips
// and throughput reach the server: over them, ESME_RBINDFAIL (0x0D) and
// ESME_RTHROTTLED (0x58) (SMPP 3.4 values).
func TestSMPPAccountLimitsFromConfig(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	cfg := testConfig(t.TempDir())
	cfg.SMPP.Accounts = []config.SMPPAccount{
		{SystemID: "one", PasswordHash: string(hash), Role: "platform", AllowedSources: []string{bizNumber}, MaxBinds: 1, Throughput: 0.01},
		{SystemID: "remote", PasswordHash: string(hash), Role: "platform", AllowedSources: []string{bizNumber}, AllowedIPs: []string{"10.0.0.0/8"}},
	}
	g := start(t, cfg, nil)
	g.employee("jane.doe", bizNumber, "")
	addr := g.App.SMPPAddr()
	bind := func(sys string) (*smpp.Session, uint32) {
		conn, err := dialTCP(addr)
		if err != nil {
			t.Fatal(err)
		}
		s := smpp.NewSession(conn, smpp.SessionConfig{})
		go s.Run(context.Background())
		t.Cleanup(func() { s.Close() })
		resp, err := s.Request(ctxT(t), smpp.BindTransceiver, (&smpp.Bind{SystemID: sys, Password: "s3cret", InterfaceVersion: 0x34}).Marshal())
		if err != nil {
			t.Fatal(err)
		}
		return s, resp.Status
	}
	first, st := bind("one")
	if st != 0 {
		t.Fatalf("first bind of one = %#x", st)
	}
	if _, st := bind("one"); st != 0x0D {
		t.Errorf("second bind with max_binds 1 = %#x, want ESME_RBINDFAIL 0x0D", st)
	}
	if _, st := bind("remote"); st != 0x0D {
		t.Errorf("bind from 127.0.0.1 with allowed_ips 10.0.0.0/8 = %#x, want ESME_RBINDFAIL 0x0D", st)
	}
	submit := func() uint32 {
		sm := smpp.SM{SrcTON: 1, SrcNPI: 1, Src: bizNumber[1:], DstTON: 1, DstNPI: 1, Dst: customer[1:], ShortMessage: []byte("hello")}
		resp, err := first.Request(ctxT(t), smpp.SubmitSM, sm.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}
	if st := submit(); st != 0 {
		t.Fatalf("first submit = %#x", st)
	}
	if st := submit(); st != 0x58 {
		t.Errorf("second submit at throughput 0.01/s = %#x, want ESME_RTHROTTLED 0x58", st)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// rawSubmit binds sys as a transmitter to our SMPP server, submits one
// text from one E.164 number to another and returns submit_sm_resp's
// command_status.
func rawSubmit(t *testing.T, addr, sys, pw, src, dst, text string) uint32 {
	t.Helper()
	conn, err := dialTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	s := smpp.NewSession(conn, smpp.SessionConfig{})
	go s.Run(context.Background())
	defer s.Close()
	resp, err := s.Request(ctxT(t), smpp.BindTransmitter, (&smpp.Bind{SystemID: sys, Password: pw, InterfaceVersion: 0x34}).Marshal())
	if err != nil || resp.Status != 0 {
		t.Fatalf("bind %s: %+v %v", sys, resp, err)
	}
	sm := smpp.SM{SrcTON: 1, SrcNPI: 1, Src: strings.TrimPrefix(src, "+"), DstTON: 1, DstNPI: 1, Dst: strings.TrimPrefix(dst, "+"), ShortMessage: []byte(text)}
	resp, err = s.Request(ctxT(t), smpp.SubmitSM, sm.Marshal())
	if err != nil {
		t.Fatalf("submit_sm: %v", err)
	}
	return resp.Status
}

// waitSettled waits until every message accepted so far is archived and
// indexed: INGRESS and FILTERED are empty and the read model holds as many
// archived messages as ARCHIVED announced.
func waitSettled(t *testing.T, g *gateway) {
	t.Helper()
	eventually(t, "every accepted message to be archived and indexed", func() bool {
		ctx := context.Background()
		for _, s := range []string{bus.StreamIngress, bus.StreamFiltered} {
			if n, err := g.App.Bus.StreamMsgs(ctx, s); err != nil || n != 0 {
				return false
			}
		}
		want, err := g.App.Bus.StreamMsgs(ctx, bus.StreamArchived)
		if err != nil {
			return false
		}
		vs, _, err := g.App.Index.Search(ctx, readmodel.Search{Limit: 500})
		return err == nil && uint64(len(vs)) == want
	})
}

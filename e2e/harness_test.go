package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/app"
	"github.com/smsgw/smsgw/internal/testenv"
)

// gateway is a running node under test.
type gateway struct {
	t      testing.TB
	App    *app.App
	URL    string
	Admin  string // admin token
	Cfg    config.Config
	LogBuf *testenv.SyncBuffer
	cancel context.CancelFunc
	done   chan error
}

// testConfig is the embedded default with everything on random loopback
// ports under dir.
func testConfig(dir string) config.Config {
	cfg := config.Defaults()
	cfg.DataDir = dir
	cfg.Node = "test"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.SMPP.Addr = "127.0.0.1:0"
	cfg.Log.Level = "debug"
	cfg.Archive.SegmentMaxAge = 50 * time.Millisecond
	// Tests probe routes without tokens on purpose; the failed-auth
	// throttle has its own test (TestRateLimits).
	cfg.HTTP.RateLimit.FailedAuthPerMinute = 0
	cfg.Webhook.AllowNetworks = []string{"127.0.0.0/8"} // webhook receivers are httptest servers
	return cfg
}

// start runs a gateway with cfg; logs go to a buffer (and to the test log
// on failure) so tests can check what was logged.
func start(t testing.TB, cfg config.Config, logs *testenv.SyncBuffer) *gateway {
	t.Helper()
	if logs == nil {
		logs = &testenv.SyncBuffer{}
	}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("starting gateway: %v\nlogs:\n%s", err, logs.String())
	}
	tok, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.token"))
	if err != nil {
		t.Fatalf("reading admin token: %v", err)
	}
	st, err := os.Stat(filepath.Join(cfg.DataDir, "admin.token"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token mode = %v, want 0600 (err %v)", st.Mode().Perm(), err)
	}
	g := &gateway{t: t, App: a, URL: "http://" + a.HTTPAddr(), Admin: strings.TrimSpace(string(tok)), Cfg: cfg, LogBuf: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { g.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		g.stop()
		if t.Failed() || os.Getenv("SMSGW_E2E_LOGS") != "" {
			t.Logf("gateway logs:\n%s", logs.String())
		}
	})
	return g
}

// stop shuts the gateway down gracefully and waits for it.
func (g *gateway) stop() {
	if g.cancel == nil {
		return
	}
	g.cancel()
	g.cancel = nil
	select {
	case err := <-g.done:
		if err != nil {
			g.t.Errorf("gateway Run returned %v", err)
		}
	case <-time.After(60 * time.Second):
		g.t.Errorf("gateway did not stop within 60s")
	}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.Status, err, r.Body)
	}
	return m
}

func (r response) errorCode(t testing.TB) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

// call sends a request; body may be a string (sent as is) or a value
// (JSON-encoded). hdr holds header name/value pairs.
func (g *gateway) call(method, path, token string, body any, hdr ...string) response {
	g.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			g.t.Fatal(err)
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, g.URL+path, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

func (g *gateway) mustCall(want int, method, path, token string, body any) map[string]any {
	g.t.Helper()
	r := g.call(method, path, token, body)
	if r.Status != want {
		g.t.Fatalf("%s %s = %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	return r.json(g.t)
}

// employee creates an employee holding number and returns their token.
func (g *gateway) employee(id, number, webhook string) (token string, secret string) {
	g.t.Helper()
	g.mustCall(201, "POST", "/v1/numbers", g.Admin, map[string]string{"number": number})
	e := g.mustCall(201, "POST", "/v1/employees", g.Admin, map[string]string{"id": id, "name": "Test " + id, "webhook_url": webhook})
	secret, _ = e["webhook_secret"].(string)
	g.mustCall(200, "POST", "/v1/numbers/"+number+"/assign", g.Admin, map[string]string{"employee_id": id})
	tok := g.mustCall(201, "POST", "/v1/employees/"+id+"/tokens", g.Admin, map[string]string{})
	token, _ = tok["token"].(string)
	if token == "" {
		g.t.Fatalf("no token issued: %v", tok)
	}
	return token, secret
}

// waitStatus polls GET /v1/messages/{id} until its status is want.
func (g *gateway) waitStatus(id, token, want string) map[string]any {
	g.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last response
	for time.Now().Before(deadline) {
		last = g.call("GET", "/v1/messages/"+id, token, nil)
		if last.Status == 200 {
			m := last.json(g.t)
			// A sent or delivered message is archived, but this node's
			// read model may have its status events before the message
			// itself (two consumers): wait for both.
			indexed := m["archived_at"] != nil || (want != "sent" && want != "delivered")
			if m["status"] == want && indexed {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.t.Fatalf("message %s never reached status %q; last answer %d %s", id, want, last.Status, last.Body)
	return nil
}

func eventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// grepTree reports files under dir whose bytes contain any of needles.
func grepTree(t *testing.T, dir string, needles ...string) []string {
	t.Helper()
	var hits []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !info.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				hits = append(hits, fmt.Sprintf("%s contains %q", p, n))
			}
		}
		return nil
	})
	return hits
}

package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/testenv"
)

// nodePeer runs one of the npm `smpp` scripts in testdata/npm and reads
// the JSON lines it prints.
type nodePeer struct {
	t      *testing.T
	stdin  io.WriteCloser
	events chan map[string]any
	mu     sync.Mutex
	stderr strings.Builder
}

func startNode(t *testing.T, script string, args ...string) *nodePeer {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), "e2e", "testdata", "npm")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(dir, "node_modules", "smpp")); err != nil || serr != nil {
		testenv.RequireOrSkip(t, "node and the npm smpp package", "scripts/test.sh runs npm ci in e2e/testdata/npm")
	}
	cmd := exec.Command(node, append([]string{script}, args...)...)
	cmd.Dir = dir
	p := &nodePeer{t: t, events: make(chan map[string]any, 64)}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	p.stdin, _ = cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				p.events <- ev
			}
		}
		close(p.events)
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s stderr:\n%s", script, p.stderr.String())
			p.mu.Unlock()
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// next returns the next event named name, skipping others.
func (p *nodePeer) next(name string) map[string]any {
	p.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				p.t.Fatalf("node peer exited waiting for %s", name)
			}
			if ev["event"] == "error" {
				p.t.Fatalf("node peer: %v", ev["error"])
			}
			if ev["event"] == name {
				return ev
			}
		case <-timeout:
			p.t.Fatalf("node peer never printed %s", name)
		}
	}
}

// TestNpmSMPPClientToOurServer: an ESME built on the npm smpp package
// binds to our SMPP server as a platform, submits (answered with our id),
// receives the delivery receipt for that id and a customer's MO.
func TestNpmSMPPClientToOurServer(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("npmpw"), bcrypt.MinCost)
	cfg := testConfig(t.TempDir())
	cfg.SMPP.Accounts = []config.SMPPAccount{{SystemID: "npmplat", PasswordHash: string(hash), Role: "platform", AllowedSources: []string{bizNumber}}}
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	host, port, _ := strings.Cut(g.App.SMPPAddr(), ":")
	p := startNode(t, "platform.js", host, port, "npmplat", "npmpw", bizNumber[1:], customer[1:], "ssn 123-45-6789 @ 10 {ok}")
	if ev := p.next("bind_resp"); ev["status"] != 0.0 {
		t.Fatalf("npm bind: %v", ev)
	}
	resp := p.next("submit_sm_resp")
	id, _ := resp["message_id"].(string)
	if resp["status"] != 0.0 || len(id) != 26 {
		t.Fatalf("npm submit_sm_resp %v, want OK with our ULID", resp)
	}
	subs, err := g.App.Sandbox.WaitSubmitted(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if subs[0].Text != "ssn ***-**-6789 @ 10 {ok}" {
		t.Errorf("carrier got %q, want the npm client's text redacted with '@' and braces intact", subs[0].Text)
	}
	rc := p.next("deliver_sm")
	if rc["esm_class"] != 4.0 || rc["receipted_message_id"] != id || !strings.Contains(rc["text"].(string), "stat:DELIVRD") {
		t.Errorf("npm client got %v, want a DELIVRD receipt for %s", rc, id)
	}
	g.waitStatus(id, tok, "delivered")

	if err := g.App.Sandbox.SendMO(ctxT(t), customer[1:], bizNumber[1:], "card 4111-1111-1111-1111 thx"); err != nil {
		t.Fatal(err)
	}
	mo := p.next("deliver_sm")
	if mo["esm_class"] != 0.0 || mo["text"] != "card ****-****-****-1111 thx" || mo["source_addr"] != customer[1:] || mo["destination_addr"] != bizNumber[1:] {
		t.Errorf("npm client got MO %v, want the redacted text from the customer", mo)
	}
}

// TestOurClientToNpmSMPPServer: our client binds as an ESME to an SMSC
// built on the npm smpp package (our carrier): MT arrives there with the
// text intact (GSM escapes, '@', long texts with UDH), its receipts settle
// our messages, and its MO reaches the employee's inbox.
func TestOurClientToNpmSMPPServer(t *testing.T) {
	port := testenv.FreePort(t)
	_, portOnly, _ := strings.Cut(port, ":")
	p := startNode(t, "carrier.js", portOnly, "smsgw", "gwpw")
	p.next("listening")
	cfg := testConfig(t.TempDir())
	cfg.Carriers = []config.Carrier{{Name: "npmco", Addr: port, SystemID: "smsgw", Password: "gwpw"}}
	cfg.DefaultCarrier = "npmco"
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	if ev := p.next("bind"); ev["ok"] != true || ev["command"] != "bind_transceiver" {
		t.Fatalf("our bind at the npm SMSC: %v", ev)
	}

	sent := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "Total 10€ @ desk {B} card 4111 1111 1111 1111"})
	id, _ := sent["id"].(string)
	sub := p.next("submit_sm")
	if sub["text"] != "Total 10€ @ desk {B} card **** **** **** 1111" || sub["source_addr"] != bizNumber[1:] || sub["destination_addr"] != customer[1:] {
		t.Errorf("npm SMSC decoded %v, want the redacted text with € @ {} intact", sub)
	}
	g.waitStatus(id, tok, "delivered")

	long := strings.Repeat("long text part ", 12) // 180 chars: 2 parts
	sent = g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": long})
	id, _ = sent["id"].(string)
	parts := map[float64]string{}
	for range 2 {
		ev := p.next("submit_sm")
		// npm smpp hands over the information element without the UDHL
		// octet: IEI 0, length 3, reference, total, sequence.
		udh, _ := ev["udh"].([]any)
		if len(udh) != 5 || udh[0] != 0.0 || udh[3] != 2.0 {
			t.Fatalf("part without a 2-part concatenation UDH: %v", ev)
		}
		parts[udh[4].(float64)] = ev["text"].(string)
	}
	if parts[1]+parts[2] != long {
		t.Errorf("npm SMSC parts join to %q, want %q", parts[1]+parts[2], long)
	}
	g.waitStatus(id, tok, "delivered")

	if _, err := p.stdin.Write([]byte(`{"mo":{"from":"` + customer[1:] + `","to":"` + bizNumber[1:] + `","text":"hello from npm"}}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if ev := p.next("mo_resp"); ev["status"] != 0.0 {
		t.Fatalf("our deliver_sm_resp to the npm SMSC: %v", ev)
	}
	eventually(t, "MO in the inbox", func() bool {
		list := g.mustCall(200, "GET", "/v1/messages?direction=inbound", tok, nil)
		msgs, _ := list["messages"].([]any)
		return len(msgs) == 1 && msgs[0].(map[string]any)["body"] == "hello from npm"
	})
}

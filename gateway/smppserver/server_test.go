package smppserver_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/gateway/smppserver"
	"github.com/smsgw/smsgw/sms"
)

// Command status values as SMPP 3.4 (section 5.1.3) and the README give
// them, written out here rather than taken from the code's constants.
const (
	statusOK         = 0x00000000
	statusInvSrcAdr  = 0x0000000A // ESME_RINVSRCADR
	statusBindFail   = 0x0000000D // ESME_RBINDFAIL
	statusInvPaswd   = 0x0000000E // ESME_RINVPASWD
	statusInvSysID   = 0x0000000F // ESME_RINVSYSID
	statusThrottled  = 0x00000058 // ESME_RTHROTTLED
	statusOptedOut   = 0x00000401 // README: "Sending to an opted-out recipient is refused: ... SMPP status 0x401"
	statusAlreadyBnd = 0x00000005 // ESME_RALYBND
)

const (
	bizNumber = "+14155550100"
	customer  = "+14155550199"
	optedOut  = "+14155550198" // the fake ingress refuses texts to this one (opted out)
	down      = "+14155550197" // ... and cannot persist texts to this one
)

// ingress is the Acceptor: it keeps what it accepted.
type ingress struct {
	mu  sync.Mutex
	got []*sms.Message
}

func (in *ingress) Accept(ctx context.Context, m *sms.Message) error {
	switch m.To {
	case optedOut:
		return sms.Errorf(sms.OptedOut, "recipient_opted_out", "the recipient opted out")
	case down:
		return sms.Errorf(sms.Unavailable, "unavailable", "not persisted")
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.got = append(in.got, m)
	return nil
}

func (in *ingress) accepted() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.got)
}

// password is every account's (SMPP passwords have at most 8 characters).
const password = "s3cret"

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// logBuf collects the server's log.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var serverLogs sync.Map // *smppserver.Server -> *logBuf

func logsOf(s *smppserver.Server) string {
	l, _ := serverLogs.Load(s)
	return l.(*logBuf).String()
}

func startServer(t *testing.T, accounts ...smppserver.Account) (*smppserver.Server, *ingress) {
	t.Helper()
	in := &ingress{}
	logs := &logBuf{}
	s, err := smppserver.New(smppserver.Config{
		Addr: "127.0.0.1:0", Accounts: accounts, Ingress: in, Log: slog.New(slog.NewTextHandler(logs, nil)),
		// Refusals answer at once and never lock 127.0.0.1 out here: the
		// delay and the lockout have their own tests (door_test.go).
		BindFailDelay: time.Millisecond, BindFailures: 1000,
		Holder: func(ctx context.Context, n sms.Number) (string, string, error) { return "jane.doe", "sandbox", nil },
		OnReceiptRequested: func(ctx context.Context, systemID string, m *sms.Message) error {
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	serverLogs.Store(s, logs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; serverLogs.Delete(s) })
	return s, in
}

func platform(t *testing.T, id string, mod func(*smppserver.Account)) smppserver.Account {
	a := smppserver.Account{SystemID: id, PasswordHash: hash(t, password), Role: smppserver.RolePlatform, AllowedSources: []sms.Number{bizNumber}}
	if mod != nil {
		mod(&a)
	}
	return a
}

// esme is a raw SMPP peer of the server.
type esme struct {
	sess *smpp.Session
	// held counts deliver_sm the server sent; they are answered only when
	// release gets a token.
	mu      sync.Mutex
	held    int
	release chan struct{}
	stop    chan struct{}
}

func dial(t *testing.T, addr string) *esme {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	e := &esme{release: make(chan struct{}, 1024), stop: make(chan struct{})}
	e.sess = smpp.NewSession(conn, smpp.SessionConfig{MaxInflight: 1024, Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU {
		if req.ID != smpp.DeliverSM {
			return nil
		}
		e.mu.Lock()
		e.held++
		e.mu.Unlock()
		select {
		case <-e.release:
		case <-e.stop:
		}
		return &smpp.PDU{ID: smpp.DeliverSMResp, Body: []byte{0}}
	}})
	go e.sess.Run(context.Background())
	t.Cleanup(e.close)
	return e
}

func (e *esme) close() {
	select {
	case <-e.stop:
	default:
		close(e.stop)
	}
	e.sess.Close()
}

func (e *esme) bind(t *testing.T, kind uint32, sys, pw string) uint32 {
	t.Helper()
	resp, err := e.sess.Request(ctxT(t), kind, (&smpp.Bind{SystemID: sys, Password: pw, InterfaceVersion: 0x34}).Marshal())
	if err != nil {
		t.Fatalf("bind %s: %v", sys, err)
	}
	return resp.Status
}

func (e *esme) submit(t *testing.T, src, dst, text string) uint32 {
	t.Helper()
	sm := smpp.SM{SrcTON: 1, SrcNPI: 1, Src: src, DstTON: 1, DstNPI: 1, Dst: dst, ShortMessage: []byte(text)}
	resp, err := e.sess.Request(ctxT(t), smpp.SubmitSM, sm.Marshal())
	if err != nil {
		t.Fatalf("submit_sm: %v", err)
	}
	return resp.Status
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func digits(n string) string { return n[1:] }

// Binds: an unknown system_id, a wrong password, an address outside
// allowed_ips and one bind over max_binds are all refused with the one
// status the README gives (ESME_RBINDFAIL), the log saying which; a
// second bind on one connection is ESME_RALYBND.
func TestBindRefusals(t *testing.T) {
	s, _ := startServer(t,
		platform(t, "open", nil),
		platform(t, "tenonly", func(a *smppserver.Account) {
			_, n, _ := net.ParseCIDR("10.0.0.0/8")
			a.AllowedIPs = []*net.IPNet{n}
		}),
		platform(t, "loopback", func(a *smppserver.Account) {
			_, n, _ := net.ParseCIDR("127.0.0.0/8")
			a.AllowedIPs = []*net.IPNet{n}
		}),
		platform(t, "two", func(a *smppserver.Account) { a.MaxBinds = 2 }),
	)
	for _, tc := range []struct {
		name, sys, pw string
		want          uint32
		logged        string // the reason in the log
	}{
		{"unknown system_id", "nobody", password, statusBindFail, "system_id=nobody remote=127.0.0.1 reason=\"unknown system_id\""},
		{"wrong password", "open", "wrong", statusBindFail, "system_id=open remote=127.0.0.1 reason=\"wrong password\""},
		{"address not allowed", "tenonly", password, statusBindFail, "system_id=tenonly remote=127.0.0.1 reason=\"address not allowed\""},
		{"address allowed", "loopback", password, statusOK, ""},
		{"no address list", "open", password, statusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dial(t, s.Addr()).bind(t, smpp.BindTransceiver, tc.sys, tc.pw); got != tc.want {
				t.Errorf("bind %s = %#x, want %#x", tc.sys, got, tc.want)
			}
			if tc.logged != "" && !strings.Contains(logsOf(s), tc.logged) {
				t.Errorf("the log does not say %s; log:\n%s", tc.logged, logsOf(s))
			}
		})
	}

	t.Run("already bound", func(t *testing.T) {
		e := dial(t, s.Addr())
		if got := e.bind(t, smpp.BindTransmitter, "open", password); got != statusOK {
			t.Fatalf("first bind = %#x", got)
		}
		if got := e.bind(t, smpp.BindTransmitter, "open", password); got != statusAlreadyBnd {
			t.Errorf("second bind on one connection = %#x, want ESME_RALYBND %#x", got, statusAlreadyBnd)
		}
	})

	t.Run("max_binds", func(t *testing.T) {
		first := dial(t, s.Addr())
		for i, e := range []*esme{first, dial(t, s.Addr())} {
			if got := e.bind(t, smpp.BindTransceiver, "two", password); got != statusOK {
				t.Fatalf("bind %d of 2 = %#x, want OK", i+1, got)
			}
		}
		if got := dial(t, s.Addr()).bind(t, smpp.BindTransceiver, "two", password); got != statusBindFail {
			t.Errorf("third bind with max_binds 2 = %#x, want ESME_RBINDFAIL %#x", got, statusBindFail)
		}
		if !strings.Contains(logsOf(s), `system_id=two remote=127.0.0.1 reason="too many binds"`) {
			t.Errorf("the log does not say too many binds:\n%s", logsOf(s))
		}
		// A freed bind can be taken again.
		first.close()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := dial(t, s.Addr()).bind(t, smpp.BindTransceiver, "two", password)
			if got == statusOK {
				break
			}
			if got != statusBindFail || time.Now().After(deadline) {
				t.Fatalf("bind after one of two unbound = %#x, want OK", got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// throughput is per bind: over it, submit_sm is answered ESME_RTHROTTLED
// and the text is not accepted.
func TestThroughputThrottles(t *testing.T) {
	// 0.01/s: one submit, then the next token is 100 s away.
	s, in := startServer(t, platform(t, "slow", func(a *smppserver.Account) { a.Throughput = 0.01 }))
	e := dial(t, s.Addr())
	if got := e.bind(t, smpp.BindTransmitter, "slow", password); got != statusOK {
		t.Fatalf("bind = %#x", got)
	}
	if got := e.submit(t, digits(bizNumber), digits(customer), "first"); got != statusOK {
		t.Fatalf("first submit = %#x, want OK", got)
	}
	for i := range 3 {
		if got := e.submit(t, digits(bizNumber), digits(customer), "over the rate"); got != statusThrottled {
			t.Errorf("submit %d over the throughput = %#x, want ESME_RTHROTTLED %#x", i+2, got, statusThrottled)
		}
	}
	if n := in.accepted(); n != 1 {
		t.Errorf("%d texts accepted, want only the first", n)
	}
	// Another bind of the account has its own budget.
	e2 := dial(t, s.Addr())
	if got := e2.bind(t, smpp.BindTransmitter, "slow", password); got != statusOK {
		t.Fatalf("second bind = %#x", got)
	}
	if got := e2.submit(t, digits(bizNumber), digits(customer), "first on bind 2"); got != statusOK {
		t.Errorf("first submit of another bind = %#x, want OK", got)
	}
	// Unlimited without a throughput.
	s2, _ := startServer(t, platform(t, "fast", nil))
	e3 := dial(t, s2.Addr())
	e3.bind(t, smpp.BindTransmitter, "fast", password)
	for i := range 20 {
		if got := e3.submit(t, digits(bizNumber), digits(customer), "burst"); got != statusOK {
			t.Fatalf("submit %d without a throughput limit = %#x", i, got)
		}
	}
}

// What submit_sm is answered when ingress refuses: opted-out recipient
// 0x401 (README), not persisted: a retryable system error, never OK; a
// source the account may not use: ESME_RINVSRCADR.
func TestSubmitRefusals(t *testing.T) {
	s, in := startServer(t, platform(t, "ccplat", nil))
	e := dial(t, s.Addr())
	if got := e.bind(t, smpp.BindTransceiver, "ccplat", password); got != statusOK {
		t.Fatalf("bind = %#x", got)
	}
	if got := e.submit(t, digits(bizNumber), digits(optedOut), "offer"); got != statusOptedOut {
		t.Errorf("submit to an opted-out recipient = %#x, want 0x401", got)
	}
	if got := e.submit(t, "14155550999", digits(customer), "from a number not ours"); got != statusInvSrcAdr {
		t.Errorf("submit from a source not allowed = %#x, want ESME_RINVSRCADR %#x", got, statusInvSrcAdr)
	}
	if got := e.submit(t, digits(bizNumber), digits(down), "not persisted"); got == statusOK {
		t.Errorf("submit that ingress could not persist was answered OK")
	}
	if got := e.submit(t, digits(bizNumber), digits(customer), "fine"); got != statusOK {
		t.Errorf("good submit = %#x", got)
	}
	if n := in.accepted(); n != 1 {
		t.Errorf("ingress accepted %d texts, want 1", n)
	}
}

// window: at most Window deliver_sm to one bind are unanswered at once.
func TestAccountWindowBoundsDeliverSM(t *testing.T) {
	const window, texts = 2, 12
	s, _ := startServer(t, platform(t, "ccplat", func(a *smppserver.Account) { a.Window = window }))
	e := dial(t, s.Addr())
	if got := e.bind(t, smpp.BindTransceiver, "ccplat", password); got != statusOK {
		t.Fatalf("bind = %#x", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs := make(chan error, texts)
	var issued sync.WaitGroup
	for range texts {
		issued.Add(1)
		go func() {
			issued.Done()
			_, err := s.SendText(ctx, "ccplat", smpp.Submit{Src: digits(customer), Dst: digits(bizNumber), Text: "hello"})
			errs <- err
		}()
	}
	issued.Wait()
	held := func() int { e.mu.Lock(); defer e.mu.Unlock(); return e.held }
	deadline := time.Now().Add(30 * time.Second)
	for held() < window {
		if time.Now().After(deadline) {
			t.Fatalf("%d deliver_sm arrived, want %d", held(), window)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Two round trips on the connection: whatever the server wrote
	// before answering them has arrived.
	for range 2 {
		if resp, err := e.sess.Request(ctxT(t), smpp.EnquireLink, nil); err != nil || resp.ID != smpp.EnquireLinkResp {
			t.Fatalf("enquire_link: %v", err)
		}
	}
	if n := held(); n != window {
		t.Fatalf("%d deliver_sm unanswered at once, want the account's window %d", n, window)
	}
	for range texts {
		e.release <- struct{}{}
	}
	for range texts {
		if err := <-errs; err != nil {
			t.Errorf("SendText: %v", err)
		}
	}
	if n := held(); n != texts {
		t.Errorf("%d deliver_sm in all, want %d", n, texts)
	}
}

package smppserver

// Tests of the door: who may connect, how long an unbound connection may
// stay, who may bind and how often one may try (issue 13, rows 1-4). Every
// test runs a real server on 127.0.0.1 and talks to it over TCP, with raw
// PDUs where pipelining matters. Other addresses of 127.0.0.0/8 stand for
// other clients.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/sms"
)

const doorPassword = "s3cret"

// doorHash is doorPassword at bcrypt's lowest cost, so tests that do not
// measure anything stay fast.
var doorHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(doorPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

// doorLogs collects a server's log lines.
type doorLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *doorLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *doorLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// doorHashes counts the bcrypt comparisons a server makes.
type doorHashes struct {
	calls, inflight, peak atomic.Int64
}

type doorAcceptor struct{}

func (doorAcceptor) Accept(context.Context, *sms.Message) error { return nil }

// doorServer runs a server on 127.0.0.1:0 until the test ends. Without
// accounts in cfg it has two open platform accounts, ccplat and ops, that
// bind with doorPassword.
func doorServer(t *testing.T, cfg Config) (*Server, *doorHashes, *doorLogs) {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.Accounts == nil {
		cfg.Accounts = []Account{
			{SystemID: "ccplat", PasswordHash: doorHash(), Role: RolePlatform, MaxBinds: 100},
			{SystemID: "ops", PasswordHash: doorHash(), Role: RolePlatform, MaxBinds: 100},
		}
	}
	cfg.Ingress = doorAcceptor{}
	cfg.Holder = func(context.Context, sms.Number) (string, string, error) { return "", "", nil }
	cfg.OnReceiptRequested = func(context.Context, string, *sms.Message) error { return nil }
	logs := &doorLogs{}
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &doorHashes{}
	compare := s.compare
	s.compare = func(hash, password []byte) error {
		h.calls.Add(1)
		n := h.inflight.Add(1)
		defer h.inflight.Add(-1)
		for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
		}
		return compare(hash, password)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil after its context ended", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return within 30s of its context ending")
		}
	})
	return s, h, logs
}

// doorDial connects to addr from the local address from ("127.0.0.2").
func doorDial(t *testing.T, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("connecting from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func doorBindPDU(seq uint32, systemID, password string) []byte {
	b := smpp.Bind{SystemID: systemID, Password: password, InterfaceVersion: 0x34}
	return (&smpp.PDU{ID: smpp.BindTransceiver, Seq: seq, Body: b.Marshal()}).Marshal()
}

// doorRead reads the next response on c, skipping requests from the
// server; it gives up after 30s.
func doorRead(c net.Conn) (*smpp.PDU, error) {
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var hdr [smpp.HeaderLen]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < smpp.HeaderLen || n > smpp.DefaultMaxPDU {
			return nil, fmt.Errorf("command_length %d", n)
		}
		p := &smpp.PDU{ID: binary.BigEndian.Uint32(hdr[4:]), Status: binary.BigEndian.Uint32(hdr[8:]), Seq: binary.BigEndian.Uint32(hdr[12:]), Body: make([]byte, n-smpp.HeaderLen)}
		if _, err := io.ReadFull(c, p.Body); err != nil {
			return nil, err
		}
		if p.IsResponse() {
			return p, nil
		}
	}
}

// doorBind binds on c (a fresh or refused connection) and returns the
// bind_transceiver_resp's command_status.
func doorBind(t *testing.T, c net.Conn, systemID, password string) uint32 {
	t.Helper()
	if _, err := c.Write(doorBindPDU(1, systemID, password)); err != nil {
		t.Fatalf("writing bind: %v", err)
	}
	p, err := doorRead(c)
	if err != nil {
		t.Fatalf("bind %s: no response: %v", systemID, err)
	}
	if p.ID != smpp.BindTransceiverResp {
		t.Fatalf("bind %s: got %s, want bind_transceiver_resp", systemID, smpp.CommandName(p.ID))
	}
	return p.Status
}

// doorClosed waits (at most 10s) for the server to close c and reports
// what, if anything, it sent first.
func doorClosed(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("still open after 10s (received %d bytes)", len(got))
	case len(got) > 0:
		return fmt.Errorf("received %d bytes (%x) before the close", len(got), got[:min(len(got), 16)])
	}
	return nil // EOF or reset, nothing received
}

// doorEventually polls cond for up to 10s.
func doorEventually(cond func() bool) bool { return doorWithin(10*time.Second, cond) }

// doorWithin polls cond for up to d.
func doorWithin(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func TestDoorConnectionsPerIP(t *testing.T) {
	s, _, _ := doorServer(t, Config{MaxConnectionsPerIP: 3, MaxConnections: 100, BindTimeout: time.Minute})
	var held []net.Conn
	for range 3 {
		c := doorDial(t, s.Addr(), "127.0.0.2")
		if st := doorBind(t, c, "ccplat", doorPassword); st != smpp.ESME_ROK {
			t.Fatalf("bind %d of 3 from 127.0.0.2: status %#x", len(held)+1, st)
		}
		held = append(held, c)
	}
	over := doorDial(t, s.Addr(), "127.0.0.2")
	_, _ = over.Write(doorBindPDU(1, "ccplat", doorPassword))
	if err := doorClosed(over); err != nil {
		t.Errorf("4th connection from 127.0.0.2 (cap 3): %v, want closed at once", err)
	}
	if st := doorBind(t, doorDial(t, s.Addr(), "127.0.0.3"), "ccplat", doorPassword); st != smpp.ESME_ROK {
		t.Errorf("bind from another address while 127.0.0.2 is at its cap: status %#x", st)
	}
	held[0].Close()
	ok := doorEventually(func() bool {
		c := doorDial(t, s.Addr(), "127.0.0.2")
		_, _ = c.Write(doorBindPDU(1, "ccplat", doorPassword))
		p, err := doorRead(c)
		return err == nil && p.Status == smpp.ESME_ROK
	})
	if !ok {
		t.Errorf("127.0.0.2 cannot connect again after closing one of its 3 connections")
	}
}

func TestDoorConnectionsOverall(t *testing.T) {
	s, _, _ := doorServer(t, Config{MaxConnections: 4, MaxConnectionsPerIP: 50, BindTimeout: time.Minute})
	for i := range 4 {
		from := fmt.Sprintf("127.0.0.%d", 2+i%2)
		if st := doorBind(t, doorDial(t, s.Addr(), from), "ccplat", doorPassword); st != smpp.ESME_ROK {
			t.Fatalf("bind %d of 4: status %#x", i+1, st)
		}
	}
	for _, from := range []string{"127.0.0.2", "127.0.0.9"} {
		c := doorDial(t, s.Addr(), from)
		_, _ = c.Write(doorBindPDU(1, "ccplat", doorPassword))
		if err := doorClosed(c); err != nil {
			t.Errorf("5th connection overall (from %s, cap 4): %v, want closed at once", from, err)
		}
	}
}

func TestDoorBindDeadline(t *testing.T) {
	s, _, _ := doorServer(t, Config{BindTimeout: 200 * time.Millisecond})
	bound := doorDial(t, s.Addr(), "127.0.0.1")
	if st := doorBind(t, bound, "ccplat", doorPassword); st != smpp.ESME_ROK {
		t.Fatalf("bind: status %#x", st)
	}
	// An unbound client that dutifully answers and sends enquire_link is
	// still closed at the deadline.
	idle := doorDial(t, s.Addr(), "127.0.0.1")
	closed := false
	for seq, end := uint32(1), time.Now().Add(10*time.Second); !closed && time.Now().Before(end); seq++ {
		if _, err := idle.Write((&smpp.PDU{ID: smpp.EnquireLink, Seq: seq}).Marshal()); err != nil {
			closed = true
			break
		}
		_ = idle.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		var hdr [smpp.HeaderLen]byte
		_, err := io.ReadFull(idle, hdr[:])
		var ne net.Error
		closed = err != nil && !(errors.As(err, &ne) && ne.Timeout())
		time.Sleep(20 * time.Millisecond)
	}
	if !closed {
		t.Errorf("unbound connection sending enquire_link still open after ~10s (bind_timeout 200ms)")
	}
	// The bound one, well past the deadline, still answers.
	if _, err := bound.Write((&smpp.PDU{ID: smpp.EnquireLink, Seq: 7}).Marshal()); err != nil {
		t.Fatal(err)
	}
	if p, err := doorRead(bound); err != nil || p.ID != smpp.EnquireLinkResp {
		t.Errorf("bound connection after the bind deadline: %v %v, want enquire_link_resp", p, err)
	}
}

func TestDoorOneBindPerConnection(t *testing.T) {
	s, _, _ := doorServer(t, Config{})
	c := doorDial(t, s.Addr(), "127.0.0.1")
	// Two binds in one write: the "both succeed".
	if _, err := c.Write(append(doorBindPDU(1, "ccplat", doorPassword), doorBindPDU(2, "ccplat", doorPassword)...)); err != nil {
		t.Fatal(err)
	}
	got := map[uint32]int{}
	for range 2 {
		p, err := doorRead(c)
		if err != nil {
			t.Fatal(err)
		}
		got[p.Status]++
	}
	if got[smpp.ESME_ROK] != 1 || got[smpp.ESME_RALYBND] != 1 {
		t.Errorf("two pipelined binds: statuses %v, want one ESME_ROK and one ESME_RALYBND (0x5)", got)
	}
	if st := doorBind(t, c, "ops", doorPassword); st != smpp.ESME_RALYBND {
		t.Errorf("bind as another account on a bound connection: status %#x, want ESME_RALYBND", st)
	}
	s.mu.Lock()
	n, other := len(s.binds["ccplat"]), len(s.binds["ops"])
	s.mu.Unlock()
	if n != 1 || other != 0 {
		t.Errorf("binds held: ccplat %d, ops %d, want 1 and 0", n, other)
	}
	if _, err := c.Write((&smpp.PDU{ID: smpp.EnquireLink, Seq: 9}).Marshal()); err != nil {
		t.Fatal(err)
	}
	if p, err := doorRead(c); err != nil || p.ID != smpp.EnquireLinkResp {
		t.Errorf("first bind after the refused ones: %v %v, want it still up", p, err)
	}
}

// TestDoorSlotReleased: the slot of the leaked second bind — the
// client left, MO kept going to its dead session.
func TestDoorSlotReleased(t *testing.T) {
	s, _, _ := doorServer(t, Config{})
	c := doorDial(t, s.Addr(), "127.0.0.1")
	if _, err := c.Write(append(doorBindPDU(1, "ccplat", doorPassword), doorBindPDU(2, "ccplat", doorPassword)...)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := doorRead(c); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if !doorEventually(func() bool { return s.receiver("ccplat") == nil }) {
		s.mu.Lock()
		n := len(s.binds["ccplat"])
		s.mu.Unlock()
		t.Errorf("%d bind slot(s) of ccplat still taken after its only client left", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.SendText(ctx, "ccplat", smpp.Submit{Src: "14155550199", Dst: "14155550100", Text: "hi"}); !errors.Is(err, ErrNoBind) {
		t.Errorf("MO to ccplat after its client left: %v, want ErrNoBind (not a dead session)", err)
	}
}

// TestDoorRefusedAddress: an address no account allows gets nothing at
// all, so it cannot learn whether a password is right.
func TestDoorRefusedAddress(t *testing.T) {
	_, fenced, _ := net.ParseCIDR("10.0.0.0/8")
	s, h, _ := doorServer(t, Config{Accounts: []Account{
		{SystemID: "ccplat", PasswordHash: doorHash(), Role: RolePlatform, AllowedIPs: []*net.IPNet{fenced}},
	}})
	for _, pw := range []string{doorPassword, "wrong"} {
		c := doorDial(t, s.Addr(), "127.0.0.1")
		_, _ = c.Write(doorBindPDU(1, "ccplat", pw))
		if err := doorClosed(c); err != nil {
			t.Errorf("bind from 127.0.0.1 (allowed_ips 10.0.0.0/8) with password %q: %v, want closed with nothing sent", pw, err)
		}
	}
	if n := h.calls.Load(); n != 0 {
		t.Errorf("%d password checks for a refused address, want 0", n)
	}
}

// TestDoorSameAnswer: unknown system_id, wrong password and an address
// the account does not allow get the same status after the same work.
func TestDoorSameAnswer(t *testing.T) {
	_, fenced, _ := net.ParseCIDR("10.0.0.0/8")
	s, h, logs := doorServer(t, Config{BindFailDelay: time.Millisecond, BindFailures: 100, Accounts: []Account{
		{SystemID: "ccplat", PasswordHash: doorHash(), Role: RolePlatform},
		{SystemID: "fenced", PasswordHash: doorHash(), Role: RolePlatform, AllowedIPs: []*net.IPNet{fenced}},
		{SystemID: "solo", PasswordHash: doorHash(), Role: RolePlatform, MaxBinds: 1},
	}})
	if st := doorBind(t, doorDial(t, s.Addr(), "127.0.0.1"), "solo", doorPassword); st != smpp.ESME_ROK {
		t.Fatalf("bind solo: status %#x", st)
	}
	for _, tc := range []struct{ sys, pw string }{
		{"ccplat", "Xq9zWr7"},     // wrong password
		{"nobody", "Pw7kLm2"},     // unknown system_id
		{"fenced", doorPassword},  // right password, address not allowed
		{"fenced", "Xq9zWr7"},     // wrong password, address not allowed
		{"ccplat\x01", "Pw7kLm2"}, // unknown again
		{"solo", doorPassword},    // right password, no bind left
	} {
		before := h.calls.Load()
		st := doorBind(t, doorDial(t, s.Addr(), "127.0.0.1"), tc.sys, tc.pw)
		if st != smpp.ESME_RBINDFAIL {
			t.Errorf("bind %q/%q: status %#x, want ESME_RBINDFAIL (0xd)", tc.sys, tc.pw, st)
		}
		if n := h.calls.Load() - before; n != 1 {
			t.Errorf("bind %q/%q: %d bcrypt comparisons, want 1 (same work either way)", tc.sys, tc.pw, n)
		}
	}
	for _, pw := range []string{"Xq9zWr7", "Pw7kLm2", doorPassword} {
		if strings.Contains(logs.String(), pw) {
			t.Errorf("password %q reached the logs", pw)
		}
	}
	if !strings.Contains(logs.String(), "SMPP bind refused") {
		t.Errorf("refused binds were not logged:\n%s", logs)
	}
}

func TestDoorLockout(t *testing.T) {
	s, h, logs := doorServer(t, Config{BindFailures: 3, BindFailDelay: time.Millisecond})
	// 127.0.0.2 fails three times (different accounts, one unknown)...
	c := doorDial(t, s.Addr(), "127.0.0.2")
	for _, sys := range []string{"nobody", "ccplat", "ops"} {
		if st := doorBind(t, c, sys, "wrong"); st != smpp.ESME_RBINDFAIL {
			t.Fatalf("bad bind %s: status %#x", sys, st)
		}
	}
	// ...and is locked out, the right password included, without a check.
	before := h.calls.Load()
	for _, conn := range []net.Conn{c, doorDial(t, s.Addr(), "127.0.0.2")} {
		if st := doorBind(t, conn, "ccplat", doorPassword); st != smpp.ESME_RBINDFAIL {
			t.Errorf("right password from the locked-out 127.0.0.2: status %#x, want ESME_RBINDFAIL", st)
		}
	}
	if n := h.calls.Load() - before; n != 0 {
		t.Errorf("%d bcrypt comparisons for a locked-out address, want 0", n)
	}
	// A good client elsewhere still binds as the same accounts.
	if st := doorBind(t, doorDial(t, s.Addr(), "127.0.0.1"), "ccplat", doorPassword); st != smpp.ESME_ROK {
		t.Errorf("good client on 127.0.0.1 during the lockout of 127.0.0.2: status %#x", st)
	}
	// One system_id failed from three addresses is locked out everywhere,
	// except where it bound before...
	if st := doorBind(t, doorDial(t, s.Addr(), "127.0.0.7"), "ops", doorPassword); st != smpp.ESME_ROK {
		t.Fatalf("bind ops from 127.0.0.7: status %#x", st)
	}
	for _, from := range []string{"127.0.0.3", "127.0.0.4", "127.0.0.5"} {
		if st := doorBind(t, doorDial(t, s.Addr(), from), "ops", "wrong"); st != smpp.ESME_RBINDFAIL {
			t.Fatalf("bad bind ops from %s: status %#x", from, st)
		}
	}
	if st := doorBind(t, doorDial(t, s.Addr(), "127.0.0.6"), "ops", doorPassword); st != smpp.ESME_RBINDFAIL {
		t.Errorf("right password for the locked-out ops from a fresh address: status %#x, want ESME_RBINDFAIL", st)
	}
	if st := doorBind(t, doorDial(t, s.Addr(), "127.0.0.7"), "ops", doorPassword); st != smpp.ESME_ROK {
		t.Errorf("ops reconnecting from 127.0.0.7, where it bound before its lockout: status %#x, want ESME_ROK", st)
	}
	// ...and only that one.
	if st := doorBind(t, doorDial(t, s.Addr(), "127.0.0.6"), "ccplat", doorPassword); st != smpp.ESME_ROK {
		t.Errorf("ccplat from 127.0.0.6 while ops is locked out: status %#x", st)
	}
	if !strings.Contains(logs.String(), "SMPP bind lockout") || strings.Contains(logs.String(), doorPassword) {
		t.Errorf("want the lockout logged, without the password:\n%s", logs)
	}
}

// TestDoorBindFlood is row 2: 200 pipelined bad binds (the kept
// both cores busy for 16 s) while the attacker holds every connection its
// address may have. A good client on another address still binds, and
// bcrypt runs a handful of times, never more at once than the slots.
func TestDoorBindFlood(t *testing.T) {
	h10, err := bcrypt.GenerateFromPassword([]byte(doorPassword), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	_, good, _ := net.ParseCIDR("127.0.0.1/32")
	// Defaults throughout (50 connections per address, 5 failures a
	// minute, 1s answer delay), at bcrypt's default cost.
	s, h, logs := doorServer(t, Config{Accounts: []Account{
		{SystemID: "ccplat", PasswordHash: string(h10), Role: RolePlatform, AllowedIPs: []*net.IPNet{good}},
		{SystemID: "ops", PasswordHash: string(h10), Role: RolePlatform},
	}})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	baseline, err := smpp.DialBind(ctx, s.Addr(), smpp.BindTransceiver, "ccplat", doorPassword, nil, smpp.SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	baseTook := time.Since(start)
	baseline.Close()

	attack := make([]net.Conn, defaultMaxConnectionsPerIP)
	for i := range attack {
		attack[i] = doorDial(t, s.Addr(), "127.0.0.2")
	}
	var flood []byte
	for i := range 50 {
		flood = append(flood, doorBindPDU(uint32(i+1), "ccplat", fmt.Sprintf("guess%03d", i))...)
	}
	for _, c := range attack[:4] { // 4 x 50 = 200 pipelined bad binds
		if _, err := c.Write(flood); err != nil {
			t.Fatal(err)
		}
	}
	// The good client comes once the flood's first comparison started.
	if !doorEventually(func() bool { return h.calls.Load() >= 2 }) {
		t.Fatalf("the flood never reached a password check")
	}
	over := doorDial(t, s.Addr(), "127.0.0.2")
	if err := doorClosed(over); err != nil {
		t.Errorf("connection %d from the flooding address: %v, want closed at once", len(attack)+1, err)
	}
	start = time.Now()
	sess, err := smpp.DialBind(ctx, s.Addr(), smpp.BindTransceiver, "ccplat", doorPassword, nil, smpp.SessionConfig{})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("good bind during the flood: %v", err)
	}
	defer sess.Close()
	during := h.calls.Load()
	// The rest of the flood is refused without a comparison.
	if !doorWithin(time.Minute, func() bool { return strings.Contains(logs.String(), "SMPP bind lockout") }) {
		t.Fatalf("127.0.0.2 never locked out")
	}
	time.Sleep(100 * time.Millisecond)
	calls := h.calls.Load()
	t.Logf("flood: %d connections held by 127.0.0.2, 200 pipelined bad binds on 4 of them; good bind took %s (%s before the flood, %d comparisons by then); bcrypt comparisons in all %d (2 good), at most %d at once (%d slots)",
		len(attack), took.Round(time.Millisecond), baseTook.Round(time.Millisecond), during, calls, h.peak.Load(), cap(s.hashSlots))
	if limit := int64(defaultBindFailures + 2); calls > limit {
		t.Errorf("%d bcrypt comparisons for 200 bad binds and 2 good ones, want at most %d (the failures that lock the address out, and the good ones)", calls, limit)
	}
	if p := h.peak.Load(); p > int64(cap(s.hashSlots)) {
		t.Errorf("%d bcrypt comparisons at once, want at most %d", p, cap(s.hashSlots))
	}
}

// TestDoorAcceptOutOfFiles is row 1's crash: the server runs in a child
// process whose RLIMIT_NOFILE is nearly used up; we connect until its
// accept fails with EMFILE, close most connections, and bind.
func TestDoorAcceptOutOfFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	child := exec.Command(os.Args[0], "-test.run=^TestDoorAcceptOutOfFilesChild$", "-test.v")
	child.Env = append(os.Environ(), "SMSGW_DOOR_EMFILE_CHILD=1")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr doorLogs
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var out doorLogs
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
			if a, ok := strings.CutPrefix(sc.Text(), "DOOR-ADDR "); ok {
				addr <- a
			}
		}
		exited <- child.Wait()
	}()
	defer func() {
		stdin.Close()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("child: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &stderr)
			}
		case <-time.After(60 * time.Second):
			_ = child.Process.Kill()
			t.Errorf("child did not shut down")
		}
	}()
	var a string
	select {
	case a = <-addr:
	case err := <-exited:
		t.Fatalf("child exited before listening: %v\n%s\n%s", err, &out, &stderr)
	case <-time.After(60 * time.Second):
		t.Fatal("child never listened")
	}
	// Connect until the child's accept runs out of descriptors; the
	// kernel's backlog takes the connections it cannot accept.
	outOfFiles := func() bool {
		return strings.Contains(stderr.String(), "too many open files") || strings.Contains(out.String(), "DOOR-RUN-RETURNED")
	}
	var conns []net.Conn
	for len(conns) < 200 && !outOfFiles() {
		conns = append(conns, doorDial(t, a, "127.0.0.1"))
		if len(conns)%20 == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !doorEventually(outOfFiles) {
		t.Fatalf("the child never ran out of descriptors after %d connections:\n%s\n%s", len(conns), &out, &stderr)
	}
	if strings.Contains(out.String(), "DOOR-RUN-RETURNED") {
		t.Fatalf("the server's Run returned when accept ran out of descriptors (the process would exit):\n%s", &out)
	}
	// Which ones did it take? Those answer enquire_link.
	var held []net.Conn
	for i, c := range conns {
		if _, err := c.Write((&smpp.PDU{ID: smpp.EnquireLink, Seq: uint32(i + 1)}).Marshal()); err != nil {
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		var hdr [smpp.HeaderLen]byte
		if _, err := io.ReadFull(c, hdr[:]); err == nil {
			held = append(held, c)
		}
	}
	if len(held) == 0 {
		t.Fatalf("none of %d connections is served", len(conns))
	}
	keep := held[:min(3, len(held))]
	for _, c := range conns {
		if c != keep[0] && (len(keep) < 2 || c != keep[1]) && (len(keep) < 3 || c != keep[2]) {
			c.Close()
		}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sess, err := smpp.DialBind(ctx, a, smpp.BindTransceiver, "ccplat", doorPassword, nil, smpp.SessionConfig{})
	if err != nil {
		t.Fatalf("bind after descriptors were freed: %v\n%s", err, &stderr)
	}
	t.Logf("out of descriptors: %d connections made, %d accepted before EMFILE, bind after closing all but %d took %s",
		len(conns), len(held), len(keep), time.Since(start).Round(time.Millisecond))
	sess.Close()
	for _, c := range keep {
		if _, err := c.Write((&smpp.PDU{ID: smpp.EnquireLink, Seq: 99}).Marshal()); err != nil {
			t.Errorf("held connection: %v", err)
			continue
		}
		if p, err := doorRead(c); err != nil || p.ID != smpp.EnquireLinkResp {
			t.Errorf("held connection after EMFILE: %v %v, want enquire_link_resp", p, err)
		}
	}
	if strings.Contains(out.String(), "DOOR-RUN-RETURNED") {
		t.Errorf("Run returned while out of descriptors:\n%s", &out)
	}
}

// TestDoorAcceptOutOfFilesChild is the child of TestDoorAcceptOutOfFiles.
func TestDoorAcceptOutOfFilesChild(t *testing.T) {
	if os.Getenv("SMSGW_DOOR_EMFILE_CHILD") != "1" {
		t.Skip("run by TestDoorAcceptOutOfFiles")
	}
	s, err := New(Config{
		Addr: "127.0.0.1:0", BindTimeout: 5 * time.Minute,
		Accounts: []Account{{SystemID: "ccplat", PasswordHash: doorHash(), Role: RolePlatform}},
		Ingress:  doorAcceptor{}, Holder: func(context.Context, sms.Number) (string, string, error) { return "", "", nil },
		OnReceiptRequested: func(context.Context, string, *sms.Message) error { return nil },
		Log:                slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := s.Run(ctx)
		fmt.Printf("DOOR-RUN-RETURNED %v\n", err)
		done <- err
	}()
	// Leave room for about 12 more descriptors: the limit bounds their
	// numbers, and a new one takes the lowest free number.
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	lim := syscall.Rlimit{Cur: uint64(len(ents) + 12), Max: uint64(len(ents) + 12)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("DOOR-ADDR %s\n", s.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent is done
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestDoorFailures(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		name  string
		fails []time.Duration // failures of key "a", in order
		check time.Duration
		want  bool
	}{
		{"below the limit", []time.Duration{0, time.Second}, 2 * time.Second, false},
		{"limit within a minute", []time.Duration{0, time.Second, 2 * time.Second}, 3 * time.Second, true},
		{"still locked", []time.Duration{0, time.Second, 2 * time.Second}, 2*time.Second + 4*time.Minute, true},
		{"lockout over", []time.Duration{0, time.Second, 2 * time.Second}, 2*time.Second + 5*time.Minute, false},
		{"spread over more than a minute", []time.Duration{0, 40 * time.Second, 80 * time.Second}, 81 * time.Second, false},
		{"old ones expire, new ones count", []time.Duration{0, 40 * time.Second, 80 * time.Second, 90 * time.Second}, 91 * time.Second, true},
	} {
		f := newFailures(3, 5*time.Minute)
		for _, d := range tc.fails {
			f.add(at(d), "a")
		}
		f.add(at(0), "b")
		if got := f.locked(at(tc.check), "a"); got != tc.want {
			t.Errorf("%s: locked(a) = %v, want %v", tc.name, got, tc.want)
		}
		if f.locked(at(tc.check), "b") {
			t.Errorf("%s: b locked by a's failures", tc.name)
		}
	}
}

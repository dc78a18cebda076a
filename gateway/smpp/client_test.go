package smpp_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/sandbox"
	"github.com/smsgw/smsgw/sms"
)

// recorder is a Handler that records what it is given.
type recorder struct {
	mu   sync.Mutex
	got  []*smpp.Deliver
	fail error
	ch   chan *smpp.Deliver
}

func newRecorder() *recorder { return &recorder{ch: make(chan *smpp.Deliver, 100)} }

func (r *recorder) HandleDeliver(ctx context.Context, d *smpp.Deliver) error {
	r.mu.Lock()
	fail := r.fail
	r.got = append(r.got, d)
	r.mu.Unlock()
	if fail != nil {
		return fail
	}
	r.ch <- d
	return nil
}

func (r *recorder) next(t *testing.T) *smpp.Deliver {
	t.Helper()
	select {
	case d := <-r.ch:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("handler not called")
		return nil
	}
}

func startSMSC(t *testing.T, cfg sandbox.Config) *sandbox.Server {
	t.Helper()
	if cfg.SystemID == "" {
		cfg.SystemID, cfg.Password = "gw", "pw"
	}
	s, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func startClient(t *testing.T, addr string, h smpp.Handler, mod func(*smpp.ClientConfig)) *smpp.Client {
	t.Helper()
	cfg := smpp.ClientConfig{Name: "test", Addr: addr, SystemID: "gw", Password: "pw", ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c := smpp.NewClient(cfg, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSubmitRoundTripsAndReceipts(t *testing.T) {
	{
		s := startSMSC(t, sandbox.Config{})
		rec := newRecorder()
		c := startClient(t, s.Addr(), rec, nil)
		texts := []string{
			"Hi @ 10€ {ok} [x] ~ | ^ \\",
			strings.Repeat("long gsm text @ ", 25), // 400 septets: 3 parts
			"Grüße 😀 مرحبا",
			strings.Repeat("😀 emoji ", 20), // UCS-2, 2+ parts
		}
		want := 0
		for _, txt := range texts {
			res, err := c.Submit(ctx10(t), smpp.Submit{Src: "14155550100", Dst: "14155550199", Text: txt, RegisteredDelivery: true})
			if err != nil {
				t.Fatalf("Submit(%q): %v", txt, err)
			}
			want += len(res.MessageIDs)
			subs, err := s.WaitSubmitted(ctx10(t), want)
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			mine := subs[want-len(res.MessageIDs):]
			// Parts are pipelined, so they may arrive in any order: join by UDH seq.
			sort.Slice(mine, func(i, j int) bool {
				return mine[i].Concat != nil && mine[j].Concat != nil && mine[i].Concat.Seq < mine[j].Concat.Seq
			})
			for _, sub := range mine {
				sb.WriteString(sub.Text)
				if len(res.MessageIDs) > 1 && (sub.Concat == nil || int(sub.Concat.Total) != len(res.MessageIDs)) {
					t.Errorf("part of %q without concat UDH: %+v", txt, sub.Concat)
				}
			}
			if sb.String() != txt {
				t.Errorf("carrier reassembles %q, want %q", sb.String(), txt)
			}
			// One receipt per part reaches the handler, with the part's id.
			for range res.MessageIDs {
				d := rec.next(t)
				if !d.IsReceipt || d.Receipt.Stat != "DELIVRD" {
					t.Fatalf("got %+v, want a DELIVRD receipt", d)
				}
				found := false
				for _, id := range res.MessageIDs {
					found = found || id == d.Receipt.MessageID
				}
				if !found {
					t.Errorf("receipt for %s, want one of %v", d.Receipt.MessageID, res.MessageIDs)
				}
			}
		}
		if subs := s.Submitted(); subs[0].DataCoding != smpp.CodingGSM7 || subs[len(subs)-1].DataCoding != smpp.CodingUCS2 {
			t.Errorf("data codings %#x / %#x, want GSM7 then UCS-2", subs[0].DataCoding, subs[len(subs)-1].DataCoding)
		}
	}
}

// TestNoGoroutineLeaks: a bind with traffic, shut down, leaves nothing running.
func TestNoGoroutineLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := sandbox.New(sandbox.Config{SystemID: "gw", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan struct{})
	go func() { _ = s.Run(sctx); close(sdone) }()
	c := smpp.NewClient(smpp.ClientConfig{Name: "leak", Addr: s.Addr(), SystemID: "gw", Password: "pw"}, newRecorder())
	cctx, ccancel := context.WithCancel(context.Background())
	cdone := make(chan struct{})
	go func() { _ = c.Run(cctx); close(cdone) }()
	for i := range 20 {
		if _, err := c.Submit(ctx10(t), smpp.Submit{Src: "1", Dst: "2", Text: strings.Repeat("x", i*20), RegisteredDelivery: true}); err != nil {
			t.Fatal(err)
		}
	}
	ccancel()
	<-cdone
	scancel()
	<-sdone
	var now int
	for range 200 {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Errorf("%d goroutines before, %d after shutdown:\n%s", before, now, buf[:runtime.Stack(buf, true)])
}

func TestMOReassembledAndHandlerErrors(t *testing.T) {
	s := startSMSC(t, sandbox.Config{})
	rec := newRecorder()
	c := startClient(t, s.Addr(), rec, nil)
	waitBound(t, c)
	long := "card 4111 1111 " + strings.Repeat("x", 150) + " 1111 1111 end"
	if err := s.SendMO(ctx10(t), "14155550199", "14155550100", long); err != nil {
		t.Fatal(err)
	}
	d := rec.next(t)
	if d.Text != long || d.Parts != 2 || d.Incomplete || d.Src != "14155550199" || d.Dst != "14155550100" {
		t.Errorf("MO = %+v, want the whole text in 2 parts", d)
	}
	rec.mu.Lock()
	rec.fail = sms.Errorf(sms.Unavailable, "x", "store down")
	rec.mu.Unlock()
	err := s.SendMO(ctx10(t), "14155550199", "14155550100", "hello")
	var se smpp.StatusError
	if !errors.As(err, &se) || uint32(se) != smpp.ESME_RMSGQFUL {
		t.Errorf("SendMO with a failing handler: %v, want status ESME_RMSGQFUL so the SMSC retries", err)
	}
}

func TestThrottledSubmitsAreRetriedNotDuplicated(t *testing.T) {
	s := startSMSC(t, sandbox.Config{ThrottleEvery: 2})
	c := startClient(t, s.Addr(), newRecorder(), nil)
	for i := range 6 {
		if _, err := c.Submit(ctx10(t), smpp.Submit{Src: "1", Dst: "2", Text: "m" + string(rune('0'+i))}); err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
	}
	subs := s.Submitted()
	if len(subs) != 6 {
		t.Fatalf("carrier accepted %d submits, want exactly 6", len(subs))
	}
	seen := map[string]bool{}
	for _, sub := range subs {
		if seen[sub.Text] {
			t.Errorf("duplicate %q", sub.Text)
		}
		seen[sub.Text] = true
	}
}

func TestReconnectAfterSMSCRestart(t *testing.T) {
	s1, err := sandbox.New(sandbox.Config{SystemID: "gw", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	addr := s1.Addr()
	ctx1, cancel1 := context.WithCancel(context.Background())
	go s1.Run(ctx1)
	c := startClient(t, addr, newRecorder(), nil)
	if _, err := c.Submit(ctx10(t), smpp.Submit{Src: "1", Dst: "2", Text: "before"}); err != nil {
		t.Fatal(err)
	}
	cancel1()
	s1.Close()
	// A submit written to a connection the SMSC has closed, before the
	// client noticed, is unconfirmed and never resent (see
	// TestUnansweredSubmitIsNotResent); this test is about reconnecting.
	for c.Bound() {
		time.Sleep(5 * time.Millisecond)
	}
	var s2 *sandbox.Server
	for i := 0; i < 50; i++ { // the port may take a moment to be free
		if s2, err = sandbox.New(sandbox.Config{Addr: addr, SystemID: "gw", Password: "pw"}); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s2 == nil {
		t.Fatalf("restarting SMSC on %s: %v", addr, err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go s2.Run(ctx2)
	defer s2.Close()
	if _, err := c.Submit(ctx10(t), smpp.Submit{Src: "1", Dst: "2", Text: "after"}); err != nil {
		t.Fatalf("submit after the SMSC restarted: %v", err)
	}
	if subs := s2.Submitted(); len(subs) != 1 || subs[0].Text != "after" {
		t.Errorf("new SMSC got %+v", subs)
	}
}

func TestBindErrors(t *testing.T) {
	s := startSMSC(t, sandbox.Config{})
	for _, c := range []struct {
		sys, pw string
		want    uint32
	}{{"gw", "wrong", smpp.ESME_RINVPASWD}, {"who", "pw", smpp.ESME_RINVSYSID}} {
		sess, stop := rawSession(t, s.Addr())
		resp, err := sess.Request(ctx10(t), smpp.BindTransceiver, (&smpp.Bind{SystemID: c.sys, Password: c.pw, InterfaceVersion: 0x34}).Marshal())
		if err != nil || resp.Status != c.want {
			t.Errorf("bind %s/%s: %+v %v, want status %#x", c.sys, c.pw, resp, err, c.want)
		}
		stop()
	}
	cl := startClient(t, s.Addr(), newRecorder(), func(cfg *smpp.ClientConfig) { cfg.Password = "wrong" })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := cl.Submit(ctx, smpp.Submit{Src: "1", Dst: "2", Text: "x"})
	if sms.KindOf(err) != sms.Unavailable {
		t.Errorf("Submit on a client that cannot bind: %v, want Unavailable", err)
	}
}

func rawSession(t *testing.T, addr string) (*smpp.Session, func()) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	sess := smpp.NewSession(conn, smpp.SessionConfig{})
	done := make(chan struct{})
	go func() { _ = sess.Run(context.Background()); close(done) }()
	return sess, func() { sess.Close(); <-done }
}

// TestGarbledPDUs: unknown commands get generic_nack and the session stays
// usable; an impossible command_length gets generic_nack and a close.
func TestGarbledPDUs(t *testing.T) {
	s := startSMSC(t, sandbox.Config{})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	write := func(p *smpp.PDU) { conn.Write(p.Marshal()) }
	read := func() *smpp.PDU {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var h [16]byte
		if _, err := io.ReadFull(conn, h[:]); err != nil {
			t.Fatalf("reading: %v", err)
		}
		n := binary.BigEndian.Uint32(h[:])
		body := make([]byte, n-16)
		io.ReadFull(conn, body)
		return &smpp.PDU{ID: binary.BigEndian.Uint32(h[4:]), Status: binary.BigEndian.Uint32(h[8:]), Seq: binary.BigEndian.Uint32(h[12:]), Body: body}
	}
	write(&smpp.PDU{ID: 0x00000099, Seq: 7})
	if p := read(); p.ID != smpp.GenericNack || p.Status != smpp.ESME_RINVCMDID || p.Seq != 7 {
		t.Errorf("unknown command answered %+v, want generic_nack ESME_RINVCMDID seq 7", p)
	}
	write(&smpp.PDU{ID: smpp.BindTransceiver, Seq: 8, Body: (&smpp.Bind{SystemID: "gw", Password: "pw", InterfaceVersion: 0x34}).Marshal()})
	if p := read(); p.ID != smpp.BindTransceiverResp || p.Status != 0 {
		t.Errorf("bind after a garbled PDU: %+v", p)
	}
	write(&smpp.PDU{ID: smpp.SubmitSM, Seq: 9, Body: []byte{1, 2, 3}}) // truncated body
	if p := read(); p.ID != smpp.SubmitSMResp || p.Status == 0 {
		t.Errorf("truncated submit_sm answered %+v, want an error status", p)
	}
	bad := []byte{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 10}
	conn.Write(bad)
	if p := read(); p.ID != smpp.GenericNack || p.Status != smpp.ESME_RINVCMDLEN {
		t.Errorf("huge command_length answered %+v, want generic_nack ESME_RINVCMDLEN", p)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("session stayed open after an impossible command_length")
	}
}

// TestSameSequenceNumberIsARequest: the SMSC sends a deliver_sm with the
// same sequence number as our pending submit_sm. It must be handled as MO
// and not taken as the submit's response.
func TestSameSequenceNumberIsARequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		var sess *smpp.Session
		sess = smpp.NewSession(conn, smpp.SessionConfig{Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU {
			switch req.ID {
			case smpp.BindTransceiver:
				return &smpp.PDU{ID: smpp.BindTransceiverResp, Body: []byte("x\x00")}
			case smpp.SubmitSM:
				// Same sequence number, as a request, before the response.
				mo := smpp.SM{Src: "14155550199", Dst: "14155550100", ShortMessage: []byte("customer text")}
				raw := (&smpp.PDU{ID: smpp.DeliverSM, Seq: req.Seq, Body: mo.Marshal()}).Marshal()
				conn.Write(raw)
				time.Sleep(100 * time.Millisecond)
				return &smpp.PDU{ID: smpp.SubmitSMResp, Body: smpp.MessageIDBody("carrier-id-1")}
			}
			return nil
		}})
		_ = sess.Run(context.Background())
	}()
	rec := newRecorder()
	c := startClient(t, ln.Addr().String(), rec, nil)
	res, err := c.Submit(ctx10(t), smpp.Submit{Src: "14155550100", Dst: "14155550199", Text: "hello"})
	if err != nil || len(res.MessageIDs) != 1 || res.MessageIDs[0] != "carrier-id-1" {
		t.Fatalf("Submit = %+v, %v; want the real submit_sm_resp", res, err)
	}
	if d := rec.next(t); d.IsReceipt || d.Text != "customer text" {
		t.Errorf("MO = %+v, want the customer's text", d)
	}
}

// TestWindowWaitsForSlots: with a window of 1, a second request waits for
// the first response instead of failing, and gives up with its context.
func TestWindowWaitsForSlots(t *testing.T) {
	a, b := net.Pipe()
	release := make(chan struct{})
	server := smpp.NewSession(b, smpp.SessionConfig{Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU {
		<-release
		return &smpp.PDU{ID: smpp.SubmitSMResp, Body: smpp.MessageIDBody("id")}
	}})
	client := smpp.NewSession(a, smpp.SessionConfig{Window: 1, ResponseTimeout: 10 * time.Second})
	go server.Run(context.Background())
	go client.Run(context.Background())
	defer client.Close()
	defer server.Close()
	first := make(chan error, 1)
	go func() { _, err := client.Request(context.Background(), smpp.SubmitSM, nil); first <- err }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := client.Request(ctx, smpp.SubmitSM, nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second request with a full window: %v, want it to wait until its context ended", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first request: %v", err)
	}
	if _, err := client.Request(ctx10(t), smpp.SubmitSM, nil); err != nil {
		t.Errorf("request after the window freed: %v", err)
	}
}

// holdingSMSC is an SMSC that accepts a bind and then counts the
// submit_sm it receives without answering any until told to.
type holdingSMSC struct {
	addr    string
	release chan struct{} // one token answers one held submit_sm
	mu      sync.Mutex
	got     int
	changed chan struct{}
	sess    chan *smpp.Session
}

func startHoldingSMSC(t *testing.T) *holdingSMSC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &holdingSMSC{addr: ln.Addr().String(), release: make(chan struct{}, 4096), changed: make(chan struct{}), sess: make(chan *smpp.Session, 1)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		var sess *smpp.Session
		sess = smpp.NewSession(conn, smpp.SessionConfig{MaxInflight: 4096, Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU {
			switch req.ID {
			case smpp.BindTransceiver, smpp.BindTransmitter, smpp.BindReceiver:
				return &smpp.PDU{ID: req.ID | 0x80000000, Body: []byte("holding\x00")}
			case smpp.SubmitSM:
				h.mu.Lock()
				h.got++
				close(h.changed)
				h.changed = make(chan struct{})
				h.mu.Unlock()
				select {
				case <-h.release:
				case <-stop:
				}
				return &smpp.PDU{ID: smpp.SubmitSMResp, Body: smpp.MessageIDBody("held")}
			}
			return nil
		}})
		h.sess <- sess
		_ = sess.Run(context.Background())
	})
	t.Cleanup(func() {
		close(stop)
		ln.Close()
		select {
		case s := <-h.sess:
			s.Close()
		default:
		}
		wg.Wait()
	})
	return h
}

func (h *holdingSMSC) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got
}

// waitCount waits until at least n submit_sm have arrived.
func (h *holdingSMSC) waitCount(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		got, ch := h.got, h.changed
		h.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d submit_sm arrived, want %d", got, n)
		}
	}
}

// roundTrip sends enquire_link to the ESME and waits for its answer: on
// one connection, whatever the ESME wrote before answering has arrived
// by then.
func (h *holdingSMSC) roundTrip(t *testing.T, s *smpp.Session) {
	t.Helper()
	resp, err := s.Request(ctx10(t), smpp.EnquireLink, nil)
	if err != nil || resp.ID != smpp.EnquireLinkResp {
		t.Fatalf("enquire_link: %+v %v", resp, err)
	}
}

// TestWindowBoundsRequestsOnTheWire: with window W and a peer that does
// not answer, exactly W submit_sm are on the wire however many texts are
// waiting; each response lets exactly one more go; all go in the end.
func TestWindowBoundsRequestsOnTheWire(t *testing.T) {
	const window, waiting = 3, 40
	smsc := startHoldingSMSC(t)
	c := startClient(t, smsc.addr, newRecorder(), func(cfg *smpp.ClientConfig) {
		cfg.Window = window
		cfg.ResponseTimeout = 5 * time.Minute // a held request must not time out and free its slot
	})
	waitBound(t, c)
	var sess *smpp.Session
	select {
	case sess = <-smsc.sess:
		smsc.sess <- sess // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("no session at the SMSC")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var issued sync.WaitGroup
	errs := make(chan error, window+waiting)
	for i := range window + waiting {
		issued.Add(1)
		go func() {
			issued.Done()
			_, err := c.Submit(ctx, smpp.Submit{Src: "14155550100", Dst: "14155550199", Text: "text " + strings.Repeat("x", i%7)})
			errs <- err
		}()
	}
	issued.Wait()
	smsc.waitCount(t, window)
	smsc.roundTrip(t, sess)
	smsc.roundTrip(t, sess)
	if n := smsc.count(); n != window {
		t.Fatalf("%d submit_sm on the wire with nothing answered, want the window: %d", n, window)
	}

	// One answer frees one slot: exactly one more.
	smsc.release <- struct{}{}
	smsc.waitCount(t, window+1)
	smsc.roundTrip(t, sess)
	smsc.roundTrip(t, sess)
	if n := smsc.count(); n != window+1 {
		t.Fatalf("%d submit_sm after one answer, want %d", n, window+1)
	}

	for range window + waiting - 1 {
		smsc.release <- struct{}{}
	}
	for range window + waiting {
		if err := <-errs; err != nil {
			t.Errorf("submit: %v", err)
		}
	}
	if n := smsc.count(); n != window+waiting {
		t.Errorf("%d submit_sm in all, want %d", n, window+waiting)
	}
}

func waitBound(t *testing.T, c *smpp.Client) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if c.Bound() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("client never bound")
}

// FuzzSessionReadLoop feeds arbitrary bytes, in two chunks, into a
// session: it must never panic or hang.
func FuzzSessionReadLoop(f *testing.F) {
	sm := smpp.SM{Src: "1", Dst: "2", ShortMessage: []byte("hi")}
	f.Add((&smpp.PDU{ID: smpp.DeliverSM, Seq: 1, Body: sm.Marshal()}).Marshal(), 5)
	f.Add((&smpp.PDU{ID: smpp.EnquireLink, Seq: 2}).Marshal(), 3)
	f.Add([]byte{0, 0, 0, 8, 1, 2, 3, 4}, 2)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		a, b := net.Pipe()
		sess := smpp.NewSession(b, smpp.SessionConfig{MaxPDU: 4096, Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU {
			_, _ = smpp.ParseSM(req.Body)
			return &smpp.PDU{ID: req.ID | 0x80000000}
		}})
		done := make(chan struct{})
		go func() { _ = sess.Run(context.Background()); close(done) }()
		go io.Copy(io.Discard, a)
		if cut < 0 || cut > len(data) {
			cut = len(data) / 2
		}
		a.Write(data[:cut])
		a.Write(data[cut:])
		a.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("session did not end after its peer closed")
		}
	})
}

// TestIncompleteMultipartIsHandedOnMarked: part 2 of 2 never arrives; after
// the reassembly timeout part 1 is handed on, marked incomplete, and the
// SMSC gets its response — nothing is dropped or held forever.
func TestIncompleteMultipartIsHandedOnMarked(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	status := make(chan uint32, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		var sess *smpp.Session
		sess = smpp.NewSession(conn, smpp.SessionConfig{Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU {
			if req.ID != smpp.BindTransceiver {
				return nil
			}
			go func() {
				time.Sleep(50 * time.Millisecond)
				part := append([]byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01}, []byte("first half only")...)
				mo := smpp.SM{Src: "14155550199", Dst: "14155550100", ESMClass: smpp.ESMUDHI, ShortMessage: part}
				resp, err := sess.Request(context.Background(), smpp.DeliverSM, mo.Marshal())
				if err == nil {
					status <- resp.Status
				}
			}()
			return &smpp.PDU{ID: smpp.BindTransceiverResp, Body: []byte("x\x00")}
		}})
		_ = sess.Run(context.Background())
	}()
	rec := newRecorder()
	startClient(t, ln.Addr().String(), rec, func(c *smpp.ClientConfig) { c.ReassemblyTimeout = 200 * time.Millisecond })
	d := rec.next(t)
	if !d.Incomplete || d.Text != "first half only" || d.Parts != 1 {
		t.Errorf("handler got %+v, want the first part marked incomplete", d)
	}
	select {
	case st := <-status:
		if st != smpp.ESME_ROK {
			t.Errorf("deliver_sm_resp status %#x, want OK once handled", st)
		}
	case <-time.After(5 * time.Second):
		t.Error("the part was never answered")
	}
}

// TestPairBindsTransmitterAndReceiver: with Pair the client binds twice;
// submits go over the transmitter and the receipts, which an SMSC sends
// only to receiving binds, reach the handler over the receiver.
func TestPairBindsTransmitterAndReceiver(t *testing.T) {
	s := startSMSC(t, sandbox.Config{})
	rec := newRecorder()
	c := startClient(t, s.Addr(), rec, func(cfg *smpp.ClientConfig) { cfg.Pair = true })
	deadline := time.Now().Add(10 * time.Second)
	for !(c.Bound() && c.ReceiverBound()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !c.ReceiverBound() {
		t.Fatal("receiver bind never came up")
	}
	if tx, rx, trx := s.Binds(smpp.BindTransmitter), s.Binds(smpp.BindReceiver), s.Binds(smpp.BindTransceiver); tx != 1 || rx != 1 || trx != 0 {
		t.Errorf("SMSC saw %d transmitter, %d receiver, %d transceiver binds; want 1, 1, 0", tx, rx, trx)
	}
	res, err := c.Submit(ctx10(t), smpp.Submit{Src: "14155550100", Dst: "14155550199", Text: "pair", RegisteredDelivery: true})
	if err != nil {
		t.Fatal(err)
	}
	d := rec.next(t)
	if !d.IsReceipt || d.Receipt.MessageID != res.MessageIDs[0] {
		t.Errorf("got %+v, want the receipt for %s", d, res.MessageIDs[0])
	}
	if err := s.SendMO(ctx10(t), "14155550199", "14155550100", "hello pair"); err != nil {
		t.Fatalf("MO to a pair client: %v", err)
	}
	if d := rec.next(t); d.IsReceipt || d.Text != "hello pair" {
		t.Errorf("got %+v, want the MO", d)
	}
}

// A submit_sm that reached the SMSC but was never answered (the SMSC
// dropped the bind) is reported as unconfirmed and is not written again
// on the next bind: a second submit_sm would be a second text.
func TestUnansweredSubmitIsNotResent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	submits := map[int][]string{} // connection number -> texts received
	conns := 0
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns++
			n := conns
			mu.Unlock()
			var sess *smpp.Session
			sess = smpp.NewSession(conn, smpp.SessionConfig{Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU {
				switch req.ID {
				case smpp.BindTransceiver:
					return &smpp.PDU{ID: smpp.BindTransceiverResp, Body: []byte("smsc\x00")}
				case smpp.SubmitSM:
					sm, _ := smpp.ParseSM(req.Body)
					mu.Lock()
					submits[n] = append(submits[n], string(sm.ShortMessage))
					mu.Unlock()
					if n == 1 {
						sess.Close() // took it, never answers
						return nil
					}
					return &smpp.PDU{ID: smpp.SubmitSMResp, Body: []byte(fmt.Sprintf("id%d\x00", len(submits[n])))}
				}
				return nil
			}})
			go func() { _ = sess.Run(context.Background()) }()
		}
	}()
	c := startClient(t, ln.Addr().String(), newRecorder(), nil)
	_, err = c.Submit(ctx10(t), smpp.Submit{Src: "1", Dst: "2", Text: "first"})
	if !errors.Is(err, smpp.ErrUnconfirmed) {
		t.Fatalf("Submit on a bind dropped before the answer: err = %v, want ErrUnconfirmed", err)
	}
	// The next text goes out on the next bind (positive signal), and the
	// first is not among what that bind received.
	res, err := c.Submit(ctx10(t), smpp.Submit{Src: "1", Dst: "2", Text: "second"})
	if err != nil {
		t.Fatalf("Submit after rebind: %v", err)
	}
	if len(res.MessageIDs) != 1 {
		t.Fatalf("second submit ids = %v", res.MessageIDs)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := submits[1]; len(got) != 1 || got[0] != "first" {
		t.Errorf("first bind received %q, want [first]", got)
	}
	if got := submits[2]; len(got) != 1 || got[0] != "second" {
		t.Errorf("second bind received %q, want only [second] (the unanswered text must not be resent)", got)
	}
}

package smpp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// flakyListener fails Accept with errs, in order, then hands out conns.
type flakyListener struct {
	net.Listener // nil; only Accept, Close and Addr are called
	mu           sync.Mutex
	errs         []error
	conns        chan net.Conn
	closed       chan struct{}
	once         sync.Once
}

func (f *flakyListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()
	select {
	case c := <-f.conns:
		return c, nil
	case <-f.closed:
		return nil, net.ErrClosed
	}
}

func (f *flakyListener) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

func (f *flakyListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2775} }

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestListenerSurvivesAcceptErrors: out of descriptors, the accept loop
// logs (once), backs off and goes on; only our Close ends it, with nil.
func TestListenerSurvivesAcceptErrors(t *testing.T) {
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	enfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ENFILE)}
	var errs []error
	for range 3 { // backoff 5ms doubling: ~2.3s in all
		errs = append(errs, emfile, enfile, errors.New("something else"))
	}
	fl := &flakyListener{errs: errs, conns: make(chan net.Conn, 1), closed: make(chan struct{})}
	var logs syncBuf
	l := &Listener{ln: fl, closed: make(chan struct{}), Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	handled := make(chan net.Conn, 1)
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, func() { l.Close() }, func(c net.Conn) { handled <- c }) }()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	fl.conns <- a
	select {
	case c := <-handled:
		if c != a {
			t.Errorf("handled %v, want the connection accepted after the errors", c)
		}
	case err := <-done:
		t.Fatalf("Serve returned %v after accept errors, want it to go on", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no connection handled within 30s of 9 accept errors")
	}
	if n := strings.Count(logs.String(), "accepting SMPP connection"); n != 1 {
		t.Errorf("%d log lines for 9 accept errors within a few seconds, want 1:\n%s", n, &logs)
	}
	if !strings.Contains(logs.String(), "too many open files") {
		t.Errorf("log does not say why:\n%s", &logs)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v after its context ended, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

package smpp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Listener is the accept loop shared by our SMPP servers (the sandbox SMSC
// and the server platforms bind to): one goroutine per connection, all
// waited for before Serve returns.
type Listener struct {
	// Log receives accept errors, at most one line per acceptLogEvery
	// (nil: slog.Default()). Set it before Serve.
	Log *slog.Logger

	ln     net.Listener
	wg     sync.WaitGroup
	closed chan struct{}
	once   sync.Once
}

// Accept-loop backoff after an error: from acceptBackoffMin doubling to
// acceptBackoffMax, back to none after a connection is accepted.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
	acceptLogEvery   = 5 * time.Second
)

// Listen listens on addr.
func Listen(addr string) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Listener{ln: ln, closed: make(chan struct{})}, nil
}

// Addr is the listening address.
func (l *Listener) Addr() string { return l.ln.Addr().String() }

// Done is closed once Close has been called.
func (l *Listener) Done() <-chan struct{} { return l.closed }

// Serve calls handle for every connection until the listener is closed;
// when ctx ends it calls stop (which should Close the listener and end the
// sessions). It returns, always nil, after every handler has returned.
//
// An accept error never ends it: out of file descriptors (EMFILE,
// ENFILE), out of memory, a connection aborted before we took it — none
// is a reason to drop the sessions we have or to end the process (the
// HTTP API shares it). It logs, backs off and accepts again; what it
// could not take waits in the kernel's backlog.
func (l *Listener) Serve(ctx context.Context, stop func(), handle func(net.Conn)) error {
	after := context.AfterFunc(ctx, stop)
	defer after()
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	var (
		backoff time.Duration
		failed  int // accept errors since the last line logged
		logged  time.Time
	)
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if l.isClosed() || errors.Is(err, net.ErrClosed) {
				l.wg.Wait()
				return nil
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			failed++
			if now := time.Now(); now.Sub(logged) >= acceptLogEvery {
				log.Error("accepting SMPP connection; retrying", "addr", l.Addr(), "err", err, "errors", failed, "backoff", backoff)
				logged, failed = now, 0
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-l.closed:
				t.Stop()
			}
			continue
		}
		backoff = 0
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			handle(conn)
		}()
	}
}

func (l *Listener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// Close stops accepting. It reports whether this call was the one that
// closed the listener, so callers run their own shutdown once.
func (l *Listener) Close() bool {
	first := false
	l.once.Do(func() {
		first = true
		close(l.closed)
		_ = l.ln.Close()
	})
	return first
}

// ListenTLS listens on addr for SMPP over TLS.
func ListenTLS(addr string, cfg *tls.Config) (*Listener, error) {
	ln, err := tls.Listen("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	return &Listener{ln: ln, closed: make(chan struct{})}, nil
}

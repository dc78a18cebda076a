package smpp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
)

// Listener is the accept loop shared by our SMPP servers (the sandbox SMSC
// and the server platforms bind to): one goroutine per connection, all
// waited for before Serve returns.
type Listener struct {
	ln     net.Listener
	wg     sync.WaitGroup
	closed chan struct{}
	once   sync.Once
}

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
// sessions). It returns after every handler has returned.
func (l *Listener) Serve(ctx context.Context, stop func(), handle func(net.Conn)) error {
	after := context.AfterFunc(ctx, stop)
	defer after()
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.closed:
				l.wg.Wait()
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				l.wg.Wait()
				return nil
			}
			return fmt.Errorf("accepting SMPP connection: %w", err)
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			handle(conn)
		}()
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

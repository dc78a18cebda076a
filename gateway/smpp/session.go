package smpp

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned for requests on a closed session.
var ErrClosed = errors.New("smpp session closed")

// ErrUnanswered is returned (wrapped) for a request that was handed to the
// connection but never answered: the session closed or the response
// timeout passed. The peer may or may not have acted on it, so a caller
// must not simply send it again (a second submit_sm is a second text).
var ErrUnanswered = errors.New("smpp request sent but not answered")

// SessionConfig tunes a session. Zero values take the defaults.
type SessionConfig struct {
	// Window bounds our outstanding requests; Request waits for a free
	// slot (bounded by its context) instead of failing. Default 64.
	Window int
	// EnquireLink is how long the link may be idle before we probe it.
	// Default 30s.
	EnquireLink time.Duration
	// ResponseTimeout bounds the wait for a response. Default 10s.
	ResponseTimeout time.Duration
	// MaxPDU bounds command_length. Default DefaultMaxPDU.
	MaxPDU int
	// MaxInflight bounds peer requests handled at once. Default 256.
	MaxInflight int
	// Handle answers a request from the peer (other than enquire_link and
	// unbind, which the session answers itself). It runs on its own
	// goroutine. Returning nil answers generic_nack ESME_RINVCMDID.
	Handle func(ctx context.Context, req *PDU) *PDU
	// Name and Log identify the session in logs.
	Name string
	Log  *slog.Logger
}

// Session is one SMPP connection, whichever side opened it.
type Session struct {
	cfg  SessionConfig
	conn net.Conn
	log  *slog.Logger

	seq    atomic.Uint32
	window chan struct{}

	mu      sync.Mutex
	pending map[uint32]*call // by sequence number

	out       chan []byte
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	lastRead  atomic.Int64
	inflight  chan struct{}
	handlers  sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
	unbinding atomic.Bool
}

type call struct {
	respID uint32
	ch     chan *PDU
}

// NewSession wraps conn. Call Run to serve it.
func NewSession(conn net.Conn, cfg SessionConfig) *Session {
	if cfg.Window <= 0 {
		cfg.Window = 64
	}
	if cfg.EnquireLink <= 0 {
		cfg.EnquireLink = 30 * time.Second
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = 10 * time.Second
	}
	if cfg.MaxPDU <= 0 {
		cfg.MaxPDU = DefaultMaxPDU
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 256
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		cfg: cfg, conn: conn, log: cfg.Log.With("session", cfg.Name),
		window: make(chan struct{}, cfg.Window), pending: map[uint32]*call{},
		out: make(chan []byte, 128), done: make(chan struct{}), inflight: make(chan struct{}, cfg.MaxInflight),
		ctx: ctx, cancel: cancel,
	}
	s.lastRead.Store(time.Now().UnixNano())
	return s
}

// Done is closed when the session has closed.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is why the session closed (nil for a clean unbind or Close).
func (s *Session) Err() error {
	<-s.done
	return s.closeErr
}

func (s *Session) nextSeq() uint32 {
	for {
		n := s.seq.Add(1)
		if n != 0 && n <= 0x7FFFFFFF {
			return n
		}
		s.seq.Store(0) // wrap (SMPP 3.4: 0x00000001-0x7FFFFFFF)
	}
}

// Run serves the session: reads PDUs, answers the link-level ones, hands
// requests to Handle, matches responses, probes an idle link. It returns
// when the session closes; if ctx ends first it unbinds gracefully.
func (s *Session) Run(ctx context.Context) error {
	go s.writer()
	go s.keepalive()
	stop := context.AfterFunc(ctx, func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Unbind(uctx)
	})
	defer stop()
	err := s.readLoop()
	s.close(err)
	s.handlers.Wait()
	return s.closeErr
}

func (s *Session) close(err error) {
	s.closeOnce.Do(func() {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !s.unbinding.Load() {
			s.closeErr = err
		}
		s.cancel()
		close(s.done)
		_ = s.conn.Close()
		s.mu.Lock()
		for seq, c := range s.pending {
			close(c.ch)
			delete(s.pending, seq)
		}
		s.mu.Unlock()
	})
}

// Close closes the connection without unbinding.
func (s *Session) Close() error {
	s.close(nil)
	return nil
}

func (s *Session) writer() {
	w := bufio.NewWriterSize(s.conn, 64<<10)
	for {
		select {
		case b := <-s.out:
			if _, err := w.Write(b); err != nil {
				s.close(fmt.Errorf("writing: %w", err))
				return
			}
			if len(s.out) == 0 {
				if err := w.Flush(); err != nil {
					s.close(fmt.Errorf("writing: %w", err))
					return
				}
			}
		case <-s.done:
			return
		}
	}
}

func (s *Session) send(p *PDU) error {
	select {
	case s.out <- p.Marshal():
		return nil
	case <-s.done:
		return ErrClosed
	}
}

// Respond answers a request.
func (s *Session) Respond(req *PDU, id, status uint32, body []byte) error {
	return s.send(&PDU{ID: id, Status: status, Seq: req.Seq, Body: body})
}

// Request sends a request and waits for its response: the PDU with the
// matching response command_id (or generic_nack) and sequence number. A
// non-zero command_status is returned as the PDU, not as an error. ctx
// bounds the whole call; see RequestWithin for requests whose answer must
// not be given up on.
func (s *Session) Request(ctx context.Context, id uint32, body []byte) (*PDU, error) {
	return s.request(ctx, id, body, s.cfg.ResponseTimeout, true, nil)
}

// errBeforeWrite wraps the error of a RequestWithin before function.
var errBeforeWrite = errors.New("before write")

// RequestWithin is Request, except that once the PDU is handed to the
// connection ctx no longer applies: the wait for the answer is bounded by
// timeout (0: the session's ResponseTimeout) and the session alone, so a
// response is never abandoned because a caller's deadline passed. Errors
// after that point wrap ErrUnanswered; errors before it (no window slot in
// time, session closed) mean the peer never saw the request. before, if
// not nil, runs once the window slot is taken and just before the PDU is
// written; its error aborts the request (wrapped so errors.Unwrap gives
// it back) with nothing written.
func (s *Session) RequestWithin(ctx context.Context, id uint32, body []byte, timeout time.Duration, before func() error) (*PDU, error) {
	if timeout <= 0 {
		timeout = s.cfg.ResponseTimeout
	}
	return s.request(ctx, id, body, timeout, false, before)
}

func (s *Session) request(ctx context.Context, id uint32, body []byte, timeout time.Duration, ctxAfterSend bool, before func() error) (*PDU, error) {
	select {
	case s.window <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, ErrClosed
	}
	defer func() { <-s.window }()
	if before != nil {
		if err := before(); err != nil {
			return nil, fmt.Errorf("%w: %w", errBeforeWrite, err)
		}
	}
	seq := s.nextSeq()
	c := &call{respID: id | 0x80000000, ch: make(chan *PDU, 1)}
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return nil, ErrClosed
	default:
	}
	s.pending[seq] = c
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.pending, seq)
		s.mu.Unlock()
	}
	if err := s.send(&PDU{ID: id, Seq: seq, Body: body}); err != nil {
		forget()
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	var ctxDone <-chan struct{}
	if ctxAfterSend {
		ctxDone = ctx.Done()
	}
	select {
	case resp, ok := <-c.ch:
		if !ok {
			return nil, fmt.Errorf("%s seq %d: %w (%w)", CommandName(id), seq, ErrUnanswered, ErrClosed)
		}
		return resp, nil
	case <-t.C:
		forget()
		return nil, fmt.Errorf("%s seq %d: %w: no response within %s", CommandName(id), seq, ErrUnanswered, timeout)
	case <-ctxDone:
		forget()
		return nil, fmt.Errorf("%s seq %d: %w (%w)", CommandName(id), seq, ErrUnanswered, ctx.Err())
	case <-s.done:
		return nil, fmt.Errorf("%s seq %d: %w (%w)", CommandName(id), seq, ErrUnanswered, ErrClosed)
	}
}

// Unbind asks the peer to end the session and closes it.
func (s *Session) Unbind(ctx context.Context) error {
	if !s.unbinding.CompareAndSwap(false, true) {
		return nil
	}
	defer s.close(nil)
	resp, err := s.Request(ctx, Unbind, nil)
	if err != nil {
		return err
	}
	if resp.Status != ESME_ROK {
		return StatusError(resp.Status)
	}
	return nil
}

func (s *Session) readLoop() error {
	r := bufio.NewReaderSize(s.conn, 64<<10)
	var hdr [HeaderLen]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		s.lastRead.Store(time.Now().UnixNano())
		n := binary.BigEndian.Uint32(hdr[0:])
		p := &PDU{ID: binary.BigEndian.Uint32(hdr[4:]), Status: binary.BigEndian.Uint32(hdr[8:]), Seq: binary.BigEndian.Uint32(hdr[12:])}
		if n < HeaderLen || n > uint32(s.cfg.MaxPDU) {
			// The stream cannot be re-synchronised: say why, then close.
			_ = s.send(&PDU{ID: GenericNack, Status: ESME_RINVCMDLEN, Seq: p.Seq})
			time.Sleep(50 * time.Millisecond) // let the nack go out
			return fmt.Errorf("peer sent command_length %d (allowed %d-%d)", n, HeaderLen, s.cfg.MaxPDU)
		}
		p.Body = make([]byte, n-HeaderLen)
		if _, err := io.ReadFull(r, p.Body); err != nil {
			return err
		}
		if p.IsResponse() {
			s.resolve(p)
			continue
		}
		switch p.ID {
		case EnquireLink:
			_ = s.Respond(p, EnquireLinkResp, ESME_ROK, nil)
		case Unbind:
			_ = s.Respond(p, UnbindResp, ESME_ROK, nil)
			s.unbinding.Store(true)
			time.Sleep(20 * time.Millisecond) // let the response go out
			return nil
		default:
			s.dispatch(p)
		}
	}
}

func (s *Session) resolve(p *PDU) {
	s.mu.Lock()
	c, ok := s.pending[p.Seq]
	if ok && (p.ID == c.respID || p.ID == GenericNack) {
		delete(s.pending, p.Seq)
	} else {
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		s.log.Debug("unexpected response ignored", "command", CommandName(p.ID), "seq", p.Seq)
		return
	}
	c.ch <- p
}

func (s *Session) dispatch(p *PDU) {
	if s.cfg.Handle == nil {
		_ = s.Respond(p, GenericNack, ESME_RINVCMDID, nil)
		return
	}
	select {
	case s.inflight <- struct{}{}:
	case <-s.done:
		return
	}
	s.handlers.Add(1)
	go func() {
		defer s.handlers.Done()
		defer func() { <-s.inflight }()
		resp := s.cfg.Handle(s.ctx, p)
		if resp == nil {
			_ = s.Respond(p, GenericNack, ESME_RINVCMDID, nil)
			return
		}
		resp.Seq = p.Seq
		_ = s.send(resp)
	}()
}

func (s *Session) keepalive() {
	t := time.NewTicker(max(s.cfg.EnquireLink/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		idle := time.Since(time.Unix(0, s.lastRead.Load()))
		if idle < s.cfg.EnquireLink {
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.ResponseTimeout)
		resp, err := s.Request(ctx, EnquireLink, nil)
		cancel()
		if err != nil || resp.ID != EnquireLinkResp {
			if !errors.Is(err, ErrClosed) {
				s.close(fmt.Errorf("enquire_link unanswered: %v", err))
			}
			return
		}
	}
}

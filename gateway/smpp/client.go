package smpp

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/smsgw/smsgw/sms"
)

// ClientConfig configures a bind to a carrier's SMSC.
type ClientConfig struct {
	Name, Addr                     string
	SystemID, Password, SystemType string
	Window                         int           // default 64
	EnquireLink                    time.Duration // default 30s
	ResponseTimeout                time.Duration // default 10s
	// SubmitTimeout bounds the wait for a submit_sm_resp once the
	// submit_sm is on the connection (default 60s). A submit that is not
	// answered by then, or whose bind is lost first, is not sent again:
	// Submit reports it with ErrUnconfirmed.
	SubmitTimeout              time.Duration
	ReconnectMin, ReconnectMax time.Duration // default 500ms, 30s
	RatePerSecond              float64       // submit_sm per second; 0 = unlimited
	// ReassemblyTimeout bounds how long the parts of a concatenated MO wait
	// for each other (default 10s); then what arrived is delivered marked
	// incomplete.
	ReassemblyTimeout time.Duration
	// Pair binds a transmitter for submits and a separate receiver for
	// deliveries (receipts, MO) instead of one transceiver, for SMSCs that
	// do not offer transceiver binds. Each reconnects on its own.
	Pair bool
	TLS  *tls.Config
	Log  *slog.Logger
}

// Handler receives what the carrier delivers. Returning nil answers
// deliver_sm_resp OK; an error answers with its kind's SMPP status so the
// SMSC retries later.
type Handler interface {
	HandleDeliver(ctx context.Context, d *Deliver) error
}

// Deliver is a decoded deliver_sm: an MO text (multipart already
// reassembled) or a delivery receipt.
type Deliver struct {
	Src, Dst   string // addresses as digits (no "+")
	Text       string
	DataCoding byte
	IsReceipt  bool
	Receipt    *Receipt
	// Parts is how many PDUs carried the text; Incomplete is set when
	// parts never arrived within the reassembly timeout.
	Parts      int
	Incomplete bool
	// ID is set by a Handler to the id it accepted a text under (our SMPP
	// server answers a carrier's submit_sm with it).
	ID string
}

// Submit is a text to send.
type Submit struct {
	Src, Dst           string // digits, TON international / NPI E.164
	Text               string
	RegisteredDelivery bool
	// BeforeWrite, if set, is called once per Submit, when a window slot
	// is free and before the first part is written to the connection; an
	// error aborts the submit with nothing written. The MT stage records
	// its submit intent here, so only a text that may really be on the
	// wire counts as possibly sent.
	BeforeWrite func() error
}

// SubmitResult holds the carrier's message_id for each part sent.
type SubmitResult struct {
	MessageIDs []string
}

// Client is an ESME bound as a transceiver to one SMSC, reconnecting with
// backoff. Submit is safe for concurrent use.
type Client struct {
	cfg     ClientConfig
	h       Handler
	log     *slog.Logger
	limiter *rate.Limiter

	mu      sync.Mutex
	sess    *Session      // transceiver, or the pair's transmitter
	recv    *Session      // the pair's receiver
	bound   chan struct{} // closed while bound; replaced on unbind
	ref     atomic.Uint32
	reasm   *Reassembler
	stopped atomic.Bool
}

// NewClient returns a client; Run connects it.
func NewClient(cfg ClientConfig, h Handler) *Client {
	if cfg.Window <= 0 {
		cfg.Window = 64
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = 500 * time.Millisecond
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	if cfg.ReassemblyTimeout <= 0 {
		cfg.ReassemblyTimeout = 10 * time.Second
	}
	if cfg.SubmitTimeout <= 0 {
		cfg.SubmitTimeout = 60 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	c := &Client{cfg: cfg, h: h, log: cfg.Log.With("carrier", cfg.Name), bound: make(chan struct{})}
	if cfg.RatePerSecond > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.RatePerSecond), max(1, int(cfg.RatePerSecond/10)))
	}
	c.reasm = NewReassembler(cfg.ReassemblyTimeout)
	return c
}

// Bound reports whether the client currently has a bound session.
func (c *Client) Bound() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess != nil
}

// Run binds and serves until ctx ends, reconnecting with exponential
// backoff; on ctx end it unbinds and returns nil.
func (c *Client) Run(ctx context.Context) error {
	if !c.cfg.Pair {
		c.loop(ctx, BindTransceiver, c.setSession)
	} else {
		var wg sync.WaitGroup
		wg.Go(func() { c.loop(ctx, BindReceiver, c.setReceiver) })
		c.loop(ctx, BindTransmitter, c.setSession)
		wg.Wait()
	}
	c.stopped.Store(true)
	c.reasm.Stop()
	return nil
}

// loop keeps one bind of kind up until ctx ends.
func (c *Client) loop(ctx context.Context, kind uint32, set func(*Session)) {
	backoff := c.cfg.ReconnectMin
	as := CommandName(kind)
	for ctx.Err() == nil {
		sess, err := c.connect(ctx, kind)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.log.Warn("bind failed; retrying", "as", as, "addr", c.cfg.Addr, "in", backoff, "err", err)
			select {
			case <-time.After(backoff + time.Duration(rand.Int64N(int64(backoff)/4+1))):
			case <-ctx.Done():
			}
			backoff = min(backoff*2, c.cfg.ReconnectMax)
			continue
		}
		backoff = c.cfg.ReconnectMin
		set(sess)
		c.log.Info("bound", "as", as, "addr", c.cfg.Addr)
		select {
		case <-sess.Done():
		case <-ctx.Done():
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = sess.Unbind(uctx)
			cancel()
			<-sess.Done()
		}
		err = sess.Err()
		set(nil)
		if ctx.Err() == nil {
			c.log.Warn("session ended; reconnecting", "as", as, "err", err)
		}
	}
}

func (c *Client) setReceiver(s *Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recv = s
}

// ReceiverBound reports whether a pair client's receiver bind is up (for a
// transceiver client: whether it is bound).
func (c *Client) ReceiverBound() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.cfg.Pair {
		return c.sess != nil
	}
	return c.recv != nil
}

func (c *Client) setSession(s *Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = s
	if s != nil {
		close(c.bound)
	} else {
		c.bound = make(chan struct{})
	}
}

func (c *Client) connect(ctx context.Context, kind uint32) (*Session, error) {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	if c.cfg.TLS != nil {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: c.cfg.TLS}).DialContext(ctx, "tcp", c.cfg.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", c.cfg.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", c.cfg.Addr, err)
	}
	sess := NewSession(conn, SessionConfig{
		Window: c.cfg.Window, EnquireLink: c.cfg.EnquireLink, ResponseTimeout: c.cfg.ResponseTimeout,
		MaxInflight: 1024, Handle: c.handle, Name: c.cfg.Name, Log: c.log,
	})
	go func() { _ = sess.Run(context.Background()) }()
	bctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	b := Bind{SystemID: c.cfg.SystemID, Password: c.cfg.Password, SystemType: c.cfg.SystemType, InterfaceVersion: 0x34, AddrTON: 1, AddrNPI: 1}
	resp, err := sess.Request(bctx, kind, b.Marshal())
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("binding to %s: %w", c.cfg.Addr, err)
	}
	if resp.Status != ESME_ROK {
		sess.Close()
		return nil, fmt.Errorf("%s to %s as %s: %w", CommandName(kind), c.cfg.Addr, c.cfg.SystemID, StatusError(resp.Status))
	}
	return sess, nil
}

// session waits until bound (bounded by ctx).
func (c *Client) session(ctx context.Context) (*Session, error) {
	for {
		c.mu.Lock()
		s, ch := c.sess, c.bound
		c.mu.Unlock()
		if s != nil {
			return s, nil
		}
		if c.stopped.Load() {
			return nil, sms.Errorf(sms.Unavailable, "carrier_unavailable", "carrier %s is stopped", c.cfg.Name)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, sms.Wrap(sms.Unavailable, "carrier_unavailable", "carrier "+c.cfg.Name+" is not bound", ctx.Err())
		}
	}
}

// ErrUnconfirmed is returned (wrapped) by Submit when a part of the text
// was written to the carrier but never answered (the bind was lost, or
// SubmitTimeout passed): the carrier may have taken it. Such a text must
// not be submitted again without saying so; SubmitResult holds the ids of
// the parts that were answered ("" for the others).
var ErrUnconfirmed = errors.New("submit_sm written but not answered")

// Submit sends a text, split into parts as needed, and returns the
// carrier's message ID of each part. Throttling answers (ESME_RTHROTTLED,
// ESME_RMSGQFUL) are retried for the same part with backoff; a part that
// never reached the connection waits for the next bind (bounded by ctx).
// A part that reached the connection is never written again.
func (c *Client) Submit(ctx context.Context, m Submit) (SubmitResult, error) {
	bodies, err := TextPDUs(m, byte(c.ref.Add(1)))
	if err != nil {
		return SubmitResult{}, err
	}
	// Parts go out pipelined within the window, not one round trip after
	// another: receivers that join parts before answering (our SMPP server
	// does) need every part in flight.
	ids := make([]string, len(bodies))
	errs := make([]error, len(bodies))
	before := func() error { return nil }
	if m.BeforeWrite != nil {
		before = sync.OnceValue(m.BeforeWrite)
	}
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = c.submitPart(ctx, body, before)
		}()
	}
	wg.Wait()
	var first error
	sent := 0
	for _, id := range ids {
		if id != "" {
			sent++
		}
	}
	for _, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, ErrUnconfirmed) {
			return SubmitResult{MessageIDs: ids}, err
		}
		first = cmp.Or(first, err)
	}
	if first != nil && sent > 0 {
		// Some parts reached the carrier, others never did: sending the
		// text again would repeat the parts it has.
		return SubmitResult{MessageIDs: ids}, fmt.Errorf("%w: %d of %d parts accepted, then: %w", ErrUnconfirmed, sent, len(ids), first)
	}
	if first != nil {
		return SubmitResult{}, first
	}
	return SubmitResult{MessageIDs: ids}, nil
}

func (c *Client) submitPart(ctx context.Context, body []byte, before func() error) (string, error) {
	wait := 100 * time.Millisecond
	for {
		if c.limiter != nil {
			if err := c.limiter.Wait(ctx); err != nil {
				return "", sms.Wrap(sms.Throttled, "throttled", "rate limit wait cancelled", err)
			}
		}
		s, err := c.session(ctx)
		if err != nil {
			return "", err
		}
		resp, err := s.RequestWithin(ctx, SubmitSM, body, c.cfg.SubmitTimeout, before)
		if err != nil {
			if errors.Is(err, errBeforeWrite) {
				return "", err // nothing written
			}
			if errors.Is(err, ErrUnanswered) {
				c.log.Warn("submit_sm not answered; it is not sent again", "err", err)
				return "", sms.Wrap(sms.Unavailable, "carrier_unconfirmed", "carrier did not answer a submit it may have taken", fmt.Errorf("%w: %w", ErrUnconfirmed, err))
			}
			if errors.Is(err, ErrClosed) {
				continue // never written: try on the next bind
			}
			return "", sms.Wrap(sms.Unavailable, "carrier_timeout", "carrier not reachable in time", err)
		}
		switch resp.Status {
		case ESME_ROK:
			id, err := ParseMessageIDBody(resp.Body)
			if err != nil || id == "" {
				return "", sms.Errorf(sms.Internal, "carrier_bad_response", "carrier answered submit_sm without a message_id")
			}
			return id, nil
		case ESME_RTHROTTLED, ESME_RMSGQFUL:
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return "", sms.Errorf(sms.Throttled, "carrier_throttled", "carrier kept throttling (status %#x)", resp.Status)
			}
			wait = min(wait*2, 5*time.Second)
			continue
		}
		if resp.ID == GenericNack {
			return "", sms.Errorf(sms.Permanent, "carrier_rejected", "carrier answered generic_nack %#x", resp.Status)
		}
		return "", sms.Errorf(sms.Permanent, "carrier_rejected", "carrier rejected the message with status %#x", resp.Status)
	}
}

// handle answers the SMSC's requests.
func (c *Client) handle(ctx context.Context, req *PDU) *PDU {
	switch req.ID {
	case DeliverSM:
		return &PDU{ID: DeliverSMResp, Status: c.deliver(ctx, req), Body: []byte{0}}
	case DataSM, QuerySM, CancelSM, ReplaceSM, SubmitSM:
		return &PDU{ID: req.ID | 0x80000000, Status: ESME_RINVCMDID, Body: []byte{0}}
	}
	return nil
}

func (c *Client) deliver(ctx context.Context, req *PDU) uint32 {
	sm, err := ParseSM(req.Body)
	if err != nil {
		c.log.Warn("garbled deliver_sm refused", "err", err)
		return ESME_RSYSERR
	}
	d, part, st := DecodeSM(&sm)
	switch st {
	case ESME_ROK:
	case ESME_RINVDCS:
		c.log.Warn("deliver_sm in an unsupported encoding refused", "data_coding", sm.DataCoding)
		return ESME_RX_T_APPN // the text is never passed on undecoded
	default:
		c.log.Warn("deliver_sm refused", "status", StatusError(st).Error())
		return st
	}
	if part == nil {
		return c.call(ctx, d)
	}
	// Parts wait for each other; each part's response is held until the
	// whole text has been handled, so an acked part is never lost.
	return c.reasm.Add(ctx, d, part, func(ctx context.Context, d *Deliver) Reassembled {
		return Reassembled{Status: c.call(ctx, d)}
	}).Status
}

func (c *Client) call(ctx context.Context, d *Deliver) uint32 {
	if err := c.h.HandleDeliver(ctx, d); err != nil {
		st := sms.KindOf(err).SMPPStatus()
		if st == ESME_ROK {
			st = ESME_RSYSERR
		}
		return st
	}
	return ESME_ROK
}

func digits(addr string) string {
	return strings.TrimLeft(strings.TrimSpace(addr), "+")
}

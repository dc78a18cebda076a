package smpp

import (
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
	ReconnectMin, ReconnectMax     time.Duration // default 500ms, 30s
	RatePerSecond                  float64       // submit_sm per second; 0 = unlimited
	// ReassemblyTimeout bounds how long the parts of a concatenated MO wait
	// for each other (default 10s); then what arrived is delivered marked
	// incomplete.
	ReassemblyTimeout time.Duration
	TLS               *tls.Config
	Log               *slog.Logger
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
}

// Submit is a text to send.
type Submit struct {
	Src, Dst           string // digits, TON international / NPI E.164
	Text               string
	RegisteredDelivery bool
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
	sess    *Session
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
	backoff := c.cfg.ReconnectMin
	for ctx.Err() == nil {
		sess, err := c.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.log.Warn("bind failed; retrying", "addr", c.cfg.Addr, "in", backoff, "err", err)
			select {
			case <-time.After(backoff + time.Duration(rand.Int64N(int64(backoff)/4+1))):
			case <-ctx.Done():
			}
			backoff = min(backoff*2, c.cfg.ReconnectMax)
			continue
		}
		backoff = c.cfg.ReconnectMin
		c.setSession(sess)
		c.log.Info("bound", "addr", c.cfg.Addr)
		select {
		case <-sess.Done():
		case <-ctx.Done():
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = sess.Unbind(uctx)
			cancel()
			<-sess.Done()
		}
		err = sess.Err()
		c.setSession(nil)
		if ctx.Err() == nil {
			c.log.Warn("session ended; reconnecting", "err", err)
		}
	}
	c.stopped.Store(true)
	c.reasm.Stop()
	return nil
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

func (c *Client) connect(ctx context.Context) (*Session, error) {
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
	resp, err := sess.Request(bctx, BindTransceiver, b.Marshal())
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("binding to %s: %w", c.cfg.Addr, err)
	}
	if resp.Status != ESME_ROK {
		sess.Close()
		return nil, fmt.Errorf("binding to %s as %s: %w", c.cfg.Addr, c.cfg.SystemID, StatusError(resp.Status))
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

// Submit sends a text, split into parts as needed, and returns the
// carrier's message ID of each part. Throttling answers (ESME_RTHROTTLED,
// ESME_RMSGQFUL) are retried for the same part with backoff; a lost
// connection retries the part on the next bind.
func (c *Client) Submit(ctx context.Context, m Submit) (SubmitResult, error) {
	enc, err := EncodeText(m.Text, byte(c.ref.Add(1)))
	if err != nil {
		return SubmitResult{}, err
	}
	// Parts go out pipelined within the window, not one round trip after
	// another: receivers that join parts before answering (our SMPP server
	// does) need every part in flight.
	ids := make([]string, len(enc.Parts))
	errs := make([]error, len(enc.Parts))
	var wg sync.WaitGroup
	for i, part := range enc.Parts {
		sm := SM{SrcTON: 1, SrcNPI: 1, Src: m.Src, DstTON: 1, DstNPI: 1, Dst: m.Dst, DataCoding: enc.DataCoding, ShortMessage: part}
		if enc.UDHI {
			sm.ESMClass |= ESMUDHI
		}
		if m.RegisteredDelivery {
			sm.RegisteredDelivery = 1
		}
		body := sm.Marshal()
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = c.submitPart(ctx, body)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return SubmitResult{}, err
		}
	}
	return SubmitResult{MessageIDs: ids}, nil
}

func (c *Client) submitPart(ctx context.Context, body []byte) (string, error) {
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
		resp, err := s.Request(ctx, SubmitSM, body)
		if err != nil {
			if ctx.Err() != nil {
				return "", sms.Wrap(sms.Unavailable, "carrier_timeout", "carrier did not answer in time", err)
			}
			if errors.Is(err, ErrClosed) {
				continue // the connection dropped: try on the next bind
			}
			return "", sms.Wrap(sms.Unavailable, "carrier_timeout", "carrier did not answer", err)
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
	if payload, ok := sm.TLV(TagMessagePayload); ok && len(sm.ShortMessage) == 0 {
		sm.ShortMessage = payload
	}
	d := &Deliver{Src: digits(sm.Src), Dst: digits(sm.Dst), DataCoding: sm.DataCoding, Parts: 1}
	if sm.ESMClass&ESMReceipt != 0 {
		text, err := DecodeText(sm.DataCoding, sm.ShortMessage)
		if err != nil {
			text = string(sm.ShortMessage) // receipts are ASCII in practice
		}
		r, err := ParseReceipt(text)
		if err != nil {
			r = &Receipt{}
		}
		if id, ok := sm.TLV(TagReceiptedMessageID); ok {
			r.MessageID = strings.TrimRight(string(id), "\x00")
		}
		if st, ok := sm.TLV(TagMessageState); ok && len(st) == 1 {
			r.MessageState = st[0]
		}
		if r.MessageID == "" {
			c.log.Warn("receipt without message id refused")
			return ESME_RSYSERR
		}
		d.IsReceipt, d.Receipt = true, r
		return c.call(ctx, d)
	}
	payload := sm.ShortMessage
	var part *Concat
	if sm.ESMClass&ESMUDHI != 0 {
		payload, part, err = SplitUDH(sm.ShortMessage)
		if err != nil {
			c.log.Warn("deliver_sm with a bad UDH refused", "err", err)
			return ESME_RSYSERR
		}
	} else if ref, ok := sm.TLV(TagSarMsgRefNum); ok && len(ref) == 2 {
		tot, _ := sm.TLV(TagSarTotalSegments)
		seq, _ := sm.TLV(TagSarSegmentSeqnum)
		if len(tot) == 1 && len(seq) == 1 && tot[0] > 0 && seq[0] > 0 && seq[0] <= tot[0] {
			part = &Concat{Ref: uint16(ref[0])<<8 | uint16(ref[1]), Total: tot[0], Seq: seq[0]}
		}
	}
	text, err := DecodeText(sm.DataCoding, payload)
	if err != nil {
		c.log.Warn("deliver_sm in an unsupported encoding refused", "data_coding", sm.DataCoding)
		return ESME_RX_T_APPN // the text is never passed on undecoded
	}
	d.Text = text
	if part == nil || part.Total == 1 {
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

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smsgw/smsgw/gateway/smpp"
)

// Config configures the simulator.
type Config struct {
	Addr               string // default 127.0.0.1:0
	SystemID, Password string
	// ReceiptDelay delays delivery receipts (default: none).
	ReceiptDelay time.Duration
	// FailTo maps destination digits to a receipt stat (e.g. "UNDELIV").
	FailTo map[string]string
	// ThrottleEvery answers every Nth submit_sm with ESME_RTHROTTLED.
	ThrottleEvery int
	Log           *slog.Logger
}

// Submitted is one accepted submit_sm, decoded.
type Submitted struct {
	MessageID  string
	Src, Dst   string
	Text       string // this part's text
	DataCoding byte
	ESMClass   byte
	Concat     *smpp.Concat
	At         time.Time
}

// Server is a running simulator.
type Server struct {
	cfg Config
	lis *smpp.Listener
	log *slog.Logger

	mu        sync.Mutex
	submitted []Submitted
	changed   chan struct{}
	sessions  map[*smpp.Session]bool // bound receivers/transceivers
	all       map[*smpp.Session]bool
	binds     map[uint32]int // successful binds by command ID

	nextID atomic.Uint64
	count  atomic.Int64
	closed <-chan struct{}
}

// New listens on cfg.Addr.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	lis, err := smpp.Listen(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	s := &Server{cfg: cfg, lis: lis, log: cfg.Log.With("component", "sandbox-smsc"), changed: make(chan struct{}),
		sessions: map[*smpp.Session]bool{}, all: map[*smpp.Session]bool{}, closed: lis.Done()}
	s.nextID.Store(uint64(time.Now().UnixNano()) & 0xFFFFFFFFFF)
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.lis.Addr() }

// Run accepts connections until ctx ends or Close.
func (s *Server) Run(ctx context.Context) error {
	return s.lis.Serve(ctx, func() { _ = s.Close() }, s.serve)
}

// Close stops listening and unbinds every session.
func (s *Server) Close() error {
	if !s.lis.Close() {
		return nil
	}
	s.mu.Lock()
	var all []*smpp.Session
	for sess := range s.all {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = sess.Unbind(ctx)
		cancel()
	}
	return nil
}

func (s *Server) serve(conn net.Conn) {
	var sess *smpp.Session
	var bound atomic.Bool
	sess = smpp.NewSession(conn, smpp.SessionConfig{
		Window: 256, Name: "sandbox", Log: s.log, MaxInflight: 4096,
		Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU {
			switch req.ID {
			case smpp.BindTransceiver, smpp.BindReceiver, smpp.BindTransmitter:
				return s.bind(sess, req, &bound)
			case smpp.SubmitSM:
				if !bound.Load() {
					return &smpp.PDU{ID: smpp.SubmitSMResp, Status: smpp.ESME_RINVBNDSTS}
				}
				return s.submit(sess, req)
			case smpp.DeliverSM, smpp.DataSM, smpp.QuerySM, smpp.CancelSM, smpp.ReplaceSM:
				return &smpp.PDU{ID: req.ID | 0x80000000, Status: smpp.ESME_RINVCMDID}
			}
			return nil
		},
	})
	s.mu.Lock()
	s.all[sess] = true
	s.mu.Unlock()
	_ = sess.Run(context.Background())
	s.mu.Lock()
	delete(s.all, sess)
	delete(s.sessions, sess)
	s.mu.Unlock()
}

func (s *Server) bind(sess *smpp.Session, req *smpp.PDU, bound *atomic.Bool) *smpp.PDU {
	resp := &smpp.PDU{ID: req.ID | 0x80000000, Body: []byte("sandbox\x00")}
	b, err := smpp.ParseBind(req.Body)
	switch {
	case err != nil:
		resp.Status = smpp.ESME_RBINDFAIL
	case bound.Load():
		resp.Status = smpp.ESME_RALYBND
	case b.SystemID != s.cfg.SystemID:
		resp.Status = smpp.ESME_RINVSYSID
	case b.Password != s.cfg.Password:
		resp.Status = smpp.ESME_RINVPASWD
	default:
		bound.Store(true)
		s.mu.Lock()
		if s.binds == nil {
			s.binds = map[uint32]int{}
		}
		s.binds[req.ID]++
		s.mu.Unlock()
		if req.ID != smpp.BindTransmitter {
			s.mu.Lock()
			s.sessions[sess] = true
			s.mu.Unlock()
		}
	}
	if resp.Status != smpp.ESME_ROK {
		s.log.Warn("sandbox bind refused", "system_id", b.SystemID, "status", resp.Status)
	}
	return resp
}

func (s *Server) submit(sess *smpp.Session, req *smpp.PDU) *smpp.PDU {
	sm, err := smpp.ParseSM(req.Body)
	if err != nil {
		return &smpp.PDU{ID: smpp.SubmitSMResp, Status: smpp.ESME_RSYSERR}
	}
	if n := s.count.Add(1); s.cfg.ThrottleEvery > 0 && n%int64(s.cfg.ThrottleEvery) == 0 {
		return &smpp.PDU{ID: smpp.SubmitSMResp, Status: smpp.ESME_RTHROTTLED}
	}
	payload := sm.ShortMessage
	var part *smpp.Concat
	if sm.ESMClass&smpp.ESMUDHI != 0 {
		if payload, part, err = smpp.SplitUDH(sm.ShortMessage); err != nil {
			return &smpp.PDU{ID: smpp.SubmitSMResp, Status: smpp.ESME_RINVMSGLEN}
		}
	}
	text, err := smpp.DecodeText(sm.DataCoding, payload)
	if err != nil {
		return &smpp.PDU{ID: smpp.SubmitSMResp, Status: 0x00000104} // ESME_RINVDCS-like: invalid data coding
	}
	id := strconv.FormatUint(s.nextID.Add(1), 16)
	now := time.Now()
	s.mu.Lock()
	s.submitted = append(s.submitted, Submitted{MessageID: id, Src: sm.Src, Dst: sm.Dst, Text: text, DataCoding: sm.DataCoding, ESMClass: sm.ESMClass, Concat: part, At: now})
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if sm.RegisteredDelivery&0x03 != 0 {
		stat := "DELIVRD"
		if f, ok := s.cfg.FailTo[sm.Dst]; ok {
			stat = f
		}
		go s.receipt(sess, id, sm, stat, text, now)
	}
	return &smpp.PDU{ID: smpp.SubmitSMResp, Body: smpp.MessageIDBody(id)}
}

// receipt sends a delivery receipt to the session that submitted (or, if
// it is gone, any bound receiver), retrying while the ESME answers with an
// error.
func (s *Server) receipt(sess *smpp.Session, id string, sm smpp.SM, stat, text string, submitted time.Time) {
	if s.cfg.ReceiptDelay > 0 {
		select {
		case <-time.After(s.cfg.ReceiptDelay):
		case <-s.closed:
			return
		}
	}
	body := smpp.FormatReceipt(id, stat, "000", submitted, time.Now(), text)
	d := smpp.SM{SrcTON: 1, SrcNPI: 1, Src: sm.Dst, DstTON: 1, DstNPI: 1, Dst: sm.Src, ESMClass: smpp.ESMReceipt,
		ShortMessage: []byte(body), TLVs: []smpp.TLV{
			{Tag: smpp.TagReceiptedMessageID, Value: append([]byte(id), 0)},
			{Tag: smpp.TagMessageState, Value: []byte{smpp.MessageStateOf(stat)}},
		}}
	_ = s.deliver(context.Background(), sess, d.Marshal(), 20)
}

func (s *Server) deliver(ctx context.Context, prefer *smpp.Session, body []byte, tries int) error {
	wait := 50 * time.Millisecond
	var last error
	for i := 0; i < tries; i++ {
		sess := prefer
		s.mu.Lock()
		if sess == nil || !s.sessions[sess] {
			sess = nil
			for x := range s.sessions {
				sess = x
				break
			}
		}
		s.mu.Unlock()
		if sess != nil {
			resp, err := sess.Request(ctx, smpp.DeliverSM, body)
			if err == nil && resp.Status == smpp.ESME_ROK {
				return nil
			}
			if err == nil {
				last = smpp.StatusError(resp.Status)
			} else {
				last = err
			}
		} else {
			last = errors.New("no ESME bound as receiver")
		}
		select {
		case <-time.After(wait):
		case <-s.closed:
			return errors.New("sandbox closed")
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(wait*2, 2*time.Second)
	}
	return fmt.Errorf("delivering to the ESME: %w", last)
}

// Binds counts the successful binds of kind (a bind command ID) so far.
func (s *Server) Binds(kind uint32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.binds[kind]
}

// SendMO delivers a text from src to dst (digits) as deliver_sm, split
// into concatenated parts when long, and waits for the ESME's answers.
// A non-zero deliver_sm_resp status is returned as an error.
func (s *Server) SendMO(ctx context.Context, src, dst, text string) error {
	enc, err := smpp.EncodeText(text, byte(s.nextID.Load()))
	if err != nil {
		return err
	}
	errs := make(chan error, len(enc.Parts))
	for _, p := range enc.Parts {
		sm := smpp.SM{SrcTON: 1, SrcNPI: 1, Src: src, DstTON: 1, DstNPI: 1, Dst: dst, DataCoding: enc.DataCoding, ShortMessage: p}
		if enc.UDHI {
			sm.ESMClass |= smpp.ESMUDHI
		}
		body := sm.Marshal()
		// Parts go out together: an ESME holds part responses until the
		// whole text is in.
		go func() { errs <- s.deliverOnce(ctx, body) }()
	}
	var first error
	for range enc.Parts {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *Server) deliverOnce(ctx context.Context, body []byte) error {
	s.mu.Lock()
	var sess *smpp.Session
	for x := range s.sessions {
		sess = x
		break
	}
	s.mu.Unlock()
	if sess == nil {
		return errors.New("no ESME bound as receiver")
	}
	resp, err := sess.Request(ctx, smpp.DeliverSM, body)
	if err != nil {
		return err
	}
	if resp.Status != smpp.ESME_ROK {
		return smpp.StatusError(resp.Status)
	}
	return nil
}

// Bound reports whether an ESME is bound (so SendMO has a session to use).
func (s *Server) Bound() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions) > 0
}

// Submitted returns every accepted submit_sm so far.
func (s *Server) Submitted() []Submitted {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submitted(nil), s.submitted...)
}

// WaitSubmitted waits until at least n submits were accepted.
func (s *Server) WaitSubmitted(ctx context.Context, n int) ([]Submitted, error) {
	for {
		s.mu.Lock()
		if len(s.submitted) >= n {
			out := append([]Submitted(nil), s.submitted...)
			s.mu.Unlock()
			return out, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return s.Submitted(), fmt.Errorf("waiting for %d submits (have %d): %w", n, len(s.Submitted()), ctx.Err())
		}
	}
}

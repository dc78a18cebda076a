package smppserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/sms"
)

// Account is an ESME allowed to bind.
type Account struct {
	SystemID       string
	PasswordHash   string // bcrypt
	Role           string // "platform"
	AllowedSources []sms.Number
	MaxBinds       int     // 0: 4
	Throughput     float64 // submit_sm/s per bind; 0: unlimited
	AllowedIPs     []*net.IPNet
}

// Acceptor persists a message at ingress (internal/app.Ingress).
type Acceptor interface {
	Accept(ctx context.Context, m *sms.Message) error
}

// Holder says which employee holds a business number now ("" if none).
type Holder func(ctx context.Context, n sms.Number) (employeeID, carrier string, err error)

// ReceiptRequested is called for every accepted submit_sm that asked for
// a delivery receipt, so the caller can route the receipt back later.
type ReceiptRequested func(ctx context.Context, systemID string, m *sms.Message) error

// Lookup reports a message's sender, current status and when it reached a
// final status (zero if not final); sms.NotFound if unknown.
type Lookup func(ctx context.Context, id sms.MessageID) (from sms.Number, st sms.Status, final time.Time, err error)

// Config configures the server.
type Config struct {
	Addr     string
	Accounts []Account
	Ingress  Acceptor
	Holder   Holder
	// OnReceiptRequested records a receipt request; required.
	OnReceiptRequested ReceiptRequested
	// Lookup answers query_sm; nil answers ESME_RINVCMDID.
	Lookup       Lookup
	MaxBodyChars int
	Log          *slog.Logger
}

// Server is a running SMPP server.
type Server struct {
	cfg      Config
	lis      *smpp.Listener
	log      *slog.Logger
	accounts map[string]*Account
	reasm    *smpp.Reassembler

	mu    sync.Mutex
	binds map[string]map[*bind]bool // system_id -> live binds
}

type bind struct {
	sess     *smpp.Session
	systemID string
	kind     uint32 // bind command ID
	limiter  *rate.Limiter
}

func (b *bind) receives() bool { return b.kind != smpp.BindTransmitter }

// New listens on cfg.Addr.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxBodyChars <= 0 {
		cfg.MaxBodyChars = 1600
	}
	lis, err := smpp.Listen(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on smpp.addr %s: %w", cfg.Addr, err)
	}
	s := &Server{cfg: cfg, lis: lis, log: cfg.Log.With("component", "smpp-server"), accounts: map[string]*Account{},
		binds: map[string]map[*bind]bool{}, reasm: smpp.NewReassembler(10 * time.Second)}
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		s.accounts[a.SystemID] = a
	}
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() string { return s.lis.Addr() }

// Run serves until ctx ends, then unbinds every session.
func (s *Server) Run(ctx context.Context) error {
	return s.lis.Serve(ctx, func() { _ = s.Close() }, s.serve)
}

// Close stops listening and unbinds every session.
func (s *Server) Close() error {
	if !s.lis.Close() {
		return nil
	}
	s.reasm.Stop()
	s.mu.Lock()
	var all []*bind
	for _, bs := range s.binds {
		for b := range bs {
			all = append(all, b)
		}
	}
	s.mu.Unlock()
	for _, b := range all {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = b.sess.Unbind(ctx)
		cancel()
	}
	return nil
}

func (s *Server) serve(conn net.Conn) {
	var b *bind
	var mu sync.Mutex
	var sess *smpp.Session
	remote := conn.RemoteAddr()
	sess = smpp.NewSession(conn, smpp.SessionConfig{
		Name: "smpp-server", Log: s.log, Window: 64,
		Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU {
			mu.Lock()
			cur := b
			mu.Unlock()
			switch req.ID {
			case smpp.BindTransceiver, smpp.BindReceiver, smpp.BindTransmitter:
				resp, nb := s.bind(sess, req, cur, remote)
				if nb != nil {
					mu.Lock()
					b = nb
					mu.Unlock()
				}
				return resp
			case smpp.SubmitSM:
				if cur == nil || cur.kind == smpp.BindReceiver {
					return &smpp.PDU{ID: smpp.SubmitSMResp, Status: smpp.ESME_RINVBNDSTS}
				}
				return s.submit(ctx, cur, req)
			case smpp.QuerySM:
				if cur == nil || cur.kind == smpp.BindReceiver || s.cfg.Lookup == nil {
					return &smpp.PDU{ID: smpp.QuerySMResp, Status: smpp.ESME_RINVBNDSTS}
				}
				return s.query(ctx, cur, req)
			case smpp.DeliverSM, smpp.CancelSM, smpp.ReplaceSM, smpp.DataSM, smpp.SubmitMulti:
				// Not supported yet: a clear refusal, never a hang.
				return &smpp.PDU{ID: req.ID | 0x80000000, Status: smpp.ESME_RINVCMDID}
			}
			return nil
		},
	})
	_ = sess.Run(context.Background())
	mu.Lock()
	if b != nil {
		s.mu.Lock()
		delete(s.binds[b.systemID], b)
		s.mu.Unlock()
	}
	mu.Unlock()
}

func (s *Server) bind(sess *smpp.Session, req *smpp.PDU, cur *bind, remote net.Addr) (*smpp.PDU, *bind) {
	resp := &smpp.PDU{ID: req.ID | 0x80000000, Body: []byte("smsgw\x00")}
	fail := func(st uint32, why, sys string) (*smpp.PDU, *bind) {
		// Logged without the password, ever.
		s.log.Warn("SMPP bind refused", "system_id", sys, "remote", hostOf(remote), "reason", why)
		resp.Status = st
		return resp, nil
	}
	if cur != nil {
		return fail(smpp.ESME_RALYBND, "already bound", cur.systemID)
	}
	bd, err := smpp.ParseBind(req.Body)
	if err != nil {
		return fail(smpp.ESME_RBINDFAIL, "malformed bind", "")
	}
	a, ok := s.accounts[bd.SystemID]
	if !ok {
		return fail(smpp.ESME_RINVSYSID, "unknown system_id", bd.SystemID)
	}
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(bd.Password)) != nil {
		return fail(smpp.ESME_RINVPASWD, "wrong password", bd.SystemID)
	}
	if len(a.AllowedIPs) > 0 {
		ip := net.ParseIP(hostOf(remote))
		if ip == nil || !slices.ContainsFunc(a.AllowedIPs, func(n *net.IPNet) bool { return n.Contains(ip) }) {
			return fail(smpp.ESME_RBINDFAIL, "address not allowed", bd.SystemID)
		}
	}
	maxBinds := a.MaxBinds
	if maxBinds == 0 {
		maxBinds = 4
	}
	nb := &bind{sess: sess, systemID: a.SystemID, kind: req.ID}
	if a.Throughput > 0 {
		nb.limiter = rate.NewLimiter(rate.Limit(a.Throughput), max(1, int(a.Throughput)))
	}
	s.mu.Lock()
	if len(s.binds[a.SystemID]) >= maxBinds {
		s.mu.Unlock()
		return fail(smpp.ESME_RBINDFAIL, "too many binds", bd.SystemID)
	}
	if s.binds[a.SystemID] == nil {
		s.binds[a.SystemID] = map[*bind]bool{}
	}
	s.binds[a.SystemID][nb] = true
	s.mu.Unlock()
	s.log.Info("SMPP bind", "system_id", a.SystemID, "as", smpp.CommandName(req.ID), "remote", hostOf(remote))
	return resp, nb
}

func hostOf(a net.Addr) string {
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

func (s *Server) submit(ctx context.Context, b *bind, req *smpp.PDU) *smpp.PDU {
	resp := func(st uint32, id string) *smpp.PDU {
		return &smpp.PDU{ID: smpp.SubmitSMResp, Status: st, Body: smpp.MessageIDBody(id)}
	}
	if b.limiter != nil && !b.limiter.Allow() {
		return resp(smpp.ESME_RTHROTTLED, "")
	}
	sm, err := smpp.ParseSM(req.Body)
	if err != nil {
		return resp(smpp.ESME_RSYSERR, "")
	}
	if payload, ok := sm.TLV(smpp.TagMessagePayload); ok && len(sm.ShortMessage) == 0 {
		sm.ShortMessage = payload
	}
	a := s.accounts[b.systemID]
	from, err := sms.ParseNumber("+" + digits(sm.Src))
	if err != nil || !slices.Contains(a.AllowedSources, from) {
		return resp(smpp.ESME_RINVSRCADR, "")
	}
	to, err := sms.ParseNumber("+" + digits(sm.Dst))
	if err != nil {
		return resp(smpp.ESME_RINVDSTADR, "")
	}
	payload := sm.ShortMessage
	var part *smpp.Concat
	if sm.ESMClass&smpp.ESMUDHI != 0 {
		if payload, part, err = smpp.SplitUDH(sm.ShortMessage); err != nil {
			return resp(smpp.ESME_RINVMSGLEN, "")
		}
	}
	text, err := smpp.DecodeText(sm.DataCoding, payload)
	if err != nil {
		return resp(0x00000104, "") // invalid data_coding: never take undecodable bytes as text
	}
	d := &smpp.Deliver{Src: from.Digits(), Dst: to.Digits(), Text: text, DataCoding: sm.DataCoding, Parts: 1}
	wantReceipt := sm.RegisteredDelivery&0x03 != 0
	accept := func(ctx context.Context, d *smpp.Deliver) smpp.Reassembled {
		if len([]rune(d.Text)) > s.cfg.MaxBodyChars {
			return smpp.Reassembled{Status: smpp.ESME_RINVMSGLEN}
		}
		m := &sms.Message{Direction: sms.Outbound, From: from, To: to, Body: d.Text, Source: sms.SourceSMPP, Incomplete: d.Incomplete}
		emp, carrier, err := s.cfg.Holder(ctx, from)
		if err != nil {
			return smpp.Reassembled{Status: sms.KindOf(err).SMPPStatus()}
		}
		m.EmployeeID, m.Carrier = emp, carrier
		m.ID, m.AcceptedAt = sms.NewMessageID(), time.Now().UTC()
		if wantReceipt {
			if err := s.cfg.OnReceiptRequested(ctx, b.systemID, m); err != nil {
				return smpp.Reassembled{Status: smpp.ESME_RSYSERR}
			}
		}
		if err := s.cfg.Ingress.Accept(ctx, m); err != nil {
			return smpp.Reassembled{Status: sms.KindOf(err).SMPPStatus()}
		}
		return smpp.Reassembled{Status: smpp.ESME_ROK, MessageID: string(m.ID)}
	}
	var r smpp.Reassembled
	if part == nil || part.Total == 1 {
		r = accept(ctx, d)
	} else {
		// Every part is answered with the whole message's id once the joined
		// text is persisted.
		r = s.reasm.Add(ctx, d, part, accept)
	}
	return resp(r.Status, r.MessageID)
}

// SendReceipt delivers a receipt for message id to a receiving bind of
// systemID. It fails (so the caller retries later) when no such bind is up
// here or the ESME does not answer OK.
func (s *Server) SendReceipt(ctx context.Context, systemID string, m *sms.Message, stat string, done time.Time) error {
	s.mu.Lock()
	var target *bind
	for b := range s.binds[systemID] {
		if b.receives() {
			target = b
			break
		}
	}
	s.mu.Unlock()
	if target == nil {
		return fmt.Errorf("no receiving bind of %s on this node", systemID)
	}
	text := smpp.FormatReceipt(string(m.ID), stat, "000", m.AcceptedAt, done, "")
	d := smpp.SM{SrcTON: 1, SrcNPI: 1, Src: m.To.Digits(), DstTON: 1, DstNPI: 1, Dst: m.From.Digits(), ESMClass: smpp.ESMReceipt,
		ShortMessage: []byte(text), TLVs: []smpp.TLV{
			{Tag: smpp.TagReceiptedMessageID, Value: append([]byte(m.ID), 0)},
			{Tag: smpp.TagMessageState, Value: []byte{smpp.MessageStateOf(stat)}},
		}}
	resp, err := target.sess.Request(ctx, smpp.DeliverSM, d.Marshal())
	if err != nil {
		return fmt.Errorf("sending receipt to %s: %w", systemID, err)
	}
	if resp.Status != smpp.ESME_ROK {
		return fmt.Errorf("sending receipt to %s: %w", systemID, smpp.StatusError(resp.Status))
	}
	return nil
}

func digits(addr string) string {
	out := make([]byte, 0, len(addr))
	for i := 0; i < len(addr); i++ {
		if addr[i] >= '0' && addr[i] <= '9' {
			out = append(out, addr[i])
		}
	}
	return string(out)
}

// ESME_RQUERYFAIL: query_sm failed (unknown or not yours).
const esmeRQueryFail uint32 = 0x00000067

// messageState maps our status to SMPP 3.4 message_state.
func messageState(st sms.Status) byte {
	switch st {
	case sms.StatusDelivered:
		return 2 // DELIVERED
	case sms.StatusFailed, sms.StatusUndelivered:
		return 5 // UNDELIVERABLE
	case sms.StatusBlocked, sms.StatusDeadLetter:
		return 8 // REJECTED
	case sms.StatusSent:
		return 6 // ACCEPTED (by the carrier)
	}
	return 1 // ENROUTE
}

// query answers query_sm from the message's status. An account may query
// only messages sent from numbers it is allowed to use.
func (s *Server) query(ctx context.Context, b *bind, req *smpp.PDU) *smpp.PDU {
	fail := &smpp.PDU{ID: smpp.QuerySMResp, Status: esmeRQueryFail}
	id, err := smpp.ParseMessageIDBody(req.Body)
	if err != nil || id == "" {
		return fail
	}
	mid, err := sms.ParseMessageID(id)
	if err != nil {
		return fail
	}
	from, st, final, err := s.cfg.Lookup(ctx, mid)
	if err != nil || !slices.Contains(s.accounts[b.systemID].AllowedSources, from) {
		return fail
	}
	body := smpp.MessageIDBody(id)
	fd := ""
	if !final.IsZero() {
		fd = final.UTC().Format("060102150405") + "000+"
	}
	body = append(append(body, fd...), 0)
	body = append(body, messageState(st), 0)
	return &smpp.PDU{ID: smpp.QuerySMResp, Body: body}
}

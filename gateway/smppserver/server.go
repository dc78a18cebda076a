package smppserver

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/sms"
)

// Roles an account can have.
const (
	// RolePlatform: a contact-centre system. Its submit_sm is MT from the
	// business numbers in AllowedSources; it receives MO to those numbers
	// and receipts for its submits as deliver_sm.
	RolePlatform = "platform"
	// RoleCarrier: an SMSC or aggregator binding to us. Its submit_sm,
	// data_sm or deliver_sm is MO to our numbers, or a delivery receipt
	// for our MT; our MT routed to it goes out as deliver_sm (SendText).
	RoleCarrier = "carrier"
)

// Account is an ESME allowed to bind.
type Account struct {
	SystemID       string
	PasswordHash   string // bcrypt
	Role           string // RolePlatform or RoleCarrier
	AllowedSources []sms.Number
	MaxBinds       int     // 0: 4
	Window         int     // outstanding deliver_sm per bind; 0: 64
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
	Addr string
	// TLSAddr, if set, is a second listener speaking SMPP over TLS with TLS.
	TLSAddr  string
	TLS      *tls.Config
	Accounts []Account
	Ingress  Acceptor
	// CarrierIn handles what carrier-role accounts send (MO texts, already
	// reassembled, and receipts); name is the account's system_id. The
	// handler sets Deliver.ID to the id it accepted a text under. Required
	// when there are carrier accounts.
	CarrierIn func(systemID string) smpp.Handler
	Holder    Holder
	// OnReceiptRequested records a receipt request; required.
	OnReceiptRequested ReceiptRequested
	// OnRejected reports a stored multipart text refused for good when it
	// was joined (its parts were already answered OK with id): the message
	// from our number from fails with code. Nil: only logged.
	OnRejected func(ctx context.Context, systemID string, id sms.MessageID, from sms.Number, code string) error
	// Lookup answers query_sm; nil answers ESME_RINVCMDID.
	Lookup       Lookup
	MaxBodyChars int
	// Parts, if set, stores the parts of concatenated messages durably
	// (see PartStore); without it parts wait for each other in memory and
	// each part's response is held until the text is joined.
	Parts PartStore
	// PartTimeout is how long a stored group waits for its missing parts
	// (default 60s).
	PartTimeout time.Duration
	Log         *slog.Logger

	// The door (see door.go); zero values take the defaults.

	// MaxConnections caps open connections, bound or not, on both
	// listeners (default 1000); MaxConnectionsPerIP caps them per client
	// address, an IPv6 /64 counting as one (default 50). A connection over
	// a cap is closed at once.
	MaxConnections      int
	MaxConnectionsPerIP int
	// BindTimeout closes a connection not bound within it (default 10s).
	BindTimeout time.Duration
	// BindFailures failed binds within a minute from one address, or for
	// one system_id, lock it out for BindLockout (defaults 5 and 5m); see
	// door.go for whom a system_id's lockout spares.
	BindFailures int
	BindLockout  time.Duration
	// BindFailDelay is how long a refused bind waits for its answer
	// (default 1s).
	BindFailDelay time.Duration
	// HashSlots bounds bcrypt comparisons at once (default: half the
	// cores, 1 to 4), so binds cannot starve the HTTP API.
	HashSlots int
}

// Server is a running SMPP server.
type Server struct {
	cfg      Config
	lis      []*smpp.Listener
	log      *slog.Logger
	accounts map[string]*Account
	reasm    *smpp.Reassembler

	// The door (door.go).
	anyIP     bool         // some account has no allowed_ips
	nets      []*net.IPNet // else: every account's allowed_ips
	fails     *failures
	hashSlots chan struct{}
	dummyHash string
	compare   func(hash, password []byte) error
	warn      *logLimit
	lockedOut atomic.Int64 // binds refused during a lockout

	mu      sync.Mutex
	binds   map[string]map[*bind]bool // system_id -> live binds
	conns   map[*conn]struct{}
	perAddr map[string]int // open connections per conn.addr
	turns   map[string]*addrTurn
	known   map[string]time.Time // "system_id addr" -> bound from there, spared its lockout until
	closing bool
	ref     atomic.Uint32 // concatenation reference of our deliver_sm
}

type bind struct {
	sess     *smpp.Session
	acct     *Account
	systemID string
	kind     uint32 // bind command ID
	limiter  *rate.Limiter
	window   chan struct{} // outstanding deliver_sm
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
	if cfg.PartTimeout <= 0 {
		cfg.PartTimeout = 60 * time.Second
	}
	cfg.MaxConnections = cmp.Or(max(cfg.MaxConnections, 0), defaultMaxConnections)
	cfg.MaxConnectionsPerIP = cmp.Or(max(cfg.MaxConnectionsPerIP, 0), defaultMaxConnectionsPerIP)
	cfg.BindTimeout = cmp.Or(max(cfg.BindTimeout, 0), defaultBindTimeout)
	cfg.BindFailures = cmp.Or(max(cfg.BindFailures, 0), defaultBindFailures)
	cfg.BindLockout = cmp.Or(max(cfg.BindLockout, 0), defaultBindLockout)
	cfg.BindFailDelay = cmp.Or(max(cfg.BindFailDelay, 0), defaultBindFailDelay)
	cfg.HashSlots = cmp.Or(max(cfg.HashSlots, 0), defaultHashSlots())
	s := &Server{cfg: cfg, log: cfg.Log.With("component", "smpp-server"), accounts: map[string]*Account{},
		binds: map[string]map[*bind]bool{}, reasm: smpp.NewReassembler(10 * time.Second),
		conns: map[*conn]struct{}{}, perAddr: map[string]int{}, turns: map[string]*addrTurn{}, known: map[string]time.Time{}, anyIP: len(cfg.Accounts) == 0,
		fails: newFailures(cfg.BindFailures, cfg.BindLockout), hashSlots: make(chan struct{}, cfg.HashSlots),
		compare: bcrypt.CompareHashAndPassword, warn: newLogLimit()}
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		if a.Role == RoleCarrier && cfg.CarrierIn == nil {
			return nil, fmt.Errorf("smpp account %s: carrier role needs a CarrierIn handler", a.SystemID)
		}
		s.accounts[a.SystemID] = a
		if len(a.AllowedIPs) == 0 {
			s.anyIP = true
		}
		s.nets = append(s.nets, a.AllowedIPs...)
	}
	var err error
	if s.dummyHash, err = dummyHash(cfg.Accounts); err != nil {
		return nil, fmt.Errorf("making the dummy password hash: %w", err)
	}
	lis, err := smpp.Listen(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on smpp.addr %s: %w", cfg.Addr, err)
	}
	lis.Log = s.log
	s.lis = append(s.lis, lis)
	if cfg.TLSAddr != "" {
		if cfg.TLS == nil {
			lis.Close()
			return nil, fmt.Errorf("smpp.tls_addr %s: no TLS certificate configured", cfg.TLSAddr)
		}
		tl, err := smpp.ListenTLS(cfg.TLSAddr, cfg.TLS)
		if err != nil {
			lis.Close()
			return nil, fmt.Errorf("listening on smpp.tls_addr %s: %w", cfg.TLSAddr, err)
		}
		tl.Log = s.log
		s.lis = append(s.lis, tl)
	}
	return s, nil
}

// Addr is the plain listening address.
func (s *Server) Addr() string { return s.lis[0].Addr() }

// TLSAddr is the TLS listening address ("" if none).
func (s *Server) TLSAddr() string {
	if len(s.lis) < 2 {
		return ""
	}
	return s.lis[1].Addr()
}

// Run serves until ctx ends or Close, then unbinds every session. No
// accept error ends it (see smpp.Listener.Serve).
func (s *Server) Run(ctx context.Context) error {
	if s.cfg.Parts != nil {
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		go s.sweeper(sctx)
	}
	errs := make(chan error, len(s.lis))
	for _, l := range s.lis {
		go func() { errs <- l.Serve(ctx, func() { _ = s.Close() }, s.serve) }()
	}
	var first error
	for range s.lis {
		if err := <-errs; err != nil && first == nil {
			first = err
			_ = s.Close()
		}
	}
	return first
}

// Close stops listening, admits no more connections, unbinds every bound
// session and closes the unbound ones.
func (s *Server) Close() error {
	first := false
	for _, l := range s.lis {
		if l.Close() {
			first = true
		}
	}
	if !first {
		return nil
	}
	s.reasm.Stop()
	s.mu.Lock()
	s.closing = true
	var all []*conn
	for c := range s.conns {
		all = append(all, c)
	}
	s.mu.Unlock()
	// All at once: a thousand binds whose peers do not answer unbind must
	// not take a thousand timeouts to close.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range all {
		if c.b.Load() == nil {
			_ = c.sess.Close()
			continue
		}
		wg.Go(func() { _ = c.sess.Unbind(ctx) })
	}
	wg.Wait()
	return nil
}

// serve runs one connection through the door (door.go), then serves it.
func (s *Server) serve(nc net.Conn) {
	c := newConn(nc)
	c.sess = smpp.NewSession(nc, smpp.SessionConfig{
		Name: "smpp-server", Log: s.log, Window: 64,
		Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU { return s.handle(ctx, c, req) },
	})
	if why := s.admit(c); why != "" {
		// Closed before a byte is read: nothing to learn from it.
		s.warn.log(s.log, "SMPP connection refused", "remote", c.addr, "reason", why)
		_ = nc.Close()
		return
	}
	// leave frees the bind slot: Run returns only after every handler,
	// so no bind can be registered after it.
	defer s.leave(c)
	deadline := time.AfterFunc(s.cfg.BindTimeout, func() {
		if c.b.Load() == nil {
			s.warn.log(s.log, "SMPP connection closed", "remote", c.addr, "reason", "not bound within bind_timeout")
			_ = c.sess.Close()
		}
	})
	defer deadline.Stop()
	_ = c.sess.Run(context.Background())
}

// handle answers a request on c.
func (s *Server) handle(ctx context.Context, c *conn, req *smpp.PDU) *smpp.PDU {
	cur := c.b.Load()
	switch req.ID {
	case smpp.BindTransceiver, smpp.BindReceiver, smpp.BindTransmitter:
		return s.bind(ctx, c, req)
	case smpp.SubmitSM, smpp.DataSM, smpp.DeliverSM:
		respID := req.ID | 0x80000000
		if cur == nil || cur.kind == smpp.BindReceiver {
			return &smpp.PDU{ID: respID, Status: smpp.ESME_RINVBNDSTS}
		}
		if req.ID == smpp.DeliverSM && cur.acct.Role != RoleCarrier {
			return &smpp.PDU{ID: respID, Status: smpp.ESME_RINVCMDID}
		}
		var sm smpp.SM
		var err error
		if req.ID == smpp.DataSM {
			sm, err = smpp.ParseDataSM(req.Body)
		} else {
			sm, err = smpp.ParseSM(req.Body)
		}
		if err != nil {
			return &smpp.PDU{ID: respID, Status: smpp.ESME_RSYSERR}
		}
		var st uint32
		var id string
		if cur.acct.Role == RoleCarrier {
			st, id = s.fromCarrier(ctx, cur, &sm)
		} else {
			st, id = s.submit(ctx, cur, &sm)
		}
		if req.ID == smpp.DeliverSM {
			id = "" // deliver_sm_resp's message_id is unused (SMPP 3.4 §4.6.2)
		}
		return &smpp.PDU{ID: respID, Status: st, Body: smpp.MessageIDBody(id)}
	case smpp.QuerySM:
		if cur == nil || cur.kind == smpp.BindReceiver || s.cfg.Lookup == nil || cur.acct.Role != RolePlatform {
			return &smpp.PDU{ID: smpp.QuerySMResp, Status: smpp.ESME_RINVBNDSTS}
		}
		return s.query(ctx, cur, req)
	case smpp.CancelSM, smpp.ReplaceSM, smpp.SubmitMulti:
		// Not supported: a clear refusal, never a hang. A message
		// is on its way (and archived) the moment it is accepted.
		return &smpp.PDU{ID: req.ID | 0x80000000, Status: smpp.ESME_RINVCMDID}
	}
	return nil
}

func hostOf(a net.Addr) string {
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// submit accepts a platform's submit_sm or data_sm as MT.
func (s *Server) submit(ctx context.Context, b *bind, sm *smpp.SM) (status uint32, id string) {
	if b.limiter != nil && !b.limiter.Allow() {
		return smpp.ESME_RTHROTTLED, ""
	}
	from, err := sms.ParseNumber("+" + digits(sm.Src))
	if err != nil || !slices.Contains(b.acct.AllowedSources, from) {
		return smpp.ESME_RINVSRCADR, ""
	}
	to, err := sms.ParseNumber("+" + digits(sm.Dst))
	if err != nil {
		return smpp.ESME_RINVDSTADR, ""
	}
	if sm.ESMClass&smpp.ESMReceipt != 0 {
		return smpp.ESME_RINVESMCLASS, ""
	}
	d, part, st := smpp.DecodeSM(sm)
	if st != smpp.ESME_ROK {
		return st, "" // never take undecodable bytes as text
	}
	wantReceipt := sm.RegisteredDelivery&0x03 != 0
	if part != nil && s.cfg.Parts != nil {
		return s.storePart(ctx, b, d, part, wantReceipt)
	}
	accept := func(ctx context.Context, d *smpp.Deliver) smpp.Reassembled {
		if len([]rune(d.Text)) > s.cfg.MaxBodyChars {
			return smpp.Reassembled{Status: smpp.ESME_RINVMSGLEN}
		}
		return s.acceptMT(ctx, b.systemID, from, to, d, wantReceipt)
	}
	var r smpp.Reassembled
	if part == nil {
		r = accept(ctx, d)
	} else {
		// Every part is answered with the whole message's id once the joined
		// text is persisted.
		r = s.reasm.Add(ctx, d, part, accept)
	}
	return r.Status, r.MessageID
}

// acceptMT persists a platform's text as an outbound message (under d.ID
// when set: the id its parts were answered with).
func (s *Server) acceptMT(ctx context.Context, systemID string, from, to sms.Number, d *smpp.Deliver, wantReceipt bool) smpp.Reassembled {
	m := &sms.Message{ID: sms.MessageID(d.ID), Direction: sms.Outbound, From: from, To: to, Body: d.Text, Source: sms.SourceSMPP, Incomplete: d.Incomplete}
	emp, carrier, err := s.cfg.Holder(ctx, from)
	if err != nil {
		return smpp.Reassembled{Status: sms.KindOf(err).SMPPStatus()}
	}
	m.EmployeeID, m.Carrier = emp, carrier
	m.AcceptedAt = time.Now().UTC()
	if m.ID == "" {
		m.ID = sms.NewMessageID()
	} else if t := m.ID.Time(); !t.IsZero() {
		// Joined from stored parts: accepted when its first part was
		// answered with this id — the time the id carries, which is what
		// date-range searches go by.
		m.AcceptedAt = t.UTC()
	}
	if wantReceipt {
		if err := s.cfg.OnReceiptRequested(ctx, systemID, m); err != nil {
			return smpp.Reassembled{Status: smpp.ESME_RSYSERR}
		}
	}
	if err := s.cfg.Ingress.Accept(ctx, m); err != nil {
		return smpp.Reassembled{Status: sms.KindOf(err).SMPPStatus()}
	}
	return smpp.Reassembled{Status: smpp.ESME_ROK, MessageID: string(m.ID)}
}

// fromCarrier accepts what a carrier-role account sends: an MO text (parts
// joined first, so redaction sees the whole text) or a receipt for our MT.
// The response goes out only after the handler persisted it.
func (s *Server) fromCarrier(ctx context.Context, b *bind, sm *smpp.SM) (status uint32, id string) {
	if b.limiter != nil && !b.limiter.Allow() {
		return smpp.ESME_RTHROTTLED, ""
	}
	d, part, st := smpp.DecodeSM(sm)
	if st != smpp.ESME_ROK {
		return st, ""
	}
	if part != nil && s.cfg.Parts != nil {
		return s.storePart(ctx, b, d, part, false)
	}
	handle := func(ctx context.Context, d *smpp.Deliver) smpp.Reassembled {
		if len([]rune(d.Text)) > s.cfg.MaxBodyChars {
			return smpp.Reassembled{Status: smpp.ESME_RINVMSGLEN}
		}
		return s.handleCarrier(ctx, b.systemID, d)
	}
	var r smpp.Reassembled
	if part == nil {
		r = handle(ctx, d)
	} else {
		r = s.reasm.Add(ctx, d, part, handle)
	}
	if d.IsReceipt && r.Status == smpp.ESME_ROK {
		r.MessageID = d.Receipt.MessageID
	}
	return r.Status, r.MessageID
}

// handleCarrier passes a carrier's MO text or receipt to its handler.
func (s *Server) handleCarrier(ctx context.Context, systemID string, d *smpp.Deliver) smpp.Reassembled {
	if err := s.cfg.CarrierIn(systemID).HandleDeliver(ctx, d); err != nil {
		st := sms.KindOf(err).SMPPStatus()
		if st == smpp.ESME_ROK {
			st = smpp.ESME_RSYSERR
		}
		return smpp.Reassembled{Status: st}
	}
	return smpp.Reassembled{Status: smpp.ESME_ROK, MessageID: d.ID}
}

// ErrNoBind means no receiving bind of the account is up on this node;
// the caller retries later (another node may have it, or it reconnects).
var ErrNoBind = errors.New("no receiving bind")

// receiver picks a receiving bind of systemID, the least loaded one.
func (s *Server) receiver(systemID string) *bind {
	s.mu.Lock()
	defer s.mu.Unlock()
	var target *bind
	for b := range s.binds[systemID] {
		select {
		case <-b.sess.Done():
			continue // its connection is closing; leave removes it
		default:
		}
		if b.receives() && (target == nil || len(b.window) < len(target.window)) {
			target = b
		}
	}
	return target
}

// request sends one request to b within the account's window.
func (b *bind) request(ctx context.Context, id uint32, body []byte) (*smpp.PDU, error) {
	select {
	case b.window <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.window }()
	return b.sess.Request(ctx, id, body)
}

// SendText delivers a text as deliver_sm (split into parts as needed) to a
// receiving bind of systemID: MT to a carrier-role account, or MO to a
// platform. It returns one id per part: what the peer put in
// deliver_sm_resp's message_id (SMPP 3.4 leaves it unused; peers that
// fill it can send receipts against it), else "".
func (s *Server) SendText(ctx context.Context, systemID string, m smpp.Submit) ([]string, error) {
	b := s.receiver(systemID)
	if b == nil {
		return nil, sms.Wrap(sms.Unavailable, "smpp_not_bound", "account "+systemID+" has no receiving bind here", ErrNoBind)
	}
	bodies, err := smpp.TextPDUs(m, byte(s.ref.Add(1)))
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(bodies))
	errs := make([]error, len(bodies))
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Go(func() {
			resp, err := b.request(ctx, smpp.DeliverSM, body)
			switch {
			case err != nil:
				errs[i] = sms.Wrap(sms.Unavailable, "smpp_timeout", "account "+systemID+" did not answer deliver_sm", err)
			case resp.Status == smpp.ESME_RTHROTTLED || resp.Status == smpp.ESME_RMSGQFUL:
				errs[i] = sms.Errorf(sms.Throttled, "smpp_throttled", "account %s throttled deliver_sm (status %#x)", systemID, resp.Status)
			case resp.Status != smpp.ESME_ROK:
				errs[i] = sms.Errorf(sms.Permanent, "smpp_rejected", "account %s rejected deliver_sm with status %#x", systemID, resp.Status)
			default:
				ids[i], _ = smpp.ParseMessageIDBody(resp.Body)
			}
		})
	}
	wg.Wait()
	return ids, errors.Join(errs...)
}

// PlatformsFor lists the platform accounts allowed to use business number
// n: they receive its MO.
func (s *Server) PlatformsFor(n sms.Number) []string {
	var out []string
	for _, a := range s.cfg.Accounts {
		if a.Role == RolePlatform && slices.Contains(a.AllowedSources, n) {
			out = append(out, a.SystemID)
		}
	}
	return out
}

// SendReceipt delivers a receipt for message id to a receiving bind of
// systemID. It fails (so the caller retries later) when no such bind is up
// here or the ESME does not answer OK.
func (s *Server) SendReceipt(ctx context.Context, systemID string, m *sms.Message, stat string, done time.Time) error {
	target := s.receiver(systemID)
	if target == nil {
		return fmt.Errorf("%w of %s on this node", ErrNoBind, systemID)
	}
	text := smpp.FormatReceipt(string(m.ID), stat, "000", m.AcceptedAt, done, "")
	d := smpp.SM{SrcTON: 1, SrcNPI: 1, Src: m.To.Digits(), DstTON: 1, DstNPI: 1, Dst: m.From.Digits(), ESMClass: smpp.ESMReceipt,
		ShortMessage: []byte(text), TLVs: []smpp.TLV{
			{Tag: smpp.TagReceiptedMessageID, Value: append([]byte(m.ID), 0)},
			{Tag: smpp.TagMessageState, Value: []byte{smpp.MessageStateOf(stat)}},
		}}
	resp, err := target.request(ctx, smpp.DeliverSM, d.Marshal())
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
const esmeRQueryFail = smpp.ESME_RQUERYFAIL

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
	if err != nil || !slices.Contains(b.acct.AllowedSources, from) {
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

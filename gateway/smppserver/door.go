package smppserver

import (
	"cmp"
	"context"
	"crypto/rand"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/smsgw/smsgw/gateway/smpp"
)

// The door: who may connect, how long a connection may stay without
// binding, and who may bind how often (issue 13). In order, for every
// connection:
//
//  1. accept: an address no account allows (when every account lists
//     allowed_ips) is closed before a byte is read; so is a connection over
//     MaxConnections or MaxConnectionsPerIP.
//  2. bind deadline: not bound within BindTimeout, it is closed, however
//     dutifully it answers enquire_link.
//  3. bind: one at a time per connection (pipelined binds wait their turn)
//     and one per connection (a second gets ESME_RALYBND). A locked-out
//     address or system_id is refused without a password check. Otherwise
//     exactly one bcrypt comparison, under a small semaphore: against the
//     account's hash, or a dummy hash of the same cost for an unknown
//     system_id. Every refusal (unknown system_id, wrong password, an
//     address the account does not allow, too many binds, locked out) is
//     ESME_RBINDFAIL after BindFailDelay.
//  4. BindFailures failed binds in a minute from one address, or for one
//     system_id, lock it out for BindLockout. A system_id's lockout spares
//     the addresses it bound from in the last knownFor, and failures from
//     outside its allowed_ips do not count towards it: an attacker cannot
//     keep a platform from reconnecting.

// Defaults of the door's Config fields.
const (
	defaultMaxConnections      = 1000
	defaultMaxConnectionsPerIP = 50
	defaultBindTimeout         = 10 * time.Second
	defaultBindFailures        = 5
	defaultBindLockout         = 5 * time.Minute
	defaultBindFailDelay       = time.Second
	// failWindow is how far back failed binds count towards a lockout.
	failWindow = time.Minute
	// knownFor is how long an address that bound as a system_id is spared
	// that system_id's lockout.
	knownFor = 24 * time.Hour
)

// defaultHashSlots leaves at least half the cores to everything else.
func defaultHashSlots() int { return max(1, min(4, runtime.GOMAXPROCS(0)/2)) }

// conn is one accepted connection.
type conn struct {
	sess *smpp.Session
	ip   net.IP
	// addr is the client's address as caps and lockouts count it: the
	// IPv4 address, or the IPv6 /64.
	addr    string
	binding chan struct{}        // held by the bind being handled
	b       atomic.Pointer[bind] // set once bound, under Server.mu
}

func newConn(nc net.Conn) *conn {
	c := &conn{binding: make(chan struct{}, 1)}
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.ip = a.IP
	} else {
		c.ip = net.ParseIP(hostOf(nc.RemoteAddr()))
	}
	switch {
	case c.ip == nil:
		c.addr = nc.RemoteAddr().String()
	case c.ip.To4() != nil:
		c.addr = c.ip.To4().String()
	default:
		c.addr = c.ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return c
}

// reachable reports whether some account may bind from ip.
func (s *Server) reachable(ip net.IP) bool {
	if s.anyIP {
		return true
	}
	return ip != nil && slices.ContainsFunc(s.nets, func(n *net.IPNet) bool { return n.Contains(ip) })
}

// admit counts c in, or says why not.
func (s *Server) admit(c *conn) string {
	if !s.reachable(c.ip) {
		return "address not allowed"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return "shutting down"
	case len(s.conns) >= s.cfg.MaxConnections:
		return "too many connections"
	case s.perAddr[c.addr] >= s.cfg.MaxConnectionsPerIP:
		return "too many connections from this address"
	}
	s.conns[c] = struct{}{}
	s.perAddr[c.addr]++
	return ""
}

// leave counts c out and frees its bind slot.
func (s *Server) leave(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.perAddr[c.addr]--; s.perAddr[c.addr] <= 0 {
		delete(s.perAddr, c.addr)
	}
	if b := c.b.Load(); b != nil {
		delete(s.binds[b.systemID], b)
	}
}

// bind handles bind_transmitter, bind_receiver and bind_transceiver.
func (s *Server) bind(ctx context.Context, c *conn, req *smpp.PDU) *smpp.PDU {
	resp := &smpp.PDU{ID: req.ID | 0x80000000, Status: smpp.ESME_RBINDFAIL, Body: []byte("smsgw\x00")}
	// Pipelined binds are taken one at a time, so at most the first
	// succeeds and each waits out the delay of the one before.
	select {
	case c.binding <- struct{}{}:
	case <-ctx.Done():
		return resp
	}
	defer func() { <-c.binding }()
	if ctx.Err() != nil {
		return resp
	}
	if cur := c.b.Load(); cur != nil {
		s.warn.log(s.log, "SMPP bind refused", "system_id", cur.systemID, "remote", c.addr, "reason", "already bound")
		resp.Status = smpp.ESME_RALYBND
		return resp
	}
	bd, err := smpp.ParseBind(req.Body)
	a := s.accounts[bd.SystemID]
	ipOK := a == nil || len(a.AllowedIPs) == 0 || slices.ContainsFunc(a.AllowedIPs, func(n *net.IPNet) bool { return c.ip != nil && n.Contains(c.ip) })
	keys := []string{"address " + c.addr, "system_id " + bd.SystemID}
	if !ipOK {
		// Failures from outside an account's allowed_ips cannot lock out
		// its clients inside them.
		keys[1] += " (outside allowed_ips)"
	}
	check := keys
	if s.knownAddr(bd.SystemID, c.addr) {
		check = keys[:1]
	}
	var why string
	switch {
	case s.fails.locked(time.Now(), check...):
		why = "locked out"
	case err != nil:
		why = "malformed bind"
		s.failed(time.Now(), keys[0])
	default:
		if why = s.verify(ctx, c.addr, a, ipOK, bd.Password, keys, check); why == "" && !s.register(c, a, req.ID) {
			// Refused like the rest: the answer must not tell that the
			// password was right.
			why = "too many binds"
		}
	}
	if ctx.Err() != nil {
		return resp // the connection is gone
	}
	if why != "" {
		// Logged without the password, ever.
		args := []any{"system_id", bd.SystemID, "remote", c.addr, "reason", why}
		if why == "locked out" {
			args = append(args, "refused_while_locked_out", s.lockedOut.Add(1))
		}
		s.warn.log(s.log, "SMPP bind refused", args...)
		t := time.NewTimer(s.cfg.BindFailDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		return resp
	}
	s.log.Info("SMPP bind", "system_id", a.SystemID, "as", smpp.CommandName(req.ID), "remote", c.addr)
	resp.Status = smpp.ESME_ROK
	return resp
}

// register binds c to a as kind unless a has all the binds it may have.
func (s *Server) register(c *conn, a *Account, kind uint32) bool {
	nb := &bind{sess: c.sess, acct: a, systemID: a.SystemID, kind: kind, window: make(chan struct{}, cmp.Or(a.Window, 64))}
	if a.Throughput > 0 {
		nb.limiter = rate.NewLimiter(rate.Limit(a.Throughput), max(1, int(a.Throughput)))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.binds[a.SystemID]) >= cmp.Or(a.MaxBinds, 4) {
		return false
	}
	if s.binds[a.SystemID] == nil {
		s.binds[a.SystemID] = map[*bind]bool{}
	}
	s.binds[a.SystemID][nb] = true
	c.b.Store(nb)
	now := time.Now()
	if len(s.known) >= 4096 {
		for k, until := range s.known {
			if now.After(until) {
				delete(s.known, k)
			}
		}
	}
	s.known[a.SystemID+" "+c.addr] = now.Add(knownFor)
	return true
}

// knownAddr reports whether addr bound as systemID within knownFor.
func (s *Server) knownAddr(systemID, addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := systemID + " " + addr
	until, ok := s.known[k]
	if ok && time.Now().After(until) {
		delete(s.known, k)
		return false
	}
	return ok
}

// verify checks password against a's hash (a dummy one if a is nil) and
// says why the bind fails ("" if it does not); a failure counts against
// keys, a lockout of any of check refuses. One check at a time per
// client address, so an address never holds more than one place in the
// queue for a hash slot; and the slot is held from the last lockout check
// until the failure is counted, so a flood gets no more comparisons than
// it takes to lock it out.
func (s *Server) verify(ctx context.Context, addr string, a *Account, ipOK bool, password string, keys, check []string) string {
	release, ok := s.turn(ctx, addr)
	if !ok {
		return "connection closed"
	}
	defer release()
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return "connection closed"
	}
	defer func() { <-s.hashSlots }()
	if s.fails.locked(time.Now(), check...) {
		return "locked out"
	}
	hash := s.dummyHash
	if a != nil {
		hash = a.PasswordHash
	}
	match := s.compare([]byte(hash), []byte(password)) == nil
	var why string
	switch {
	case a == nil:
		why = "unknown system_id"
	case !match:
		why = "wrong password"
	case !ipOK:
		why = "address not allowed"
	default:
		return ""
	}
	s.failed(time.Now(), keys...)
	return why
}

// failed counts a failed bind against keys and logs the lockouts it
// starts.
func (s *Server) failed(now time.Time, keys ...string) {
	for _, k := range s.fails.add(now, keys...) {
		s.log.Warn("SMPP bind lockout", "who", k, "failures", s.cfg.BindFailures, "within", failWindow, "for", s.cfg.BindLockout)
	}
}

// addrTurn is one client address's turn to have a password checked.
type addrTurn struct {
	ch      chan struct{}
	waiting int // under Server.mu
}

// turn waits for addr's turn to have a password checked; release ends it.
func (s *Server) turn(ctx context.Context, addr string) (release func(), ok bool) {
	s.mu.Lock()
	t := s.turns[addr]
	if t == nil {
		t = &addrTurn{ch: make(chan struct{}, 1)}
		s.turns[addr] = t
	}
	t.waiting++
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		if t.waiting--; t.waiting == 0 {
			delete(s.turns, addr)
		}
		s.mu.Unlock()
	}
	select {
	case t.ch <- struct{}{}:
		return func() { <-t.ch; done() }, true
	case <-ctx.Done():
		done()
		return nil, false
	}
}

// dummyHash is a bcrypt hash of a random password at the highest cost of
// the accounts' hashes: comparing an unknown system_id's password against
// it takes as long as a wrong password does.
func dummyHash(accounts []Account) (string, error) {
	cost := 0
	for _, a := range accounts {
		if c, err := bcrypt.Cost([]byte(a.PasswordHash)); err == nil && c > cost {
			cost = c
		}
	}
	if cost == 0 {
		cost = bcrypt.MinCost // no account: nothing to look like
	}
	h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	return string(h), err
}

// failures counts failed binds per key (an address or a system_id) over
// the last failWindow; a key with limit of them is locked out.
type failures struct {
	limit   int
	lockout time.Duration

	mu      sync.Mutex
	m       map[string]*failRecord
	sweepAt int
}

type failRecord struct {
	at    []time.Time // failures within failWindow, oldest first
	until time.Time   // locked out until
}

func newFailures(limit int, lockout time.Duration) *failures {
	return &failures{limit: limit, lockout: lockout, m: map[string]*failRecord{}, sweepAt: 1024}
}

// locked reports whether any of keys is locked out at now.
func (f *failures) locked(now time.Time, keys ...string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range keys {
		if r := f.m[k]; r != nil && now.Before(r.until) {
			return true
		}
	}
	return false
}

// add counts a failure at now for each key and returns the keys it locked
// out.
func (f *failures) add(now time.Time, keys ...string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.m) >= f.sweepAt {
		for k, r := range f.m {
			if !now.Before(r.until) && (len(r.at) == 0 || now.Sub(r.at[len(r.at)-1]) >= failWindow) {
				delete(f.m, k)
			}
		}
		f.sweepAt = max(1024, 2*len(f.m))
	}
	var locked []string
	for _, k := range keys {
		r := f.m[k]
		if r == nil {
			r = &failRecord{}
			f.m[k] = r
		}
		i := 0
		for i < len(r.at) && now.Sub(r.at[i]) >= failWindow {
			i++
		}
		r.at = append(r.at[i:], now)
		if len(r.at) >= f.limit {
			r.at, r.until = nil, now.Add(f.lockout)
			locked = append(locked, k)
		}
	}
	return locked
}

// logLimit passes a few lines a second and counts the rest, so a flood
// cannot flood the logs.
type logLimit struct {
	lim     *rate.Limiter
	dropped atomic.Int64
}

func newLogLimit() *logLimit { return &logLimit{lim: rate.NewLimiter(5, 20)} }

func (l *logLimit) log(log interface{ Warn(string, ...any) }, msg string, args ...any) {
	if !l.lim.Allow() {
		l.dropped.Add(1)
		return
	}
	if n := l.dropped.Swap(0); n > 0 {
		args = append(args, "suppressed", n)
	}
	log.Warn(msg, args...)
}

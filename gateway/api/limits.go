package api

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/smsgw/smsgw/sms"
)

// Limits are the API's rate limits. Zero values turn a limit off. They are
// kept per node, in memory: with N nodes behind a balancer the effective
// limit is up to N times higher.
type Limits struct {
	// PerIP and PerToken are requests per second (token buckets with
	// burst IPBurst and TokenBurst) on every route.
	PerIP, PerToken       float64
	IPBurst, TokenBurst   int
	SendsPerMinute        int // POST /v1/messages and replies, per employee
	NewRecipientsPerDay   int // distinct recipients an employee may text per UTC day
	FailedAuthPerMinute   int // bad or missing tokens per IP before 429
	TrustForwardedFor     bool
	MaxTrackedClients     int // bound on the limiter tables (default 100000)
	FailedAuthLogInterval time.Duration
}

// limiter is one token bucket table keyed by client, token or employee.
type limiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	max     int
	entries map[string]*limEntry
	swept   time.Time
}

type limEntry struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64, burst, maxEntries int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	return &limiter{limit: rate.Limit(perSecond), burst: max(burst, 1), max: cmpOr(maxEntries, 100000), entries: map[string]*limEntry{}}
}

func cmpOr(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}

// allow takes one event for key; when refused it returns how long until
// one is available.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute || len(l.entries) >= l.max {
		l.sweep(now)
	}
	e := l.entries[key]
	if e == nil {
		if len(l.entries) >= l.max {
			// Full of active clients: refuse newcomers rather than grow.
			return false, time.Second
		}
		e = &limEntry{l: rate.NewLimiter(l.limit, l.burst)}
		l.entries[key] = e
	}
	e.seen = now
	r := e.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops entries idle long enough to have refilled.
func (l *limiter) sweep(now time.Time) {
	l.swept = now
	full := time.Duration(float64(l.burst)/float64(l.limit)*float64(time.Second)) + time.Second
	for k, e := range l.entries {
		if now.Sub(e.seen) > full {
			delete(l.entries, k)
		}
	}
}

// recipients counts the distinct recipients of each employee per UTC day.
type recipients struct {
	mu  sync.Mutex
	day string
	max int
	by  map[string]map[sms.Number]bool
}

// allow records that employee texts to and reports whether it is within
// the day's limit (a recipient already texted today is always allowed).
func (r *recipients) allow(employee string, to sms.Number, now time.Time) bool {
	if r == nil || r.max <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if day := now.UTC().Format(time.DateOnly); day != r.day {
		r.day, r.by = day, map[string]map[sms.Number]bool{}
	}
	set := r.by[employee]
	if set[to] {
		return true
	}
	if len(set) >= r.max {
		return false
	}
	if set == nil {
		set = map[sms.Number]bool{}
		r.by[employee] = set
	}
	set[to] = true
	return true
}

// clientIP is the address a request came from: the peer, or with
// TrustForwardedFor (a proxy in front) the last X-Forwarded-For hop that
// proxy added.
func clientIP(r *http.Request, trustXFF bool) string {
	if trustXFF {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if ip := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(ip) != nil {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// throttled writes 429 with Retry-After (whole seconds, at least 1).
func throttled(w http.ResponseWriter, wait time.Duration, code, msg string) {
	w.Header().Set("Retry-After", retryAfter(wait))
	writeError(w, sms.Errorf(sms.Throttled, code, "%s", msg))
}

func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// peek reports whether key has an event available now, without taking it.
func (l *limiter) peek(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	if e == nil {
		return true, 0
	}
	if t := e.l.TokensAt(now); t < 1 {
		return false, time.Duration((1 - t) / float64(l.limit) * float64(time.Second))
	}
	return true, 0
}

// sendAllowed applies the per-employee send limits to a text to `to`.
func (s *Server) sendAllowed(w http.ResponseWriter, employee string, to sms.Number) bool {
	now := time.Now()
	if ok, wait := s.sendLim.allow(employee, now); !ok {
		throttled(w, wait, "send_rate_limited", "too many texts from this employee; retry after the Retry-After delay")
		return false
	}
	if !s.recips.allow(employee, to, now) {
		tomorrow := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		throttled(w, tomorrow.Sub(now), "new_recipient_limit", "this employee has texted the most new recipients allowed today")
		return false
	}
	return true
}

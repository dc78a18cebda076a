package smpp

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Reassembled is what waiting parts are answered with.
type Reassembled struct {
	Status    uint32
	MessageID string // for submit_sm_resp (server side); empty for deliver_sm
}

// Reassembler joins the parts of concatenated MO texts before they are
// handed on, so redaction sees the whole text. It keeps nothing durable:
// each part's deliver_sm_resp is held back until the joined text has been
// handled (persisted), so a crash loses nothing — the SMSC redelivers
// every unanswered part. Parts that never complete are handed on, joined
// as far as they got and marked Incomplete, after the timeout.
type Reassembler struct {
	timeout time.Duration
	mu      sync.Mutex
	groups  map[string]*group
	done    chan struct{}
	once    sync.Once
}

type group struct {
	first   *Deliver
	parts   map[uint8]string
	total   uint8
	waiters []chan Reassembled
	timer   *time.Timer
}

// NewReassembler returns a reassembler whose groups wait at most timeout.
func NewReassembler(timeout time.Duration) *Reassembler {
	return &Reassembler{timeout: timeout, groups: map[string]*group{}, done: make(chan struct{})}
}

// Stop releases every waiting part with ESME_RX_T_APPN (the peer retries).
func (r *Reassembler) Stop() { r.once.Do(func() { close(r.done) }) }

// Add registers a part (d carries its addresses and text) and blocks until
// its group is handled; every part of the group is answered with what
// handle returned for the joined text.
func (r *Reassembler) Add(ctx context.Context, d *Deliver, c *Concat, handle func(context.Context, *Deliver) Reassembled) Reassembled {
	key := d.Src + "|" + d.Dst + "|" + itoa(int(c.Ref)) + "|" + itoa(int(c.Total))
	ch := make(chan Reassembled, 1)
	r.mu.Lock()
	g, ok := r.groups[key]
	if !ok {
		g = &group{first: d, parts: map[uint8]string{}, total: c.Total}
		r.groups[key] = g
		g.timer = time.AfterFunc(r.timeout, func() { r.finish(key, true, handle) })
	}
	g.parts[c.Seq] = d.Text // a duplicate part replaces its twin
	g.waiters = append(g.waiters, ch)
	complete := len(g.parts) == int(g.total)
	r.mu.Unlock()
	if complete {
		go r.finish(key, false, handle)
	}
	select {
	case st := <-ch:
		return st
	case <-r.done:
		return Reassembled{Status: ESME_RX_T_APPN} // shutting down: the peer will resend
	}
}

func (r *Reassembler) finish(key string, timedOut bool, handle func(context.Context, *Deliver) Reassembled) {
	r.mu.Lock()
	g, ok := r.groups[key]
	if !ok {
		r.mu.Unlock()
		return
	}
	delete(r.groups, key)
	g.timer.Stop()
	r.mu.Unlock()
	var sb strings.Builder
	for i := uint8(1); i <= g.total; i++ {
		sb.WriteString(g.parts[i])
		if i == g.total {
			break
		}
	}
	d := *g.first
	d.Text, d.Parts, d.Incomplete = sb.String(), len(g.parts), timedOut || len(g.parts) < int(g.total)
	st := handle(context.Background(), &d)
	for _, w := range g.waiters {
		w <- st
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

package filters

import (
	"sync"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// Conversations catches a card number split across two consecutive
// messages of one conversation ("4111 1111" then "1111 1111"): for each
// conversation and direction it keeps, in memory only, the digits the last
// message ended with, for Config.Conversation.Window. When the next
// message starts with digits that complete a valid card number, their part
// is masked (whatever the card policy says; a card's action) and reported
// as one finding of type card_split: the first part has already gone and
// could not be redacted any more, which the finding records.
//
// Memory is bounded by Config.Conversation.MaxConversations (least
// recently used first out) and entries expire after the window. The
// digits are never written anywhere, logged or returned.
//
// A retried message (same ID as the last one seen in its conversation) is
// joined with what came before it, not with itself. Messages of one
// conversation handled on different gateway nodes do not see each other's
// digits.
type Conversations struct {
	chain  *Chain
	window time.Duration
	max    int

	mu           sync.Mutex
	m            map[string]*convEntry
	newest, last *convEntry // most and least recently used
}

// convEntry is the state of one conversation and direction.
type convEntry struct {
	key   string
	id    string    // the message that left tail
	at    time.Time // when that message was accepted
	tail  digitTail // the digits it ended with
	prev  digitTail // the digits before it (for a retry of it)
	prevT time.Time
	// LRU list.
	older, newer *convEntry
}

// digitTail is up to maxCardDigits-1 digits a message ended with.
type digitTail struct {
	n int
	d [maxCardDigits - 1]byte
}

// Turn is one message of a conversation.
type Turn struct {
	// Conversation identifies the conversation, e.g. the business number
	// and the customer number.
	Conversation string
	// ID is the message's ID: a retry of the same message is recognised.
	ID        string
	Direction sms.Direction
	// At is when the message was accepted (zero: now).
	At   time.Time
	Text string
}

// NewConversations returns an empty set of conversations filtered by
// chain (its policy for each message's direction) and bounded by its
// Config.Conversation.
func NewConversations(chain *Chain) *Conversations {
	return &Conversations{chain: chain, window: chain.c.conv.Window, max: chain.c.conv.MaxConversations,
		m: map[string]*convEntry{}}
}

// Len is the number of conversations held.
func (cs *Conversations) Len() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.m)
}

// Apply filters one message of a conversation: Chain.ApplySafe for its
// direction, plus the card completed across the previous message.
func (cs *Conversations) Apply(t Turn) (Outcome, error) {
	chain := cs.chain.For(t.Direction)
	if !chain.c.convOn {
		return chain.ApplySafe(t.Text)
	}
	if t.At.IsZero() {
		t.At = time.Now()
	}
	key := t.Conversation + "\x00" + string(t.Direction)
	before, ok := cs.before(key, t)
	var extra []sms.Finding
	var v view
	v.init(t.Text)
	he := -1
	if ok {
		if s, e, found := splitCard(v.text, &before); found {
			he = e
			a, _ := chain.Action(TypeCard)
			os, oe := v.origSpan(s, e)
			extra = append(extra, sms.Finding{Type: TypeCardSplit, Start: os, End: oe, Action: a})
		}
	}
	out, err := chain.applySafe(t.Text, extra)
	if err != nil {
		return out, err
	}
	tail := trailingDigits(v.text, he)
	cs.record(key, t, tail)
	return out, nil
}

// before returns the digits the conversation's previous message ended
// with, if they are recent enough.
func (cs *Conversations) before(key string, t Turn) (digitTail, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	e := cs.m[key]
	if e == nil {
		return digitTail{}, false
	}
	tail, at := e.tail, e.at
	if e.id == t.ID {
		tail, at = e.prev, e.prevT
	}
	if d := t.At.Sub(at); tail.n == 0 || d > cs.window || d < -cs.window {
		return digitTail{}, false
	}
	return tail, true
}

// record stores what message t ended with.
func (cs *Conversations) record(key string, t Turn, tail digitTail) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	e := cs.m[key]
	if e == nil {
		if tail.n == 0 {
			return
		}
		e = &convEntry{key: key}
		cs.m[key] = e
	} else {
		cs.unlink(e)
	}
	if e.id != t.ID {
		e.prev, e.prevT = e.tail, e.at
	}
	e.id, e.at, e.tail = t.ID, t.At, tail
	cs.pushNewest(e)
	// Forget the least recently used beyond the bound, and the expired.
	for cs.last != nil && (len(cs.m) > cs.max || t.At.Sub(cs.last.at) > cs.window) {
		old := cs.last
		cs.unlink(old)
		delete(cs.m, old.key)
	}
}

func (cs *Conversations) unlink(e *convEntry) {
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		cs.last = e.newer
	}
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		cs.newest = e.older
	}
	e.older, e.newer = nil, nil
}

func (cs *Conversations) pushNewest(e *convEntry) {
	e.older = cs.newest
	if cs.newest != nil {
		cs.newest.newer = e
	}
	cs.newest = e
	if cs.last == nil {
		cs.last = e
	}
}

// edgeBytes is how far from the end (start) of a message its trailing
// (leading) digits may be, with nothing but spaces and punctuation
// between.
const edgeBytes = 8

// splitCard reports whether text starts with digit groups that complete
// a valid card number after tail, and their span (the most groups that
// do). When they are a card on their own too, the split reading wins: it
// masks them all.
func splitCard(text string, tail *digitTail) (int, int, bool) {
	var sc scanner
	sc.init(text)
	if !sc.next() {
		return 0, 0, false
	}
	r := &sc.r
	if int(r.pos[0]) > edgeBytes || r.truncL {
		return 0, 0, false
	}
	for i := 0; i < int(r.pos[0]); i++ {
		if isDigit(text[i]) || isLetter(text[i]) {
			return 0, 0, false
		}
	}
	var d [maxCardDigits]byte
	copy(d[:], tail.d[:tail.n])
	for g := r.ngroup - 1; g >= 0; g-- {
		to := r.groupEnd(g)
		n := tail.n + to
		if n < minCardDigits || n > maxCardDigits {
			continue
		}
		copy(d[tail.n:], r.digit[:to])
		if validCard(d[:n]) {
			s, e := r.span(0, to)
			return s, e, true
		}
	}
	return 0, 0, false
}

// trailingDigits returns the digits of the last run of text when it ends
// the text (but for spaces and punctuation) and holds 4 to
// maxCardDigits-1 digits; none when that run ends at or before usedEnd
// (it completed a split card).
func trailingDigits(text string, usedEnd int) digitTail {
	var t digitTail
	end := len(text)
	for k := 0; end > 0 && k <= edgeBytes; k++ {
		c := text[end-1]
		if isDigit(c) {
			break
		}
		if isLetter(c) {
			return t
		}
		end--
	}
	if end == 0 || !isDigit(text[end-1]) || end <= usedEnd {
		return t
	}
	// Find the start of the run: scan forward from a safe point.
	var sc scanner
	sc.init(text)
	var last run
	found := false
	for sc.next() {
		if int(sc.r.pos[sc.r.n-1])+1 == end {
			last = sc.r
			found = true
		}
	}
	if !found || !last.whole() || last.n < 4 || last.n >= maxCardDigits {
		return t
	}
	t.n = copy(t.d[:], last.digit[:last.n])
	return t
}

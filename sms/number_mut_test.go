package sms

import (
	"testing"
	"time"
)

// TestParseNumberLengthBounds: E.164 allows 8 to 15 digits after the "+"
// (doc of Number); both ends are accepted, one past either end refused.
func TestParseNumberLengthBounds(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"+1234567", "", false},                        // 7 digits
		{"+12345678", "+12345678", true},               // 8
		{"+1 234-567.8", "+12345678", true},            // 8, with separators
		{"+123456789012345", "+123456789012345", true}, // 15
		{"+1234567890123456", "", false},               // 16
		{"+(1) 2", "", false},                          // 2 digits once the separators are gone
		{"+1 2 3 4 5 6 7 8 9 0 1 2 3 4 5", "+123456789012345", true},
		{"+0 2345678", "", false},        // country code starting with 0 after a separator
		{"+14155550134/", "", false},     // a separator people do not use for numbers
		{"+1415555013\u0664", "", false}, // Arabic-Indic digit four: not ASCII
	} {
		got, err := ParseNumber(c.in)
		if (err == nil) != c.ok || string(got) != c.want {
			t.Errorf("ParseNumber(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

// TestRedactedShortNumbers: Redacted keeps "+", the first digit and the
// last two, starring the rest; five characters or fewer are fully hidden.
// Expected strings written out by hand.
func TestRedactedShortNumbers(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "+***"},
		{"+1", "+***"},
		{"+1234", "+***"},
		{"+12345", "+1**45"},
		{"+123456", "+1***56"},
		{"+12345678", "+1*****78"},
		{"+123456789012345", "+1************45"},
	} {
		if got := Number(c.in).Redacted(); got != c.want {
			t.Errorf("Number(%q).Redacted() = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMessageSides(t *testing.T) {
	biz, cust := Number("+14155550100"), Number("+447700900123")
	for _, c := range []struct {
		dir            Direction
		from, to       Number
		business, cust Number
	}{
		{Outbound, biz, cust, biz, cust},
		{Inbound, cust, biz, biz, cust},
	} {
		m := &Message{Direction: c.dir, From: c.from, To: c.to}
		if got := m.BusinessNumber(); got != c.business {
			t.Errorf("%s: BusinessNumber() = %s, want %s", c.dir, got.E164(), c.business.E164())
		}
		if got := m.CustomerNumber(); got != c.cust {
			t.Errorf("%s: CustomerNumber() = %s, want %s", c.dir, got.E164(), c.cust.E164())
		}
	}
}

func TestValidEnums(t *testing.T) {
	for _, c := range []struct {
		d  Direction
		ok bool
	}{{"outbound", true}, {"inbound", true}, {"", false}, {"Outbound", false}, {"both", false}} {
		if got := c.d.Valid(); got != c.ok {
			t.Errorf("Direction(%q).Valid() = %v, want %v", c.d, got, c.ok)
		}
	}
	for _, c := range []struct {
		a  Action
		ok bool
	}{{"redact", true}, {"block", true}, {"flag", true}, {"", false}, {"pass", false}, {"Redact", false}} {
		if got := c.a.Valid(); got != c.ok {
			t.Errorf("Action(%q).Valid() = %v, want %v", c.a, got, c.ok)
		}
	}
	final := map[Status]bool{"blocked": true, "delivered": true, "failed": true, "dead_letter": true, "undelivered": true, "unconfirmed": true}
	for _, s := range []Status{"accepted", "filtered", "blocked", "archived", "sent", "delivered", "failed", "dead_letter", "undelivered", "refused", "unconfirmed", "resubmitted_after_crash"} {
		if got := s.Final(); got != final[s] {
			t.Errorf("Status(%q).Final() = %v, want %v", s, got, final[s])
		}
	}
}

// TestMessageIDTime: the ULID's first 10 characters encode the
// millisecond timestamp in Crockford base 32. Decoded by hand for the ULID
// spec's example id: 0,1,A=10,R=24,Z=31,3,N=21,D=13,E=14,K=19 read as a
// base-32 number is 1469922850259 ms since the epoch.
func TestMessageIDTime(t *testing.T) {
	want := time.UnixMilli(1469922850259)
	if got := MessageID("01ARZ3NDEKTSV4RRFFQ69G5FAV").Time(); !got.Equal(want) {
		t.Errorf("Time() = %v, want %v", got, want)
	}
	if got := MessageID("not-a-ulid").Time(); !got.IsZero() {
		t.Errorf("Time() of an invalid id = %v, want the zero time", got)
	}
	before := time.Now().Truncate(time.Millisecond)
	id := NewMessageID()
	after := time.Now()
	if got := id.Time(); got.Before(before) || got.After(after) {
		t.Errorf("NewMessageID().Time() = %v, want within [%v, %v]", got, before, after)
	}
}

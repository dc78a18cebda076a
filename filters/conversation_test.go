package filters

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/filters/internal/corpus"
	"github.com/smsgw/smsgw/sms"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func turn(conv, id string, dir sms.Direction, at time.Duration, text string) Turn {
	return Turn{Conversation: conv, ID: id, Direction: dir, At: t0.Add(at), Text: text}
}

func TestConversationSplitCard(t *testing.T) {
	c := mustChain(t, DefaultConfig())
	cs := NewConversations(c)
	steps := []struct {
		t        Turn
		out      string
		findings string
	}{
		{turn("a", "1", sms.Inbound, 0, "my card is 4111 1111"), "my card is 4111 1111", ""},
		{turn("a", "2", sms.Inbound, time.Second, "1111 1111 thanks"), "**** **** thanks", "card_split 0:9 redact"},
		// A retry of message 2 is joined with message 1 again, not itself.
		{turn("a", "2", sms.Inbound, time.Second, "1111 1111 thanks"), "**** **** thanks", "card_split 0:9 redact"},
		// Message 2 ended with words: nothing joins the next one.
		{turn("a", "3", sms.Inbound, 2*time.Second, "1111 1111"), "1111 1111", ""},
		// Another conversation, and the other direction, are separate.
		{turn("b", "4", sms.Inbound, 3*time.Second, "5555 5555"), "5555 5555", ""},
		{turn("b", "5", sms.Outbound, 4*time.Second, "5555 4444"), "5555 4444", ""},
		{turn("b", "6", sms.Inbound, 5*time.Second, "5555 4444."), "**** ****.", "card_split 0:9 redact"},
		// Too late: the window has passed.
		{turn("c", "7", sms.Inbound, 0, "4111 1111 1111"), "4111 1111 1111", ""},
		{turn("c", "8", sms.Inbound, 10*time.Minute, "1111"), "1111", ""},
		// Digits that are not a card with the tail stay.
		{turn("d", "9", sms.Inbound, 0, "order 4111 1111"), "order 4111 1111", ""},
		{turn("d", "10", sms.Inbound, time.Second, "1111 1112 shipped"), "1111 1112 shipped", ""},
		// A card on its own after too few digits is the chain's.
		{turn("e", "11", sms.Inbound, 0, "qty 12"), "qty 12", ""},
		{turn("e", "12", sms.Inbound, time.Second, "4111 1111 1111 1111"), "**** **** **** 1111", "card 0:19 redact"},
		// Digits of other scripts, offsets in the original text.
		{turn("f", "13", sms.Inbound, 0, "card ٤١١١ ١١١١"), "card ٤١١١ ١١١١", ""},
		{turn("f", "14", sms.Inbound, time.Second, "١١١١ ١١١١"), "٭٭٭٭ ٭٭٭٭", "card_split 0:17 redact"},
	}
	for i, st := range steps {
		got, err := cs.Apply(st.t)
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, st.t.Text, got)
		if got.Text != st.out || formatFindings(got.Findings) != st.findings {
			t.Errorf("step %d: Apply(%q) = %q [%s], want %q [%s]", i, st.t.Text, got.Text, formatFindings(got.Findings), st.out, st.findings)
		}
	}
}

func TestConversationPolicy(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Outbound = map[string]sms.Action{"card": sms.ActionBlock}
	cs := NewConversations(mustChain(t, cfg))
	cs.Apply(turn("a", "1", sms.Outbound, 0, "4111 1111"))
	got, _ := cs.Apply(turn("a", "2", sms.Outbound, time.Second, "1111 1111"))
	if got.Verdict != sms.VerdictBlocked || got.Text != "**** ****" {
		t.Errorf("outbound split card under a block policy = %+v", got)
	}
	off := NewConversations(mustChain(t, Config{Disabled: []string{TypeCardSplit}}))
	off.Apply(turn("a", "1", sms.Inbound, 0, "4111 1111"))
	if got, _ := off.Apply(turn("a", "2", sms.Inbound, time.Second, "1111 1111")); got.Verdict != sms.VerdictPass || off.Len() != 0 {
		t.Errorf("card_split disabled: %+v, %d conversations held", got, off.Len())
	}
}

// TestConversationBounds: memory is bounded by MaxConversations and the
// window.
func TestConversationBounds(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Conversation = ConversationConfig{Window: time.Minute, MaxConversations: 100}
	cs := NewConversations(mustChain(t, cfg))
	for i := range 1000 {
		cs.Apply(turn(fmt.Sprint(i), fmt.Sprint(i), sms.Inbound, time.Duration(i)*time.Millisecond, "card 4111 1111"))
	}
	if n := cs.Len(); n != 100 {
		t.Errorf("%d conversations held, want the bound 100", n)
	}
	// The most recent are kept.
	if got, _ := cs.Apply(turn("999", "x", sms.Inbound, time.Second, "1111 1111")); got.Verdict != sms.VerdictRedacted {
		t.Errorf("the most recent conversation was forgotten: %+v", got)
	}
	if got, _ := cs.Apply(turn("0", "y", sms.Inbound, time.Second, "1111 1111")); got.Verdict != sms.VerdictPass {
		t.Errorf("the oldest conversation was kept: %+v", got)
	}
	// Expired entries go as new messages arrive.
	cs.Apply(turn("late", "z", sms.Inbound, time.Hour, "card 5555 5555"))
	if n := cs.Len(); n != 1 {
		t.Errorf("%d conversations held after the window passed, want 1", n)
	}
}

func TestConversationConcurrent(t *testing.T) {
	cs := NewConversations(mustChain(t, DefaultConfig()))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				conv := fmt.Sprint(g, "/", i%7)
				cs.Apply(turn(conv, fmt.Sprint(i), sms.Inbound, time.Duration(i)*time.Second, "4111 1111"))
				if got, _ := cs.Apply(turn(conv, fmt.Sprint(i, "b"), sms.Inbound, time.Duration(i)*time.Second, "1111 1111")); got.Verdict != sms.VerdictRedacted {
					t.Errorf("split card missed: %+v", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestCorpusSplits scores the split cards of the corpus: the second part
// must be masked.
func TestCorpusSplits(t *testing.T) {
	cs := NewConversations(mustChain(t, DefaultConfig()))
	leaked, n := 0, 0
	for i, sp := range corpus.GenerateSplits(corpusSeed, 5000) {
		conv := fmt.Sprint("conv", i)
		if _, err := cs.Apply(turn(conv, "1", sms.Inbound, 0, sp.First.Text)); err != nil {
			t.Fatal(err)
		}
		out, err := cs.Apply(turn(conv, "2", sms.Inbound, time.Second, sp.Second.Text))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sp.Second.Secrets {
			n++
			if _, visible := units(sp.Second.Text, out.Text, s.Start, s.End, false); visible > 0 {
				leaked++
				if leaked <= 3 {
					t.Logf("leaked: %q + %q -> %q", sp.First.Text, sp.Second.Text, out.Text)
				}
			}
		}
	}
	t.Logf("split cards: %d of %d second parts leaked (%.2f%%)", leaked, n, 100*float64(leaked)/float64(n))
	if float64(leaked)/float64(n) > maxLeakRate {
		t.Errorf("split cards: %d of %d leaked, want at most %.1f%%", leaked, n, 100*maxLeakRate)
	}
}

// FuzzConversation splits the input in two messages: never a panic, the
// invariants hold for both, and a card split at a group boundary between
// them is caught.
func FuzzConversation(f *testing.F) {
	f.Add("my card 4111 1111 1111 1111", 12)
	f.Add("4111111111111111", 8)
	f.Add("٤١١١ ١١١١ ١١١١ ١١١١", 10)
	cs := NewConversations(mustChain(f, DefaultConfig()))
	f.Fuzz(func(t *testing.T, in string, cut int) {
		if cut < 0 || cut > len(in) {
			return
		}
		conv := fmt.Sprint("c", cut, len(in))
		a, b := in[:cut], in[cut:]
		oa, err := cs.Apply(turn(conv, "1", sms.Inbound, 0, a))
		if err != nil {
			t.Fatal(err)
		}
		ob, err := cs.Apply(turn(conv, "2", sms.Inbound, time.Second, b))
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, a, oa)
		checkInvariants(t, b, ob)
		// "4111 1111" + "1111 1111": the second half must not survive.
		ta, tb := strings.TrimRight(a, " "), strings.TrimLeft(b, " ")
		if isGroups(ta) && isGroups(tb) && len(ta) <= 19 && len(tb) <= 19 {
			d := string(digitsString(ta)) + string(digitsString(tb))
			if len(d) >= 12 && len(d) <= 19 && refValidCard(digitsOf(d)) && !refValidCard(digitsOf(tb)) &&
				len(digitsString(ta)) >= 4 && len(digitsString(ta)) < len(d) && ob.Text == b {
				t.Fatalf("split card survives: %q + %q", a, b)
			}
		}
	})
}

// isGroups reports whether s is digit groups of four separated by single spaces.
func isGroups(s string) bool {
	for i, g := range strings.Split(s, " ") {
		if len(g) == 0 || len(g) > 4 || strings.Trim(g, "0123456789") != "" || i > 4 {
			return false
		}
	}
	return s != ""
}

// TestConversationLookAlikes runs the corpus as ten long conversations:
// joining consecutive messages must not alter look-alikes.
func TestConversationLookAlikes(t *testing.T) {
	cs := NewConversations(mustChain(t, DefaultConfig()))
	altered, n := 0, 0
	for i, m := range corpus.Generate(corpusSeed+1, 20000) {
		out, err := cs.Apply(turn(fmt.Sprint(i%10), fmt.Sprint(i), sms.Inbound, time.Duration(i)*time.Second, m.Text))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range m.LookAlikes {
			n++
			if out.Text[s.Start:s.End] != m.Text[s.Start:s.End] {
				altered++
				if altered <= 3 {
					t.Logf("altered: %q -> %q %s", m.Text, out.Text, formatFindings(out.Findings))
				}
			}
		}
	}
	t.Logf("look-alikes altered in conversations: %d of %d (%.2f%%)", altered, n, 100*float64(altered)/float64(n))
	if float64(altered)/float64(n) > maxAlterRate {
		t.Errorf("look-alikes altered in conversations: %d of %d, want at most %.0f%%", altered, n, 100*maxAlterRate)
	}
}

package filters

import (
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// TestSplitReadingWins: when the digits that complete a split card are a
// card on their own too, the split reading wins and masks them all
// (doc of splitCard), instead of keeping the last four as for a card.
func TestSplitReadingWins(t *testing.T) {
	// 4002 500000000009: Visa 16; 500000000009: Maestro 12. Both pass
	// mutLuhn (4002 adds 8+0+0+2 = 10 to the Maestro's sum).
	for _, n := range []string{"4002500000000009", "500000000009"} {
		if !mutLuhn(n) {
			t.Fatalf("bad expectation: %s is not Luhn-valid", n)
		}
	}
	cs := NewConversations(mustChain(t, DefaultConfig()))
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, st := range []struct {
		text, out, types string
		verdict          sms.Verdict
	}{
		{"my card is 4002", "my card is 4002", "", sms.VerdictPass},
		{"5000 0000 0009", "**** **** ****", "card_split", sms.VerdictRedacted},
	} {
		got, err := cs.Apply(Turn{Conversation: "c1", ID: st.text, Direction: sms.Inbound, At: at, Text: st.text})
		if err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Second)
		var types string
		for i, f := range got.Findings {
			if i > 0 {
				types += " "
			}
			types += f.Type
		}
		if got.Text != st.out || types != st.types || got.Verdict != st.verdict {
			t.Errorf("Apply(%q) = %q %s [%s], want %q %s [%s]", st.text, got.Text, got.Verdict, types, st.out, st.verdict, st.types)
		}
	}
	// The same digits alone are a card and keep their last four.
	if got := mustChain(t, DefaultConfig()).Apply("5000 0000 0009"); got.Text != "**** **** 0009" {
		t.Errorf("Apply alone = %q, want %q", got.Text, "**** **** 0009")
	}
}

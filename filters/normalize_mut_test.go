package filters

import (
	"testing"

	"github.com/smsgw/smsgw/sms"
)

// TestSpelledDigitCards: digit words mixed with numerals are digits
// (doc of view): a card whose last digits are spelled is still a card,
// and its last four units stay visible, a digit word counting as one.
func TestSpelledDigitCards(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{
			// "oh" (zero) is the only word: still a word, not a numeral.
			name: "last digit oh", in: "the number is 4926 3807 4092 oh thanks",
			out: "the number is **** **** *092 oh thanks", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"4926380740920"},
		},
		{
			name: "last digit zero", in: "card 4689 3341 4126 zero ok",
			out: "card **** **** *126 zero ok", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"4689334141260"},
		},
		{
			// Seven digits are reached only counting the numeral at the
			// very start of the text.
			name: "sequence from the first byte", in: "4222222 22222 two",
			out: "******* **222 two", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"4222222222222"},
		},
		{
			name: "too few digits to be read", in: "42 two",
			out: "42 two", verdict: sms.VerdictPass,
		},
	})
}

// TestRuleContextOnInvalidUTF8: a text that starts with a stray UTF-8
// continuation byte is filtered like any other (Apply must not fail
// closed on it).
func TestRuleContextOnInvalidUTF8(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []Rule{{Name: "ref_code", Pattern: `zz\d+`, Action: sms.ActionRedact, Context: []string{"ref"}}}
	c := mustChain(t, cfg)
	for _, tc := range []struct{ in, out string }{
		{"\x80ref zz123", "\x80ref *****"},
		{"\x80\x80 ref zz123", "\x80\x80 ref *****"},
		{"\x80zz123", "\x80zz123"}, // no context word
	} {
		got, err := c.ApplySafe(tc.in)
		if err != nil || got.Text != tc.out {
			t.Errorf("ApplySafe(%q) = %q, %v; want %q", tc.in, got.Text, err, tc.out)
		}
	}
}

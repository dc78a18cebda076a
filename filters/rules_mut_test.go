package filters

import (
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// spanDetector reports fixed spans: a stand-in for a detector with a bug.
type spanDetector struct{ s, e int }

func (spanDetector) Name() string { return "spans" }
func (d spanDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	return append(dst, sms.Finding{Type: "spans", Start: d.s, End: d.e})
}

// TestBadSpansFailClosed: a detector returning an empty, reversed or
// out-of-range span is a bug; the message fails closed (ApplySafe
// returns an error) instead of being filtered with a broken finding.
func TestBadSpansFailClosed(t *testing.T) {
	text := "pin 4111111111111111 secret"
	for _, sp := range [][2]int{{3, 3}, {5, 4}, {-1, 2}, {0, len(text) + 1}} {
		c := chainOf([]stage{{spanDetector{sp[0], sp[1]}, "spans", sms.ActionRedact}})
		if _, err := c.ApplySafe(text); err == nil {
			t.Errorf("span [%d,%d): ApplySafe returned no error", sp[0], sp[1])
		}
	}
	c := chainOf([]stage{{spanDetector{0, 3}, "spans", sms.ActionRedact}})
	if out, err := c.ApplySafe(text); err != nil || out.Text != "*** 4111111111111111 secret" {
		t.Errorf("span [0,3): ApplySafe = %q, %v", out.Text, err)
	}
}

// TestRuleTimeoutDefault: RuleTimeout 0 means 100ms per match; another
// value is used as given (doc of Config.RuleTimeout).
func TestRuleTimeoutDefault(t *testing.T) {
	for _, c := range []struct {
		set, want time.Duration
	}{{0, 100 * time.Millisecond}, {250 * time.Millisecond, 250 * time.Millisecond}, {time.Minute, time.Minute}} {
		cfg := DefaultConfig()
		cfg.RuleTimeout = c.set
		cfg.Rules = []Rule{{Name: "r", Pattern: `zz\d+`, Action: sms.ActionFlag}}
		ch := mustChain(t, cfg)
		if got := ch.c.rules[0].re.MatchTimeout; got != c.want {
			t.Errorf("RuleTimeout %v: match timeout %v, want %v", c.set, got, c.want)
		}
	}
}

// TestRuleContextWords: a rule's context is a whole word or phrase
// before the match, not a prefix of a longer word and not the match's
// own first word. Rule values are masked like identifiers (last four
// kept when more than eight).
func TestRuleContextWords(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []Rule{
		{Name: "ref_code", Pattern: `zz\d+`, Action: sms.ActionRedact, Context: []string{"ref"}},
		{Name: "vault_code", Pattern: `vault \d{4}`, Action: sms.ActionRedact, Context: []string{"vault"}},
	}
	runApplyCases(t, mustChain(t, cfg), []applyCase{
		{name: "context word", in: "ref zz123", out: "ref *****", verdict: sms.VerdictRedacted, types: "ref_code"},
		{name: "context word at the start of a longer word", in: "refund zz123", out: "refund zz123", verdict: sms.VerdictPass},
		{name: "context word after a word", in: "a ref, zz123", out: "a ref, *****", verdict: sms.VerdictRedacted, types: "ref_code"},
		{name: "context word ending the text", in: "zz123 ref", out: "zz123 ref", verdict: sms.VerdictPass},
		{name: "the match's own word", in: "vault 1234", out: "vault 1234", verdict: sms.VerdictPass},
		{name: "context before the match", in: "vault: vault 1234", out: "vault: ***** 1234", verdict: sms.VerdictRedacted, types: "vault_code"},
	})
}

// TestTouchingFindings: findings that touch (one ends where the next
// starts) do not overlap: both are kept and masked.
func TestTouchingFindings(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []Rule{{Name: "ref_word", Pattern: `ref`, Action: sms.ActionRedact}}
	runApplyCases(t, mustChain(t, cfg), []applyCase{
		{
			name: "rule word glued before a card", in: "ref4111 1111 1111 1111",
			out: "******* **** **** 1111", verdict: sms.VerdictRedacted, types: "ref_word card",
			cards: []string{"4111111111111111"},
		},
	})
}

// TestPhoneEdges: international numbers have 8-15 digits; dotted North
// American numbers are numbers; a bracket at the end of the text or a
// no-break space inside a number do not make a phone number.
func TestPhoneEdges(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{name: "15 digits", in: "tel +123456789012345", out: "tel +123456789012345", verdict: sms.VerdictPass, types: "phone", spans: []string{"+123456789012345"}},
		{name: "8 digits", in: "tel +12345678", out: "tel +12345678", verdict: sms.VerdictPass, types: "phone", spans: []string{"+12345678"}},
		{name: "16 digits", in: "tel +1234567890123456", out: "tel +1234567890123456", verdict: sms.VerdictPass},
		{name: "dotted", in: "call 415.555.0134 now", out: "call 415.555.0134 now", verdict: sms.VerdictPass, types: "phone", spans: []string{"415.555.0134"}},
		{name: "bracket at the end", in: "call +1 415 555 0134 (", out: "call +1 415 555 0134 (", verdict: sms.VerdictPass, types: "phone", spans: []string{"+1 415 555 0134"}},
		{name: "inside a number after a no-break space", in: "ref 12\u00a0415 555 0134", out: "ref 12\u00a0415 555 0134", verdict: sms.VerdictPass},
	})
}

// TestOneTimePassword: a one-time password is a one-time code, not a
// credential (doc in context.go); "password" alone is.
func TestOneTimePassword(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{name: "one time", in: "your one time password is 482913", out: "your one time password is 482913", verdict: sms.VerdictPass},
		{name: "one-time", in: "your one-time password is 482913", out: "your one-time password is 482913", verdict: sms.VerdictPass},
		{name: "password", in: "your password is 482913", out: "your password is ******", verdict: sms.VerdictRedacted, types: "password"},
	})
}

// TestFollowerColons: up to three ':', '|' or ';' may stand between a
// card and its expiry date, like any separator.
func TestFollowerColons(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{name: "three", in: "4111 1111 1111 1111:::09/27", out: "**** **** **** 1111:::**/**", verdict: sms.VerdictRedacted, types: "card expiry", cards: []string{"4111111111111111"}},
		{name: "four", in: "4111 1111 1111 1111::::09/27", out: "**** **** **** 1111::::09/27", verdict: sms.VerdictRedacted, types: "card", cards: []string{"4111111111111111"}},
	})
	// Four spaces before a numeral are no joining gap: nothing to
	// normalise, nothing allocated.
	var v view
	if n := testing.AllocsPerRun(50, func() { v.init("one    2345678") }); n != 0 || v.normalised() {
		t.Errorf("view.init(one + 4 spaces + 7 digits): %v allocs, normalised %v", n, v.normalised())
	}
	if strings.Contains(v.text, "1") {
		t.Errorf("view text %q", v.text)
	}
}

// TestOneTimeDashPassword: "time-password" is still a one-time password.
func TestOneTimeDashPassword(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{name: "time-password", in: "your one time-password is 482913", out: "your one time-password is 482913", verdict: sms.VerdictPass},
		{name: "otp - password", in: "otp - password: 482913", out: "otp - password: 482913", verdict: sms.VerdictPass},
	})
}

// TestLettersWithAccentsNextToDigits: a letter whose UTF-8 encoding ends
// in the byte 0x80 ("À" is C3 80, "Ā" is C4 80) right before or after
// digits is neither a separator nor a problem.
func TestLettersWithAccentsNextToDigits(t *testing.T) {
	c := mustChain(t, DefaultConfig())
	for _, in := range []string{"À5", "prix À1234567 ok", "Ā12 one 345678", "1234567À", "one 2Ā"} {
		out, err := c.ApplySafe(in)
		if err != nil || out.Text != in || out.Verdict != sms.VerdictPass {
			t.Errorf("ApplySafe(%q) = %q %s, %v; want it unchanged", in, out.Text, out.Verdict, err)
		}
	}
}

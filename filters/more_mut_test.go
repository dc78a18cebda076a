package filters

import (
	"strings"
	"testing"

	"github.com/smsgw/smsgw/sms"
)

// TestTrackDataEdges: track 1 holds a name of at most 26 characters
// (ISO/IEC 7813) between '^'s, track 2 at least the YYMM expiry after
// '='. The track is masked as one value (its last four kept); what is
// not track data is a card.
func TestTrackDataEdges(t *testing.T) {
	// Track 2 with nothing but the expiry after '=': track data. (Only
	// the PAN part is asserted: with the last four kept, such a short
	// track shows its expiry date, see the report of issue 16.)
	got := mustChain(t, DefaultConfig()).Apply(";4111111111111111=2512?")
	if len(got.Findings) != 1 || got.Findings[0].Type != TypeTrack || !strings.HasPrefix(got.Text, ";****************=") {
		t.Errorf("Apply(track 2 with YYMM only) = %q %s, want one track finding, the PAN masked", got.Text, formatFindings(got.Findings))
	}
	name26 := "DOE/" + strings.Repeat("J", 22)
	name28 := "DOE/" + strings.Repeat("J", 24)
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{
			name: "track 2, three digits", in: ";4111111111111111=251",
			out: ";************1111=251", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"4111111111111111"},
		},
		{
			name: "track 1, name of 26", in: "%B4111111111111111^" + name26 + "^2709101?",
			out: "%*****************^" + "***/" + strings.Repeat("*", 22) + "^***9101?", verdict: sms.VerdictRedacted, types: "track",
			cards: []string{"4111111111111111"},
		},
		{
			name: "track 1, name of 28: no track", in: "%B4111111111111111^" + name28 + "^2709101?",
			out: "%B************1111^" + name28 + "^2709101?", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"4111111111111111"},
		},
	})
}

// TestContactSpans: what a phone or email finding covers.
func TestContactSpans(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{
			name: "NANP with a 1 and two spaces", in: "call 1  800 555 0199 today",
			out: "call 1  800 555 0199 today", verdict: sms.VerdictPass, types: "phone", spans: []string{"1  800 555 0199"},
		},
		{
			name: "NANP area code starting 1", in: "call 1  100 555 0199 today",
			out: "call 1  100 555 0199 today", verdict: sms.VerdictPass,
		},
		{
			name: "email after dots", in: "mail ..jo.doe@example.com now",
			out: "mail ..jo.doe@example.com now", verdict: sms.VerdictPass, types: "email", spans: []string{"jo.doe@example.com"},
		},
		{
			name: "email after a dash", in: "mail -jo@example.org",
			out: "mail -jo@example.org", verdict: sms.VerdictPass, types: "email", spans: []string{"jo@example.org"},
		},
		{
			// Three spaces still join digit groups: the 415 number
			// continues "12" and is not a phone number on its own.
			name: "number continuing another", in: "ref 12   415 555 0134",
			out: "ref 12   415 555 0134", verdict: sms.VerdictPass,
		},
		{
			name: "number after a wide gap", in: "ref 12. 415 555 0134",
			out: "ref 12. 415 555 0134", verdict: sms.VerdictPass, types: "phone", spans: []string{"415 555 0134"},
		},
	})
}

// TestIDTokenLengths: a passport number is 6-12 letters and digits with
// at least 4 digits, a driver's licence 5-20; a password at least 3
// characters.
func TestIDTokenLengths(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{name: "passport 6", in: "passport AB1234 ok", out: "passport ****** ok", verdict: sms.VerdictRedacted, types: "passport"},
		{name: "passport 5", in: "passport A1234 ok", out: "passport A1234 ok", verdict: sms.VerdictPass},
		{name: "passport 12", in: "passport AB1234567890 ok", out: "passport ********7890 ok", verdict: sms.VerdictRedacted, types: "passport"},
		{name: "passport 13", in: "passport AB12345678901 ok", out: "passport AB12345678901 ok", verdict: sms.VerdictPass},
		{name: "licence 5", in: "license D1234 ok", out: "license ***** ok", verdict: sms.VerdictRedacted, types: "drivers_license"},
		{name: "licence 4", in: "license 1234 ok", out: "license 1234 ok", verdict: sms.VerdictPass},
		{name: "password 3", in: "password: a1! ok", out: "password: *** ok", verdict: sms.VerdictRedacted, types: "password"},
		{name: "password 2", in: "password: a1 ok", out: "password: a1 ok", verdict: sms.VerdictPass},
	})
}

// TestKeywordThenSpaces: keywords that look at the next word ("valid
// thru", "security code", "sort code") at the end of the text, after
// spaces or dashes, find nothing and do not fail the message closed.
func TestKeywordThenSpaces(t *testing.T) {
	var cases []applyCase
	for _, in := range []string{"card valid ", "valid -", "security  ", "sort -", "good - "} {
		cases = append(cases, applyCase{name: in, in: in, out: in, verdict: sms.VerdictPass})
	}
	runApplyCases(t, mustChain(t, DefaultConfig()), cases)
}

// TestTieGoesToBuiltin: an operator rule matching exactly what a built-in
// detector finds loses the tie to it (resolveOverlaps: same length and
// start, the earlier type; rules come after the built-ins).
func TestTieGoesToBuiltin(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []Rule{{Name: "test_cards", Pattern: `4111 1111 1111 1111`, Action: sms.ActionBlock}}
	got := mustChain(t, cfg).Apply("pay 4111 1111 1111 1111")
	// The card is kept, with the strictest action of the two (block), and
	// masked as a card.
	if len(got.Findings) != 1 || got.Findings[0].Type != TypeCard || got.Findings[0].Action != sms.ActionBlock ||
		got.Text != "pay **** **** **** 1111" || got.Verdict != sms.VerdictBlocked {
		t.Errorf("Apply = %q %s %s, want the card finding (block) and the text masked as a card", got.Text, got.Verdict, formatFindings(got.Findings))
	}
	// Two built-ins on the same span: the earlier of DetectorNames ("in
	// precedence order") wins.
	for i, name := range DetectorNames() {
		if p := precedence(name); p != i {
			t.Errorf("precedence(%s) = %d, want %d", name, p, i)
		}
	}
	if p := precedence("test_cards"); p != len(entities) {
		t.Errorf("precedence(rule) = %d, want %d (after the built-ins)", p, len(entities))
	}
	if p := precedence(TypeCardSplit); p >= 0 {
		t.Errorf("precedence(card_split) = %d, want below every built-in", p)
	}
}

// TestTrackNameUnterminated: a text ending inside a track-1 name is not
// track data (and does not fail closed): the card is masked as a card.
func TestTrackNameUnterminated(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{
			name: "no second caret", in: "pay %B4111111111111111^DOE/JOHN",
			out: "pay %B************1111^DOE/JOHN", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"4111111111111111"},
		},
		{
			name: "caret at the end", in: "pay %B4111111111111111^",
			out: "pay %B************1111^", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"4111111111111111"},
		},
	})
}

// TestViewNoAllocsNearMisses: "It allocates only when text needs
// normalising" (doc of view.init): digit words next to numerals but too
// few digits, or not joined to them, need none.
func TestViewNoAllocsNearMisses(t *testing.T) {
	for _, in := range []string{
		"I have two 10 dollar bills",
		"one 2 three",
		"meet at 10 or eleven, room 4 five",
		"4111 1111. one two three",
	} {
		var v view
		if n := testing.AllocsPerRun(50, func() { v.init(in) }); n != 0 {
			t.Errorf("view.init(%q) allocates %v times", in, n)
		}
		if v.normalised() {
			t.Errorf("view.init(%q) normalised the text to %q", in, v.text)
		}
	}
}

// TestViewGluedWordStaysWord: a digit word glued to a numeral is not
// joined to it ("zero3" in TestView), even when another part of the text
// is normalised.
func TestViewGluedWordStaysWord(t *testing.T) {
	for _, tc := range []struct{ in, norm string }{
		{"ref one 234567, then four111111111111111", "ref 1 234567, then four111111111111111"},
		{"one 234567 x eight9876543", "1 234567 x eight9876543"},
	} {
		var v view
		v.init(tc.in)
		if v.text != tc.norm {
			t.Errorf("view(%q) = %q, want %q", tc.in, v.text, tc.norm)
		}
	}
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{name: "glued spelled card", in: "ref one 234567, then four111111111111111", out: "ref one 234567, then four111111111111111", verdict: sms.VerdictPass},
	})
}

// TestContextWordsUpperCase: context words match in any case, the
// letter A included ("TAXPAYER", "NATIONAL INSURANCE", "SOCIAL").
func TestContextWordsUpperCase(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{name: "TAXPAYER", in: "TAXPAYER ID 912701234", out: "TAXPAYER ID *****1234", verdict: sms.VerdictRedacted, types: "itin"},
		{name: "NATIONAL INSURANCE", in: "NATIONAL INSURANCE: ab123456c", out: "NATIONAL INSURANCE: *****456c", verdict: sms.VerdictRedacted, types: "uk_nin"},
		{name: "SOCIAL", in: "SOCIAL 123456789", out: "SOCIAL *****6789", verdict: sms.VerdictRedacted, types: "ssn"},
		{name: "NAS", in: "NAS 130692544", out: "NAS *****2544", verdict: sms.VerdictRedacted, types: "ca_sin"},
	})
}

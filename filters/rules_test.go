package filters

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

func TestRules(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []Rule{
		{Name: "employee_id", Pattern: `(?<![A-Z])EMP-\d{6}(?!\d)`, Action: sms.ActionRedact},
		{Name: "project", Pattern: `falcon`, Action: sms.ActionFlag, IgnoreCase: true},
		{Name: "member_id", Pattern: `\b[A-Z]{2}\d{7}\b`, Action: sms.ActionRedact, Context: []string{"member", "Mitglied"}},
		{Name: "wire", Pattern: `wire \$\d+`, Action: sms.ActionBlock},
	}
	c := mustChain(t, cfg)
	for _, tc := range []struct{ in, out, verdict, findings string }{
		{"badge EMP-123456 ok", "badge ***-**3456 ok", "redacted", "employee_id 6:16 redact"},
		{"XEMP-123456 EMP-1234567", "XEMP-123456 EMP-1234567", "pass", ""},
		// Offsets are bytes even after multi-byte characters.
		{"üñï 😀 EMP-654321", "üñï 😀 ***-**4321", "redacted", "employee_id 12:22 redact"},
		{"Project FALCON is go", "Project FALCON is go", "pass", "project 8:14 flag"},
		{"member no AB1234567", "member no *****4567", "redacted", "member_id 10:19 redact"},
		{"Mitglied: AB1234567", "Mitglied: *****4567", "redacted", "member_id 10:19 redact"},
		{"order AB1234567", "order AB1234567", "pass", ""},
		{"member " + strings.Repeat("x ", 30) + "AB1234567", "member " + strings.Repeat("x ", 30) + "AB1234567", "pass", ""},
		{"please wire $5000 today", "please **** $**** today", "blocked", "wire 7:17 block"},
		// Rules and built-ins together; a rule match over a card.
		{"EMP-123456 card 4111111111111111", "***-**3456 card ************1111", "redacted", "employee_id 0:10 redact; card 16:32 redact"},
		// Offsets into a normalised text.
		{"４１１１ １１１１ １１１１ １１１１ EMP-123456", "＊＊＊＊ ＊＊＊＊ ＊＊＊＊ １１１１ ***-**3456", "redacted", "card 0:51 redact; employee_id 52:62 redact"},
	} {
		got := c.Apply(tc.in)
		checkInvariants(t, tc.in, got)
		if got.Text != tc.out || string(got.Verdict) != tc.verdict || formatFindings(got.Findings) != tc.findings {
			t.Errorf("Apply(%q) = %q %s [%s], want %q %s [%s]", tc.in, got.Text, got.Verdict, formatFindings(got.Findings), tc.out, tc.verdict, tc.findings)
		}
	}
}

func TestLexicon(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Lexicon = []LexiconRule{
		{Name: "promises", Phrases: []string{"guaranteed returns", "risk-free investment", "Garantierte Rendite"}, Action: sms.ActionBlock},
		{Name: "tone", Phrases: []string{"stupid"}, Action: sms.ActionFlag},
		{Name: "codeword", Phrases: []string{"bluebird"}, Action: sms.ActionRedact},
	}
	cfg.Outbound = map[string]sms.Action{"tone": sms.ActionBlock}
	c := mustChain(t, cfg)
	for _, tc := range []struct {
		dir                        sms.Direction
		in, out, verdict, findings string
	}{
		{"", "We offer GUARANTEED  returns!", "We offer GUARANTEED  returns!", "blocked", "promises 9:28 block"},
		{"", "a risk free investment", "a risk free investment", "blocked", "promises 2:22 block"},
		{"", "garantierte rendite", "garantierte rendite", "blocked", "promises 0:19 block"},
		{"", "guaranteed, returns", "guaranteed, returns", "blocked", "promises 0:19 block"},
		{"", "guaranteedreturns", "guaranteedreturns", "pass", ""},
		{"", "guaranteed and returns", "guaranteed and returns", "pass", ""},
		{"", "that is stupid", "that is stupid", "pass", "tone 8:14 flag"},
		{sms.Outbound, "that is stupid", "that is stupid", "blocked", "tone 8:14 block"},
		{sms.Inbound, "that is stupid", "that is stupid", "pass", "tone 8:14 flag"},
		{"", "the bluebird flies", "the ******** flies", "redacted", "codeword 4:12 redact"},
		// A blocking phrase over a masked value: the value stays masked,
		// the block is kept.
		{"", "guaranteed returns 4111111111111111", "guaranteed returns ************1111", "blocked", "promises 0:18 block; card 19:35 redact"},
	} {
		got := c.For(tc.dir).Apply(tc.in)
		if got.Text != tc.out || string(got.Verdict) != tc.verdict || formatFindings(got.Findings) != tc.findings {
			t.Errorf("%s Apply(%q) = %q %s [%s], want %q %s [%s]", tc.dir, tc.in, got.Text, got.Verdict, formatFindings(got.Findings), tc.out, tc.verdict, tc.findings)
		}
	}
	if n := testing.AllocsPerRun(50, func() { c.Apply("nothing to see, 10:30") }); n != 0 {
		t.Errorf("a lexicon allocates %v times on a benign text, want 0", n)
	}
}

// TestRuleTimeoutFailsClosed: a rule that runs out of time never lets the
// text through, and its error never quotes the text.
func TestRuleTimeoutFailsClosed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RuleTimeout = time.Millisecond
	cfg.Rules = []Rule{{Name: "evil", Pattern: `(a+)+$`, Action: sms.ActionFlag}}
	c := mustChain(t, cfg)
	secret := "card 4111111111111111 " + strings.Repeat("a", 40) + "!"
	in := strings.Repeat("a", 40) + "!"
	_, err := c.ApplySafe(in)
	if err == nil {
		t.Fatal("ApplySafe with a catastrophic rule: no error")
	}
	if !errors.Is(err, ErrRuleTimeout) || sms.KindOf(err) != sms.Internal || strings.Contains(err.Error(), "aaaa") {
		t.Errorf("ApplySafe error = %v (kind %v), want ErrRuleTimeout without the text", err, sms.KindOf(err))
	}
	out := c.Apply(secret)
	if out.Verdict != sms.VerdictBlocked || strings.Contains(out.Text, "4111") || len(out.Findings) != 1 || out.Findings[0].Type != TypeFilterError {
		t.Errorf("Apply with a timed-out rule = %+v, want blocked and masked", out)
	}
	// Digits of any script are masked too.
	wide := "card ４１１１１１１１１１１１１１１１ " + strings.Repeat("a", 40) + "!"
	if out := c.Apply(wide); out.Verdict != sms.VerdictBlocked || strings.ContainsAny(out.Text, "１４") {
		t.Errorf("Apply with a timed-out rule on full-width digits = %q", out.Text)
	}
}

// A rule matching more often than the chain acts on fails closed: the
// matches past the limit would otherwise go out untouched.
func TestRuleMatchLimitFailsClosed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []Rule{{Name: "code", Pattern: `x\d`, Action: sms.ActionRedact}}
	c := mustChain(t, cfg)
	if out := c.Apply(strings.Repeat("x1 ", maxRuleMatches)); out.Verdict != sms.VerdictRedacted {
		t.Fatalf("%d matches: verdict %s, want redacted", maxRuleMatches, out.Verdict)
	}
	in := strings.Repeat("x1 ", maxRuleMatches+1)
	if _, err := c.ApplySafe(in); !errors.Is(err, ErrRuleMatches) || strings.Contains(err.Error(), "x1") {
		t.Errorf("ApplySafe with %d matches: %v, want ErrRuleMatches without the text", maxRuleMatches+1, err)
	}
	if out := c.Apply(in); out.Verdict != sms.VerdictBlocked || strings.Contains(out.Text, "x1") {
		t.Errorf("Apply with too many matches = %s %.40q…, want blocked and masked", out.Verdict, out.Text)
	}
}

func TestPerDirectionPolicy(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Inbound = map[string]sms.Action{"card": sms.ActionFlag, "email": sms.ActionRedact}
	cfg.Outbound = map[string]sms.Action{"card": sms.ActionBlock}
	c := mustChain(t, cfg)
	in := "card 4111111111111111 mail a.b@example.com"
	for _, tc := range []struct {
		dir               sms.Direction
		out, verdict, fnd string
	}{
		{"", "card ************1111 mail a.b@example.com", "redacted", "card 5:21 redact; email 27:42 flag"},
		{sms.Inbound, "card 4111111111111111 mail *.*@******e.com", "redacted", "card 5:21 flag; email 27:42 redact"},
		{sms.Outbound, "card ************1111 mail a.b@example.com", "blocked", "card 5:21 block; email 27:42 flag"},
	} {
		got := c.For(tc.dir).Apply(in)
		if got.Text != tc.out || string(got.Verdict) != tc.verdict || formatFindings(got.Findings) != tc.fnd {
			t.Errorf("For(%q).Apply = %q %s [%s], want %q %s [%s]", tc.dir, got.Text, got.Verdict, formatFindings(got.Findings), tc.out, tc.verdict, tc.fnd)
		}
	}
	if c.For(sms.Inbound).For(sms.Outbound) != c.For(sms.Outbound) {
		t.Error("For is not stable across directions")
	}
}

func TestDisabledTypes(t *testing.T) {
	c := mustChain(t, Config{Disabled: []string{"cvv", "email"}})
	got := c.Apply("4111 1111 1111 1111 09/27 123 a@b.com cvv 999")
	if want := "card 0:19 redact; expiry 20:25 redact"; formatFindings(got.Findings) != want {
		t.Errorf("findings %s, want %s", formatFindings(got.Findings), want)
	}
}

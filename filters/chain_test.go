package filters

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/smsgw/smsgw/sms"
)

func mustChain(t testing.TB, cfg Config) *Chain {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPolicyActions(t *testing.T) {
	in := "card 4111111111111111 ssn 123-45-6789"
	redacted := "card ************1111 ssn ***-**-6789"
	for _, tc := range []struct {
		name    string
		cfg     Config
		text    string
		verdict sms.Verdict
		actions string
	}{
		{"default", DefaultConfig(), redacted, sms.VerdictRedacted, "card:redact ssn:redact"},
		{"zero config uses defaults", Config{}, redacted, sms.VerdictRedacted, "card:redact ssn:redact"},
		{"block card", Config{Policy: map[string]sms.Action{"card": sms.ActionBlock}}, redacted, sms.VerdictBlocked, "card:block ssn:redact"},
		{"flag all", Config{Policy: map[string]sms.Action{"card": sms.ActionFlag, "ssn": sms.ActionFlag}}, in, sms.VerdictPass, "card:flag ssn:flag"},
		{"flag card", Config{Policy: map[string]sms.Action{"card": sms.ActionFlag}}, "card 4111111111111111 ssn ***-**-6789", sms.VerdictRedacted, "card:flag ssn:redact"},
		{"ssn disabled", Config{Disabled: []string{"ssn"}}, "card ************1111 ssn 123-45-6789", sms.VerdictRedacted, "card:redact"},
		{"all disabled", Config{Disabled: []string{"ssn", "card"}}, in, sms.VerdictPass, ""},
	} {
		got := mustChain(t, tc.cfg).Apply(in)
		var actions []string
		for _, f := range got.Findings {
			actions = append(actions, f.Type+":"+string(f.Action))
		}
		if got.Text != tc.text || got.Verdict != tc.verdict || strings.Join(actions, " ") != tc.actions {
			t.Errorf("%s: Apply(%q) = %q %s [%s], want %q %s [%s]", tc.name, in, got.Text, got.Verdict, strings.Join(actions, " "), tc.text, tc.verdict, tc.actions)
		}
	}
}

func TestPassReturnsInput(t *testing.T) {
	c := mustChain(t, DefaultConfig())
	in := "see you at 10:30, order 4111 1111 1111 1112"
	got := c.Apply(in)
	if got.Text != in || got.Verdict != sms.VerdictPass || got.Findings != nil {
		t.Errorf("Apply(%q) = %+v, want the input, pass, no findings", in, got)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"default", DefaultConfig(), nil},
		{"empty", Config{}, nil},
		{"bad action", Config{Policy: map[string]sms.Action{"card": "redcat"}},
			[]string{`filters.policy.card: unknown action "redcat" (want redact, block or flag)`}},
		{"every problem", Config{Policy: map[string]sms.Action{"ssn": "", "iban": "redact", "card": "BLOCK"}, Disabled: []string{"card", "pan"}},
			[]string{
				`filters.policy.card: unknown action "BLOCK" (want redact, block or flag)`,
				`filters.policy.ssn: unknown action "" (want redact, block or flag)`,
				`filters.disabled[1]: unknown finding type "pan" (known: ` + strings.Join(DetectorNames(), ", ") + `, card_split)`,
			}},
		{"unknown type", Config{Policy: map[string]sms.Action{"pan": "redact"}, Inbound: map[string]sms.Action{"card": "flag", "x": "flag"}, Outbound: map[string]sms.Action{"email": "nope"}},
			[]string{
				`filters.policy.pan: unknown finding type "pan" (known: ` + strings.Join(DetectorNames(), ", ") + `, and the names of rules and lexicon rules)`,
				`filters.inbound.x: unknown finding type "x" (known: ` + strings.Join(DetectorNames(), ", ") + `, and the names of rules and lexicon rules)`,
				`filters.outbound.email: unknown action "nope" (want redact, block or flag)`,
			}},
		{"rules", Config{
			Rules: []Rule{
				{Name: "emp_id", Pattern: `EMP-\d{6}`, Action: sms.ActionRedact},
				{Name: "Bad Name", Pattern: `(unclosed`, Action: "zap", Context: []string{" "}},
				{Name: "card", Pattern: `a*`},
				{Name: "emp_id", Pattern: `x`, Action: sms.ActionFlag},
			},
			Lexicon: []LexiconRule{
				{Name: "promises", Phrases: []string{"guaranteed returns", "!!"}, Action: sms.ActionBlock},
				{Name: "", Action: sms.ActionFlag},
			},
			Policy:       map[string]sms.Action{"emp_id": sms.ActionBlock, "promises": sms.ActionFlag},
			Disabled:     []string{"promises"},
			RuleTimeout:  -1,
			Conversation: ConversationConfig{Window: -1, MaxConversations: -5},
		},
			[]string{
				`filters.rules[1].name: "Bad Name": want lower-case letters, digits and _, starting with a letter`,
				`filters.rules[1].action: unknown action "zap" (want redact, block or flag)`,
				`filters.rules[1].pattern: error parsing regexp: missing closing ) in ` + "`(unclosed`",
				`filters.rules[1].context[0]: empty`,
				`filters.rules[2].name: "card" is a built-in finding type`,
				`filters.rules[2].action: required (redact, block or flag)`,
				`filters.rules[2].pattern: "a*" matches the empty text`,
				`filters.rules[3].name: "emp_id" is already the name of filters.rules[0]`,
				`filters.lexicon[0].phrases[1]: "!!" has no words`,
				`filters.lexicon[1].name: required`,
				`filters.lexicon[1].phrases: required (at least one word or phrase)`,
				`filters.rule_timeout: must be between 0 (default 100ms) and 1m (got -1ns)`,
				`filters.conversation.window: must be between 0 (default 5m0s) and 24h (got -1ns)`,
				`filters.conversation.max_conversations: must be between 0 (default 100000) and 10000000 (got -5)`,
			}},
	} {
		var got []string
		for _, err := range tc.cfg.Validate() {
			got = append(got, err.Error())
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: Validate() =\n%s\nwant\n%s", tc.name, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
		_, err := New(tc.cfg)
		if (err != nil) != (len(tc.want) > 0) {
			t.Errorf("%s: New() error = %v, want an error: %v", tc.name, err, len(tc.want) > 0)
		}
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: New() error %v does not say %q", tc.name, err, w)
			}
		}
	}
}

func TestDetectorNames(t *testing.T) {
	want := "track,card,cvv,expiry,pin,ssn,itin,ca_sin,iban,routing,bank_account,uk_nin,passport,drivers_license,dob,password,email,phone"
	if got := strings.Join(DetectorNames(), ","); got != want {
		t.Errorf("DetectorNames() = %s, want %s", got, want)
	}
	for _, e := range entities {
		if _, ok := DefaultConfig().Policy[e.name]; !ok {
			t.Errorf("DefaultConfig has no policy for %s", e.name)
		}
	}
	// Every type a detector reports is a known one, and every known one
	// has a detector.
	covered := map[string]bool{}
	for _, d := range detectors {
		for _, typ := range d.types {
			if _, ok := lookupEntity(typ); !ok {
				t.Errorf("detector %s reports unknown type %s", d.det.Name(), typ)
			}
			covered[typ] = true
		}
	}
	for _, e := range entities {
		if !covered[e.name] {
			t.Errorf("no detector reports %s", e.name)
		}
	}
}

// stage is a test detector with the action its findings get.
type stage struct {
	det    Detector
	name   string
	action sms.Action
}

// chainOf builds a chain of test detectors.
func chainOf(stages []stage) *Chain {
	c := &Chain{c: &compiled{}, actions: map[string]sms.Action{}}
	for _, st := range stages {
		c.c.dets = append(c.c.dets, st.det)
		c.actions[st.name] = st.action
	}
	return c
}

// fixed is a test detector that reports fixed spans.
type fixed struct {
	name  string
	spans [][2]int
}

func (d fixed) Name() string { return d.name }
func (d fixed) Detect(text string, dst []sms.Finding) []sms.Finding {
	for _, s := range d.spans {
		dst = append(dst, sms.Finding{Type: d.name, Start: s[0], End: s[1]})
	}
	return dst
}

func TestOverlaps(t *testing.T) {
	//        0         1         2
	//        0123456789012345678901234567
	text := "aaa 111111111 222222222222 b"
	for _, tc := range []struct {
		name   string
		stages []stage
		want   string
		text   string
		v      sms.Verdict
	}{
		{"longest wins, takes the block",
			[]stage{{fixed{"a", [][2]int{{4, 13}}}, "a", sms.ActionBlock}, {fixed{"b", [][2]int{{4, 26}}}, "b", sms.ActionRedact}},
			"b 4:26 block", "aaa ********* ********2222 b", sms.VerdictBlocked},
		{"equal length: first start wins",
			[]stage{{fixed{"a", [][2]int{{6, 13}}}, "a", sms.ActionRedact}, {fixed{"b", [][2]int{{4, 11}}}, "b", sms.ActionRedact}},
			"b 4:11 redact", "aaa *******11 222222222222 b", sms.VerdictRedacted},
		{"a flag never displaces a masked value",
			[]stage{{fixed{"a", [][2]int{{6, 13}}}, "a", sms.ActionRedact}, {fixed{"b", [][2]int{{4, 20}}}, "b", sms.ActionFlag}},
			"a 6:13 redact", "aaa 11******* 222222222222 b", sms.VerdictRedacted},
		{"flags: longest kept",
			[]stage{{fixed{"a", [][2]int{{6, 13}}}, "a", sms.ActionFlag}, {fixed{"b", [][2]int{{4, 20}}}, "b", sms.ActionFlag}},
			"b 4:20 flag", text, sms.VerdictPass},
		{"same span: earlier detector wins",
			[]stage{{fixed{"a", [][2]int{{14, 26}}}, "a", sms.ActionFlag}, {fixed{"b", [][2]int{{14, 26}}}, "b", sms.ActionFlag}},
			"a 14:26 flag", text, sms.VerdictPass},
		{"disjoint: both kept, sorted",
			[]stage{{fixed{"a", [][2]int{{14, 26}}}, "a", sms.ActionRedact}, {fixed{"b", [][2]int{{4, 13}}}, "b", sms.ActionRedact}},
			"b 4:13 redact; a 14:26 redact", "aaa *****1111 ********2222 b", sms.VerdictRedacted},
		{"short values are masked whole",
			[]stage{{fixed{"a", [][2]int{{0, 3}}}, "a", sms.ActionRedact}},
			"a 0:3 redact", "*** 111111111 222222222222 b", sms.VerdictRedacted},
	} {
		got := chainOf(tc.stages).Apply(text)
		if f := formatFindings(got.Findings); f != tc.want || got.Text != tc.text || got.Verdict != tc.v {
			t.Errorf("%s: Apply = %q %q %s, want %q %q %s", tc.name, f, got.Text, got.Verdict, tc.want, tc.text, tc.v)
		}
	}
}

type panicky struct{ value any }

func (panicky) Name() string { return "boom" }
func (d panicky) Detect(text string, dst []sms.Finding) []sms.Finding {
	if d.value == nil {
		return append(dst, sms.Finding{Type: "boom", Start: 0, End: len(text) + 1}) // a bad span
	}
	panic(d.value)
}

func TestApplySafe(t *testing.T) {
	secret := "pin 4111111111111111 secret"
	for _, v := range []any{nil, "the text was: " + secret, errors.New(secret), fmt.Sprintf("%v", []byte(secret))} {
		c := chainOf([]stage{{panicky{v}, "boom", sms.ActionRedact}})
		out, err := c.ApplySafe(secret)
		if err == nil {
			t.Fatalf("ApplySafe with a detector panicking %T: no error", v)
		}
		if strings.Contains(err.Error(), "4111") || strings.Contains(err.Error(), "secret") {
			t.Errorf("ApplySafe error quotes the text: %v", err)
		}
		if sms.KindOf(err) != sms.Internal || sms.CodeOf(err) != "filter_failed" {
			t.Errorf("ApplySafe error kind %v code %s, want internal/filter_failed", sms.KindOf(err), sms.CodeOf(err))
		}
		if out.Text != "" || out.Verdict != "" {
			t.Errorf("ApplySafe returned an outcome with its error: %+v", out)
		}
	}
	// An index panic inside a detector.
	c := chainOf([]stage{{indexBug{}, "idx", sms.ActionRedact}})
	if _, err := c.ApplySafe(secret); err == nil || !strings.Contains(err.Error(), "index out of range") || strings.Contains(err.Error(), "4111") {
		t.Errorf("ApplySafe(index bug) = %v", err)
	}
	out, err := mustChain(t, DefaultConfig()).ApplySafe(secret)
	if err != nil || out.Verdict != sms.VerdictRedacted {
		t.Errorf("ApplySafe(default) = %+v, %v", out, err)
	}
}

type indexBug struct{}

func (indexBug) Name() string { return "idx" }
func (indexBug) Detect(text string, dst []sms.Finding) []sms.Finding {
	var a []int
	_ = a[len(text)]
	return dst
}

// TestConcurrent runs one chain from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	c := mustChain(t, DefaultConfig())
	msgs := []string{benign, "card 4111 1111 1111 1111", "ssn 123-45-6789", "x 5555555555554444 y 378282246310005"}
	want := make([]Outcome, len(msgs))
	for i, m := range msgs {
		want[i] = c.Apply(m)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				k := (g + i) % len(msgs)
				if got := c.Apply(msgs[k]); got.Text != want[k].Text || formatFindings(got.Findings) != formatFindings(want[k].Findings) {
					t.Errorf("concurrent Apply(%q) = %+v, want %+v", msgs[k], got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestNoAllocsWhenNothingFound holds the chain to its promise.
func TestNoAllocsWhenNothingFound(t *testing.T) {
	c := mustChain(t, DefaultConfig())
	for _, in := range []string{
		benign,
		"order 4111 1111 1111 1112, usps 9400 1000 0000 0000 0000 00, ts 1700000000",
		"über 日本語 +49 1512 3456704 " + strings.Repeat("1234 ", 60),
		"",
	} {
		if n := testing.AllocsPerRun(100, func() { c.Apply(in) }); n != 0 {
			t.Errorf("Apply(%q) allocates %v times, want 0", in, n)
		}
	}
}

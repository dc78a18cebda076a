package filters

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/smsgw/smsgw/sms"
)

// Detector finds sensitive values of one or more built-in types.
//
// Detect appends a finding per value found in text — Type set to one of
// the built-in types, Start and End as byte offsets into text — to dst and
// returns it; the chain sets Action from the policy and drops findings of
// disabled types. text is the normalised text (see view): ASCII digits
// wherever the input had digits of any script. A span outside text is a
// bug that ApplySafe reports as an error.
//
// It must be pure (no I/O, no shared mutable state, safe for concurrent
// use) and must not allocate when it finds nothing.
type Detector interface {
	Name() string
	Detect(text string, dst []sms.Finding) []sms.Finding
}

// minRunner is a detector that finds nothing in a text without a digit
// run (digit groups joined by separators, see scanner) of minRun digits.
type minRunner interface {
	minRun() int
}

// maxMinRun is the largest minRun of the built-in detectors.
const maxMinRun = minCardDigits

func (cardDetector) minRun() int      { return minCardDigits }
func (nineDigitDetector) minRun() int { return 9 }
func (ibanDetector) minRun() int      { return 6 } // six digits in a row, perhaps across its groups' spaces
func (ninoDetector) minRun() int      { return 6 }
func (phoneDetector) minRun() int     { return 7 } // "555-0134" of "(415) 555-0134"

// detectors are the built-in detectors; types lists what each reports.
var detectors = [...]struct {
	det   Detector
	types []string
}{
	{cardDetector{}, []string{TypeCard, TypeTrack, TypeExpiry, TypeCVV}},
	{nineDigitDetector{}, []string{TypeSSN, TypeITIN, TypeCASIN}},
	{ibanDetector{}, []string{TypeIBAN}},
	{ninoDetector{}, []string{TypeUKNIN}},
	{contextDetector{}, []string{TypeCVV, TypePIN, TypeExpiry, TypeBankAccount, TypeRouting, TypePassport,
		TypeDriversLicense, TypeDOB, TypePassword}},
	{phoneDetector{}, []string{TypePhone}},
	{emailDetector{}, []string{TypeEmail}},
}

// Chain is a compiled policy: the enabled detectors and rules and the
// action of every finding type, for one direction (see For). It is
// immutable after New and safe for concurrent use.
type Chain struct {
	c       *compiled
	actions map[string]sms.Action // enabled finding types
	styles  map[string]maskStyle  // finding types of rules and lexicon rules
	in, out *Chain                // the chains For returns
}

// compiled is what the chains of the three directions share.
type compiled struct {
	dets     []Detector
	rules    []*ruleDetector
	lexicon  *lexicon
	conv     ConversationConfig
	convOn   bool
	timeout  time.Duration
	disabled map[string]bool
}

// New compiles cfg once. The error lists every problem in cfg.
func New(cfg Config) (*Chain, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cc := &compiled{conv: cfg.Conversation, timeout: cfg.RuleTimeout, disabled: map[string]bool{}}
	if cc.timeout == 0 {
		cc.timeout = defaultRuleTimeout
	}
	if cc.conv.Window == 0 {
		cc.conv.Window = defaultWindow
	}
	if cc.conv.MaxConversations == 0 {
		cc.conv.MaxConversations = defaultMaxConversations
	}
	for _, d := range cfg.Disabled {
		cc.disabled[d] = true
	}
	cc.convOn = !cc.disabled[TypeCardSplit] && !cc.disabled[TypeCard]
	for _, d := range detectors {
		if slices.ContainsFunc(d.types, func(t string) bool { return !cc.disabled[t] }) {
			cc.dets = append(cc.dets, d.det)
		}
	}
	// Default actions: built-ins from the table, rules from themselves.
	base := map[string]sms.Action{}
	styles := map[string]maskStyle{}
	for _, e := range entities {
		base[e.name] = e.def
	}
	for _, r := range cfg.Rules {
		re, err := compileRule(r, cc.timeout)
		if err != nil {
			return nil, fmt.Errorf("filters.rules: compiling %s: %w", r.Name, err)
		}
		cc.rules = append(cc.rules, newRuleDetector(r, re))
		base[r.Name] = r.Action
		styles[r.Name] = maskKeep4
	}
	if len(cfg.Lexicon) > 0 {
		cc.lexicon = newLexicon(cfg.Lexicon)
		for _, l := range cfg.Lexicon {
			base[l.Name] = l.Action
			styles[l.Name] = maskAllAln
		}
	}
	build := func(over map[string]sms.Action) *Chain {
		a := make(map[string]sms.Action, len(base))
		for k, v := range base {
			if !cc.disabled[k] {
				a[k] = v
			}
		}
		for _, m := range []map[string]sms.Action{cfg.Policy, over} {
			for k, v := range m {
				if !cc.disabled[k] {
					a[k] = v
				}
			}
		}
		return &Chain{c: cc, actions: a, styles: styles}
	}
	c := build(nil)
	c.in, c.out = build(cfg.Inbound), build(cfg.Outbound)
	c.in.in, c.in.out, c.out.in, c.out.out = c.in, c.out, c.in, c.out
	return c, nil
}

// For returns the chain applying the policy of direction d (Config.Policy
// with Config.Inbound or Config.Outbound over it); for any other value, c.
func (c *Chain) For(d sms.Direction) *Chain {
	switch d {
	case sms.Inbound:
		return c.in
	case sms.Outbound:
		return c.out
	}
	return c
}

// Action returns the action findings of type t get, and false when the
// type is unknown or disabled.
func (c *Chain) Action(t string) (sms.Action, bool) {
	a, ok := c.actions[t]
	return a, ok
}

// Outcome is the result of applying a chain to one text.
type Outcome struct {
	Text     string        // the redacted text; the input itself when nothing was redacted
	Verdict  sms.Verdict   // pass | redacted | blocked
	Findings []sms.Finding // sorted by Start, not overlapping; byte offsets into the input; never the value
}

// Apply runs every detector and rule over text and applies the policy:
//   - redact: the value is masked ('*' for every digit and letter but
//     the last four — none for short values, codes, dates and
//     credentials; separators kept), verdict redacted;
//   - block: masked the same way (the archive keeps the redacted copy;
//     lexicon phrases are not masked), verdict blocked: the message must
//     not be delivered;
//   - flag: recorded only, the text is left alone.
//
// Overlapping findings are resolved before masking: the longest wins
// (ties: the one starting first, then the earlier type), taking the
// strictest action of those it displaced, so no byte is masked twice and
// a block is never lost; a flag never displaces a masked value.
// Apply allocates nothing when nothing is found.
//
// Apply fails closed: when an operator rule times out, the outcome is
// blocked with every digit and letter masked and one finding of type
// "filter_error". Use ApplySafe to get the error instead.
func (c *Chain) Apply(text string) Outcome {
	out, err := c.apply(text, nil)
	if err != nil {
		return failClosed(text)
	}
	return out
}

// TypeFilterError is the finding of a text the chain could not process.
const TypeFilterError = "filter_error"

// failClosed is the outcome of a text the chain could not process: blocked,
// with every digit and letter of any script masked.
func failClosed(text string) Outcome {
	masked := strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) || unicode.IsLetter(r) {
			return '*'
		}
		return r
	}, text)
	return Outcome{Text: masked, Verdict: sms.VerdictBlocked,
		Findings: []sms.Finding{{Type: TypeFilterError, Start: 0, End: len(text), Action: sms.ActionBlock}}}
}

// apply is Apply with the error of a failed rule, and with extra findings
// (byte offsets into text, type and action set) to resolve with the rest.
func (c *Chain) apply(text string, extra []sms.Finding) (Outcome, error) {
	var v view
	v.init(text)
	var found []sms.Finding // allocated only when something is found
	longest := longestRun(v.text, maxMinRun)
	for _, d := range c.c.dets {
		if m, ok := d.(minRunner); ok && longest < m.minRun() {
			continue // it needs a longer digit run than the text holds
		}
		n := len(found)
		found = d.Detect(v.text, found)
		for j := n; j < len(found); j++ {
			if f := &found[j]; f.Start < 0 || f.End > len(v.text) || f.Start >= f.End {
				panic(detectorBug(fmt.Sprintf("detector %q returned the span [%d,%d) for a %d-byte text", d.Name(), f.Start, f.End, len(v.text))))
			}
		}
	}
	// Actions from the policy; disabled types dropped.
	kept := found[:0]
	for _, f := range found {
		if a, ok := c.actions[f.Type]; ok {
			f.Action = a
			kept = append(kept, f)
		}
	}
	found = kept
	if len(c.c.rules) > 0 || c.c.lexicon != nil {
		var err error
		if found, err = c.applyRules(text, &v, found); err != nil {
			return Outcome{}, err
		}
	}
	for _, f := range extra {
		f.Start, f.End = v.normIndex(f.Start), v.normIndex(f.End)
		if f.Start < f.End {
			found = append(found, f)
		}
	}
	if len(found) == 0 {
		return Outcome{Text: text, Verdict: sms.VerdictPass}, nil
	}
	found = c.resolveOverlaps(found)
	out := Outcome{Text: text, Verdict: sms.VerdictPass}
	masked := false
	for _, f := range found {
		switch f.Action {
		case sms.ActionBlock:
			out.Verdict = sms.VerdictBlocked
		case sms.ActionRedact:
			if out.Verdict == sms.VerdictPass {
				out.Verdict = sms.VerdictRedacted
			}
		}
		masked = masked || c.masks(f)
	}
	if masked {
		out.Text = c.mask(text, &v, found)
	}
	if v.normalised() {
		for i := range found {
			found[i].Start, found[i].End = v.origSpan(found[i].Start, found[i].End)
		}
	}
	out.Findings = found
	return out, nil
}

// style is how findings of type t are masked.
func (c *Chain) style(t string) maskStyle {
	if t == TypeCardSplit {
		return maskAllAln // the first digits are out already: show no more
	}
	if e, ok := lookupEntity(t); ok {
		return e.style
	}
	if s, ok := c.styles[t]; ok {
		return s
	}
	return maskKeep4
}

// masks reports whether f's value is masked: redact or block, except
// lexicon phrases that block.
func (c *Chain) masks(f sms.Finding) bool {
	switch f.Action {
	case sms.ActionRedact:
		return true
	case sms.ActionBlock:
		return !c.isLexicon(f.Type)
	}
	return false
}

func (c *Chain) isLexicon(t string) bool {
	return c.c.lexicon != nil && c.c.lexicon.names[t]
}

// ApplySafe is Apply with a panic or a failed rule turned into an error,
// so that the caller fails closed — it must not deliver the message —
// instead of crashing. The error is an *sms.Error of kind Internal; it
// never contains the text, only its length and the cause's type (and a
// runtime error's message, which holds no data).
func (c *Chain) ApplySafe(text string) (out Outcome, err error) {
	return c.applySafe(text, nil)
}

func (c *Chain) applySafe(text string, extra []sms.Finding) (out Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			out = Outcome{}
			err = sms.Wrap(sms.Internal, "filter_failed", "the filter could not process the message",
				fmt.Errorf("filter chain panicked on a %d-byte text: %s", len(text), describePanic(r)))
		}
	}()
	out, err = c.apply(text, extra)
	if err != nil {
		return Outcome{}, sms.Wrap(sms.Internal, "filter_failed", "the filter could not process the message", err)
	}
	return out, nil
}

// detectorBug is a panic value whose text is known to hold no message data.
type detectorBug string

// describePanic keeps what is safe to log of a panic value: a value of
// arbitrary type might quote the text, so only its type is kept.
func describePanic(r any) string {
	switch v := r.(type) {
	case detectorBug:
		return string(v)
	case runtime.Error:
		return v.Error() // e.g. "index out of range [5] with length 3": numbers only
	default:
		return fmt.Sprintf("panic value of type %T", r)
	}
}

package filters

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/smsgw/smsgw/sms"
)

// Detector finds one kind of sensitive value. Detect appends findings
// (Type, Start, End as byte offsets into text; Action left empty) to dst
// and returns it. It must be pure, safe for concurrent use, and must not
// allocate when it finds nothing.
type Detector interface {
	Name() string
	Detect(text string, dst []sms.Finding) []sms.Finding
}

type builtin struct {
	name string
	def  sms.Action
	det  Detector
}

// builtins are the detectors every chain knows, in precedence order: when
// two findings overlap, the earlier detector's wins.
var builtins = []builtin{
	{"card", sms.ActionRedact, cardDetector{}},
	{"ssn", sms.ActionRedact, ssnDetector{}},
}

type stage struct {
	det    Detector
	action sms.Action
}

// Chain is a compiled policy. Safe for concurrent use.
type Chain struct {
	stages []stage
}

// New compiles cfg. The error lists every problem in cfg.
func New(cfg Config) (*Chain, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Chain{}
	for _, b := range builtins {
		if slices.Contains(cfg.Disabled, b.name) {
			continue
		}
		a := b.def
		if p, ok := cfg.Policy[b.name]; ok {
			a = p
		}
		c.stages = append(c.stages, stage{det: b.det, action: a})
	}
	return c, nil
}

// Outcome is the result of applying a chain to a text.
type Outcome struct {
	Text     string        // the redacted text (the input itself when nothing was redacted)
	Verdict  sms.Verdict   // pass | redacted | blocked
	Findings []sms.Finding // offsets into the input; never the value
}

// Apply runs every detector and applies the policy.
func (c *Chain) Apply(text string) Outcome {
	var found []sms.Finding // allocated only when something is found
	for _, st := range c.stages {
		n := len(found)
		found = st.det.Detect(text, found)
		for i := n; i < len(found); i++ {
			found[i].Action = st.action
		}
	}
	if len(found) == 0 {
		return Outcome{Text: text, Verdict: sms.VerdictPass}
	}
	found = dropOverlaps(found)
	out := Outcome{Text: text, Verdict: sms.VerdictPass, Findings: found}
	redact := false
	for _, f := range found {
		switch f.Action {
		case sms.ActionBlock:
			out.Verdict = sms.VerdictBlocked
			redact = true // the archive keeps a redacted copy of a blocked text
		case sms.ActionRedact:
			redact = true
			if out.Verdict == sms.VerdictPass {
				out.Verdict = sms.VerdictRedacted
			}
		}
	}
	if redact {
		out.Text = mask(text, found)
	}
	return out
}

// ApplySafe is Apply with panics turned into an error, so that a detector
// bug fails closed (the caller must not deliver) instead of crashing the
// stage. The error never contains the text.
func (c *Chain) ApplySafe(text string) (out Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			out = Outcome{}
			err = fmt.Errorf("filter chain panicked on a %d-byte text: %v", len(text), safePanic(r))
		}
	}()
	return c.Apply(text), nil
}

// safePanic keeps only the panic's type: its value might quote the text.
func safePanic(r any) string {
	if e, ok := r.(error); ok {
		return fmt.Sprintf("%T", e)
	}
	return fmt.Sprintf("%T", r)
}

// dropOverlaps keeps, among overlapping findings, the one that started
// first (ties: the longer), sorted by start.
func dropOverlaps(fs []sms.Finding) []sms.Finding {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Start != fs[j].Start {
			return fs[i].Start < fs[j].Start
		}
		return fs[i].End > fs[j].End
	})
	out := fs[:0]
	end := -1
	for _, f := range fs {
		if f.Start < end {
			continue
		}
		out = append(out, f)
		end = f.End
	}
	return out
}

// mask replaces the digits (and letters) of each redact/block finding with
// '*', keeping separators and the last four digits.
func mask(text string, fs []sms.Finding) string {
	var b strings.Builder
	b.Grow(len(text))
	prev := 0
	for _, f := range fs {
		if f.Action == sms.ActionFlag {
			continue
		}
		b.WriteString(text[prev:f.Start])
		span := text[f.Start:f.End]
		keep := 0 // index in span from which digits are kept
		seen := 0
		for i := len(span) - 1; i >= 0; i-- {
			if isDigit(span[i]) {
				seen++
				if seen == 4 {
					keep = i
					break
				}
			}
		}
		if seen < 4 {
			keep = len(span)
		}
		for i := 0; i < len(span); i++ {
			c := span[i]
			if i < keep && (isDigit(c) || isLetter(c)) {
				b.WriteByte('*')
			} else {
				b.WriteByte(c)
			}
		}
		prev = f.End
	}
	b.WriteString(text[prev:])
	return b.String()
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

package filters

import (
	"errors"
	"fmt"
	"runtime"
	"slices"

	"github.com/smsgw/smsgw/sms"
)

// Detector finds one kind of sensitive value.
//
// Name is the finding type it reports ("card") and the key of its policy.
// Detect appends a finding per value found in text — Start and End as
// byte offsets into text; Type and Action are set by the chain (Type to
// Name()) — to dst and returns it. A span outside text is a bug that
// ApplySafe reports as an error.
// It must be pure (no I/O, no shared mutable state, safe for concurrent
// use) and must not allocate when it finds nothing.
type Detector interface {
	Name() string
	Detect(text string, dst []sms.Finding) []sms.Finding
}

// stage is one compiled detector with the action its findings get.
type stage struct {
	det    Detector
	name   string
	action sms.Action
}

// Chain is a compiled policy: the enabled detectors and their actions.
// It is immutable after New and safe for concurrent use.
type Chain struct {
	stages []stage
}

// New compiles cfg once. The error lists every problem in cfg.
func New(cfg Config) (*Chain, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &Chain{}
	for _, b := range builtins {
		name := b.det.Name()
		if slices.Contains(cfg.Disabled, name) {
			continue
		}
		a := b.def
		if p, ok := cfg.Policy[name]; ok {
			a = p
		}
		c.stages = append(c.stages, stage{det: b.det, name: name, action: a})
	}
	return c, nil
}

// Outcome is the result of applying a chain to one text.
type Outcome struct {
	Text     string        // the redacted text; the input itself when nothing was redacted
	Verdict  sms.Verdict   // pass | redacted | blocked
	Findings []sms.Finding // sorted by Start, not overlapping; offsets into the input; never the value
}

// Apply runs every detector over text and applies the policy:
//   - redact: the value is masked ('*' for every digit and letter but
//     the last four; separators kept), verdict redacted;
//   - block: masked the same way (the archive keeps the redacted copy),
//     verdict blocked: the message must not be delivered;
//   - flag: recorded only, the text is left alone.
//
// Overlapping findings are resolved before masking: the longest wins
// (ties: the one starting first, then the earlier detector), taking the
// strictest action of those it displaced, so no byte is masked twice and
// a block is never lost. Apply allocates nothing when nothing is found.
func (c *Chain) Apply(text string) Outcome {
	var found []sms.Finding // allocated only when something is found
	for i := range c.stages {
		st := &c.stages[i]
		n := len(found)
		found = st.det.Detect(text, found)
		for j := n; j < len(found); j++ {
			f := &found[j]
			if f.Start < 0 || f.End > len(text) || f.Start >= f.End {
				panic(detectorBug(fmt.Sprintf("detector %q returned the span [%d,%d) for a %d-byte text", st.name, f.Start, f.End, len(text))))
			}
			f.Type, f.Action = st.name, st.action
		}
	}
	if len(found) == 0 {
		return Outcome{Text: text, Verdict: sms.VerdictPass}
	}
	found = resolveOverlaps(found)
	out := Outcome{Text: text, Verdict: sms.VerdictPass, Findings: found}
	masked := false
	for _, f := range found {
		switch f.Action {
		case sms.ActionBlock:
			out.Verdict = sms.VerdictBlocked
			masked = true
		case sms.ActionRedact:
			masked = true
			if out.Verdict == sms.VerdictPass {
				out.Verdict = sms.VerdictRedacted
			}
		}
	}
	if masked {
		out.Text = mask(text, found)
	}
	return out
}

// ApplySafe is Apply with a panic turned into an error, so that a
// detector bug fails closed — the caller must not deliver the message —
// instead of crashing the stage. The error is an *sms.Error of kind
// Internal; it never contains the text, only its length and the panic's
// type (and a runtime error's message, which holds no data).
func (c *Chain) ApplySafe(text string) (out Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			out = Outcome{}
			err = sms.Wrap(sms.Internal, "filter_failed", "the filter could not process the message",
				fmt.Errorf("filter chain panicked on a %d-byte text: %s", len(text), describePanic(r)))
		}
	}()
	return c.Apply(text), nil
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

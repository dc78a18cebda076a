package filters

import (
	"slices"
	"strings"

	"github.com/smsgw/smsgw/sms"
)

// strictness orders actions: a kept finding takes the strictest action of
// the findings it displaced.
func strictness(a sms.Action) int {
	switch a {
	case sms.ActionBlock:
		return 2
	case sms.ActionRedact:
		return 1
	}
	return 0
}

// resolveOverlaps keeps, among overlapping findings, the longest (ties:
// the one starting first, then the one found first, i.e. by the earlier
// detector), upgrading its action to the strictest of those it displaced.
// The result reuses fs and is sorted by Start.
func resolveOverlaps(fs []sms.Finding) []sms.Finding {
	if len(fs) == 1 {
		return fs
	}
	slices.SortStableFunc(fs, func(a, b sms.Finding) int {
		if la, lb := a.End-a.Start, b.End-b.Start; la != lb {
			return lb - la
		}
		return a.Start - b.Start
	})
	kept := fs[:0]
	for _, f := range fs {
		overlaps := false
		for i := range kept {
			k := &kept[i]
			if f.Start < k.End && k.Start < f.End {
				overlaps = true
				if strictness(f.Action) > strictness(k.Action) {
					k.Action = f.Action
				}
			}
		}
		if !overlaps {
			kept = append(kept, f)
		}
	}
	slices.SortFunc(kept, func(a, b sms.Finding) int { return a.Start - b.Start })
	return kept
}

// keepLast is how many trailing digits or letters of a value stay
// visible, provided more than twice as many are in it; a shorter value is
// masked whole.
const keepLast = 4

// keepFrom is the index in span of the first of its visible characters
// (len(span) when none is).
func keepFrom(span string) int {
	alnum := 0
	for i := 0; i < len(span); i++ {
		if isDigit(span[i]) || isLetter(span[i]) {
			alnum++
		}
	}
	if alnum <= 2*keepLast {
		return len(span)
	}
	keep := len(span)
	for i, seen := len(span)-1, 0; seen < keepLast; i-- {
		if isDigit(span[i]) || isLetter(span[i]) {
			seen++
			keep = i
		}
	}
	return keep
}

// mask returns text with the value of every redact or block finding
// masked: each ASCII digit or letter but the last keepLast (see keepFrom)
// becomes '*';
// separators and every other byte stay. fs must be sorted and must not
// overlap. The result has the same length as text, so offsets stay valid
// and UTF-8 stays valid.
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
		keep := keepFrom(span)
		for i := 0; i < len(span); i++ {
			if c := span[i]; i < keep && (isDigit(c) || isLetter(c)) {
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

package filters

import (
	"slices"
	"unicode"
	"unicode/utf8"

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

// resolveOverlaps makes fs non-overlapping. Among overlapping masked
// findings the longest is kept (ties: the one starting first, then the
// earlier type), upgrading its action to the strictest of those it
// displaced. Findings that are not masked (flags, blocking lexicon
// phrases) are then kept only where they overlap nothing kept; one that
// does is dropped, its action passed on. The result reuses fs and is
// sorted by Start.
func (c *Chain) resolveOverlaps(fs []sms.Finding) []sms.Finding {
	if len(fs) == 1 {
		return fs
	}
	slices.SortStableFunc(fs, func(a, b sms.Finding) int {
		if ma, mb := c.masks(a), c.masks(b); ma != mb {
			if ma {
				return -1
			}
			return 1
		}
		if la, lb := a.End-a.Start, b.End-b.Start; la != lb {
			return lb - la
		}
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return precedence(a.Type) - precedence(b.Type)
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

// Stars of the width of the digit they replace, so that the masked text
// has the length of the input: offsets stay valid and so does UTF-8.
const (
	star2 = "\u066d" // ARABIC FIVE POINTED STAR, for two-byte digits (Arabic-Indic)
	star3 = "\uff0a" // FULLWIDTH ASTERISK, for three-byte digits (full-width, Devanagari, ...)
)

// mask returns text with the value of every masked finding in fs masked.
// fs are sorted, do not overlap, and have offsets into v.text. Each
// character of a value — an ASCII digit or letter, a digit of another
// script, a digit word; for credentials any character but a space — is
// masked, except the last keepLast of a long value of the styles that
// keep them. The result has the same length as text.
func (c *Chain) mask(text string, v *view, fs []sms.Finding) string {
	b := []byte(text)
	for _, f := range fs {
		if !c.masks(f) {
			continue
		}
		style := c.style(f.Type)
		span := v.text[f.Start:f.End]
		keep := len(span)
		if style == maskKeep4 {
			keep = keepFrom(span)
		}
		for i := 0; i < len(span); {
			ch, size := span[i], 1
			unit := isDigit(ch) || isLetter(ch)
			if ch >= utf8.RuneSelf {
				var r rune
				r, size = utf8.DecodeRuneInString(span[i:])
				unit = style == maskAll && !unicode.IsSpace(r)
			} else if style == maskAll {
				unit = ch > ' ' && ch != 0x7f
			}
			if unit && i < keep {
				maskChar(b, text, v, f.Start+i, size)
			}
			i += size
		}
	}
	return string(b)
}

// maskChar masks, in b (a copy of text), the input of the size bytes of
// v.text at p.
func maskChar(b []byte, text string, v *view, p, size int) {
	s, e := v.origSpan(p, p+size)
	if e-s == size || size > 1 {
		for k := s; k < e; k++ {
			b[k] = '*'
		}
		return
	}
	// One normalised digit: a digit of another script, or a digit word.
	r, n := utf8.DecodeRuneInString(text[s:e])
	switch {
	case n == e-s && n == 2 && r >= utf8.RuneSelf:
		copy(b[s:e], star2)
	case n == e-s && n == 3:
		copy(b[s:e], star3)
	default:
		for k := s; k < e; k++ {
			b[k] = '*'
		}
	}
}

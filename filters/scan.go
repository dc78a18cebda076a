package filters

import (
	"math/bits"
	"unicode/utf8"
)

// maxRunDigits bounds the digits of one run held at once. A longer run is
// examined in consecutive windows that overlap by whole groups (see
// keepTail), so a value straddling the limit is still seen whole.
const maxRunDigits = 128

// tailDigits is how many trailing digits (at least, rounded up to whole
// groups) an overflowing run carries into its next window: twice the
// longest card, so any 12-19 digit window is seen whole in one of them.
const tailDigits = 38

// maxGap is the most separator characters that may join two digit groups
// ("4111 - 1111" has three).
const maxGap = 3

// Separator classes, ORed into run.gap for the characters of one gap.
const (
	sepSpace   uint8 = 1 << iota // space, tab, no-break spaces
	sepDash                      // '-', '_', Unicode hyphens and dashes, minus
	sepDot                       // '.'
	sepSlash                     // '/'
	sepNewline                   // '\n', '\r'
	sepComma                     // ','
	sepInvis                     // zero-width characters
)

// asciiSep maps an ASCII byte to its separator class (0: not a separator).
var asciiSep = [utf8.RuneSelf]uint8{
	' ': sepSpace, '\t': sepSpace,
	'-': sepDash, '_': sepDash,
	'.':  sepDot,
	'/':  sepSlash,
	'\n': sepNewline, '\r': sepNewline,
	',': sepComma,
}

// sepAt reports the separator class of the character at text[i] (0 when
// it is not one people put between digit groups) and its size in bytes.
func sepAt(text string, i int) (class uint8, size int) {
	c := text[i]
	if c < utf8.RuneSelf {
		return asciiSep[c], 1
	}
	r, size := utf8.DecodeRuneInString(text[i:])
	switch r {
	case '\u00a0', '\u2007', '\u202f', '\u2009', '\u200a', '\u3000': // no-break, figure, thin, hair, ideographic spaces
		return sepSpace, size
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad': // zero-width characters, soft hyphen
		return sepInvis, size
	case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\ufe63', '\uff0d': // hyphens, dashes, minus
		return sepDash, size
	case '\u2024', '\uff0e': // one dot leader, fullwidth full stop
		return sepDot, size
	case '\u2028', '\u2029', '\u0085': // line and paragraph separators, NEL
		return sepNewline, size
	}
	return 0, size
}

func isDigit(c byte) bool  { return c-'0' <= 9 }
func isLetter(c byte) bool { return (c|0x20)-'a' <= 'z'-'a' }

// run is a maximal sequence of digit groups joined by short separator
// gaps, e.g. "4111 1111-1111  1111" (4 groups). It is held by value in a
// scanner on the stack: scanning allocates nothing.
type run struct {
	n      int                 // digits held
	digit  [maxRunDigits]byte  // digit values 0-9
	pos    [maxRunDigits]int32 // byte offset of each digit in the text
	ngroup int                 // groups held
	group  [maxRunDigits]uint8 // index of the first digit of each group
	gap    [maxRunDigits]uint8 // separator classes of the gap before each group (0 for group 0)
	truncL bool                // the run began before this window (overflow)
	truncR bool                // the run continues after this window (overflow)
	before byte                // the byte just before the first digit; 0 at the start of the text or when truncL
}

// whole reports whether the run is held entirely (not an overflow window).
func (r *run) whole() bool { return !r.truncL && !r.truncR }

// groupStart is the digit index of the first digit of group g.
func (r *run) groupStart(g int) int { return int(r.group[g]) }

// groupEnd is the digit index one past the last digit of group g.
func (r *run) groupEnd(g int) int {
	if g+1 < r.ngroup {
		return int(r.group[g+1])
	}
	return r.n
}

// groupLen is the number of digits in group g.
func (r *run) groupLen(g int) int { return r.groupEnd(g) - r.groupStart(g) }

// span returns the byte range in the text of digits [from, to).
func (r *run) span(from, to int) (start, end int) {
	return int(r.pos[from]), int(r.pos[to-1]) + 1
}

// keepTail starts the next window of an overflowing run: it keeps the
// last groups holding at least tailDigits digits, or just the last
// tailDigits digits when that would keep too much.
func (r *run) keepTail() {
	g := r.ngroup - 1
	for g > 0 && r.n-r.groupStart(g) < tailDigits {
		g--
	}
	from := r.groupStart(g)
	if r.n-from > 2*tailDigits {
		from = r.n - tailDigits
	}
	// Rebase the kept groups; the first may start mid-group.
	k := 0
	for h := 0; h < r.ngroup; h++ {
		if end := r.groupEnd(h); end > from {
			s := max(r.groupStart(h)-from, 0)
			gap := r.gap[h]
			if s == 0 {
				gap = 0
			}
			r.group[k], r.gap[k] = uint8(s), gap
			k++
		}
	}
	r.ngroup = k
	copy(r.digit[:], r.digit[from:r.n])
	copy(r.pos[:], r.pos[from:r.n])
	r.n -= from
	r.truncL = true
	r.before = 0
}

// scanner walks the digit runs of a text. Use it by value:
//
//	var sc scanner
//	sc.init(text)
//	for sc.next() { r := &sc.r; ... }
type scanner struct {
	text string
	i    int
	// An overflowing run stopped on a digit: whether it starts a new
	// group, and the gap before it.
	pendNew bool
	pendGap uint8
	r       run
}

func (sc *scanner) init(text string) { sc.initAt(text, 0) }

// initAt starts the scan at byte i, which must not be inside a run.
func (sc *scanner) initAt(text string, i int) {
	sc.text, sc.i = text, i
	sc.r.n, sc.r.ngroup, sc.r.truncR = 0, 0, false
}

// next loads the next run (or the next window of an overlong run) into
// sc.r and reports whether there was one.
func (sc *scanner) next() bool {
	text := sc.text
	r := &sc.r
	i := sc.i
	newGroup, gap := true, uint8(0)
	if r.truncR {
		r.keepTail()
		newGroup, gap = sc.pendNew, sc.pendGap
	} else {
		i = nextDigit(text, i)
		if i >= len(text) {
			sc.i = i
			return false
		}
		r.n, r.ngroup, r.truncL, r.before = 0, 0, false, 0
		if i > 0 {
			r.before = text[i-1]
		}
	}
	r.truncR = false
	for i < len(text) {
		c := text[i]
		if isDigit(c) {
			if r.n == maxRunDigits {
				r.truncR = true
				sc.pendNew, sc.pendGap = newGroup, gap
				break
			}
			if newGroup {
				r.group[r.ngroup] = uint8(r.n)
				r.gap[r.ngroup] = gap
				r.ngroup++
				newGroup = false
			}
			r.digit[r.n] = c - '0'
			r.pos[r.n] = int32(i)
			r.n++
			i++
			continue
		}
		// Up to maxGap separator characters may join two digit groups.
		j, k := i, 0
		gap = 0
		for j < len(text) && k < maxGap {
			class, size := asciiSep[text[j]&0x7f], 1
			if text[j] >= utf8.RuneSelf {
				class, size = sepAt(text, j)
			}
			if class == 0 {
				break
			}
			gap |= class
			j += size
			k++
		}
		if k == 0 || j >= len(text) || !isDigit(text[j]) {
			break
		}
		i = j
		newGroup = true
	}
	sc.i = i
	return true
}

// firstRun returns the byte offset of the first digit of the first run in
// text holding at least min digits, or -1. It stores nothing, so a
// detector calls it before setting up a scanner: most texts hold no run
// long enough to be worth one.
func firstRun(text string, min int) int {
	start, n := -1, 0
	for i := 0; i < len(text); {
		c := text[i]
		if isDigit(c) {
			if n == 0 {
				start = i
			}
			n++
			if n >= min {
				return start
			}
			i++
			continue
		}
		if n == 0 {
			i = nextDigit(text, i+1)
			continue
		}
		// In a run: the gap joins only if separators lead to a digit.
		j, k := i, 0
		for j < len(text) && k < maxGap {
			class, size := asciiSep[c&0x7f], 1
			if c >= utf8.RuneSelf {
				class, size = sepAt(text, j)
			}
			if class == 0 {
				break
			}
			j += size
			k++
			if j < len(text) {
				c = text[j]
			}
		}
		if k == 0 || j >= len(text) || !isDigit(text[j]) {
			n = 0
			i = max(j, i+1)
			continue
		}
		i = j
	}
	return -1
}

// longestRun returns the number of digits of the longest run in text, or
// limit if that is more.
func longestRun(text string, limit int) int {
	best, n := 0, 0
	for i := 0; i < len(text); {
		c := text[i]
		if isDigit(c) {
			n++
			if n >= limit {
				return limit
			}
			i++
			continue
		}
		if n == 0 {
			i = nextDigit(text, i+1)
			continue
		}
		best = max(best, n)
		// In a run: the gap joins only if separators lead to a digit.
		j, k := i, 0
		for j < len(text) && k < maxGap {
			class, size := asciiSep[c&0x7f], 1
			if c >= utf8.RuneSelf {
				class, size = sepAt(text, j)
			}
			if class == 0 {
				break
			}
			j += size
			k++
			if j < len(text) {
				c = text[j]
			}
		}
		if k == 0 || j >= len(text) || !isDigit(text[j]) {
			n = 0
			i = max(j, i+1)
			continue
		}
		i = j
	}
	return max(best, n)
}

const (
	lo7 = 0x7f7f7f7f7f7f7f7f
	hi1 = 0x8080808080808080
	one = 0x0101010101010101
)

// nextDigit returns the index of the first ASCII digit in text at or
// after i, or len(text). It tests eight bytes at a time.
func nextDigit(text string, i int) int {
	for k := 0; k < 2 && i < len(text); k++ { // digits come in groups: look close first
		if isDigit(text[i]) {
			return i
		}
		i++
	}
	for ; i+8 <= len(text); i += 8 {
		t := text[i : i+8]
		w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		// High bit of each byte of m set where '0' <= byte <= '9'
		// ("hasbetween" from Bit Twiddling Hacks, with m='0'-1, n='9'+1).
		x := w & lo7
		m := (one*(127+'9'+1) - x) & ^w & (x + one*(127-('0'-1))) & hi1
		if m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(text) && !isDigit(text[i]) {
		i++
	}
	return i
}

package filters

import "unicode/utf8"

// maxRunDigits bounds one digit run examined at once; longer runs are
// examined in consecutive windows (with overlap) so nothing is skipped.
const maxRunDigits = 128

// run is a maximal sequence of digit groups separated by at most two
// separator characters, e.g. "4111 1111-1111  1111". It lives on the
// stack: scanning allocates nothing.
type run struct {
	n      int                 // digits
	digit  [maxRunDigits]byte  // digit values 0-9
	pos    [maxRunDigits]int32 // byte offset of each digit in the text
	ngroup int
	group  [maxRunDigits]int16 // index of the first digit of each group
}

// isSep reports whether the text at i starts with a character people put
// between the digit groups of a number, and its length in bytes.
func isSep(text string, i int) (bool, int) {
	c := text[i]
	switch c {
	case ' ', '-', '.', '/', '\n', '\r', '\t', '_':
		return true, 1
	}
	if c < utf8.RuneSelf {
		return false, 0
	}
	r, size := utf8.DecodeRuneInString(text[i:])
	switch r {
	case '\u00a0', '\u2007', '\u202f', // no-break spaces
		'\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', // zero-width characters
		'\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212': // dashes, minus
		return true, size
	}
	return false, 0
}

// scanner walks the digit runs of a text. Use it by value on the stack:
//
//	var sc scanner
//	sc.init(text)
//	for sc.next() { ... sc.r ... }
//
// Scanning allocates nothing.
type scanner struct {
	text string
	i    int
	cont bool // the current run overflowed maxRunDigits and continues
	r    run
}

func (sc *scanner) init(text string) { sc.text, sc.i, sc.cont = text, 0, false }

// next loads the next run (or the next window of an overlong run) into
// sc.r and reports whether there was one.
func (sc *scanner) next() bool {
	text := sc.text
	r := &sc.r
	if sc.cont {
		r.keepTail(20)
	} else {
		for sc.i < len(text) && !isDigit(text[sc.i]) {
			sc.i++
		}
		if sc.i >= len(text) {
			return false
		}
		r.n, r.ngroup = 0, 0
	}
	sc.cont = false
	i := sc.i
	newGroup := r.n == 0
	for i < len(text) {
		c := text[i]
		if isDigit(c) {
			if r.n == maxRunDigits {
				sc.cont = true
				break
			}
			if newGroup {
				r.group[r.ngroup] = int16(r.n)
				r.ngroup++
				newGroup = false
			}
			r.digit[r.n] = c - '0'
			r.pos[r.n] = int32(i)
			r.n++
			i++
			continue
		}
		// Up to two separators may join two digit groups.
		j, seps := i, 0
		for j < len(text) && seps < 2 {
			ok, size := isSep(text, j)
			if !ok {
				break
			}
			j += size
			seps++
		}
		if seps == 0 || j >= len(text) || !isDigit(text[j]) {
			break
		}
		i = j
		newGroup = true
	}
	sc.i = i
	return true
}

// keepTail keeps the last k digits (as one group) when a run overflows.
func (r *run) keepTail(k int) {
	copy(r.digit[:k], r.digit[r.n-k:r.n])
	copy(r.pos[:k], r.pos[r.n-k:r.n])
	r.n = k
	r.ngroup = 1
	r.group[0] = 0
}

// groupEnd is the digit index one past the end of group g.
func (r *run) groupEnd(g int) int {
	if g+1 < r.ngroup {
		return int(r.group[g+1])
	}
	return r.n
}

// span returns the byte range in the text of digits [from, to).
func (r *run) span(from, to int) (int, int) {
	return int(r.pos[from]), int(r.pos[to-1]) + 1
}

// gluedBefore reports whether the run's first digit is glued to a letter
// or digit-like character on its left (used by context checks).
func wordBefore(text string, start int) bool {
	return start > 0 && (isLetter(text[start-1]) || isDigit(text[start-1]))
}

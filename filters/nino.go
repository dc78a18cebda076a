package filters

import "github.com/smsgw/smsgw/sms"

// ninoDetector finds UK National Insurance numbers: two prefix letters,
// six digits and a suffix letter A-D, compact ("QQ123456C" style) or
// spaced ("AB 12 34 56 C", "AB 123456 C"). The prefix must be a valid one:
// neither letter D, F, I, Q, U or V, the second not O, and not BG, GB,
// KN, NK, NT, TN or ZZ. Upper case with the suffix is enough; lower case,
// or no suffix, needs a context word (ni, nino, national insurance)
// before it.
type ninoDetector struct{}

var _ Detector = ninoDetector{}

func (ninoDetector) Name() string { return TypeUKNIN }

func (ninoDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	for i := nextDigit(text, 2); i < len(text); i = nextDigit(text, i+digitsAt(text, i)) {
		// The prefix: two letters right before, or before one space.
		p := i - 2
		if !isLetter(text[i-1]) {
			if text[i-1] != ' ' || i < 3 {
				continue
			}
			p = i - 3
		}
		if !isLetter(text[p]) || !isLetter(text[p+1]) || p > 0 && (isLetter(text[p-1]) || isDigit(text[p-1])) {
			continue
		}
		end, suffix, ok := ninoDigits(text, i)
		if !ok || !ninoPrefix(text[p]&^0x20, text[p+1]&^0x20) {
			continue
		}
		upper := text[p] <= 'Z' && text[p+1] <= 'Z' && (suffix < 0 || text[suffix] <= 'Z')
		if !(upper && suffix >= 0) && !ninoContext(text, p) {
			continue
		}
		if suffix >= 0 {
			end = suffix + 1
		}
		dst = append(dst, sms.Finding{Type: TypeUKNIN, Start: p, End: end})
		i = end
	}
	return dst
}

// ninoDigits reads the six digits at text[i] ("123456", "12 34 56") and
// an optional suffix letter A-D (perhaps after a space). It returns the
// end of the digits, the index of the suffix (-1 if none) and whether
// the number ends at a word boundary.
func ninoDigits(text string, i int) (end, suffix int, ok bool) {
	n, spaces := 0, 0
	j := i
	for n < 6 && j < len(text) {
		if isDigit(text[j]) {
			n++
			j++
			continue
		}
		if text[j] == ' ' && (n == 2 || n == 4) && j+1 < len(text) && isDigit(text[j+1]) {
			spaces++
			j++
			continue
		}
		break
	}
	if n != 6 || spaces == 1 || j < len(text) && isDigit(text[j]) || j+1 < len(text) && text[j] == ' ' && isDigit(text[j+1]) {
		return 0, 0, false
	}
	end, suffix = j, -1
	k := j
	if k < len(text) && text[k] == ' ' {
		k++
	}
	if k < len(text) && (text[k]|0x20) >= 'a' && (text[k]|0x20) <= 'd' && !alnumAt(text, k+1) {
		return end, k, true
	}
	if alnumAt(text, j) {
		return 0, 0, false
	}
	return end, -1, true
}

// ninoPrefix checks the two upper-case prefix letters.
func ninoPrefix(a, b byte) bool {
	bad := func(c byte) bool { return c == 'D' || c == 'F' || c == 'I' || c == 'Q' || c == 'U' || c == 'V' }
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' || bad(a) || bad(b) || b == 'O' {
		return false
	}
	switch uint16(a)<<8 | uint16(b) {
	case 'B'<<8 | 'G', 'G'<<8 | 'B', 'K'<<8 | 'N', 'N'<<8 | 'K', 'N'<<8 | 'T', 'T'<<8 | 'N', 'Z'<<8 | 'Z':
		return false
	}
	return true
}

// ninoContext reports whether a context word for NI numbers starts within
// ContextBytes before start.
func ninoContext(text string, start int) bool {
	found := false
	for i := max(0, start-ContextBytes); i < start; i++ {
		if isDigit(text[i]) {
			found = false // the word introduced another number
			continue
		}
		if i > 0 && isLetter(text[i-1]) {
			continue
		}
		for _, w := range [...]string{"ni", "n.i.", "nino", "national insurance", "insurance"} {
			if hasPrefixFold(text[i:], w) && !alnumAt(text, i+len(w)) {
				found = true
			}
		}
	}
	return found
}

package filters

import (
	"strings"
	"unicode/utf8"

	"github.com/smsgw/smsgw/sms"
)

// phoneDetector finds phone numbers (flagged by default, not masked):
//   - international: '+' and 8-15 digits in any grouping ("+49 1512
//     3456704", "+1 (415) 555-0134", "+639171230019");
//   - North American: 3-3-4 digits, perhaps after a 1, with the area code
//     in brackets or joined by dashes, dots or spaces ("(415) 555-0134",
//     "1-800-555-0199", "415.555.0134"), area and exchange not starting
//     with 0 or 1;
//   - national with a trunk 0: 10-11 digits in groups of two or more
//     ("020 7946 0958", "07700 900123").
//
// A number glued to letters or digits is not one.
type phoneDetector struct{}

var _ Detector = phoneDetector{}

func (phoneDetector) Name() string { return TypePhone }

func (phoneDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	for i := nextDigit(text, 0); i < len(text); i = nextDigit(text, i) {
		start := i
		if i > 0 && (text[i-1] == '+' || text[i-1] == '(') {
			start = i - 1
		}
		if start > 0 && alnumAt(text, start-1) || text[start] != '+' && afterDigits(text, start) {
			i += digitsAt(text, i) // inside a number
			continue
		}
		if end, ok := parsePhone(text, start); ok {
			dst = append(dst, sms.Finding{Type: TypePhone, Start: start, End: end})
			i = end
			continue
		}
		i += digitsAt(text, i)
	}
	return dst
}

// parsePhone reads a phone number at text[s] ('+', '(' or a digit).
func parsePhone(text string, s int) (int, bool) {
	plus := text[s] == '+'
	i := s
	if plus {
		i++
	}
	var groups [16]uint8
	ng, digits := 0, 0
	paren := -1 // the group in brackets
	for i < len(text) && ng < len(groups) {
		if text[i] == '(' {
			if paren >= 0 || i+1 >= len(text) || !isDigit(text[i+1]) {
				break
			}
			paren = ng
			i++
		}
		d := digitsAt(text, i)
		if d == 0 {
			break
		}
		groups[ng] = uint8(min(d, 255))
		ng++
		digits += d
		i += d
		if paren == ng-1 {
			if i >= len(text) || text[i] != ')' {
				return 0, false
			}
			i++
		}
		// A separator: one space, dash or dot, or ") " handled above; a
		// space may also follow a dash ("0151 - 234").
		j, n := i, 0
		var gap uint8
		for j < len(text) && n < 3 {
			class, size := sepAt(text, j)
			if class&(sepSpace|sepDash) == 0 && text[j] != '.' {
				break
			}
			gap |= class
			j += size
			n++
		}
		if wide(gap) && gap&sepDash == 0 || gap&sepNewline != 0 || n == 3 {
			break // ". ", a line break: the number ended
		}
		if j >= len(text) || !(isDigit(text[j]) || text[j] == '(' && paren < 0) || n == 0 && text[j] != '(' {
			break
		}
		if text[j-1] == '.' && n > 1 {
			break
		}
		i = j
	}
	end := i
	for end > s && !isDigit(text[end-1]) && text[end-1] != ')' {
		end--
	}
	if end < len(text) && (isDigit(text[end]) || isLetter(text[end])) || digits > 15 {
		return 0, false
	}
	g := groups[:ng]
	switch {
	case plus:
		return end, digits >= 8 && digits <= 15
	case text[s] == '0':
		if digits < 10 || digits > 11 || ng < 2 {
			return 0, false
		}
		for _, n := range g {
			if n < 2 {
				return 0, false
			}
		}
		return end, true
	}
	// North American.
	if ng == 4 && g[0] == 1 && text[s] == '1' {
		g = g[1:]
		s += 2
		for s < end && !isDigit(text[s]) {
			s++
		}
	}
	if len(g) != 3 || g[0] != 3 || g[1] != 3 || g[2] != 4 {
		return 0, false
	}
	area := s
	if text[area] == '(' {
		area++
	}
	ex := area + 3
	for ex < end && !isDigit(text[ex]) {
		ex++
	}
	if text[area] < '2' || text[ex] < '2' {
		return 0, false
	}
	return end, true
}

// emailDetector finds email addresses (flagged by default): a local part
// of letters, digits and ._%+-, '@', and a domain of at least two labels
// ending in a top-level domain of two or more letters.
type emailDetector struct{}

var _ Detector = emailDetector{}

func (emailDetector) Name() string { return TypeEmail }

func (emailDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	for off := 0; off < len(text); {
		k := strings.IndexByte(text[off:], '@')
		if k < 0 {
			break
		}
		at := off + k
		off = at + 1
		s := at
		for s > 0 && localChar(text[s-1]) {
			s--
		}
		for s < at && (text[s] == '.' || text[s] == '-') {
			s++
		}
		if s == at || text[at-1] == '.' {
			continue
		}
		// Domain labels.
		e, labels, lastStart := at+1, 0, at+1
		for {
			ls := e
			for e < len(text) && (alnumAt(text, e) || text[e] == '-') {
				e++
			}
			if e == ls || text[ls] == '-' || text[e-1] == '-' {
				e = ls
				if e > at+1 {
					e-- // the dot before an empty label
				}
				break
			}
			labels++
			lastStart = ls
			if e+1 < len(text) && text[e] == '.' && alnumAt(text, e+1) {
				e++
				continue
			}
			break
		}
		if labels < 2 {
			continue
		}
		tld := text[lastStart:e]
		if len(tld) < 2 || strings.IndexFunc(tld, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') }) >= 0 {
			continue
		}
		dst = append(dst, sms.Finding{Type: TypeEmail, Start: s, End: e})
		off = e
	}
	return dst
}

// afterDigits reports whether a digit group ends at most maxGap
// separators before text[i], not across a wide gap: text[i] continues a
// number.
func afterDigits(text string, i int) bool {
	var gap uint8
	for n := 0; i > 0 && n <= maxGap; n++ {
		c := text[i-1]
		if isDigit(c) {
			return n > 0 && !wide(gap)
		}
		k := i - 1
		for k > 0 && !utf8.RuneStart(text[k]) {
			k--
		}
		class, _ := sepAt(text, k)
		if class == 0 {
			return false
		}
		gap |= class
		i = k
	}
	return false
}

func localChar(c byte) bool {
	return isDigit(c) || isLetter(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

package filters

import "github.com/smsgw/smsgw/sms"

// ssnDetector finds US Social Security numbers.
//
//   - Formatted, AAA-GG-SSSS or AAA GG SSSS (also with dots, or Unicode
//     dashes and spaces; both gaps alike): found anywhere, provided the
//     parts are valid — area not 000, 666 or 900-999, group not 00,
//     serial not 0000. Inside a longer run of digit groups
//     ("DOB 01/02/1980 123-45-6789") only the dashed form counts.
//   - Bare, nine digits alone ("123456789"): only when a context word
//     (ssn, ss#, social, social security, soc sec, s.s.n) starts within
//     ssnContextBytes before it. Nine digits that are part of a longer
//     digit string are not an SSN.
//
// A number glued to letters before it ("ID123-45-6789") needs the context
// word too; one glued to letters after it ("123-45-6789A") is a part
// number, not an SSN.
type ssnDetector struct{}

var _ Detector = ssnDetector{}

func (ssnDetector) Name() string { return "ssn" }

// ssnContextBytes is how far before a number the context word may start.
const ssnContextBytes = 32

func (ssnDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	i := firstRun(text, 9)
	if i < 0 {
		return dst
	}
	return detectSSNs(text, i, dst)
}

// detectSSNs scans text from byte i, the start of a run.
//
//go:noinline
func detectSSNs(text string, i int, dst []sms.Finding) []sms.Finding {
	var sc scanner
	sc.initAt(text, i)
	lastEnd := 0
	for sc.next() {
		r := &sc.r
		if r.n < 9 {
			continue
		}
		for g := 0; g < r.ngroup; g++ {
			from := r.groupStart(g)
			if int(r.pos[from]) < lastEnd {
				continue
			}
			bare := r.groupLen(g) == 9 && r.bareAlone(g)
			triple := !bare && g+2 < r.ngroup && r.ssnTriple(g)
			if !bare && !triple {
				continue
			}
			to := from + 9
			if !validSSN(r.digit[from:to]) {
				continue
			}
			s, e := r.span(from, to)
			if e < len(text) && isLetter(text[e]) {
				continue
			}
			glued := s > 0 && isLetter(text[s-1])
			if (bare || glued) && !ssnContext(text, s) {
				continue
			}
			dst = append(dst, sms.Finding{Type: "ssn", Start: s, End: e})
			lastEnd = e
			if triple {
				g += 2
			}
		}
	}
	return dst
}

// bareAlone reports whether group g (nine digits) stands alone: it is the
// whole run, or a line break separates it from its neighbours.
func (r *run) bareAlone(g int) bool {
	if r.ngroup == 1 {
		return r.whole()
	}
	if g > 0 && r.gap[g]&sepNewline == 0 {
		return false
	}
	if g+1 < r.ngroup && r.gap[g+1]&sepNewline == 0 {
		return false
	}
	return (g > 0 || !r.truncL) && (g+1 < r.ngroup || !r.truncR)
}

// ssnTriple reports whether groups g, g+1, g+2 are 3-2-4 digits joined by
// two gaps of one kind (space, dash or dot); inside a longer run only
// dashes count, and the run must not continue with dashes.
func (r *run) ssnTriple(g int) bool {
	if r.groupLen(g) != 3 || r.groupLen(g+1) != 2 || r.groupLen(g+2) != 4 {
		return false
	}
	sep := r.gap[g+1]
	if sep != r.gap[g+2] || (sep != sepSpace && sep != sepDash && sep != sepDot) {
		return false
	}
	alone := g == 0 && g+3 == r.ngroup && r.whole()
	if alone {
		return true
	}
	if sep != sepDash {
		return false
	}
	if g > 0 && r.gap[g]&sepDash != 0 || g == 0 && r.truncL {
		return false
	}
	if g+3 < r.ngroup && r.gap[g+3]&sepDash != 0 || g+3 == r.ngroup && r.truncR {
		return false
	}
	return true
}

// validSSN checks the area, group and serial of nine digits.
func validSSN(d []byte) bool {
	area := digitsValue(d[:3])
	group := digitsValue(d[3:5])
	serial := digitsValue(d[5:9])
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

// ssnWords are the context words for a bare SSN, lower case.
var ssnWords = [...]string{"ssn", "ss#", "social", "soc sec", "s.s.n", "s.s.#"}

// ssnContext reports whether a context word starts (at a word boundary)
// within ssnContextBytes before start.
func ssnContext(text string, start int) bool {
	from := max(0, start-ssnContextBytes)
	for i := from; i < start; i++ {
		if i > 0 && isLetter(text[i-1]) {
			continue // not at a word boundary
		}
		c := text[i] | 0x20
		if c != 's' {
			continue
		}
		for _, w := range ssnWords {
			if hasPrefixFold(text[i:], w) {
				return true
			}
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word w,
// ignoring ASCII case. It does not allocate.
func hasPrefixFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		c := s[j]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[j] {
			return false
		}
	}
	return true
}

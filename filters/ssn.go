package filters

import "github.com/smsgw/smsgw/sms"

// nineDigitDetector finds the nine-digit national identifiers: US Social
// Security numbers (ssn), US Individual Taxpayer Identification Numbers
// (itin: 9XX-GG-SSSS with group 50-65, 70-88, 90-92 or 94-99) and Canadian
// Social Insurance Numbers (ca_sin: Luhn-valid, not starting 0 or 8).
//
//   - Formatted AAA-GG-SSSS or AAA GG SSSS (also with dots, or Unicode
//     dashes and spaces; both gaps alike): an SSN or ITIN anywhere,
//     provided the parts are valid — SSN area not 000, 666 or 900-999,
//     group not 00, serial not 0000. Inside a longer run of digit groups
//     ("DOB 01/02/1980 123-45-6789") only the dashed form counts.
//   - Formatted AAA-BBB-CCC, or bare nine digits alone ("123456789"): only
//     after a context word (ssnContextBytes before it) saying which:
//     ssn, ss#, social security, soc sec, s.s.n (SSN); itin, tin,
//     taxpayer (ITIN); sin, s.i.n, social insurance, nas (SIN). Nine
//     digits that are part of a longer digit string are none of these.
//
// A number glued to letters before it ("ID123-45-6789") needs a context
// word too; one glued to letters after it ("123-45-6789A") is a part
// number.
type nineDigitDetector struct{}

var _ Detector = nineDigitDetector{}

func (nineDigitDetector) Name() string { return "ssn" }

// ssnContextBytes is how far before a number the context word may start.
const ssnContextBytes = ContextBytes

func (nineDigitDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	i := firstRun(text, 9)
	if i < 0 {
		return dst
	}
	return detectNineDigits(text, i, dst)
}

// detectNineDigits scans text from byte i, the start of a run.
//
//go:noinline
func detectNineDigits(text string, i int, dst []sms.Finding) []sms.Finding {
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
			ssnShape := !bare && g+2 < r.ngroup && r.ssnTriple(g)
			sinShape := !bare && !ssnShape && g+2 < r.ngroup && r.sinTriple(g)
			if !bare && !ssnShape && !sinShape {
				continue
			}
			to := from + 9
			d := r.digit[from:to]
			s, e := r.span(from, to)
			if e < len(text) && isLetter(text[e]) {
				continue
			}
			glued := s > 0 && isLetter(text[s-1])
			typ := ""
			if ssnShape && !glued {
				switch {
				case validITIN(d):
					typ = TypeITIN
				case validSSN(d):
					typ = TypeSSN
				}
			} else {
				switch nineDigitContext(text, s) {
				case TypeSSN:
					switch {
					case validSSN(d):
						typ = TypeSSN
					case validITIN(d):
						typ = TypeITIN
					}
				case TypeITIN:
					if validITIN(d) {
						typ = TypeITIN
					}
				case TypeCASIN:
					if validSIN(d) {
						typ = TypeCASIN
					}
				}
			}
			if typ == "" {
				continue
			}
			dst = append(dst, sms.Finding{Type: typ, Start: s, End: e})
			lastEnd = e
			if !bare {
				g += 2
			}
		}
	}
	return dst
}

// wide reports whether a gap separates numbers rather than the groups of
// one: it holds a line break, or a space with a dash, dot, comma or slash
// (". ", " — ", ", ").
func wide(gap uint8) bool {
	return gap&sepNewline != 0 || gap&sepSpace != 0 && gap&^(sepSpace|sepInvis) != 0
}

// bareAlone reports whether group g (nine digits) stands alone: it is the
// whole run, or wide gaps separate it from its neighbours.
func (r *run) bareAlone(g int) bool {
	if r.ngroup == 1 {
		return r.whole()
	}
	if g > 0 && !wide(r.gap[g]) {
		return false
	}
	if g+1 < r.ngroup && !wide(r.gap[g+1]) {
		return false
	}
	return (g > 0 || !r.truncL) && (g+1 < r.ngroup || !r.truncR)
}

// ssnTriple reports whether groups g, g+1, g+2 are 3-2-4 digits joined by
// two gaps of one kind (space, dash or dot); inside a longer run only
// dashes count, and the run must not continue with dashes.
func (r *run) ssnTriple(g int) bool {
	return r.triple(g, 3, 2, 4)
}

// sinTriple is ssnTriple for 3-3-3 digits.
func (r *run) sinTriple(g int) bool {
	return r.triple(g, 3, 3, 3)
}

func (r *run) triple(g, a, b, c int) bool {
	if r.groupLen(g) != a || r.groupLen(g+1) != b || r.groupLen(g+2) != c {
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
	// Inside a longer run: its neighbours must be apart — across wide
	// gaps, or (a dashed number) gaps without a dash.
	apart := func(gap uint8) bool { return wide(gap) || sep == sepDash && gap&sepDash == 0 }
	if g > 0 && !apart(r.gap[g]) || g == 0 && r.truncL {
		return false
	}
	if g+3 < r.ngroup && !apart(r.gap[g+3]) || g+3 == r.ngroup && r.truncR {
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

// validITIN checks the first digit and the group of nine digits.
func validITIN(d []byte) bool {
	g := digitsValue(d[3:5])
	return d[0] == 9 && (g >= 50 && g <= 65 || g >= 70 && g <= 88 || g >= 90 && g <= 92 || g >= 94) &&
		digitsValue(d[5:9]) != 0
}

// validSIN checks nine digits as a Canadian SIN: Luhn, and a first digit
// that is not 0 (unused) or 8 (business numbers).
func validSIN(d []byte) bool {
	return d[0] != 0 && d[0] != 8 && luhn(d)
}

// nineDigitWords are the context words of nine-digit numbers (lower case),
// longest first where one is the prefix of another, with the type each
// introduces.
var nineDigitWords = [...]struct{ w, typ string }{
	{"social insurance", TypeCASIN},
	{"social security", TypeSSN},
	{"social", TypeSSN},
	{"soc sec", TypeSSN},
	{"ssn", TypeSSN},
	{"ss#", TypeSSN},
	{"s.s.n", TypeSSN},
	{"s.s.#", TypeSSN},
	{"itin", TypeITIN},
	{"tin", TypeITIN},
	{"taxpayer", TypeITIN},
	{"sin", TypeCASIN},
	{"s.i.n", TypeCASIN},
	{"nas", TypeCASIN},
	{"insurance number", TypeCASIN},
}

// nineDigitContext returns the type introduced by the last context word
// that starts (at a word boundary) within ssnContextBytes before start,
// with no digit between it and start (it introduced another number), or
// "".
func nineDigitContext(text string, start int) string {
	from := max(0, start-ssnContextBytes)
	typ := ""
	for i := from; i < start; i++ {
		if isDigit(text[i]) {
			typ = ""
			continue
		}
		if i > 0 && isLetter(text[i-1]) {
			continue // not at a word boundary
		}
		c := text[i] | 0x20
		if c != 's' && c != 'i' && c != 't' && c != 'n' {
			continue
		}
		for _, w := range nineDigitWords {
			if hasPrefixFold(text[i:], w.w) && (i+len(w.w) >= len(text) || !isLetter(text[i+len(w.w)]) || w.w[len(w.w)-1] == '#') {
				typ = w.typ
				i += len(w.w) - 1
				break
			}
		}
	}
	return typ
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

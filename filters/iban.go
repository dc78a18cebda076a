package filters

import (
	"unicode/utf8"

	"github.com/smsgw/smsgw/sms"
)

// ibanDetector finds International Bank Account Numbers: a country code
// with a known IBAN length, two check digits and the BBAN, written compact
// ("DE89370400440532013000") or in groups separated by single spaces or
// dashes ("GB82 WEST 1234 5698 7654 32"), in upper or lower case, passing
// the ISO 13616 mod-97 check. It starts at a word boundary and must not
// run on into more letters or digits.
type ibanDetector struct{}

var _ Detector = ibanDetector{}

func (ibanDetector) Name() string { return TypeIBAN }

// ibanLengths maps a country code (two upper-case letters as a uint16) to
// the length of its IBANs.
var ibanLengths = buildIBANLengths()

func buildIBANLengths() map[uint16]uint8 {
	m := map[uint16]uint8{}
	for _, c := range []struct {
		cc string
		n  uint8
	}{
		{"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
		{"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
		{"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
		{"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
		{"GT", 28}, {"HN", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
		{"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20},
		{"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
		{"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
		{"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
		{"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25},
		{"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
		{"YE", 30},
	} {
		m[uint16(c.cc[0])<<8|uint16(c.cc[1])] = c.n
	}
	return m
}

// IBANLength returns the length of the IBANs of country cc ("DE"), or 0.
func IBANLength(cc string) int {
	if len(cc) != 2 {
		return 0
	}
	return int(ibanLengths[uint16(cc[0]&^0x20)<<8|uint16(cc[1]&^0x20)])
}

const maxIBAN = 34

func (ibanDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	// An IBAN's first digit follows its two letters.
	for i := nextDigit(text, 2); i < len(text); i = nextDigit(text, i+digitsAt(text, i)) {
		if !isLetter(text[i-1]) || !isLetter(text[i-2]) || i+1 >= len(text) || !isDigit(text[i+1]) {
			continue
		}
		if i > 2 && (isLetter(text[i-3]) || isDigit(text[i-3])) {
			continue
		}
		n := ibanLengths[uint16(text[i-2]&^0x20)<<8|uint16(text[i-1]&^0x20)]
		if n == 0 {
			continue
		}
		if end, ok := ibanAt(text, i-2, int(n)); ok {
			dst = append(dst, sms.Finding{Type: TypeIBAN, Start: i - 2, End: end})
			i = end
		}
	}
	return dst
}

// ibanAt reads n letters and digits from text[s], allowing one separator
// (space, no-break space, dash) between them, and reports where they end
// and whether they are a valid IBAN.
func ibanAt(text string, s, n int) (int, bool) {
	var buf [maxIBAN]byte
	k, i := 0, s
	for k < n && i < len(text) {
		c := text[i]
		if isDigit(c) || isLetter(c) {
			if isLetter(c) {
				c &^= 0x20 // upper case
			}
			buf[k] = c
			k++
			i++
			continue
		}
		if k < 4 {
			return 0, false // no separator inside the country code and check digits
		}
		class, size := asciiSep[c&0x7f], 1
		if c >= utf8.RuneSelf {
			class, size = sepAt(text, i)
		}
		if class != sepSpace && class != sepDash || i+size >= len(text) || !(isDigit(text[i+size]) || isLetter(text[i+size])) {
			return 0, false
		}
		i += size
	}
	if k < n || i < len(text) && (isDigit(text[i]) || isLetter(text[i])) {
		return 0, false
	}
	return i, ibanValid(buf[:n])
}

// ibanValid checks the ISO 13616 mod-97 check of an upper-case IBAN: the
// first four characters moved to the end, letters as 10-35, mod 97 is 1.
func ibanValid(b []byte) bool {
	rem := 0
	add := func(c byte) bool {
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			v := int(c-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			return false
		}
		return true
	}
	for _, c := range b[4:] {
		if !add(c) {
			return false
		}
	}
	for _, c := range b[:4] {
		if !add(c) {
			return false
		}
	}
	return rem == 1
}

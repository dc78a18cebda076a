package filters

import (
	"unicode/utf8"

	"github.com/smsgw/smsgw/sms"
)

// cardFollowers looks right after a card number found at text[s:e] for
// what is written next to cards:
//   - magnetic-stripe data: track 1 ("%B<PAN>^NAME/FIRST^YYMM<service
//     code><discretionary>?") and track 2 (";<PAN>=YYMM<service
//     code><discretionary>?", also with 'D' for '=' as in EMV tag 57),
//     reported as one track finding from the sentinel to the last digit;
//   - otherwise an expiry date (MM/YY, MM-YYYY, MMYY, ...) and then a 3-
//     or 4-digit security code, separated by at most maxGap separators or
//     glued ("41111111111111110927123").
//
// It returns dst and the end of what it found (lastEnd when nothing).
func cardFollowers(text string, s, e int, dst []sms.Finding, lastEnd int) ([]sms.Finding, int) {
	if e < len(text) {
		if ts, te, ok := trackData(text, s, e); ok {
			return append(dst, sms.Finding{Type: TypeTrack, Start: ts, End: te}), te
		}
	}
	i := e
	gotExp, gotCVV := false, false
	var found [2]sms.Finding
	nf := 0
	for n := 0; n < 2 && i < len(text); n++ {
		j, gap := i, 0
		for j < len(text) && gap < maxGap {
			c := text[j]
			if c == ':' || c == '|' || c == ';' {
				j++
				gap++
				continue
			}
			class, size := sepAt(text, j)
			if class == 0 {
				break
			}
			j += size
			gap++
		}
		if j >= len(text) || !isDigit(text[j]) {
			break
		}
		glued := j == i
		if !gotExp {
			if xs, xe, ok := parseExpiry(text, j, glued); ok {
				found[nf] = sms.Finding{Type: TypeExpiry, Start: xs, End: xe}
				nf++
				i, gotExp = xe, true
				continue
			}
		}
		if !gotCVV {
			nd := digitsAt(text, j)
			if (nd == 3 || nd == 4) && !alnumAt(text, j+nd) {
				found[nf] = sms.Finding{Type: TypeCVV, Start: j, End: j + nd}
				nf++
				i, gotCVV = j+nd, true
				continue
			}
		}
		break
	}
	// What follows a card is its expiry date and code only if the digits
	// stop there: "4111 1111 1111 1111 5555 5555 5555 4444" is two cards.
	if nf == 0 || continuesRun(text, i) {
		return dst, lastEnd
	}
	return append(dst, found[:nf]...), i
}

// continuesRun reports whether a digit group follows text[:i] across at
// most maxGap separators that are not a wide gap.
func continuesRun(text string, i int) bool {
	var gap uint8
	for n := 0; i < len(text) && n <= maxGap; n++ {
		if isDigit(text[i]) {
			return n > 0 && !wide(gap)
		}
		class, size := sepAt(text, i)
		if class == 0 {
			return false
		}
		gap |= class
		i += size
	}
	return false
}

// digitsAt counts the ASCII digits at text[i:].
func digitsAt(text string, i int) int {
	n := 0
	for i+n < len(text) && isDigit(text[i+n]) {
		n++
	}
	return n
}

// alnumAt reports whether text[i] is an ASCII digit or letter.
func alnumAt(text string, i int) bool {
	return i >= 0 && i < len(text) && (isDigit(text[i]) || isLetter(text[i]))
}

// trackData reports the extent of magnetic-stripe data whose PAN is
// text[s:e].
func trackData(text string, s, e int) (int, int, bool) {
	switch text[e] {
	case '^': // track 1: name, '^', YYMM and more digits
		j := e + 1
		for k := 0; j < len(text) && text[j] != '^' && text[j] != '\n' && k < 27; k++ {
			j++
		}
		if j >= len(text) || text[j] != '^' {
			return 0, 0, false
		}
		j++
		nd := digitsAt(text, j)
		if nd < 4 {
			return 0, 0, false
		}
		start := s
		if start > 0 && text[start-1]|0x20 == 'b' {
			start--
			if start > 0 && text[start-1] == '%' {
				start--
			}
		}
		return start, j + nd, true
	case '=', 'D', 'd': // track 2
		nd := digitsAt(text, e+1)
		min := 4
		if text[e] != '=' {
			min = 7
		}
		if nd < min || !validMonth(text, e+3) {
			return 0, 0, false
		}
		start := s
		if start > 0 && text[start-1] == ';' {
			start--
		}
		return start, e + 1 + nd, true
	}
	return 0, 0, false
}

// validMonth reports whether the two digits at text[i:] are a month.
func validMonth(text string, i int) bool {
	if i+2 > len(text) || !isDigit(text[i]) || !isDigit(text[i+1]) {
		return false
	}
	m := int(text[i]-'0')*10 + int(text[i+1]-'0')
	return m >= 1 && m <= 12
}

// parseExpiry reads a card expiry date at text[j] (a digit): MM/YY,
// M/YY, MM/YYYY, MM-YY, MM.YY, MM YY, "MM / YY", MMYY or MMYYYY, with a
// month 1-12 and a year of two digits or 20xx; no digit may follow, nor
// a separator and a digit ("11/23/2026" is a date, not an expiry). When
// glued, the date is the first four digits of a longer group (the digits
// after it are a security code).
func parseExpiry(text string, j int, glued bool) (int, int, bool) {
	n1 := digitsAt(text, j)
	end := func(k int) bool { // nothing that continues a date or number at k
		if k >= len(text) {
			return true
		}
		if isDigit(text[k]) {
			return false
		}
		if c := text[k]; (c == '/' || c == '-' || c == '.') && k+1 < len(text) && isDigit(text[k+1]) {
			return false
		}
		return true
	}
	month := func(from, n int) bool {
		m := 0
		for k := from; k < from+n; k++ {
			m = m*10 + int(text[k]-'0')
		}
		return m >= 1 && m <= 12
	}
	year4 := func(k int) bool { return text[k] == '2' && text[k+1] == '0' }
	switch {
	case glued && n1 >= 4 && n1 <= 8:
		if month(j, 2) {
			return j, j + 4, true
		}
		return 0, 0, false
	case n1 == 4:
		if month(j, 2) && end(j+4) {
			return j, j + 4, true
		}
		return 0, 0, false
	case n1 == 6:
		if month(j, 2) && year4(j+2) && end(j+6) {
			return j, j + 6, true
		}
		return 0, 0, false
	case n1 != 1 && n1 != 2:
		return 0, 0, false
	}
	if !month(j, n1) {
		return 0, 0, false
	}
	// The separator: '/', '-', '.' or a space, perhaps with spaces around.
	k := j + n1
	spaces := 0
	for k < len(text) && text[k] == ' ' && spaces < 2 {
		k++
		spaces++
	}
	if k < len(text) && (text[k] == '/' || text[k] == '-' || text[k] == '.' || text[k] == '\\') {
		k++
		for k < len(text) && text[k] == ' ' && spaces < 3 {
			k++
			spaces++
		}
	} else if spaces != 1 {
		if k >= len(text) {
			return 0, 0, false
		}
		if class, size := sepAt(text, k); class&(sepSpace|sepDash) != 0 && size > 1 {
			k += size
		} else {
			return 0, 0, false
		}
	}
	n2 := digitsAt(text, k)
	switch {
	case n2 == 2 && end(k+2):
		return j, k + 2, true
	case n2 == 4 && year4(k) && end(k+4):
		return j, k + 4, true
	}
	return 0, 0, false
}

// notACardContext reports whether the number at text[i] is introduced as
// something that is not a card: a tracking, IMEI, ICCID or ISBN number
// ("FedEx tracking # 7749 1234 5678"). Up to three filler words ("number",
// "no", "is", ...) may stand between.
func notACardContext(text string, i int) bool {
	for words := 0; words < 4; words++ {
		// Skip what is neither letter nor digit.
		j := i
		for j > 0 && !isLetter(text[j-1]) && !isDigit(text[j-1]) && i-j < 6 {
			if text[j-1] >= utf8.RuneSelf {
				break
			}
			j--
		}
		if j == 0 || !isLetter(text[j-1]) {
			return false
		}
		b := j
		for b > 0 && isLetter(text[b-1]) {
			b--
		}
		if b > 0 && isDigit(text[b-1]) {
			return false
		}
		w := text[b:j]
		switch {
		case notCardWord(w):
			return true
		case fillerWord(w):
			i = b
		default:
			return false
		}
	}
	return false
}

// notCardWord reports whether w (any case) introduces a number that is not
// a card's.
func notCardWord(w string) bool {
	var buf [12]byte
	if len(w) > len(buf) {
		return false
	}
	for k := 0; k < len(w); k++ {
		buf[k] = w[k] | 0x20
	}
	switch string(buf[:len(w)]) {
	case "tracking", "track", "trk", "fedex", "usps", "ups", "dhl", "awb", "waybill", "parcel", "shipment",
		"consignment", "imei", "meid", "iccid", "sim", "isbn", "issn", "serial", "sn":
		return true
	}
	return false
}

// fillerWord reports whether w (any case) may stand between a context word
// and its value: "tracking number is ...", "account no ...".
func fillerWord(w string) bool {
	var buf [8]byte
	if len(w) > len(buf) {
		return false
	}
	for k := 0; k < len(w); k++ {
		buf[k] = w[k] | 0x20
	}
	switch string(buf[:len(w)]) {
	case "number", "numbers", "num", "no", "nr", "nbr", "is", "was", "id", "code", "date", "my", "the", "your", "of", "on", "ref":
		return true
	}
	return false
}

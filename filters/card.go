package filters

import "github.com/smsgw/smsgw/sms"

// cardDetector finds payment card numbers (PANs): 12-19 digits in any
// grouping people type, Luhn-valid and matching a brand's prefix and
// length (brands, below).
//
// Candidates in one digit run, in order:
//   - the whole run ("4111 1111 1111 1111", "4 1 1 1 ...", glued to
//     letters as in "card4111111111111111exp"), unless it reads as dates
//     ("23.11.2026 - 08.12.2026");
//   - windows of whole groups, so a card is found when the run swallowed a
//     neighbour: "qty 2 4111 1111 1111 1111 exp 09/27 123". Card-shaped
//     windows (one group of 12-19 digits, 4-4-4-4(-1..4), 4-6-5, 4-6-4)
//     anywhere; other windows (irregular groups: "223.66563.264.88880")
//     only leaving out at most three groups at either end of their
//     segment (a part of the run between wide gaps: ". ", " — ", line
//     breaks) and never cutting through a date ("9/29"). A card-shaped
//     window beats another one it starts inside of;
//   - a card at the start of a longer group when the rest reads as an
//     expiry date, perhaps with the CVV: a card glued to what follows
//     ("41111111111111110927", "3782822463100051227123").
//
// After a card: track data, or an expiry date and security code written
// next to it (cardFollowers).
//
// Never a card: the first group of a run that is a phone number ("+49 1512
// 3456704"), the tail of a UPS tracking number ("1Z3C61713677002762"), the
// groups of an IBAN-shaped string with a wrong check ("PL95 1200 5230
// ..."), a number of 12-15 digits introduced as a tracking, IMEI, ICCID or
// ISBN number ("FedEx tracking 7489 2354 8321"), a 12-digit window inside a
// number written like a card that is not one (an order number in fours).
// Inside a uniformly grouped number longer than a card ("9400 1000 0000
// 0000 0000 00", all groups of four) a window starts only at its start or
// right after a card: the inner digits of a tracking number are not a
// card. (So "1234 4111 1111 1111 1111" is missed: a known gap, rare in
// texts.)
type cardDetector struct{}

var _ Detector = cardDetector{}

func (cardDetector) Name() string { return "card" }

func (cardDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	i := firstRun(text, minCardDigits)
	if i < 0 {
		return dst
	}
	return detectCards(text, i, dst)
}

// detectCards scans text from byte i, the start of a run. It is apart
// from Detect so that the scanner is set up only when worth it.
//
//go:noinline
func detectCards(text string, i int, dst []sms.Finding) []sms.Finding {
	var sc scanner
	sc.initAt(text, i)
	lastEnd := 0 // byte offset: overflow windows overlap, report each card once
	for sc.next() {
		if sc.r.n >= minCardDigits {
			dst, lastEnd = cardsInRun(text, &sc.r, dst, lastEnd)
		}
	}
	return dst
}

const (
	minCardDigits = 12
	maxCardDigits = 19
)

func cardsInRun(text string, r *run, dst []sms.Finding, lastEnd int) ([]sms.Finding, int) {
	emit := func(from, to int) {
		s, e := r.span(from, to)
		dst = append(dst, sms.Finding{Type: TypeCard, Start: s, End: e})
		lastEnd = e
		dst, lastEnd = cardFollowers(text, s, e, dst, lastEnd)
	}
	if r.datesOnly() {
		return dst, lastEnd // "23.11.2026 - 01.12.2026"
	}
	// Segments: groups between wide gaps (". ", " — ", line breaks).
	var seg [maxRunDigits]uint8 // seg[g]: the first group of g's segment
	firstWide := r.ngroup
	for g := 0; g < r.ngroup; g++ {
		if g > 0 && wide(r.gap[g]) {
			seg[g] = uint8(g)
			firstWide = min(firstWide, g)
		} else if g > 0 {
			seg[g] = seg[g-1]
		}
	}
	segEnd := func(g int) int { // the last group of g's segment
		h := g
		for h+1 < r.ngroup && seg[h+1] == seg[g] {
			h++
		}
		return h
	}
	// A number of 12-15 digits introduced as a tracking, IMEI or ISBN
	// number is none of ours (FedEx numbers have 12 and 15 digits); the
	// context reaches the first wide gap.
	notCard := !r.truncL && notACardContext(text, int(r.pos[0]))
	valid := func(g int, d []byte) bool {
		return validCard(d) && !(notCard && g < firstWide && len(d) <= 15)
	}
	// The first group of "+49 1512 3456789" is a phone number's; of
	// "1Z999AA10123456784" a UPS tracking number's: never a card's.
	phone := r.before == '+' || !r.truncL && inUPSTracking(text, int(r.pos[0]))
	start := 0
	if !r.truncL {
		// "PL95 1200 5230 ..." with a wrong check is a code, not a card.
		if end := ibanExtent(text, int(r.pos[0])); end >= 0 {
			for start < r.ngroup && int(r.pos[r.groupStart(start)]) < end {
				start++
			}
		}
	}
	if start == 0 && r.whole() && !phone && r.n <= maxCardDigits && valid(0, r.digit[:r.n]) {
		emit(0, r.n)
		return dst, lastEnd
	}
	// A number written like a card that is not one (a mistyped card, an
	// order number in fours) holds no 12-digit card.
	minWindow := minCardDigits
	if r.whole() && r.n > minCardDigits && r.n <= maxCardDigits && r.cardShaped(0, r.ngroup-1) {
		minWindow = minCardDigits + 1
	}
	uniform := r.uniform()
	// window returns the end (digit index) of the longest card starting
	// at group g, or -1: card-shaped windows, and (irregular groups with a
	// number before or after them: a quantity, an expiry date and code)
	// windows that leave out at most three groups at either end of their
	// segment and do not end inside a date ("9/29").
	window := func(g int) (int, bool) {
		from := r.groupStart(g)
		trimmed := !uniform && r.whole() && g <= int(seg[g])+3 && r.gap[g]&sepSlash == 0
		last := segEnd(g)
		for h := r.ngroup - 1; h >= g; h-- {
			to := r.groupEnd(h)
			n := to - from
			if n > maxCardDigits {
				continue
			}
			if n < minWindow {
				break
			}
			if r.cardShaped(g, h) && valid(g, r.digit[from:to]) {
				return to, true
			}
			ok := trimmed && h <= last && h >= last-3 && (h+1 == r.ngroup || r.gap[h+1]&sepSlash == 0)
			for k := g + 1; ok && k <= h; k++ {
				ok = r.gap[k]&sepSlash == 0 // not inside a date ("9/29")
			}
			if ok && valid(g, r.digit[from:to]) {
				return to, false
			}
		}
		return -1, false
	}
	natural := start // the group after the last card found: a window may start there
	if phone || r.truncL {
		natural = -1
	}
	for g := start; g < r.ngroup; {
		from := r.groupStart(g)
		if int(r.pos[from]) < lastEnd || (g == 0 && phone) {
			g++
			continue
		}
		best := -1
		if !uniform || g == natural {
			var shaped bool
			best, shaped = window(g)
			// A card-shaped card starting inside a window that is not
			// wins ("qty 4 4243 8183 2565 3682 554": not "4 4243 8183
			// 2565").
			if best >= 0 && !shaped {
				for k := g + 1; k < r.ngroup && r.groupStart(k) < best; k++ {
					if _, sh := window(k); sh {
						best = -1
						break
					}
				}
			}
		}
		if best < 0 && r.groupLen(g) > 16 {
			best = r.gluedCard(g, notCard && g < firstWide)
		}
		if best < 0 {
			g++
			continue
		}
		emit(from, best)
		for g < r.ngroup && r.groupStart(g) < best {
			g++
		}
		natural = g
	}
	return dst, lastEnd
}

// ibanExtent returns the end of the IBAN-shaped string the run starting
// at text[p] is part of: a known IBAN country code and two digits at a
// word start, then groups of four letters or digits and a last group of
// one to four, separated by single spaces ("PL95 1200 5230 ...", "GB59
// TTFX 5988 3400 2431 01"), whatever its check digits say. It returns -1
// when there is none.
func ibanExtent(text string, p int) int {
	// Back to the country code, over groups of four.
	s := p
	for tokens := 0; ; tokens++ {
		for s > 0 && alnumAt(text, s-1) {
			s--
		}
		e := s
		for e < len(text) && alnumAt(text, e) {
			e++
		}
		if e-s != 4 || tokens > 9 {
			return -1
		}
		if isLetter(text[s]) && isLetter(text[s+1]) && isDigit(text[s+2]) && isDigit(text[s+3]) &&
			ibanLengths[uint16(text[s]&^0x20)<<8|uint16(text[s+1]&^0x20)] != 0 && (s == 0 || !alnumAt(text, s-1)) {
			break
		}
		if s < 2 || text[s-1] != ' ' || !alnumAt(text, s-2) {
			return -1
		}
		s -= 2
	}
	// Forward over the groups.
	e := s + 4
	for e+1 < len(text) && text[e] == ' ' && alnumAt(text, e+1) {
		k := e + 1
		for k < len(text) && alnumAt(text, k) {
			k++
		}
		n := k - e - 1
		if n > 4 {
			break
		}
		e = k
		if n < 4 {
			break
		}
	}
	if e <= p {
		return -1
	}
	return e
}

// upsLen is the length of a UPS tracking number: "1Z", six letters or
// digits (shipper), two digits (service), eight digits (package, check).
const upsLen = 18

// inUPSTracking reports whether the digit at text[i] is inside a UPS
// tracking number: a word of upsLen letters and digits starting "1Z".
func inUPSTracking(text string, i int) bool {
	alnum := func(c byte) bool { return isDigit(c) || isLetter(c) }
	start := i
	for start > 0 && i-start < upsLen && alnum(text[start-1]) {
		start--
	}
	end := i
	for end < len(text) && end-start <= upsLen && alnum(text[end]) {
		end++
	}
	return end-start == upsLen && text[start] == '1' && text[start+1]|0x20 == 'z'
}

// gluedCard returns the digit index one past a card (16 or 15 digits
// first, then the other lengths) at the start of group g followed, in the
// same group, by an expiry date (MMYY) and perhaps a 3- or 4-digit CVV;
// -1 if there is none.
func (r *run) gluedCard(g int, notCard bool) int {
	from, end := r.groupStart(g), r.groupEnd(g)
	for _, n := range [...]int{16, 15, 19, 13, 14, 17, 18, 12} {
		to := from + n
		switch end - to {
		case 4, 7, 8:
		default:
			continue
		}
		if m := digitsValue(r.digit[to : to+2]); m < 1 || m > 12 {
			continue
		}
		if validCard(r.digit[from:to]) && !(notCard && n <= 15) {
			return to
		}
	}
	return -1
}

// cardShaped reports whether groups g..h are grouped the way card numbers
// are written: one group, fours with a shorter last group, 4-6-5 (Amex)
// or 4-6-4 (Diners).
func (r *run) cardShaped(g, h int) bool {
	if g == h {
		return true
	}
	if h-g == 2 && r.groupLen(g) == 4 && r.groupLen(g+1) == 6 {
		if l := r.groupLen(h); l == 5 || l == 4 {
			return true
		}
	}
	for k := g; k < h; k++ {
		if r.groupLen(k) != 4 {
			return false
		}
	}
	return r.groupLen(h) <= 4
}

// uniform reports whether the run is one long number printed in fours
// (every group but the last has four digits) and longer than a card.
func (r *run) uniform() bool {
	if r.ngroup < 2 || r.n <= maxCardDigits {
		return false
	}
	for g := 0; g < r.ngroup-1; g++ {
		if r.groupLen(g) != 4 {
			return false
		}
	}
	return r.groupLen(r.ngroup-1) <= 4
}

// datesOnly reports whether the run's groups read as a sequence of dates
// (day, month and a 19xx/20xx year in either order), such as the range
// "23.11.2026 - 01.12.2026".
func (r *run) datesOnly() bool {
	if r.ngroup%3 != 0 {
		return false
	}
	for g := 0; g < r.ngroup; g += 3 {
		a, b, c := r.groupLen(g), r.groupLen(g+1), r.groupLen(g+2)
		switch {
		case a == 4 && b <= 2 && c <= 2: // 2026-11-23
			if !r.isYear(g) || !dayMonth(r.num(g+1), r.num(g+2)) {
				return false
			}
		case a <= 2 && b <= 2 && c == 4: // 23.11.2026, 11/23/2026
			if !r.isYear(g+2) || !dayMonth(r.num(g), r.num(g+1)) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// num is the value of group g (at most a few digits).
func (r *run) num(g int) int { return digitsValue(r.digit[r.groupStart(g):r.groupEnd(g)]) }

func (r *run) isYear(g int) bool {
	y := r.num(g)
	return y >= 1900 && y <= 2099
}

// dayMonth reports whether a and b are a day and a month in some order.
func dayMonth(a, b int) bool {
	ok := func(d, m int) bool { return d >= 1 && d <= 31 && m >= 1 && m <= 12 }
	return ok(a, b) || ok(b, a)
}

// digitsValue is the decimal value of d (digit values), for short d.
func digitsValue(d []byte) int {
	v := 0
	for _, x := range d {
		v = v*10 + int(x)
	}
	return v
}

// brand is one issuer's range of leading digits and its PAN lengths.
type brand struct {
	name   string
	digits int    // how many leading digits lo and hi cover
	lo, hi int    // inclusive prefix range
	lens   uint32 // bit n set: n-digit PANs exist
}

func lengths(from, to int) uint32 { return (1<<(to+1) - 1) &^ (1<<from - 1) }

// brands are the issuers whose numbers appear in texts. A number is
// brand-valid when any row matches its prefix and length.
var brands = [...]brand{
	{"visa", 1, 4, 4, 1<<13 | 1<<16 | 1<<19},
	{"mastercard", 2, 51, 55, 1 << 16},
	{"mastercard", 4, 2221, 2720, 1 << 16},
	{"amex", 2, 34, 34, 1 << 15},
	{"amex", 2, 37, 37, 1 << 15},
	{"discover", 4, 6011, 6011, lengths(16, 19)},
	{"discover", 3, 644, 649, lengths(16, 19)},
	{"discover", 2, 65, 65, lengths(16, 19)},
	{"jcb", 4, 3528, 3589, lengths(16, 19)},
	{"diners", 3, 300, 305, lengths(14, 19)},
	{"diners", 2, 36, 36, lengths(14, 19)},
	{"diners", 2, 38, 38, lengths(14, 19)},
	{"unionpay", 2, 62, 62, lengths(16, 19)},
	{"maestro", 2, 50, 50, lengths(12, 19)},
	{"maestro", 2, 56, 69, lengths(12, 19)},
}

// brandOK reports whether the digits d match a brand's prefix and length.
func brandOK(d []byte) bool {
	if len(d) < 4 {
		return false
	}
	var prefix [5]int // prefix[k]: value of the first k digits
	for k := 1; k <= 4; k++ {
		prefix[k] = prefix[k-1]*10 + int(d[k-1])
	}
	n := len(d)
	for i := range brands {
		b := &brands[i]
		if p := prefix[b.digits]; p >= b.lo && p <= b.hi && b.lens&(1<<n) != 0 {
			return true
		}
	}
	return false
}

// validCard reports whether d is a brand-valid, Luhn-valid card number.
func validCard(d []byte) bool {
	return len(d) >= minCardDigits && len(d) <= maxCardDigits && brandOK(d) && luhn(d)
}

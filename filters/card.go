package filters

import "github.com/smsgw/smsgw/sms"

// cardDetector finds payment card numbers: 12-19 digits, in any grouping
// people type, that pass Luhn and match a brand's prefix and length.
// Candidates are the whole run, contiguous ranges of its groups (so a card
// followed by "0927" or preceded by "qty 2" is still found), and prefixes
// of a single long group (a card glued to trailing digits). Windows never
// start inside a group: a tracking number's inner digits are not a card.
type cardDetector struct{}

func (cardDetector) Name() string { return "card" }

func (cardDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	var sc scanner
	sc.init(text)
	for sc.next() {
		r := &sc.r
		if r.n < 12 {
			continue
		}
		g := 0
		for g < r.ngroup {
			from := int(r.group[g])
			// Longest valid window starting at group g.
			best := -1
			for h := r.ngroup - 1; h >= g; h-- {
				to := r.groupEnd(h)
				if n := to - from; n >= 12 && n <= 19 && validCard(r.digit[from:to]) {
					best = to
					break
				}
			}
			if best < 0 && r.groupEnd(g)-from > 19 {
				// One long group: try its prefixes.
				for to := from + 19; to >= from+12; to-- {
					if validCard(r.digit[from:to]) {
						best = to
						break
					}
				}
			}
			if best < 0 {
				g++
				continue
			}
			s, e := r.span(from, best)
			dst = append(dst, sms.Finding{Type: "card", Start: s, End: e})
			for g < r.ngroup && int(r.group[g]) < best {
				g++
			}
		}
	}
	return dst
}

// validCard checks brand prefix and length, then Luhn.
func validCard(d []byte) bool {
	return brandOK(d) && luhn(d)
}

func prefix(d []byte, k int) int {
	v := 0
	for i := 0; i < k && i < len(d); i++ {
		v = v*10 + int(d[i])
	}
	return v
}

// brandOK matches the issuer table (prefixes and lengths) of the brands
// whose numbers appear in texts.
func brandOK(d []byte) bool {
	n := len(d)
	p1, p2, p3, p4 := prefix(d, 1), prefix(d, 2), prefix(d, 3), prefix(d, 4)
	switch {
	case p1 == 4: // Visa
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65: // Discover
		return n >= 16 && n <= 19
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16 && n <= 19
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38: // Diners Club
		return n >= 14 && n <= 19
	case p2 == 62: // UnionPay
		return n >= 16 && n <= 19
	case p2 == 50, p2 >= 56 && p2 <= 69: // Maestro
		return n >= 12 && n <= 19
	}
	return false
}

// luhn reports whether d passes the Luhn (mod 10) check.
func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i])
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

package corpus

import (
	"fmt"
	"strings"
)

// luhnDigit returns the digit that makes s+digit pass the Luhn check.
func luhnDigit(s string) byte {
	sum := 0
	double := true // the digit to add will be at the undoubled end
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// LuhnValid reports whether the digits of s pass the Luhn check.
func LuhnValid(s string) bool {
	if len(s) < 2 {
		return false
	}
	return luhnDigit(s[:len(s)-1]) == s[len(s)-1]
}

// cardBrands are the issuer prefixes and lengths, as the issue states them.
var cardBrands = []struct {
	lo, hi int // prefix range, inclusive
	lens   []int
}{
	{4, 4, []int{13, 16, 16, 16, 16, 19}}, // Visa, mostly 16
	{51, 55, []int{16}},                   // Mastercard
	{2221, 2720, []int{16}},
	{34, 34, []int{15}}, {37, 37, []int{15}}, // Amex
	{6011, 6011, []int{16, 19}}, {644, 649, []int{16}}, {65, 65, []int{16}}, // Discover
	{3528, 3589, []int{16, 19}},                                         // JCB
	{300, 305, []int{14}}, {36, 36, []int{14}}, {38, 38, []int{14, 16}}, // Diners
	{62, 62, []int{16, 19}},                              // UnionPay
	{50, 50, []int{16, 18}}, {56, 69, []int{12, 16, 19}}, // Maestro
}

// card returns a random brand-valid, Luhn-valid card number; Visa and
// Mastercard most often, as in life.
func (g *gen) card() string {
	var k int
	switch r := g.rng.IntN(10); {
	case r < 4:
		k = 0
	case r < 7:
		k = 1 + g.rng.IntN(2)
	default:
		k = g.rng.IntN(len(cardBrands))
	}
	b := cardBrands[k]
	n := b.lens[g.rng.IntN(len(b.lens))]
	p := fmt.Sprint(b.lo + g.rng.IntN(b.hi-b.lo+1))
	s := p + g.digits(n-1-len(p))
	return s + string(luhnDigit(s))
}

// brandLengths are the valid lengths of each brand (cardBrands lists the
// common ones, for generating).
var brandLengths = []struct {
	lo, hi int
	lens   []int
}{
	{4, 4, []int{13, 16, 19}},
	{51, 55, []int{16}},
	{2221, 2720, []int{16}},
	{34, 34, []int{15}}, {37, 37, []int{15}},
	{6011, 6011, []int{16, 17, 18, 19}}, {644, 649, []int{16, 17, 18, 19}}, {65, 65, []int{16, 17, 18, 19}},
	{3528, 3589, []int{16, 17, 18, 19}},
	{300, 305, []int{14, 15, 16, 17, 18, 19}}, {36, 36, []int{14, 15, 16, 17, 18, 19}}, {38, 38, []int{14, 15, 16, 17, 18, 19}},
	{62, 62, []int{16, 17, 18, 19}},
	{50, 50, []int{12, 13, 14, 15, 16, 17, 18, 19}}, {56, 69, []int{12, 13, 14, 15, 16, 17, 18, 19}},
}

// brandPrefix reports whether s starts like some card brand of its length.
func brandPrefix(s string) bool {
	for _, b := range brandLengths {
		for _, n := range b.lens {
			if n != len(s) {
				continue
			}
			w := len(fmt.Sprint(b.lo))
			var v int
			fmt.Sscan(s[:w], &v)
			if v >= b.lo && v <= b.hi {
				return true
			}
		}
	}
	return false
}

// IsCard reports whether digits s are a brand-valid, Luhn-valid card.
func IsCard(s string) bool { return brandPrefix(s) && LuhnValid(s) }

// ibanCountries are some countries with their BBAN formats: 'n' digit,
// 'a' upper-case letter, 'c' either.
var ibanCountries = []struct{ cc, bban string }{
	{"DE", "nnnnnnnnnnnnnnnnnn"},
	{"GB", "aaaannnnnnnnnnnnnn"},
	{"FR", "nnnnnnnnnncccccccccccnn"},
	{"ES", "nnnnnnnnnnnnnnnnnnnn"},
	{"IT", "annnnnnnnnncccccccccccc"},
	{"NL", "aaaannnnnnnnnn"},
	{"BE", "nnnnnnnnnnnn"},
	{"CH", "nnnnncccccccccccc"},
	{"AT", "nnnnnnnnnnnnnnnn"},
	{"PL", "nnnnnnnnnnnnnnnnnnnnnnnn"},
	{"IE", "aaaannnnnnnnnnnnnn"},
	{"NO", "nnnnnnnnnnn"},
	{"SE", "nnnnnnnnnnnnnnnnnnnn"},
	{"PT", "nnnnnnnnnnnnnnnnnnnnn"},
}

// iban returns a valid IBAN (compact, upper case).
func (g *gen) iban() string {
	c := ibanCountries[g.rng.IntN(len(ibanCountries))]
	var b strings.Builder
	for _, f := range c.bban {
		switch {
		case f == 'n' || f == 'c' && g.rng.IntN(2) == 0:
			b.WriteByte(byte('0' + g.rng.IntN(10)))
		default:
			b.WriteByte(byte('A' + g.rng.IntN(26)))
		}
	}
	bban := b.String()
	check := 98 - ibanMod(bban+c.cc+"00")
	return fmt.Sprintf("%s%02d%s", c.cc, check, bban)
}

// ibanMod is the ISO 7064 mod 97 of s with letters as 10-35.
func ibanMod(s string) int {
	m := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			m = (m*100 + int(c-'A'+10)) % 97
		} else {
			m = (m*10 + int(c-'0')) % 97
		}
	}
	return m
}

// IBANValid reports whether a compact upper-case IBAN passes mod 97.
func IBANValid(s string) bool { return len(s) > 4 && ibanMod(s[4:]+s[:4]) == 1 }

// aba returns a valid ABA routing number (3-7-1 weights).
func (g *gen) aba() string {
	for {
		s := fmt.Sprintf("%02d", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 21, 22, 26, 31, 32}[g.rng.IntN(17)]) + g.digits(6)
		w := []int{3, 7, 1, 3, 7, 1, 3, 7}
		sum := 0
		for i := range 8 {
			sum += int(s[i]-'0') * w[i]
		}
		return s + string(byte('0'+(10-sum%10)%10))
	}
}

// sin returns a valid Canadian SIN (Luhn, first digit 1-7 or 9).
func (g *gen) sin() string {
	s := string("1234567"[g.rng.IntN(7)]) + g.digits(7)
	return s + string(luhnDigit(s))
}

// ssn returns a valid SSN: area 001-899 but 666, group 01-99, serial
// 0001-9999.
func (g *gen) ssn() (a, b, c string) {
	area := 1 + g.rng.IntN(899)
	if area == 666 {
		area = 667
	}
	return fmt.Sprintf("%03d", area), fmt.Sprintf("%02d", 1+g.rng.IntN(99)), fmt.Sprintf("%04d", 1+g.rng.IntN(9999))
}

// itin returns a valid ITIN: 9XX, group 50-65, 70-88, 90-92, 94-99.
func (g *gen) itin() (a, b, c string) {
	groups := []int{50, 55, 60, 65, 70, 75, 78, 80, 83, 88, 90, 92, 94, 96, 99}
	return "9" + g.digits(2), fmt.Sprint(groups[g.rng.IntN(len(groups))]), fmt.Sprintf("%04d", 1+g.rng.IntN(9999))
}

// nino returns a valid UK National Insurance number's parts.
func (g *gen) nino() (prefix, digits, suffix string) {
	first := "ABCEGHJKLMNOPRSTWXYZ"
	second := "ABCEGHJKLMNPRSTWXYZ"
	for {
		p := string(first[g.rng.IntN(len(first))]) + string(second[g.rng.IntN(len(second))])
		switch p {
		case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
			continue
		}
		return p, g.digits(6), string("ABCD"[g.rng.IntN(4)])
	}
}

package filters

import (
	"math/rand/v2"
	"testing"
)

// The tests' oracles (TestLeakRate, TestLookAlikeRate, the fuzz oracle,
// the split-card property) judge the detector with their own Luhn check,
// written here from the definition and sharing no code or table with
// luhn(): if both used luhn(), a broken Luhn would generate, detect and
// judge the same wrong "cards" and every rate would still read 0.

// refLuhn: from the rightmost digit, double every second digit, add the
// digits of the products and the other digits; valid when the sum is a
// multiple of 10 (ISO/IEC 7812-1, annex B).
func refLuhn(d []byte) bool {
	if len(d) == 0 {
		return false
	}
	sum := 0
	for i := 0; i < len(d); i++ {
		v := int(d[len(d)-1-i])
		if i%2 == 1 {
			v *= 2
			v = v/10 + v%10
		}
		sum += v
	}
	return sum%10 == 0
}

// refValidCard: 12-19 digits (ISO/IEC 7812), an issuer prefix and length
// of the brand table (policy, shared with the detector) and refLuhn.
func refValidCard(d []byte) bool {
	return len(d) >= 12 && len(d) <= 19 && brandOK(d) && refLuhn(d)
}

// refLuhnDigit returns the digit that makes s+digit pass refLuhn.
func refLuhnDigit(s string) byte {
	for c := byte('0'); c <= '9'; c++ {
		if refLuhn(digitsOf(s + string(c))) {
			return c
		}
	}
	panic("unreachable: one of ten check digits always fits")
}

// TestRefLuhn pins the reference itself to published values.
func TestRefLuhn(t *testing.T) {
	for s, want := range map[string]bool{
		"79927398713":      true, // the textbook example
		"79927398710":      false,
		"4111111111111111": true, // Visa test card
		"4111111111111112": false,
		"5555555555554444": true, // Mastercard test card
		"378282246310005":  true, // Amex test card
		"6011111111111117": true, // Discover test card
		"0":                true,
		"18":               true,
		"19":               false,
	} {
		if got := refLuhn(digitsOf(s)); got != want {
			t.Errorf("refLuhn(%s) = %v, want %v", s, got, want)
		}
	}
}

// TestLuhnMatchesReference: the detector's Luhn agrees with the reference
// on every length a card or look-alike can have.
func TestLuhnMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range 200000 {
		d := make([]byte, 1+rng.IntN(24))
		for i := range d {
			d[i] = byte(rng.IntN(10))
		}
		if luhn(d) != refLuhn(d) {
			t.Fatalf("luhn(%v) = %v, the reference says %v", d, luhn(d), refLuhn(d))
		}
	}
	// Every single-digit change of a valid number is caught (the property
	// Luhn exists for).
	for range 2000 {
		d := make([]byte, 16)
		for i := range d {
			d[i] = byte(rng.IntN(10))
		}
		d[15] = refLuhnDigit(string(digitsToASCII(d[:15]))) - '0'
		if !luhn(d) {
			t.Fatalf("luhn rejects the valid %v", d)
		}
		i := rng.IntN(16)
		d[i] = (d[i] + 1 + byte(rng.IntN(9))) % 10
		if luhn(d) {
			t.Fatalf("luhn accepts %v, one digit off a valid number", d)
		}
	}
}

func digitsToASCII(d []byte) []byte {
	out := make([]byte, len(d))
	for i, v := range d {
		out[i] = '0' + v
	}
	return out
}

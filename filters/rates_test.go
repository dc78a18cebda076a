package filters

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomCard returns a random brand-valid, Luhn-valid card number (the
// check digit from the tests' own refLuhn, not the detector's).
func randomCard(rng *rand.Rand) string {
	b := brands[rng.IntN(len(brands))]
	var lens []int
	for n := minCardDigits; n <= maxCardDigits; n++ {
		if b.lens&(1<<n) != 0 {
			lens = append(lens, n)
		}
	}
	n := lens[rng.IntN(len(lens))]
	d := []byte(fmt.Sprintf("%0*d", b.digits, b.lo+rng.IntN(b.hi-b.lo+1)))
	for len(d) < n-1 {
		d = append(d, byte('0'+rng.IntN(10)))
	}
	return string(append(d, refLuhnDigit(string(d))))
}

// format groups a card the way people write it.
func format(rng *rand.Rand, pan string) string {
	seps := []string{" ", "  ", "\u00a0", "\u200b", "-", "\u2013", "\u2014", ".", "/", "\n", " - "}
	sep := seps[rng.IntN(len(seps))]
	var sizes []int
	switch {
	case rng.IntN(4) == 0:
		return pan
	case len(pan) == 15:
		sizes = []int{4, 6, 5}
	case len(pan) == 14 && rng.IntN(2) == 0:
		sizes = []int{4, 6, 4}
	default:
		for left := len(pan); left > 0; left -= 4 {
			sizes = append(sizes, min(4, left))
		}
	}
	var b strings.Builder
	at := 0
	for i, s := range sizes {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(pan[at : at+s])
		at += s
	}
	return b.String()
}

// TestLeakRate: at most 0.5% of cards in typical texts survive.
func TestLeakRate(t *testing.T) {
	c := mustChain(t, DefaultConfig())
	rng := rand.New(rand.NewPCG(7, 7))
	contexts := []string{"%s", "card: %s exp 09/27", "pay with %s thanks", "cc%sexp", "qty 2 %s", "%s 0927",
		"über 💳 %s ✓", "num %s cvv 123", "on 11/23 %s", "Card number is %s.", "%s\nexp 12/28"}
	const n = 20000
	leaked := 0
	for i := 0; i < n; i++ {
		pan := randomCard(rng)
		text := fmt.Sprintf(contexts[rng.IntN(len(contexts))], format(rng, pan))
		out := c.Apply(text)
		if strings.Contains(string(digitsString(out.Text)), pan) {
			leaked++
			if leaked <= 5 {
				t.Logf("leaked: %q -> %q", text, out.Text)
			}
		}
	}
	t.Logf("leaked %d of %d cards (%.3f%%)", leaked, n, 100*float64(leaked)/n)
	if float64(leaked)/n > 0.005 {
		t.Errorf("leaked %d of %d cards, want at most 0.5%%", leaked, n)
	}
}

func digitsString(s string) []byte {
	var d []byte
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			d = append(d, s[i])
		}
	}
	return d
}

// TestLookAlikeRate: at most 1% of numbers that are not cards or SSNs
// are altered.
func TestLookAlikeRate(t *testing.T) {
	c := mustChain(t, DefaultConfig())
	rng := rand.New(rand.NewPCG(8, 8))
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	luhnTail := func(s string) string { return s + string(refLuhnDigit(s)) }
	gen := map[string]func() string{
		"usps": func() string {
			d := []string{"9400", "9205", "9361", "9407", "9303"}[rng.IntN(5)] + digits(18)
			if rng.IntN(2) == 0 {
				return "tracking " + d
			}
			return "tracking " + d[0:4] + " " + d[4:8] + " " + d[8:12] + " " + d[12:16] + " " + d[16:20] + " " + d[20:]
		},
		"ups": func() string { return "1Z" + strings.ToUpper(fmt.Sprintf("%x", rng.Uint64()))[:6] + digits(10) },
		"order": func() string {
			s := digits(16)
			s = s[:15] + string('0'+(s[15]-'0'+1)%10)
			return "order #" + fixNotLuhn(s)
		},
		"otp": func() string { return "your code is " + digits(6) },
		"phone": func() string {
			return []string{"+1 " + digits(3) + " " + digits(3) + " " + digits(4), "(" + digits(3) + ") " + digits(3) + "-" + digits(4),
				"+44 20 " + digits(4) + " " + digits(4), "+49 151 " + digits(8), "+63 917 " + digits(7), "+62 812 " + digits(8)}[rng.IntN(6)]
		},
		"imei":  func() string { return "imei " + luhnTail([]string{"35", "86", "01", "49"}[rng.IntN(4)]+digits(12)) },
		"epoch": func() string { return "ts 17" + digits(8) },
		"amount": func() string {
			return fmt.Sprintf("total $%d,%03d.%02d", rng.IntN(1000), rng.IntN(1000), rng.IntN(100))
		},
		"dates": func() string {
			return fmt.Sprintf("%02d.%02d.20%02d - %02d.%02d.20%02d", 1+rng.IntN(28), 1+rng.IntN(12), rng.IntN(40), 1+rng.IntN(28), 1+rng.IntN(12), rng.IntN(40))
		},
		"time+date": func() string {
			return fmt.Sprintf("at %02d:%02d on %d/%d/20%02d", rng.IntN(24), rng.IntN(60), 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(40))
		},
	}
	const per = 5000
	for name, g := range gen {
		altered := 0
		for range per {
			text := g()
			if out := c.Apply(text); out.Text != text {
				altered++
				if altered <= 3 {
					t.Logf("%s altered: %q -> %q", name, text, out.Text)
				}
			}
		}
		t.Logf("%-10s altered %d of %d (%.2f%%)", name, altered, per, 100*float64(altered)/per)
		if float64(altered)/per > 0.01 {
			t.Errorf("%s: altered %d of %d, want at most 1%%", name, altered, per)
		}
	}
}

// fixNotLuhn changes the last digit until s fails Luhn (refLuhn).
func fixNotLuhn(s string) string {
	for refLuhn(digitsOf(s)) {
		s = s[:len(s)-1] + string('0'+(s[len(s)-1]-'0'+1)%10)
	}
	return s
}

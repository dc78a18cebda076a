package filters

import (
	"testing"
	"unicode"
)

// TestNdRanges: every Unicode decimal digit maps to its value; the ranges
// come in runs of ten from zero, which ndValue relies on.
func TestNdRanges(t *testing.T) {
	n := 0
	for r := rune(0); r <= unicode.MaxRune; r++ {
		v, ok := ndValue(r)
		if ok != unicode.Is(unicode.Nd, r) {
			t.Fatalf("ndValue(%U) ok = %v", r, ok)
		}
		if !ok {
			continue
		}
		n++
		if v != n%10-1 && !(v == 9 && n%10 == 0) {
			t.Fatalf("ndValue(%U) = %d, want %d", r, v, (n-1)%10)
		}
	}
	if n%10 != 0 || n < 600 {
		t.Errorf("%d decimal digits", n)
	}
}

func TestView(t *testing.T) {
	for _, tc := range []struct {
		in, norm string
	}{
		{"plain 4111 text", "plain 4111 text"},
		{"４１１１", "4111"},
		{"a ٤١ b", "a 41 b"},
		{"4539 1488 zero three seven one 1234", "4539 1488 0371 1234"},
		{"4539 1488 Zero-three oh", "4539 1488 0-30"},
		{"I have two 10 dollar bills", "I have two 10 dollar bills"},               // too few digits
		{"one two three four five six seven", "one two three four five six seven"}, // no numeral
		{"4111 1111\none two three four", "4111 1111\none two three four"},         // not across a line
		{"OH 12 34 56 C", "OH 12 34 56 C"},                                         // a prefix, not "oh"
		{"zero3 1234567", "zero3 1234567"},                                         // glued
	} {
		var v view
		v.init(tc.in)
		if v.text != tc.norm {
			t.Errorf("view(%q) = %q, want %q", tc.in, v.text, tc.norm)
			continue
		}
		if !v.normalised() {
			continue
		}
		// Every character maps back inside the input, in order.
		prev := 0
		for i := range v.text {
			s, e := v.origSpan(i, i+1)
			if s < prev || e <= s || e > len(tc.in) {
				t.Errorf("view(%q): char %d maps to [%d,%d)", tc.in, i, s, e)
			}
			prev = s
			if j := v.normIndex(s); j != i {
				t.Errorf("view(%q): normIndex(%d) = %d, want %d", tc.in, s, j, i)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		var v view
		v.init("Hi Sam, see you at 10:30, one or two of us")
	}); n != 0 {
		t.Errorf("view.init allocates %v times on a plain text", n)
	}
}

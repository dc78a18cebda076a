package filters

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// describeRuns renders the runs of text as "digits/group sizes@first byte".
func describeRuns(text string) string {
	var out []string
	var sc scanner
	sc.init(text)
	for sc.next() {
		r := &sc.r
		var b strings.Builder
		for i := 0; i < r.n; i++ {
			b.WriteByte('0' + r.digit[i])
		}
		var sizes []string
		for g := 0; g < r.ngroup; g++ {
			sizes = append(sizes, fmt.Sprint(r.groupLen(g)))
		}
		out = append(out, fmt.Sprintf("%s/%s@%d", b.String(), strings.Join(sizes, "-"), r.pos[0]))
	}
	return strings.Join(out, " ")
}

func TestScannerRuns(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"abc", ""},
		{"1", "1/1@0"},
		{"a12b34", "12/2@1 34/2@4"},
		{"4111 1111", "41111111/4-4@0"},
		{"4111  1111", "41111111/4-4@0"},
		{"4111 - 1111", "41111111/4-4@0"},
		{"4111 -  1111", "4111/4@0 1111/4@8"}, // four separators: two runs
		{"4111\u00a01111\u200b22\u201333\u20144", "4111111122334/4-4-2-2-1@0"},
		{"1.2/3\n4,5_6", "123456/1-1-1-1-1-1@0"},
		{"12:30", "12/2@0 30/2@3"},
		{"12 ", "12/2@0"},
		{"é12", "12/2@2"},
		{"12 é 34", "12/2@0 34/2@6"},
		{"1\u00a0", "1/1@0"},
		{"1\xff2", "1/1@0 2/1@2"},
	} {
		if got := describeRuns(tc.in); got != tc.want {
			t.Errorf("runs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestScannerOverflow checks that a run longer than maxRunDigits is seen
// in overlapping windows: a card anywhere in it is still found once.
func TestScannerOverflow(t *testing.T) {
	card := "4111 1111 1111 1111"
	for _, pre := range []int{0, 1, 25, 28, 29, 30, 31, 32, 33, 60, 100} {
		// pre groups of "12 " (2 digits) before the card, 80 after.
		text := strings.Repeat("12 ", pre) + card + strings.Repeat(" 12", 80)
		fs := ofType(TypeCard, cardDetector{}.Detect(text, nil))
		if len(fs) != 1 || text[fs[0].Start:fs[0].End] != card {
			t.Errorf("%d groups before the card: Detect = %v, want one finding %q", pre, spans(text, fs), card)
		}
	}
	// One group far longer than a window.
	text := strings.Repeat("7", 300) + " x 4111111111111111"
	if fs := ofType(TypeCard, cardDetector{}.Detect(text, nil)); len(fs) != 1 || text[fs[0].Start:fs[0].End] != "4111111111111111" {
		t.Errorf("after a 300-digit group: Detect = %v", spans(text, fs))
	}
	// The scanner covers every digit exactly once outside the overlap.
	long := strings.Repeat("1234 ", 100)
	var sc scanner
	sc.init(long)
	windows, last := 0, int32(-1)
	for sc.next() {
		windows++
		r := &sc.r
		if windows > 1 && !r.truncL {
			t.Errorf("window %d not marked as a continuation", windows)
		}
		if r.pos[0] > last+1 && last >= 0 {
			t.Errorf("window %d starts at byte %d, leaving a hole after %d", windows, r.pos[0], last)
		}
		last = r.pos[r.n-1]
	}
	if windows < 4 || int(last) != len(long)-2 {
		t.Errorf("%d windows, last digit at %d; want >= 4 windows ending at %d", windows, last, len(long)-2)
	}
}

func TestNextDigit(t *testing.T) {
	// Every byte value at every position of a 17-byte text.
	for b := 0; b < 256; b++ {
		for at := 0; at < 17; at++ {
			buf := []byte("abcdefghijklmnopq")
			buf[at] = byte(b)
			text := string(buf)
			want := len(text)
			if isDigit(byte(b)) {
				want = at
			}
			for from := 0; from <= at; from++ {
				if got := nextDigit(text, from); got != want {
					t.Fatalf("nextDigit(%q, %d) = %d, want %d", text, from, got, want)
				}
			}
		}
	}
}

func TestNextDigitRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 40)
	for n := 0; n < 20000; n++ {
		for i := range buf {
			buf[i] = byte(rng.IntN(256))
			if rng.IntN(4) > 0 { // mostly non-digits
				for isDigit(buf[i]) {
					buf[i] = byte(rng.IntN(256))
				}
			}
		}
		text := string(buf)
		from := rng.IntN(len(text))
		want := from
		for want < len(text) && !isDigit(text[want]) {
			want++
		}
		if got := nextDigit(text, from); got != want {
			t.Fatalf("nextDigit(%q, %d) = %d, want %d", text, from, got, want)
		}
	}
}

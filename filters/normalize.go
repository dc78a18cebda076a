package filters

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// view is the text the built-in detectors scan: the input itself, or —
// when it holds digits of other scripts or digits spelled as words mixed
// with numerals — a normalised copy in which each such digit is one ASCII
// digit, with a map back to the input.
//
// Normalising: every Unicode decimal digit (category Nd: full-width,
// Arabic-Indic, Devanagari, ...) becomes its ASCII digit; in a sequence of
// numerals and digit words (zero, oh, one ... nine) joined by separators,
// holding both and at least minSpelledDigits digits, each word becomes its
// digit, and the spaces between two such words are dropped ("4539 1488 zero
// three seven one" reads "4539 1488 0371"). Nothing else changes.
type view struct {
	text string // the normalised text
	// start[i] and end[i] are the byte range in the input of the
	// character that produced text[i]; nil when text is the input.
	start, end []int32
}

// minSpelledDigits is how many digits a sequence mixing numerals and digit
// words must hold for its words to be read as digits.
const minSpelledDigits = 7

// init sets v up for text. It allocates only when text needs normalising.
func (v *view) init(text string) {
	v.text, v.start, v.end = text, nil, nil
	if !(hasHighByte(text) && hasOtherDigit(text)) && !spelledNearDigits(text) {
		return
	}
	v.normalise(text)
}

// normalised reports whether v.text differs from the input.
func (v *view) normalised() bool { return v.start != nil }

// origSpan maps the range [s, e) of v.text to the input.
func (v *view) origSpan(s, e int) (int, int) {
	if v.start == nil {
		return s, e
	}
	return int(v.start[s]), int(v.end[e-1])
}

// normIndex maps the input offset o to the first character of v.text that
// starts at or after it.
func (v *view) normIndex(o int) int {
	if v.start == nil {
		return o
	}
	return sort.Search(len(v.start), func(i int) bool { return int(v.start[i]) >= o })
}

// hasHighByte reports whether s holds a non-ASCII byte, eight at a time.
func hasHighByte(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		t := s[i : i+8]
		w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		if w&hi1 != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// hasOtherDigit reports whether s holds a decimal digit outside ASCII.
func hasOtherDigit(s string) bool {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if _, ok := ndValue(r); ok {
			return true
		}
		i += size
	}
	return false
}

// ndValue returns the value of r if it is a decimal digit (category Nd).
// Unicode allocates Nd digits in contiguous runs of ten from zero, so the
// value is the distance from the start of r's range, modulo ten.
func ndValue(r rune) (int, bool) {
	if r < utf8.RuneSelf {
		if r >= '0' && r <= '9' {
			return int(r - '0'), true
		}
		return 0, false
	}
	if r < 0x660 { // the first non-ASCII decimal digit (ARABIC-INDIC DIGIT ZERO)
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if r <= rune(rg.Hi) {
			if r >= rune(rg.Lo) {
				return int(r-rune(rg.Lo)) % 10, true
			}
			return 0, false
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r <= rune(rg.Hi) {
			if r >= rune(rg.Lo) {
				return int(r-rune(rg.Lo)) % 10, true
			}
			return 0, false
		}
	}
	return 0, false
}

// digitWord returns the digit a word spells (w in any case but "OH"), or
// -1.
func digitWord(w string) int {
	if len(w) < 2 || len(w) > 5 {
		return -1
	}
	switch w[0] | 0x20 {
	case 'z', 'o', 't', 'f', 's', 'e', 'n':
	default:
		return -1
	}
	var buf [5]byte
	for i := 0; i < len(w); i++ {
		buf[i] = w[i] | 0x20
	}
	switch string(buf[:len(w)]) {
	case "zero":
		return 0
	case "oh":
		if w == "OH" {
			return -1 // a prefix ("OH 12 34 56 A"), not a spoken zero
		}
		return 0
	case "one":
		return 1
	case "two":
		return 2
	case "three":
		return 3
	case "four":
		return 4
	case "five":
		return 5
	case "six":
		return 6
	case "seven":
		return 7
	case "eight":
		return 8
	case "nine":
		return 9
	}
	return -1
}

// spelledNearDigits reports whether a digit word stands next to an ASCII
// numeral in s, in a sequence of numerals and digit words holding at
// least minSpelledDigits digits: only then is it worth normalising the
// text's spelled digits. It allocates nothing.
func spelledNearDigits(s string) bool {
	for i := nextDigit(s, 0); i < len(s); i = nextDigit(s, i) {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if wordAfter(s, j) >= 0 || wordBefore(s, i) >= 0 {
			// Walk back to the start of the sequence, then count it.
			start := i
			for {
				if b := wordBefore(s, start); b >= 0 {
					start = b
					continue
				}
				if b := numeralBefore(s, start); b >= 0 {
					start = b
					continue
				}
				break
			}
			digits, p := 0, start
			for {
				if isDigit(s[p]) {
					e := p
					for e < len(s) && isDigit(s[e]) {
						e++
					}
					digits += e - p
					p = e
				} else {
					p = wordAt(s, p)
					digits++
				}
				if digits >= minSpelledDigits {
					return true
				}
				if w := wordAfter(s, p); w >= 0 {
					p = w
				} else if n := numeralAfter(s, p); n >= 0 {
					p = n
				} else {
					break
				}
			}
			i = max(j, p)
			continue
		}
		i = j
	}
	return false
}

// gapAfter returns where the joining gap after s[:j] ends (one to maxGap
// ASCII separators, not a line break or a sentence end), or -1.
func gapAfter(s string, j int) int {
	k := j
	var gap uint8
	for n := 0; k < len(s) && n < maxGap && s[k] < utf8.RuneSelf && asciiSep[s[k]] != 0; n++ {
		gap |= asciiSep[s[k]]
		k++
	}
	if k == j || wide(gap) || k >= len(s) {
		return -1
	}
	return k
}

// gapBefore is gapAfter backwards from s[i:]: where the gap starts, or -1.
func gapBefore(s string, i int) int {
	k := i
	var gap uint8
	for n := 0; k > 0 && n < maxGap && s[k-1] < utf8.RuneSelf && asciiSep[s[k-1]] != 0; n++ {
		gap |= asciiSep[s[k-1]]
		k--
	}
	if k == i || wide(gap) || k == 0 {
		return -1
	}
	return k
}

// wordAfter returns the start of a digit word joined after s[:j], or -1.
func wordAfter(s string, j int) int {
	k := gapAfter(s, j)
	if k < 0 || !isLetter(s[k]) {
		return -1
	}
	if e := wordAt(s, k); digitWord(s[k:e]) < 0 || alnumAt(s, e) {
		return -1
	}
	return k
}

// wordBefore returns the start of a digit word joined before s[i:], or -1.
func wordBefore(s string, i int) int {
	k := gapBefore(s, i)
	if k < 0 || !isLetter(s[k-1]) {
		return -1
	}
	b := k
	for b > 0 && isLetter(s[b-1]) {
		b--
	}
	if digitWord(s[b:k]) < 0 || b > 0 && isDigit(s[b-1]) {
		return -1
	}
	return b
}

// numeralAfter returns the start of a numeral joined after s[:j], or -1.
func numeralAfter(s string, j int) int {
	if k := gapAfter(s, j); k >= 0 && isDigit(s[k]) {
		return k
	}
	return -1
}

// numeralBefore returns the start of a numeral joined before s[i:], or -1.
func numeralBefore(s string, i int) int {
	k := gapBefore(s, i)
	if k < 0 || !isDigit(s[k-1]) {
		return -1
	}
	for k > 0 && isDigit(s[k-1]) {
		k--
	}
	return k
}

// ntok is a token of the normaliser: a run of digits (any script) or of
// ASCII letters.
type ntok struct {
	start, end int
	digits     int  // digits in a numeral; 1 for a digit word; 0 for another word
	word       int8 // the digit a word spells, or -1
	convert    bool // the word is read as its digit
	dropBefore bool // the spaces between this and the previous token are dropped
}

// normalise builds the normalised text of s and the map back to it.
func (v *view) normalise(s string) {
	var toks []ntok
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if _, ok := ndValue(r); ok {
			t := ntok{start: i, word: -1}
			for i < len(s) {
				r, size := utf8.DecodeRuneInString(s[i:])
				if _, ok := ndValue(r); !ok {
					break
				}
				t.digits++
				i += size
			}
			t.end = i
			toks = append(toks, t)
			continue
		}
		if r < utf8.RuneSelf && isLetter(byte(r)) {
			t := ntok{start: i}
			for i < len(s) && isLetter(s[i]) {
				i++
			}
			t.end = i
			t.word = int8(digitWord(s[t.start:t.end]))
			if t.word >= 0 {
				t.digits = 1
			}
			toks = append(toks, t)
			continue
		}
		i += size
	}
	// Sequences of numerals and digit words joined by short separator gaps.
	for a := 0; a < len(toks); {
		if toks[a].digits == 0 {
			a++
			continue
		}
		b := a + 1
		for b < len(toks) && toks[b].digits > 0 && joins(s, toks[b-1].end, toks[b].start) {
			b++
		}
		numerals, words, digits := 0, 0, 0
		for _, t := range toks[a:b] {
			digits += t.digits
			if t.word >= 0 {
				words++
			} else {
				numerals++
			}
		}
		if numerals > 0 && words > 0 && digits >= minSpelledDigits {
			for k := a; k < b; k++ {
				t := &toks[k]
				t.convert = t.word >= 0
				t.dropBefore = k > a && t.convert && toks[k-1].convert && onlySpaces(s[toks[k-1].end:t.start])
			}
		}
		a = b
	}
	text := make([]byte, 0, len(s))
	start := make([]int32, 0, len(s))
	end := make([]int32, 0, len(s))
	put := func(c byte, s, e int) {
		text = append(text, c)
		start = append(start, int32(s))
		end = append(end, int32(e))
	}
	k := 0 // the next token
	for i := 0; i < len(s); {
		if k < len(toks) && toks[k].start == i {
			t := toks[k]
			k++
			if t.convert {
				if t.dropBefore {
					// Remove the spaces just copied.
					for len(start) > 0 && int(start[len(start)-1]) >= toks[k-2].end {
						text, start, end = text[:len(text)-1], start[:len(start)-1], end[:len(end)-1]
					}
				}
				put(byte('0'+t.word), t.start, t.end)
				i = t.end
				continue
			}
			if t.word < 0 && t.digits > 0 {
				for i < t.end {
					r, size := utf8.DecodeRuneInString(s[i:])
					d, _ := ndValue(r)
					put(byte('0'+d), i, i+size)
					i += size
				}
				continue
			}
		}
		put(s[i], i, i+1)
		i++
	}
	v.text, v.start, v.end = string(text), start, end
}

// joins reports whether s[from:to] is a gap of one to maxGap separator
// characters, not a wide one (no line break, no ". ").
func joins(s string, from, to int) bool {
	n := 0
	var gap uint8
	for i := from; i < to; n++ {
		if n == maxGap {
			return false
		}
		class, size := sepAt(s, i)
		if class == 0 {
			return false
		}
		gap |= class
		i += size
	}
	return n > 0 && !wide(gap)
}

func onlySpaces(s string) bool {
	for i := 0; i < len(s); {
		class, size := sepAt(s, i)
		if class != sepSpace {
			return false
		}
		i += size
	}
	return len(s) > 0
}

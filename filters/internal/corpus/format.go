package corpus

import (
	"fmt"
	"strings"
)

// group4 writes digits in groups of four.
func group4(d, sep string) string { return groupBy(d, sep, 4) }

func groupBy(d, sep string, sizes ...int) string {
	var b strings.Builder
	at, k := 0, 0
	for at < len(d) {
		n := sizes[min(k, len(sizes)-1)]
		if at > 0 {
			b.WriteString(sep)
		}
		e := min(at+n, len(d))
		b.WriteString(d[at:e])
		at = e
		k++
	}
	return b.String()
}

// separators people put between digit groups.
var separators = []string{" ", " ", " ", "  ", "\u00a0", "\u200b", "-", "-", "\u2013", "\u2014", ".", "/", "\n", " - ", "\u202f"}

// scripts are digit zeros of other scripts (category Nd).
var scripts = []struct {
	name string
	zero rune
}{
	{"fullwidth", '０'},
	{"arabic-indic", '\u0660'},
	{"persian", '\u06f0'},
	{"devanagari", '\u0966'},
	{"bengali", '\u09e6'},
	{"thai", '\u0e50'},
}

// inScript writes the ASCII digits of s in another script.
func inScript(s string, zero rune) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(zero + (r - '0'))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var digitWords = [...]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// spelledTail writes the first keep digits of d as numerals in fours and
// the rest as words.
func (g *gen) spelledTail(d string, keep int) string {
	var parts []string
	parts = append(parts, group4(d[:keep], " "))
	for _, c := range d[keep:] {
		w := digitWords[c-'0']
		if c == '0' && g.rng.IntN(3) == 0 {
			w = "oh"
		}
		if g.rng.IntN(5) == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		parts = append(parts, w)
	}
	return strings.Join(parts, " ")
}

// formatCard writes a card number the way people type it and names the
// format.
func (g *gen) formatCard(pan string) (string, string) {
	switch r := g.rng.IntN(100); {
	case r < 18:
		return pan, "compact"
	case r < 55:
		sep := separators[g.rng.IntN(len(separators))]
		if len(pan) == 15 {
			return groupBy(pan, sep, 4, 6, 5), fmt.Sprintf("4-6-5 %q", sep)
		}
		if len(pan) == 14 && g.rng.IntN(2) == 0 {
			return groupBy(pan, sep, 4, 6, 4), fmt.Sprintf("4-6-4 %q", sep)
		}
		return group4(pan, sep), fmt.Sprintf("fours %q", sep)
	case r < 63:
		sizes := [][]int{{3, 5, 3, 5}, {2}, {3}, {5, 5, 6}, {6, 10}, {1}, {4, 4, 8}, {8, 8}}[g.rng.IntN(8)]
		return groupBy(pan, g.pick(" ", "-", "."), sizes...), fmt.Sprintf("groups %v", sizes)
	case r < 72:
		s := scripts[g.rng.IntN(len(scripts))]
		return inScript(group4(pan, g.pick(" ", "", "-")), s.zero), s.name
	case r < 80:
		keep := []int{4, 8, 10, 12}[g.rng.IntN(4)]
		if keep >= len(pan) {
			keep = 8
		}
		return g.spelledTail(pan, keep), "spelled"
	default:
		return group4(pan, " "), "fours"
	}
}

// month and year pieces of expiry dates.
func (g *gen) expiry() (string, string) {
	m := 1 + g.rng.IntN(12)
	y := 25 + g.rng.IntN(10)
	switch g.rng.IntN(7) {
	case 0:
		return fmt.Sprintf("%02d/%02d", m, y), "MM/YY"
	case 1:
		return fmt.Sprintf("%02d/20%02d", m, y), "MM/YYYY"
	case 2:
		return fmt.Sprintf("%02d-%02d", m, y), "MM-YY"
	case 3:
		return fmt.Sprintf("%02d%02d", m, y), "MMYY"
	case 4:
		return fmt.Sprintf("%d/%02d", m, y), "M/YY"
	case 5:
		return fmt.Sprintf("%02d / %02d", m, y), "MM / YY"
	default:
		return fmt.Sprintf("%02d/%02d", m, y), "MM/YY"
	}
}

var monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

// date writes a date in a random style.
func (g *gen) date(yearFrom, yearTo int) (string, string) {
	y := yearFrom + g.rng.IntN(yearTo-yearFrom+1)
	m := 1 + g.rng.IntN(12)
	d := 1 + g.rng.IntN(28)
	switch g.rng.IntN(9) {
	case 0:
		return fmt.Sprintf("%02d/%02d/%d", m, d, y), "MM/DD/YYYY"
	case 1:
		return fmt.Sprintf("%d-%02d-%02d", y, m, d), "YYYY-MM-DD"
	case 2:
		return fmt.Sprintf("%02d.%02d.%d", d, m, y), "DD.MM.YYYY"
	case 3:
		return fmt.Sprintf("%s %d, %d", monthNames[m-1], d, y), "Month D, YYYY"
	case 4:
		return fmt.Sprintf("%d %s %d", d, monthNames[m-1], y), "D Month YYYY"
	case 5:
		return fmt.Sprintf("%d/%d/%02d", m, d, y%100), "M/D/YY"
	case 6:
		return fmt.Sprintf("%s %d %d", monthNames[m-1][:3], d, y), "Mon D YYYY"
	case 7:
		return fmt.Sprintf("%02d-%s-%d", d, monthNames[m-1][:3], y), "DD-Mon-YYYY"
	default:
		return fmt.Sprintf("%d/%d/%d", d, m, y), "D/M/YYYY"
	}
}

// password returns a credential people send.
func (g *gen) password() string {
	switch g.rng.IntN(5) {
	case 0:
		return g.pick("hunter2", "Tr0ub4dor&3", "S3cr3t!", "P@ssw0rd2024", "letmein99", "Summer2025!", "qwerty123", "Dr4gon$fly")
	case 1:
		return g.pick("Blue", "Red", "Happy", "Lucky", "Tiger") + g.digits(2+g.rng.IntN(3)) + g.pick("!", "#", "", "$")
	case 2:
		const cs = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!@#$%&*"
		var b strings.Builder
		for range 8 + g.rng.IntN(7) {
			b.WriteByte(cs[g.rng.IntN(len(cs))])
		}
		return b.String()
	case 3:
		return g.pick("correct-horse-battery-staple", "sunflower77", "mydog$max", "ilovepizza1", "Kx9-vQ2-mm")
	default:
		return strings.ToLower(g.upper(3)) + g.digits(3) + g.pick("!", "?", "")
	}
}

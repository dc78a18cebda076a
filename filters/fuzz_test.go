package filters

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smsgw/smsgw/sms"
)

// The fuzz oracle finds digit runs with a regular expression — a second,
// independent reading of "digits joined by up to three separators" — and
// lists the windows the card detector promises to catch (see
// cardDetector). Runs longer than maxRunDigits digits are left out: the
// scanner examines those in overlapping windows and promises less.
const refSep = `[ \t\-_./\n\r,\x{00a0}\x{2007}\x{202f}\x{2009}\x{200a}\x{3000}\x{200b}\x{200c}\x{200d}\x{2060}\x{feff}\x{00ad}\x{2010}-\x{2015}\x{2212}\x{fe63}\x{ff0d}\x{2024}\x{ff0e}\x{2028}\x{2029}\x{0085}]`

var (
	refRun   = regexp.MustCompile(`[0-9](?:` + refSep + `{0,3}[0-9])*`)
	refGroup = regexp.MustCompile(`[0-9]+`)
	refUPS   = regexp.MustCompile(`(?:^|[^0-9A-Za-z])(1[Zz][0-9A-Za-z]{16})(?:[^0-9A-Za-z]|$)`)
	// A number of 12-15 digits introduced as a tracking, IMEI or ISBN
	// number is not a card (FedEx numbers have 12 and 15 digits).
	// Nor is one inside something written like an IBAN.
	refIBANish = regexp.MustCompile(`(?i)(?:^|[^0-9a-z])([a-z]{2}[0-9]{2}(?: [0-9a-z]{4})*(?: [0-9a-z]{1,4})?)`)
	refNotCard = regexp.MustCompile(`(?i)(?:^|[^0-9a-z])(?:tracking|track|trk|fedex|usps|ups|dhl|awb|waybill|parcel|shipment|consignment|imei|meid|iccid|sim|isbn|issn|serial|sn)` +
		`(?:[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]{0,6}(?:number|numbers|num|no|nr|nbr|is|was|id|code|date|my|the|your|of|on|ref)){0,3}[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]{0,6}$`)
)

// refWindows returns, as lists of byte offsets of digits, the card numbers
// in text that Apply must mask, and the SSNs ("123-45-6789" standing alone).
func refWindows(text string) (cards, ssns [][]int) {
	ups := make([]bool, len(text)+1) // the byte is inside a UPS tracking number
	for _, m := range refUPS.FindAllStringSubmatchIndex(text, -1) {
		for i := m[2]; i < m[3]; i++ {
			ups[i] = true
		}
	}
	ibanish := make([]bool, len(text)+1)
	for _, m := range refIBANish.FindAllStringSubmatchIndex(text, -1) {
		if IBANLength(text[m[2]:m[2]+2]) == 0 {
			continue // not a country with IBANs
		}
		for i := m[2]; i < m[3]; i++ {
			ibanish[i] = true
		}
	}
	for _, loc := range refRun.FindAllStringIndex(text, -1) {
		start, end := loc[0], loc[1]
		var groups [][]int // digit offsets per group
		for _, g := range refGroup.FindAllStringIndex(text[start:end], -1) {
			var offs []int
			for i := g[0]; i < g[1]; i++ {
				offs = append(offs, start+i)
			}
			groups = append(groups, offs)
		}
		var all []int
		for _, g := range groups {
			all = append(all, g...)
		}
		if len(all) > maxRunDigits {
			continue
		}
		digits := func(offs []int) []byte {
			d := make([]byte, len(offs))
			for i, o := range offs {
				d[i] = text[o] - '0'
			}
			return d
		}
		plus := start > 0 && text[start-1] == '+' || ups[start]
		notCard := refNotCard.MatchString(text[max(0, start-100):start]) // the context is short: no quadratic scan
		isCard := func(d []byte) bool { return refValidCard(d) && !(notCard && len(d) <= 15) }
		if ibanish[start] {
			continue // (the regexp reads the groups after an IBAN-like string as part of it)
		}
		sizes := make([]int, len(groups))
		for i, g := range groups {
			sizes[i] = len(g)
		}
		// (a) the whole run, unless it may read as dates.
		datesLike := len(groups)%3 == 0
		for _, s := range sizes {
			datesLike = datesLike && (s <= 2 || s == 4)
		}
		if !plus && !datesLike && isCard(digits(all)) {
			cards = append(cards, all)
		}
		uniform := len(groups) >= 2 && len(all) > maxCardDigits && sizes[len(sizes)-1] <= 4
		for _, s := range sizes[:len(sizes)-1] {
			uniform = uniform && s == 4
		}
		for g, offs := range groups {
			if g == 0 && plus {
				continue
			}
			// (b) one group of 12-19 digits.
			if isCard(digits(offs)) {
				cards = append(cards, offs)
			}
			// (c) four groups of four, only at the start of a number printed in fours.
			if g+3 < len(groups) && (!uniform || g == 0) {
				var w []int
				for _, h := range groups[g : g+4] {
					if len(h) == 4 {
						w = append(w, h...)
					}
				}
				if len(w) == 16 && isCard(digits(w)) {
					cards = append(cards, w)
				}
			}
			// (d) a 16-digit card glued to an expiry date.
			if len(offs) == 20 {
				d := digits(offs)
				if m := int(d[16])*10 + int(d[17]); m >= 1 && m <= 12 && isCard(d[:16]) {
					cards = append(cards, offs[:16])
				}
			}
		}
		// A lone SSN or ITIN written with single dashes.
		dashed := len(groups) == 3 && sizes[0] == 3 && sizes[1] == 2 && sizes[2] == 4 &&
			groups[1][0] == groups[0][2]+2 && groups[2][0] == groups[1][1]+2 &&
			text[groups[0][2]+1] == '-' && text[groups[1][1]+1] == '-'
		if dashed && (start == 0 || !isLetter(text[start-1])) && (end == len(text) || !isLetter(text[end])) &&
			(validSSN(digits(all)) || validITIN(digits(all))) {
			ssns = append(ssns, all)
		}
	}
	return cards, ssns
}

// intact reports whether every digit at offs is unchanged in out.
func intact(in, out string, offs []int) bool {
	for _, o := range offs {
		if out[o] != in[o] {
			return false
		}
	}
	return true
}

func overlapsFinding(fs []sms.Finding, offs []int) bool {
	for _, f := range fs {
		if f.Start <= offs[len(offs)-1] && offs[0] < f.End {
			return true
		}
	}
	return false
}

// FuzzChain checks that Apply never panics; keeps the length and, for
// valid input, UTF-8 validity; masks exactly what its findings say; and
// leaves no card the reference finds intact. Block and flag policies are
// checked against redact.
func FuzzChain(f *testing.F) {
	for _, s := range []string{
		"4111 1111 1111 1111", "ssn 123-45-6789", "x4111-1111-1111-1111y", "4111\u00a01111\u20131111.1111",
		"qty 2 4111 1111 1111 1111 09/27", "41111111111111110927", "3782 822463 10005", "+49 1512 3456704",
		"9400 4519 9619 8391 4549 68", "23.11.2026 - 08.12.2026", "my social is 123456789", "",
	} {
		f.Add(s)
	}
	files, _ := filepath.Glob("testdata/*.golden")
	for _, path := range files {
		for _, c := range parseGolden(&testing.T{}, path) {
			f.Add(c.in)
		}
	}
	redact := mustChain(f, DefaultConfig())
	all := func(a sms.Action) Config {
		cfg := DefaultConfig()
		for k, v := range cfg.Policy {
			if v != sms.ActionFlag {
				cfg.Policy[k] = a
			}
		}
		return cfg
	}
	block := mustChain(f, all(sms.ActionBlock))
	flag := mustChain(f, all(sms.ActionFlag))
	f.Fuzz(func(t *testing.T, in string) {
		out, err := redact.ApplySafe(in)
		if err != nil {
			t.Fatalf("ApplySafe(%q): %v", in, err)
		}
		if utf8.ValidString(in) && !utf8.ValidString(out.Text) {
			t.Fatalf("Apply broke UTF-8: %q -> %q", in, out.Text)
		}
		checkInvariants(t, in, out)
		maskedAny := false
		for _, f := range out.Findings {
			maskedAny = maskedAny || f.Action != sms.ActionFlag
		}
		if maskedAny != (out.Verdict == sms.VerdictRedacted) || !maskedAny && out.Text != in {
			t.Fatalf("Apply(%q): verdict %s with %d findings, text changed: %v", in, out.Verdict, len(out.Findings), out.Text != in)
		}
		cards, ssns := refWindows(in)
		for _, w := range cards {
			if intact(in, out.Text, w) && !overlapsFinding(out.Findings, w) {
				t.Fatalf("card digits at %v survive: %q -> %q", w, in, out.Text)
			}
		}
		for _, w := range ssns {
			if intact(in, out.Text, w) {
				t.Fatalf("SSN digits at %v survive: %q -> %q", w, in, out.Text)
			}
		}
		// The same cards written in full-width digits are caught too.
		if len(cards) > 0 && utf8.ValidString(in) {
			wide, at := fullwidth(in)
			ow := redact.Apply(wide)
			for _, w := range cards {
				survived := true
				for _, o := range w {
					survived = survived && ow.Text[at[o]:at[o]+3] == wide[at[o]:at[o]+3]
				}
				if survived {
					t.Fatalf("card digits at %v survive in full width: %q -> %q", w, wide, ow.Text)
				}
			}
		}
		b := block.Apply(in)
		if b.Text != out.Text || spansOf(b.Findings) != spansOf(out.Findings) ||
			(b.Verdict == sms.VerdictBlocked) != maskedAny {
			t.Fatalf("block policy: %q -> %q %s, redact gave %q", in, b.Text, b.Verdict, out.Text)
		}
		if fl := flag.Apply(in); fl.Text != in || fl.Verdict != sms.VerdictPass || len(fl.Findings) != len(out.Findings) {
			t.Fatalf("flag policy changed %q: %+v", in, fl)
		}
	})
}

// fullwidth writes the ASCII digits of s as full-width digits and returns
// where each byte of s went.
func fullwidth(s string) (string, []int) {
	var b strings.Builder
	at := make([]int, len(s)+1)
	for i := 0; i < len(s); i++ {
		at[i] = b.Len()
		if isDigit(s[i]) {
			b.WriteRune('０' + rune(s[i]-'0'))
		} else {
			b.WriteByte(s[i])
		}
	}
	at[len(s)] = b.Len()
	return b.String(), at
}

func spansOf(fs []sms.Finding) string {
	var b []byte
	for _, f := range fs {
		b = fmt.Appendf(b, "%s %d:%d;", f.Type, f.Start, f.End)
	}
	return string(b)
}

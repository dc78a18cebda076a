package filters

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/smsgw/smsgw/filters/internal/corpus"
	"github.com/smsgw/smsgw/sms"
)

var corpusOut = flag.String("corpus-out", "", "write the labelled corpus of TestCorpusScores to this file (JSON lines)")

// Quality targets (see issue 5).
const (
	maxLeakRate  = 0.005 // secrets leaked
	maxAlterRate = 0.01  // look-alikes altered
	corpusSize   = 30000
	corpusSeed   = 20260523
)

// units counts the characters of a value in in[s:e] and how many of them
// out still shows: digits of any script, letters, a digit word counting
// as one; for credentials every character but spaces.
func units(in, out string, s, e int, all bool) (total, visible int) {
	for i := s; i < e; {
		r, size := utf8.DecodeRuneInString(in[i:])
		switch {
		case r < utf8.RuneSelf && isLetter(byte(r)):
			j := i
			for j < e && isLetter(in[j]) {
				j++
			}
			shown := in[i:j] == out[i:j]
			if digitWord(in[i:j]) >= 0 && !isDigit(byteAt(in, i-1)) && !isDigit(byteAt(in, j)) {
				total++
				if shown {
					visible++
				}
			} else {
				for k := i; k < j; k++ {
					total++
					if in[k] == out[k] {
						visible++
					}
				}
			}
			i = j
			continue
		case unicode.IsDigit(r) || unicode.IsLetter(r) || all && !unicode.IsSpace(r):
			total++
			if in[i:i+size] == out[i:i+size] && r != '*' {
				visible++
			}
		}
		i += size
	}
	return total, visible
}

// allowedVisible is how many characters of a value of kind may stay.
func allowedVisible(kind string, total int) int {
	switch kind {
	case TypeCard, TypeSSN, TypeITIN, TypeCASIN, TypeIBAN, TypeRouting, TypeBankAccount, TypeUKNIN,
		TypePassport, TypeDriversLicense, TypeTrack:
		if total > 2*keepLast {
			return keepLast
		}
	}
	return 0
}

type tally struct {
	n, bad int
	eg     []string
}

func (t *tally) add(bad bool, example string) {
	t.n++
	if bad {
		t.bad++
		if len(t.eg) < 3 {
			t.eg = append(t.eg, example)
		}
	}
}

func (t *tally) rate() float64 {
	if t.n == 0 {
		return 0
	}
	return float64(t.bad) / float64(t.n)
}

// TestCorpusScores runs the labelled corpus through the default chain and
// scores, per entity, the secrets leaked (more of the value visible than
// the policy keeps, digits of every script and spelled digits counted)
// and the look-alikes altered; flagged values must be reported and left
// alone. It fails above the targets.
func TestCorpusScores(t *testing.T) {
	msgs := corpus.Generate(corpusSeed, corpusSize)
	if *corpusOut != "" {
		f, err := os.Create(*corpusOut)
		if err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(f)
		enc.SetEscapeHTML(false)
		for i, m := range msgs {
			enc.Encode(struct {
				ID int `json:"id"`
				corpus.Message
			}{i + 1, m})
		}
		f.Close()
	}
	c := mustChain(t, DefaultConfig())
	leaks := map[string]*tally{}
	alters := map[string]*tally{}
	flagsMissed := map[string]*tally{}
	collateral := &tally{}
	get := func(m map[string]*tally, k string) *tally {
		if m[k] == nil {
			m[k] = &tally{}
		}
		return m[k]
	}
	for _, m := range msgs {
		out := c.Apply(m.Text)
		if len(out.Text) != len(m.Text) {
			t.Fatalf("Apply(%q) changed the length: %q", m.Text, out.Text)
		}
		covered := make([]bool, len(m.Text))
		for _, s := range m.Secrets {
			total, visible := units(m.Text, out.Text, s.Start, s.End, s.Kind == TypePassword)
			leaked := visible > allowedVisible(s.Kind, total)
			get(leaks, s.Kind).add(leaked, fmt.Sprintf("[%s] %q -> %q", s.Format, m.Text, out.Text))
			for i := s.Start; i < s.End; i++ {
				covered[i] = true
			}
		}
		for _, s := range m.LookAlikes {
			altered := out.Text[s.Start:s.End] != m.Text[s.Start:s.End]
			get(alters, s.Kind).add(altered, fmt.Sprintf("[%s] %q -> %q %s", s.Format, m.Text, out.Text, formatFindings(out.Findings)))
		}
		for _, s := range m.Flags {
			found := false
			for _, f := range out.Findings {
				found = found || f.Type == s.Kind && f.Start < s.End && s.Start < f.End && f.Action == sms.ActionFlag
			}
			get(flagsMissed, s.Kind).add(!found || out.Text[s.Start:s.End] != m.Text[s.Start:s.End],
				fmt.Sprintf("[%s] %q -> %s", s.Format, m.Text, formatFindings(out.Findings)))
		}
		// Nothing outside the secrets may change (spaces between a card
		// and the expiry date right after it excepted: they are not masked).
		changed := false
		for i := range covered {
			changed = changed || !covered[i] && out.Text[i] != m.Text[i]
		}
		collateral.add(changed, fmt.Sprintf("%q -> %q %s", m.Text, out.Text, formatFindings(out.Findings)))
	}
	report := func(title string, m map[string]*tally, limit float64) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		fmt.Fprintf(&b, "\n%-18s %7s %6s %7s\n", title, "n", "bad", "rate")
		all := &tally{}
		for _, k := range keys {
			tl := m[k]
			all.n += tl.n
			all.bad += tl.bad
			fmt.Fprintf(&b, "%-18s %7d %6d %6.2f%%\n", k, tl.n, tl.bad, 100*tl.rate())
			if tl.rate() > limit {
				t.Errorf("%s %s: %d of %d (%.2f%%), want at most %.1f%%; e.g.\n\t%s", title, k, tl.bad, tl.n, 100*tl.rate(), 100*limit, strings.Join(tl.eg, "\n\t"))
			} else if testing.Verbose() && tl.bad > 0 {
				fmt.Fprintf(&b, "    e.g. %s\n", strings.Join(tl.eg, "\n    e.g. "))
			}
		}
		fmt.Fprintf(&b, "%-18s %7d %6d %6.2f%%\n", "ALL", all.n, all.bad, 100*all.rate())
		t.Log(b.String())
	}
	report("leaked", leaks, maxLeakRate)
	report("altered", alters, maxAlterRate)
	report("flag missed", flagsMissed, maxAlterRate)
	report("collateral", map[string]*tally{"messages": collateral}, maxAlterRate)
	_, _, lookKinds := corpus.Kinds()
	for _, k := range lookKinds {
		if alters[k] == nil || alters[k].n < 100 {
			t.Errorf("corpus holds too few %s look-alikes", k)
		}
	}
	for _, e := range entities {
		if e.def == sms.ActionRedact && (leaks[e.name] == nil || leaks[e.name].n < 100) {
			t.Errorf("corpus holds too few %s secrets", e.name)
		}
	}
}

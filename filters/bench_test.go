package filters

import (
	"strings"
	"testing"

	"github.com/smsgw/smsgw/filters/internal/corpus"
)

// benign is a typical 100-byte text with numbers but nothing sensitive
// (nor anything flagged: no phone number, no email address).
const benign = "Hi Sam, your appt is confirmed for Tue 10:30 at 1200 Main St, unit 4. Reply C to cancel, 2 left. Thx"

// BenchmarkApplyBenign: one benign 100-byte message, nothing found.
func BenchmarkApplyBenign(b *testing.B) {
	c := mustChain(b, DefaultConfig())
	b.ReportAllocs()
	b.SetBytes(int64(len(benign)))
	for b.Loop() {
		c.Apply(benign)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// benignCorpus returns n different 100-byte messages in which the default
// chain finds nothing: look-alikes of the corpus (tracking and order
// numbers, codes, amounts, dates...) padded with everyday words.
func benignCorpus(tb testing.TB, c *Chain, n int) []string {
	const pad = " thanks, see you tomorrow at the usual place; let me know if anything changes before then ok"
	var out []string
	for _, m := range corpus.Generate(corpusSeed+2, 20*n) {
		if len(m.Secrets) > 0 || len(m.Flags) > 0 {
			continue
		}
		s := m.Text + pad
		for len(s) > 100 {
			s = s[:len(s)-1]
		}
		for len(s) < 100 {
			s += "."
		}
		if !strings.ContainsRune(s, '\ufffd') && len(c.Apply(s).Findings) == 0 {
			out = append(out, s)
		}
		if len(out) == n {
			break
		}
	}
	if len(out) < n {
		tb.Fatalf("only %d benign messages", len(out))
	}
	return out
}

// BenchmarkApplyBenignCorpus: 1000 different benign 100-byte messages full
// of look-alikes, nothing found.
func BenchmarkApplyBenignCorpus(b *testing.B) {
	c := mustChain(b, DefaultConfig())
	msgs := benignCorpus(b, c, 1000)
	b.ReportAllocs()
	b.SetBytes(100)
	i := 0
	for b.Loop() {
		c.Apply(msgs[i%len(msgs)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkApplyMixed: the labelled corpus (more than half of its
// messages hold a secret).
func BenchmarkApplyMixed(b *testing.B) {
	c := mustChain(b, DefaultConfig())
	var msgs []string
	for _, m := range corpus.Generate(corpusSeed, 5000) {
		msgs = append(msgs, m.Text)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Apply(msgs[i%len(msgs)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// TestNoAllocsOnBenignCorpus holds the chain to zero allocations on every
// message of the benign benchmark corpus.
func TestNoAllocsOnBenignCorpus(t *testing.T) {
	c := mustChain(t, DefaultConfig())
	for _, m := range benignCorpus(t, c, 300) {
		if n := testing.AllocsPerRun(5, func() { c.Apply(m) }); n != 0 {
			t.Errorf("Apply(%q) allocates %v times, want 0", m, n)
		}
	}
}

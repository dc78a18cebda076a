package filters

import "testing"

// benign is a typical 100-byte text with numbers but nothing sensitive
// (nor anything flagged: no phone number, no email address).
const benign = "Hi Sam, your appt is confirmed for Tue 10:30 at 1200 Main St, unit 4. Reply C to cancel, 2 left. Thx"

func BenchmarkApplyBenign(b *testing.B) {
	c := mustChain(b, DefaultConfig())
	b.ReportAllocs()
	b.SetBytes(int64(len(benign)))
	for b.Loop() {
		c.Apply(benign)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkApplyMixed(b *testing.B) {
	c := mustChain(b, DefaultConfig())
	msgs := []string{
		benign,
		"my card is 4111 1111 1111 1111 exp 09/27, cvv on the back. thanks for checking in with me today!",
		"SSN 123-45-6789 and DOB 01/02/1980 please update my file, the old one had a typo in it, sorry",
		"order 4111 1111 1111 1112 shipped via usps 9400 1000 0000 0000 0000 00, arrives 2026-11-25 10:00",
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Apply(msgs[i%len(msgs)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

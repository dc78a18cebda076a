package archive

import (
	"context"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// benchRecords returns n realistic message records (a redacted text,
// findings, routing facts) with distinct ids.
func benchRecords(n int, at time.Time) []Record {
	recs := make([]Record, n)
	for i := range recs {
		id := sms.MessageID(sms.NewULID(at))
		recs[i] = Record{Kind: KindMessage, ID: id, ArchivedAt: at, Message: &sms.Message{
			ID: id, Direction: sms.Outbound, From: "+14155550100", To: "+14155550199", EmployeeID: "jane.doe",
			Body:    "Hi, thanks for calling. Your card **** **** **** 1111 is on file; we will ship the order tomorrow before noon.",
			Verdict: sms.VerdictRedacted, Carrier: "sandbox", Source: sms.SourceHTTP, AcceptedAt: at, ArchivedAt: at,
			Findings: []sms.Finding{{Type: "card", Start: 40, End: 59, Action: sms.ActionRedact}},
			Segment:  "segments/2026/11/23/01JZ0000000000000000000000.seg.zst",
		}}
	}
	return recs
}

// BenchmarkVerify measures `archive verify` over a local store holding
// 200,000 records in 20 segments of 10,000, with a checkpoint after each
// segment. The records/s metric is the figure to hold against the
// 100,000 records/s target.
func BenchmarkVerify(b *testing.B) {
	st, err := NewLocalStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	l := newTestLog(b, st)
	const segs, per = 20, 10000
	for range segs {
		l.segment(benchRecords(per, l.now))
		l.checkpoint()
	}
	b.ResetTimer()
	var recs int64
	for b.Loop() {
		rep, err := Verify(context.Background(), st, VerifyConfig{VerifierKeys: l.vkeys()})
		if err != nil || !rep.OK() {
			b.Fatalf("verify: %v %v", err, rep.Problems)
		}
		recs += rep.Records
	}
	b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
}

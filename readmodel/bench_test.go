package readmodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/smsgw/smsgw/sms"
)

// The search benchmark runs over a generated index of
// SMSGW_BENCH_INDEX_RECORDS messages (default 200,000; the target is
// stated for 10,000,000). The index is generated once into .bin/ (git-ignored)
// and reused: generating 10 million records takes a while.
//
//	SMSGW_BENCH_INDEX_RECORDS=10000000 go test -run XXX -bench Search -benchtime 200x ./archive/index/

var benchWords = []string{"appointment", "confirmed", "tuesday", "invoice", "payment", "account", "balance", "transfer",
	"meeting", "tomorrow", "delivery", "package", "tracking", "order", "refund", "policy", "renewal", "quote", "insurance",
	"mortgage", "rate", "loan", "approved", "documents", "signature", "please", "call", "back", "thanks", "today",
	"schedule", "available", "office", "branch", "statement", "portfolio", "stock", "bond", "fund", "market"}

var benchRare = []string{"guaranteed", "offshore", "cryptocurrency", "insider", "kickback", "promise"}

// generateIndex writes n synthetic archived messages: 2,000 business
// numbers held by 2,000 employees in 20 departments, 200,000 customers,
// spread over two years, some with findings and a few blocked.
func generateIndex(tb testing.TB, path string, n int) {
	x, err := Open(path + ".tmp")
	if err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	span := 2 * 365 * 24 * time.Hour
	const batch = 20000
	ctx := context.Background()
	step := span / time.Duration(n)
	for done := 0; done < n; done += batch {
		msgs := make([]sms.Message, 0, batch)
		for i := done; i < min(n, done+batch); i++ {
			at := start.Add(time.Duration(i) * step)
			emp := r.IntN(2000)
			biz := sms.Number("+1415" + fmt.Sprintf("%07d", 5000000+emp))
			cust := sms.Number("+1212" + fmt.Sprintf("%07d", r.IntN(200000)))
			words := make([]byte, 0, 100)
			for w := 0; w < 6+r.IntN(10); w++ {
				if w > 0 {
					words = append(words, ' ')
				}
				if r.IntN(500) == 0 {
					words = append(words, benchRare[r.IntN(len(benchRare))]...)
				} else {
					words = append(words, benchWords[r.IntN(len(benchWords))]...)
				}
			}
			m := sms.Message{ID: idWithEntropy(at, r), EmployeeID: "emp" + strconv.Itoa(emp), Body: string(words),
				Verdict: sms.VerdictPass, AcceptedAt: at, ArchivedAt: at, Segment: "seg"}
			if r.IntN(2) == 0 {
				m.Direction, m.From, m.To = sms.Outbound, biz, cust
			} else {
				m.Direction, m.From, m.To = sms.Inbound, cust, biz
			}
			switch k := r.IntN(100); {
			case k < 3:
				m.Verdict, m.Findings = sms.VerdictRedacted, []sms.Finding{{Type: "card", Start: 0, End: 16, Action: sms.ActionRedact}}
			case k < 5:
				m.Verdict, m.Findings = sms.VerdictRedacted, []sms.Finding{{Type: "ssn", Start: 0, End: 11, Action: sms.ActionRedact}}
			case k < 6:
				m.Verdict, m.Findings = sms.VerdictBlocked, []sms.Finding{{Type: "lexicon", Action: sms.ActionBlock}}
			}
			msgs = append(msgs, m)
		}
		if err := x.ApplyMessages(ctx, msgs); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := x.db.Exec(`INSERT INTO messages_fts(messages_fts) VALUES ('optimize'); ANALYZE;`); err != nil {
		tb.Fatal(err)
	}
	x.Close()
	if err := os.Rename(path+".tmp", path); err != nil {
		tb.Fatal(err)
	}
}

func idWithEntropy(t time.Time, r *rand.Rand) sms.MessageID {
	id := []byte(idAt(t))
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	for i := 10; i < 26; i++ {
		id[i] = alphabet[r.IntN(32)]
	}
	return sms.MessageID(id)
}

func BenchmarkSearch(b *testing.B) {
	n := 200000
	if s := os.Getenv("SMSGW_BENCH_INDEX_RECORDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := filepath.Join("..", "..", ".bin")
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, fmt.Sprintf("bench-index-v%d-%d.db", layoutVersion, n))
	if _, err := os.Stat(path); err != nil {
		t0 := time.Now()
		generateIndex(b, path, n)
		b.Logf("generated %d records in %s", n, time.Since(t0).Round(time.Second))
	}
	x, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	mid := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	yes := true
	queries := []struct {
		name string
		q    Search
	}{
		{"rare word", Search{Text: "guaranteed"}},
		{"common word", Search{Text: "appointment"}},
		{"phrase", Search{Text: `"payment confirmed"`}},
		{"prefix", Search{Text: "crypto*"}},
		{"party", Search{Party: "+12120012345"}},
		{"business+month", Search{Business: "+14155000042", From: mid, To: mid.AddDate(0, 1, 0)}},
		{"employee+text", Search{Employees: []string{"emp7"}, Text: "invoice"}},
		{"finding", Search{Finding: "ssn"}},
		{"verdict blocked, month", Search{Verdict: sms.VerdictBlocked, From: mid, To: mid.AddDate(0, 1, 0)}},
		{"text+direction+dates", Search{Text: "offshore transfer", Direction: sms.Outbound, From: mid, To: mid.AddDate(0, 6, 0)}},
		{"unreviewed", Search{Reviewed: func() *bool { f := false; return &f }()}},
		{"reviewed", Search{Reviewed: &yes}},
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	per := make([][]time.Duration, len(queries))
	b.ResetTimer()
	for i := range b.N {
		q := queries[i%len(queries)].q
		t0 := time.Now()
		if _, _, err := x.Search(ctx, q); err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		lat = append(lat, d)
		per[i%len(queries)] = append(per[i%len(queries)], d)
	}
	b.StopTimer()
	for i, l := range per {
		if len(l) > 0 {
			slices.Sort(l)
			b.Logf("%-24s median %8s  max %8s", queries[i].name, l[len(l)/2].Round(time.Microsecond), l[len(l)-1].Round(time.Microsecond))
		}
	}
	slices.Sort(lat)
	p := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.95), "p95-ms")
	b.ReportMetric(p(0.99), "p99-ms")
	b.ReportMetric(float64(n), "records")
}

// idAt is the smallest message id of time t (ids are ULIDs: time first),
// so a date range is a range of the primary key.
func idAt(t time.Time) string {
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(t))
	return id.String()
}

package readmodel

import (
	"testing"
	"time"
)

// TestSearchDescribeKeepsSubseconds: the audit record, a hold's stored
// query and an export's selection reproduce the query that ran, to the
// nanosecond (RFC 3339 with fractions), not rounded to the second.
func TestSearchDescribeKeepsSubseconds(t *testing.T) {
	from := time.Date(2026, 3, 1, 9, 30, 15, 123456789, time.FixedZone("EST", -5*3600))
	to := from.Add(1500 * time.Millisecond)
	p := Search{From: from, To: to}.Describe()
	if p["from"] != "2026-03-01T14:30:15.123456789Z" || p["to"] != "2026-03-01T14:30:16.623456789Z" {
		t.Errorf("Describe = %v, want from/to in UTC with nanoseconds", p)
	}
	for k, want := range map[string]time.Time{"from": from, "to": to} {
		got, err := time.Parse(time.RFC3339Nano, p[k])
		if err != nil || !got.Equal(want) {
			t.Errorf("%s = %q parses to %v (%v), want %v", k, p[k], got, err, want)
		}
	}
	if p := (Search{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}).Describe(); p["from"] != "2026-03-01T00:00:00Z" {
		t.Errorf("whole-second from = %q", p["from"])
	}
}

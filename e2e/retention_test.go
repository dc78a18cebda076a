package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/sms"
)

// TestRetentionClassLocksSegment: a message from an employee whose
// department is under a longer retention class is archived in a segment
// locked that long, and its record names the class.
func TestRetentionClassLocksSegment(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Archive.RetentionDays = 10
	cfg.Archive.RetentionClasses = []config.RetentionClass{{Name: "finra4511", Days: 2192, Departments: []string{"trading"}}}
	g := start(t, cfg, nil)
	g.mustCall(201, "POST", "/v1/numbers", g.Admin, map[string]string{"number": bizNumber})
	g.mustCall(201, "POST", "/v1/employees", g.Admin, map[string]string{"id": "tom.trader", "name": "Tom", "department": "trading"})
	g.mustCall(200, "POST", "/v1/numbers/"+bizNumber+"/assign", g.Admin, map[string]string{"employee_id": "tom.trader"})
	tok := g.mustCall(201, "POST", "/v1/employees/tom.trader/tokens", g.Admin, map[string]string{})["token"].(string)
	id := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "buy 100 ACME"})["id"].(string)
	g.waitStatus(id, tok, "delivered")
	v, err := g.App.Index.Get(context.Background(), sms.MessageID(id))
	if err != nil || v.Segment == "" {
		t.Fatalf("no segment for %s: %v", id, err)
	}
	data, _, err := g.App.Store.Get(context.Background(), v.Segment)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := archive.DecodeSegment(data)
	if err != nil {
		t.Fatal(err)
	}
	if min := time.Now().Add(2191 * 24 * time.Hour); seg.RetainUntil.Before(min) {
		t.Errorf("segment locked until %s, want at least 6 years (class finra4511), not the 10-day default", seg.RetainUntil)
	}
	for _, r := range seg.Records {
		if r.Message != nil && string(r.Message.ID) == id && r.Retention != "finra4511" {
			t.Errorf("record retention class %q, want finra4511", r.Retention)
		}
	}
}

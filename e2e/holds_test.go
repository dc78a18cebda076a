package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// TestLegalHoldsPerMatter: on real MinIO, two matters hold messages in the
// same segment; releasing one keeps the segment's S3 legal hold, releasing
// the other lifts it. Searches can filter on held messages; placing and
// releasing are audit records.
func TestLegalHoldsPerMatter(t *testing.T) {
	cfg, _ := wormConfig(t, t.TempDir())
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	a := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "guaranteed returns, trust me"})["id"].(string)
	b := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "see you tomorrow"})["id"].(string)
	g.waitStatus(a, tok, "delivered")
	g.waitStatus(b, tok, "delivered")
	admin := g.Admin
	v, err := g.App.Index.Get(context.Background(), sms.MessageID(a))
	if err != nil || v.Segment == "" {
		t.Fatalf("message %s has no segment: %+v %v", a, v, err)
	}
	seg := v.Segment // held by both matters below
	held := func() bool {
		oi, err := g.App.Store.Stat(context.Background(), seg)
		if err != nil {
			t.Fatal(err)
		}
		return oi.LegalHold
	}
	// a's status events are archived in an event segment of their own.
	var evSeg string
	eventually(t, "a's status events archived", func() bool {
		evSeg = ""
		_ = g.App.Store.List(context.Background(), archive.SegmentPrefix, func(oi archive.ObjectInfo) error {
			data, _, err := g.App.Store.Get(context.Background(), oi.Key)
			if err != nil {
				return err
			}
			if sg, err := archive.DecodeSegment(data); err == nil {
				for _, r := range sg.Records {
					if r.Kind == archive.KindEvent && r.Event != nil && string(r.Event.MessageID) == a && oi.Key != seg {
						evSeg = oi.Key
					}
				}
			}
			return nil
		})
		return evSeg != ""
	})
	m1 := g.mustCall(201, "POST", "/v1/compliance/holds", admin, map[string]any{"name": "SEC inquiry 2026-17", "reason": "subpoena",
		"query": map[string]string{"q": "guaranteed"}})
	if ids := m1["message_ids"].([]any); len(ids) != 1 || ids[0] != a {
		t.Fatalf("matter 1 holds %v, want %s", ids, a)
	}
	m2 := g.mustCall(201, "POST", "/v1/compliance/holds", admin, map[string]any{"name": "Customer complaint", "reason": "litigation",
		"message_ids": []string{a, b}})
	if !held() {
		t.Fatal("segment not under legal hold")
	}
	// The segment with the message's status events is held too.
	if oi, err := g.App.Store.Stat(context.Background(), evSeg); err != nil || !oi.LegalHold {
		t.Errorf("the segment with a's status events is not held: %+v %v", oi, err)
	}
	if segs := m1["segments"].([]any); len(segs) < 2 {
		t.Errorf("matter 1 holds segments %v, want the message's and its events'", segs)
	}
	res := g.mustCall(200, "GET", "/v1/compliance/messages?held=true", admin, nil)["messages"].([]any)
	if len(res) != 2 { // a (both matters) and b (matter 2)
		t.Errorf("held=true found %d messages, want 2", len(res))
	}
	g.mustCall(200, "POST", "/v1/compliance/holds/"+m1["id"].(string)+"/release", admin, nil)
	if !held() {
		t.Fatal("releasing one matter lifted the hold another matter still needs")
	}
	if r := g.call("POST", "/v1/compliance/holds/"+m1["id"].(string)+"/release", admin, nil); r.Status != 409 {
		t.Errorf("releasing twice: %d, want 409", r.Status)
	}
	g.mustCall(200, "POST", "/v1/compliance/holds/"+m2["id"].(string)+"/release", admin, nil)
	if held() {
		t.Fatal("the segment is still held after every matter was released")
	}
	if oi, err := g.App.Store.Stat(context.Background(), evSeg); err != nil || oi.LegalHold {
		t.Errorf("the events' segment is still held after every matter was released: %+v %v", oi, err)
	}
	if n := len(g.mustCall(200, "GET", "/v1/compliance/messages?held=true", admin, nil)["messages"].([]any)); n != 0 {
		t.Errorf("held=true after release found %d", n)
	}
	for body, field := range map[string]string{`{"reason":"x","message_ids":["` + a + `"]}`: "name",
		`{"name":"x","reason":"y"}`: "query", `{"name":"x","reason":"y","message_ids":["nope"]}`: "message_ids[0]",
		`{"name":"x","reason":"y","query":{"party":"123"}}`: "query.party"} {
		r := g.call("POST", "/v1/compliance/holds", admin, body)
		if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"`+field+`"`) {
			t.Errorf("bad hold %s: %d %s, want 400 naming %s", body, r.Status, r.Body, field)
		}
	}
	eventually(t, "hold audit records", func() bool {
		n := 0
		for _, e := range g.auditRecords(t) {
			if e.Action == "legal_hold.place" || e.Action == "legal_hold.release" {
				n++
			}
		}
		return n == 4
	})
	// A matter placed or released on another node reaches this one only
	// through KV: this node's held filter follows it.
	heldCount := func() int {
		return len(g.mustCall(200, "GET", "/v1/compliance/messages?held=true", admin, nil)["messages"].([]any))
	}
	other := archive.Matter{ID: sms.NewULID(time.Now()), Name: "placed elsewhere", Reason: "test", State: "active", MessageIDs: []string{b}}
	kv := g.App.Bus.KV(bus.BucketLegalHolds)
	put := func(m archive.Matter) {
		data, _ := json.Marshal(m)
		if _, err := kv.Put(context.Background(), "m."+m.ID, data); err != nil {
			t.Fatal(err)
		}
	}
	put(other)
	eventually(t, "a matter from another node in the held filter", func() bool { return heldCount() == 1 })
	other.State = "released"
	put(other)
	eventually(t, "its release too", func() bool { return heldCount() == 0 })
}

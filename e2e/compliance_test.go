package e2e

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// auditRecords reads every audit record archived so far.
func (g *gateway) auditRecords(t *testing.T) []archive.AuditEntry {
	t.Helper()
	var out []archive.AuditEntry
	ctx := context.Background()
	err := g.App.Store.List(ctx, "", func(oi archive.ObjectInfo) error {
		data, _, err := g.App.Store.Get(ctx, oi.Key)
		if err != nil {
			return err
		}
		seg, err := archive.DecodeSegment(data)
		if err != nil {
			return nil // checkpoints and other objects
		}
		for _, r := range seg.Records {
			if r.Audit != nil {
				out = append(out, *r.Audit)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestComplianceSearchReviewAudit: a compliance officer searches the
// archive by text and by party, reads a conversation, records a review;
// each of those is an audit record in the archive (who, what, how many
// results, a hash of them). Employees and admin-only tokens cannot search;
// bad parameters name their field.
func TestComplianceSearchReviewAudit(t *testing.T) {
	g := start(t, testConfig(t.TempDir()), nil)
	evs := watchEvents(t, g)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	var ids []string
	for _, body := range []string{"We guarantee returns of 20% a month", "Your card 4111 1111 1111 1111 is charged", "See you at the branch tomorrow"} {
		m := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": body})
		ids = append(ids, m["id"].(string))
	}
	if err := g.App.Sandbox.SendMO(ctxT(t), customer[1:], bizNumber[1:], "thanks, tomorrow works"); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		g.waitStatus(id, tok, "delivered")
	}
	eventually(t, "the customer's text in jane's inbox", func() bool {
		res := g.mustCall(200, "GET", "/v1/messages?direction=inbound", tok, nil)
		msgs, _ := res["messages"].([]any)
		return len(msgs) == 1
	})
	admin := g.Admin // bootstrap token: admin + compliance
	search := func(q url.Values) []any {
		t.Helper()
		var out []any
		eventually(t, "search "+q.Encode(), func() bool {
			res := g.mustCall(200, "GET", "/v1/compliance/messages?"+q.Encode(), admin, nil)
			out, _ = res["messages"].([]any)
			return len(out) > 0
		})
		return out
	}
	if got := search(url.Values{"q": {"guarantee*"}}); len(got) != 1 || got[0].(map[string]any)["id"] != ids[0] {
		t.Errorf("prefix search found %v, want only %s", got, ids[0])
	}
	if got := search(url.Values{"q": {"tomorrow"}, "party": {customer}}); len(got) != 2 {
		t.Errorf("text+party search found %d messages, want 2 (one each way)", len(got))
	}
	got := search(url.Values{"finding": {"card"}})
	if len(got) != 1 || !strings.Contains(got[0].(map[string]any)["body"].(string), "**** 1111") {
		t.Errorf("finding search found %v", got)
	}
	conv := g.mustCall(200, "GET", "/v1/compliance/conversations?business="+url.QueryEscape(bizNumber)+"&party="+url.QueryEscape(customer), admin, nil)
	if msgs := conv["messages"].([]any); len(msgs) != 4 || msgs[0].(map[string]any)["id"] != ids[0] || len(msgs[0].(map[string]any)["events"].([]any)) == 0 {
		t.Errorf("conversation = %v, want 4 messages oldest first with their events", conv)
	}
	rv := g.mustCall(201, "POST", "/v1/compliance/messages/"+ids[0]+"/reviews", admin, map[string]string{"action": "escalated", "comment": "performance guarantee"})
	if rv["action"] != "escalated" {
		t.Errorf("review = %v", rv)
	}
	m := g.mustCall(200, "GET", "/v1/compliance/messages/"+ids[0], admin, nil)
	if rs := m["reviews"].([]any); len(rs) != 1 || rs[0].(map[string]any)["comment"] != "performance guarantee" {
		t.Errorf("message reviews = %v", m["reviews"])
	}
	// Shared with every node's index as an event; applied here too, once.
	ev := evs.wait(t, sms.StatusReviewed, map[string]string{"comment": "performance guarantee"})
	if string(ev.MessageID) != ids[0] || ev.Detail != "escalated" {
		t.Errorf("reviewed event = %+v", ev)
	}
	if err := g.App.Index.ApplyEvents(ctxT(t), []sms.Event{ev}); err != nil { // as every node's index does
		t.Fatal(err)
	}
	if rs := g.mustCall(200, "GET", "/v1/compliance/messages/"+ids[0], admin, nil)["reviews"].([]any); len(rs) != 1 {
		t.Errorf("after its event came back the message has %d reviews, want 1", len(rs))
	}
	if got := search(url.Values{"reviewed": {"false"}, "direction": {"outbound"}}); len(got) != 2 {
		t.Errorf("unreviewed outbound = %d, want 2", len(got))
	}

	// Access: an employee and an admin without the compliance role cannot search.
	if r := g.call("GET", "/v1/compliance/messages?q=card", tok, nil); r.Status != 403 {
		t.Errorf("employee search: %d, want 403", r.Status)
	}
	adminOnly := g.mustCall(201, "POST", "/v1/tokens", admin, map[string]any{"name": "it-admin", "roles": []string{"admin"}})["token"].(string)
	if r := g.call("GET", "/v1/compliance/messages?q=card", adminOnly, nil); r.Status != 403 {
		t.Errorf("admin-only search: %d, want 403", r.Status)
	}
	if r := g.call("GET", "/v1/messages/"+ids[1], adminOnly, nil); r.Status != 404 {
		t.Errorf("admin-only reading a message: %d, want 404 (no content without the compliance role)", r.Status)
	}
	for q, field := range map[string]string{"party=12345": "party", "direction=sideways": "direction", "from=yesterday": "from",
		"verdict=maybe": "verdict", "limit=0": "limit", "page_token=zzz!": "page_token", "q=%22%22": ""} {
		r := g.call("GET", "/v1/compliance/messages?"+q, admin, nil)
		if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"`+field+`"`) && field != "" {
			t.Errorf("bad search %s: %d %s, want 400 naming %q", q, r.Status, r.Body, field)
		}
	}

	// Every search, view and review is in the archive's audit trail.
	eventually(t, "audit records archived", func() bool {
		var search, conv, view, review int
		for _, e := range g.auditRecords(t) {
			switch e.Action {
			case "search":
				search++
				if e.Actor == "" || e.ResultHash == "" {
					t.Errorf("audit record without actor or result hash: %+v", e)
				}
			case "conversation.view":
				conv++
			case "message.view":
				view++
			case "review":
				review++
			}
		}
		return search >= 4 && conv == 1 && view == 2 && review == 1 // two views of ids[0]: before and after its reviewed event
	})

	// The index can be rebuilt from the object store alone: same messages,
	// same statuses, same reviews.
	rebuilt := filepath.Join(t.TempDir(), "rebuilt.db")
	eventually(t, "every event archived", func() bool {
		_ = os.Remove(rebuilt)
		_ = os.Remove(rebuilt + "-wal")
		_ = os.Remove(rebuilt + "-shm")
		stats, err := readmodel.Rebuild(context.Background(), g.App.Store, rebuilt)
		if err != nil {
			t.Fatal(err)
		}
		x, err := readmodel.Open(rebuilt)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		for _, id := range ids {
			v, err := x.Get(context.Background(), sms.MessageID(id))
			if err != nil || v.Status != sms.StatusDelivered || v.Body == "" {
				return false
			}
		}
		rs, _ := x.Reviews(context.Background(), sms.MessageID(ids[0]))
		got, _, _ := x.Search(context.Background(), readmodel.Search{Text: "guarantee*"})
		return stats.Messages >= 4 && len(rs) == 1 && rs[0].Action == "escalated" && len(got) == 1
	})
}

// TestComplianceReadsOutsideComplianceRoutesAudited: a compliance token
// reading someone else's messages through GET /v1/messages/{id}, GET
// /v1/messages?employee_id= and GET /v1/conversations/{id} leaves an
// audit record (action, parameters, result count, result hash) like the
// /v1/compliance routes do; an employee reading their own inbox and
// conversation leaves none. Reviewing an unknown message is a 404 with no
// audit record.
func TestComplianceReadsOutsideComplianceRoutesAudited(t *testing.T) {
	g := start(t, testConfig(t.TempDir()), nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	var ids []string
	for _, body := range []string{"Our fund beats the market", "Call me at the office"} {
		m := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": body})
		ids = append(ids, m["id"].(string))
	}
	for _, id := range ids {
		g.waitStatus(id, tok, "delivered") // the employee reading their own messages
	}
	g.textIn(customer, bizNumber, "ok, calling now")
	convPath := "/v1/conversations/" + convID(bizNumber, customer)
	eventually(t, "the employee's inbox and conversation", func() bool {
		r := g.call("GET", "/v1/messages", tok, nil)
		c := g.call("GET", convPath, tok, nil)
		return r.Status == 200 && strings.Count(string(r.Body), `"archived_at"`) == 3 &&
			c.Status == 200 && strings.Count(string(c.Body), `"archived_at"`) == 3
	})

	readActions := map[string]bool{"message.view": true, "messages.list": true, "conversation.view": true}
	auditOf := func(action string) []archive.AuditEntry {
		var out []archive.AuditEntry
		for _, e := range g.auditRecords(t) {
			if e.Action == action {
				out = append(out, e)
			}
		}
		return out
	}
	hashOf := func(msgs []any) string {
		var vs []readmodel.View
		for _, m := range msgs {
			vs = append(vs, readmodel.View{Message: sms.Message{ID: sms.MessageID(m.(map[string]any)["id"].(string))}})
		}
		return readmodel.ResultHash(vs)
	}

	// The compliance officer (no employee id) reads jane's messages.
	officer := g.mustCall(201, "POST", "/v1/tokens", g.Admin, map[string]any{"name": "officer kim", "roles": []string{"compliance"}})["token"].(string)
	m := g.mustCall(200, "GET", "/v1/messages/"+ids[0], officer, nil)
	list := g.mustCall(200, "GET", "/v1/messages?employee_id=jane.doe", officer, nil)["messages"].([]any)
	conv := g.mustCall(200, "GET", convPath, officer, nil)["messages"].([]any)
	if len(list) != 3 || len(conv) != 3 {
		t.Fatalf("compliance read %d messages and a conversation of %d, want 3 and 3", len(list), len(conv))
	}
	var view, lists, convs []archive.AuditEntry
	eventually(t, "the compliance reads audited", func() bool {
		view, lists, convs = auditOf("message.view"), auditOf("messages.list"), auditOf("conversation.view")
		return len(view) > 0 && len(lists) > 0 && len(convs) > 0
	})
	if e := view[0]; len(view) != 1 || e.Actor != "officer kim" || e.Params["id"] != ids[0] || e.ResultCount != 1 ||
		e.ResultHash != hashOf([]any{m}) {
		t.Errorf("message.view records = %+v, want one by officer kim for %s with 1 result", view, ids[0])
	}
	if e := lists[0]; len(lists) != 1 || e.Actor != "officer kim" || e.Params["employee_id"] != "jane.doe" || e.ResultCount != 3 ||
		e.ResultHash != hashOf(list) {
		t.Errorf("messages.list records = %+v, want one by officer kim for employee_id=jane.doe with 3 results", lists)
	}
	if e := convs[0]; len(convs) != 1 || e.Actor != "officer kim" || e.Params["id"] != convID(bizNumber, customer) ||
		e.Params["business"] != bizNumber || e.Params["party"] != customer || e.ResultCount != 3 || e.ResultHash != hashOf(conv) {
		t.Errorf("conversation.view records = %+v, want one by officer kim for the conversation with 3 results", convs)
	}
	// The employee's own reads came first in the trail and left nothing.
	for _, e := range g.auditRecords(t) {
		if readActions[e.Action] && e.Actor != "officer kim" {
			t.Errorf("audit record of a read by its owner (or someone else): %+v", e)
		}
		for _, v := range e.Params {
			if strings.Contains(v, "fund") || strings.Contains(v, "calling") {
				t.Errorf("audit record carries a body: %+v", e)
			}
		}
	}

	// A review of a message that does not exist: 404, nothing in the trail.
	unknown := string(sms.NewMessageID())
	if r := g.call("POST", "/v1/compliance/messages/"+unknown+"/reviews", officer, map[string]string{"action": "escalated"}); r.Status != 404 {
		t.Errorf("review of an unknown message: %d %s, want 404", r.Status, r.Body)
	}
	g.mustCall(201, "POST", "/v1/compliance/messages/"+ids[1]+"/reviews", officer, map[string]string{"action": "escalated"})
	eventually(t, "the review audited", func() bool { return len(auditOf("review")) > 0 })
	if rs := auditOf("review"); len(rs) != 1 || rs[0].Params["id"] != ids[1] {
		t.Errorf("review records = %+v, want only the one of %s (not of %s)", rs, ids[1], unknown)
	}
}

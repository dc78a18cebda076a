package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/sms"
)

// archivedJSON is every record archived so far, as JSON, one per line.
func (g *gateway) archivedJSON(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	ctx := context.Background()
	err := g.App.Store.List(ctx, archive.SegmentPrefix, func(oi archive.ObjectInfo) error {
		data, _, err := g.App.Store.Get(ctx, oi.Key)
		if err != nil {
			return err
		}
		seg, err := archive.DecodeSegment(data)
		if err != nil {
			return nil
		}
		for _, r := range seg.Records {
			line, _ := json.Marshal(r)
			b.Write(line)
			b.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestWebhookGuardAndFreeTextRedaction (issue 13 rows 9 and 11), on a
// gateway with the default webhook policy (public receivers only):
//   - the admin API refuses webhook URLs that reach the gateway's own
//     networks, a metadata service, or carry a credential (400
//     webhook_forbidden naming the field); a webhook stored before the
//     guard, pointing at loopback, is never connected to;
//   - a card number typed into a review comment or a legal hold's name
//     and reason is redacted before anything keeps it: the archive's
//     segments, the events, the index, anywhere in the data directory.
func TestWebhookGuardAndFreeTextRedaction(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Webhook.AllowNetworks = nil // the default
	cfg.Webhook.MaxAttempts = 1
	g := start(t, cfg, nil)

	var hits atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer hook.Close()
	port := hook.URL[strings.LastIndexByte(hook.URL, ':')+1:]

	forbidden := func(r response, field string) {
		t.Helper()
		var b struct {
			Error struct{ Code, Field string }
		}
		_ = json.Unmarshal(r.Body, &b)
		if r.Status != 400 || b.Error.Code != "webhook_forbidden" || b.Error.Field != field {
			t.Errorf("answer %d %s, want 400 webhook_forbidden naming %q", r.Status, r.Body, field)
		}
		if strings.Contains(string(r.Body), "s3cret") {
			t.Errorf("the answer repeats the URL's credential: %s", r.Body)
		}
	}
	forbidden(g.call("POST", "/v1/employees", g.Admin, map[string]string{"id": "mallory", "name": "Mallory", "webhook_url": hook.URL}), "webhook_url")
	g.mustCall(201, "POST", "/v1/employees", g.Admin, map[string]string{"id": "eve", "name": "Eve"})
	for _, target := range []string{
		hook.URL + "/hook",
		"http://localhost:" + port + "/hook",
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://metadata.google.internal/computeMetadata/v1/",
		"http://[::1]:" + port + "/",
		"http://0x7f000001:" + port + "/",
		"http://2130706433:" + port + "/",
		"http://127.1:" + port + "/",
		"http://10.0.0.1/hook",
		"http://100.64.0.1/hook",
		"http://[fd00::1]/hook",
		"http://user:s3cret@example.com/hook",
	} {
		forbidden(g.call("PUT", "/v1/employees/eve/webhook", g.Admin, map[string]string{"url": target}), "url")
	}
	if e := g.mustCall(200, "PUT", "/v1/employees/eve/webhook", g.Admin, map[string]string{"url": "https://93.184.215.14/sms"}); e["webhook_url"] != "https://93.184.215.14/sms" {
		t.Errorf("a public webhook: %v", e)
	}

	// A webhook on loopback stored before the guard existed: the text is
	// not posted there (the dialer refuses the address), it fails.
	tok, _ := g.employee("jane.doe", bizNumber, "")
	if _, err := g.App.Directory.SetWebhook(ctxT(t), "jane.doe", hook.URL+"/hook"); err != nil {
		t.Fatal(err)
	}
	if err := g.App.Sandbox.SendMO(ctxT(t), customer[1:], bizNumber[1:], "hello from the customer"); err != nil {
		t.Fatal(err)
	}
	var mo string
	eventually(t, "the customer's text in jane's inbox", func() bool {
		msgs, _ := g.mustCall(200, "GET", "/v1/messages?direction=inbound", tok, nil)["messages"].([]any)
		if len(msgs) == 1 {
			mo, _ = msgs[0].(map[string]any)["id"].(string)
		}
		return mo != ""
	})
	g.waitStatus(mo, tok, "failed")
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback receiver got %d requests, want 0", n)
	}

	// Free text through the redaction filter.
	const card1, card2, card3 = "4111 1111 1111 1111", "5555 5555 5555 4444", "4012888888881881"
	id := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "see you at the branch"})["id"].(string)
	g.waitStatus(id, tok, "delivered")
	rv := g.mustCall(201, "POST", "/v1/compliance/messages/"+id+"/reviews", g.Admin,
		map[string]string{"action": "escalated", "comment": "customer read out card " + card1 + " on the call"})
	if c, _ := rv["comment"].(string); strings.Contains(c, card1) || !strings.Contains(c, "1111 on the call") {
		t.Errorf("review comment = %q, want the card redacted and the rest kept", c)
	}
	m := g.mustCall(201, "POST", "/v1/compliance/holds", g.Admin, map[string]any{"name": "Card " + card2 + " dispute",
		"reason": "card " + card3 + " quoted by the customer", "message_ids": []string{id}})
	if name, reason := m["name"].(string), m["reason"].(string); strings.Contains(name, card2) || strings.Contains(reason, card3) || !strings.Contains(name, "dispute") {
		t.Errorf("matter name %q, reason %q: want the cards redacted", name, reason)
	}
	eventually(t, "the review's event and the audit records archived", func() bool {
		var review, hold, event bool
		for _, e := range g.auditRecords(t) {
			review = review || e.Action == "review"
			hold = hold || e.Action == "legal_hold.place"
		}
		for _, line := range strings.Split(g.archivedJSON(t), "\n") {
			event = event || strings.Contains(line, `"status":"`+string(sms.StatusReviewed)+`"`) && strings.Contains(line, id)
		}
		return review && hold && event
	})
	needles := []string{card1, strings.ReplaceAll(card1, " ", ""), card2, strings.ReplaceAll(card2, " ", ""), card3}
	records := g.archivedJSON(t)
	if !strings.Contains(records, "on the call") || !strings.Contains(records, "dispute") {
		t.Fatalf("the comment and the matter are not in the archive:\n%s", records)
	}
	for _, n := range needles {
		if strings.Contains(records, n) {
			t.Errorf("card %q in the archive's segments", n)
		}
	}
	g.stop()
	for _, hit := range grepTree(t, dir, needles...) {
		t.Errorf("raw card number at rest: %s", hit)
	}
	for _, n := range needles {
		if strings.Contains(g.LogBuf.String(), n) {
			t.Errorf("card %q in the logs", n)
		}
	}
}

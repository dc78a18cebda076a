package index

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/smsgw/smsgw/sms"
)

func idAtTime(t time.Time, n byte) sms.MessageID {
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(t))
	id[15] = n
	return sms.MessageID(id.String())
}

func seed(t *testing.T) (*Index, []sms.Message) {
	t.Helper()
	x, err := Open(filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	biz, other := sms.Number("+14155550100"), sms.Number("+14155550101")
	cust, cust2 := sms.Number("+14155550199"), sms.Number("+442071838750")
	mk := func(i int, dir sms.Direction, from, to sms.Number, emp, body string, v sms.Verdict, f ...sms.Finding) sms.Message {
		at := day.Add(time.Duration(i) * 24 * time.Hour)
		return sms.Message{ID: idAtTime(at, byte(i)), Direction: dir, From: from, To: to, EmployeeID: emp, Body: body, Verdict: v,
			Findings: f, AcceptedAt: at, ArchivedAt: at.Add(time.Second), Segment: "seg"}
	}
	msgs := []sms.Message{
		mk(0, sms.Outbound, biz, cust, "jane", "Your guaranteed returns are 20% per month", sms.VerdictPass),
		mk(1, sms.Inbound, cust, biz, "jane", "my card is **** **** **** 1111 please charge it", sms.VerdictRedacted,
			sms.Finding{Type: "card", Start: 11, End: 30, Action: sms.ActionRedact}),
		mk(2, sms.Outbound, other, cust2, "sam", "Meeting moved to Thursday; résumé attached", sms.VerdictPass),
		mk(3, sms.Inbound, cust2, other, "sam", "[withheld]", sms.VerdictBlocked, sms.Finding{Type: "lexicon", Action: sms.ActionBlock}),
		mk(4, sms.Outbound, biz, cust, "jane", "Returning your call about the account", sms.VerdictPass),
	}
	if err := x.ApplyMessages(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	return x, msgs
}

func ids(vs []View) []sms.MessageID {
	var out []sms.MessageID
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}

func TestSearchFilters(t *testing.T) {
	x, m := seed(t)
	ctx := context.Background()
	yes := true
	cases := []struct {
		name string
		q    Search
		want []sms.MessageID
	}{
		{"all newest first", Search{}, []sms.MessageID{m[4].ID, m[3].ID, m[2].ID, m[1].ID, m[0].ID}},
		{"word", Search{Text: "guaranteed"}, []sms.MessageID{m[0].ID}},
		{"phrase", Search{Text: `"guaranteed returns"`}, []sms.MessageID{m[0].ID}},
		{"phrase in the wrong order", Search{Text: `"returns guaranteed"`}, nil},
		{"prefix", Search{Text: "retur*"}, []sms.MessageID{m[4].ID, m[0].ID}},
		{"all words must match", Search{Text: "returning account"}, []sms.MessageID{m[4].ID}},
		{"diacritics folded", Search{Text: "resume"}, []sms.MessageID{m[2].ID}},
		{"FTS syntax is taken literally", Search{Text: `card AND OR NEAR( "1111`}, nil},
		{"party", Search{Party: "+14155550199"}, []sms.MessageID{m[4].ID, m[1].ID, m[0].ID}},
		{"business", Search{Business: "+14155550101"}, []sms.MessageID{m[3].ID, m[2].ID}},
		{"employees", Search{Employees: []string{"sam"}}, []sms.MessageID{m[3].ID, m[2].ID}},
		{"direction", Search{Direction: sms.Inbound}, []sms.MessageID{m[3].ID, m[1].ID}},
		{"date range", Search{From: m[1].AcceptedAt, To: m[3].AcceptedAt}, []sms.MessageID{m[2].ID, m[1].ID}},
		{"finding type", Search{Finding: "card"}, []sms.MessageID{m[1].ID}},
		{"verdict", Search{Verdict: sms.VerdictBlocked}, []sms.MessageID{m[3].ID}},
		{"combined", Search{Party: "+14155550199", Direction: sms.Outbound, Text: "call"}, []sms.MessageID{m[4].ID}},
		{"reviewed", Search{Reviewed: &yes}, nil},
	}
	for _, c := range cases {
		got, _, err := x.Search(ctx, c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if g := ids(got); len(g) != len(c.want) || (len(g) > 0 && !equal(g, c.want)) {
			t.Errorf("%s: got %v, want %v", c.name, g, c.want)
		}
	}
	if _, _, err := x.Search(ctx, Search{Text: `"" * ()`}); sms.CodeOf(err) != "invalid_query" {
		t.Errorf("a query of only punctuation: %v, want invalid_query", err)
	}
	// Pagination: pages of 2 cover everything once, in order.
	var all []sms.MessageID
	var before string
	for range 5 {
		page, next, err := x.Search(ctx, Search{Limit: 2, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids(page)...)
		if next == "" {
			break
		}
		before = next
	}
	if !equal(all, []sms.MessageID{m[4].ID, m[3].ID, m[2].ID, m[1].ID, m[0].ID}) {
		t.Errorf("paged through %v", all)
	}
	if _, _, err := x.Search(ctx, Search{Before: "not-a-token!"}); sms.CodeOf(err) != "invalid_page_token" {
		t.Errorf("a forged page token: %v", err)
	}
	// An updated body is searched by its new words only.
	upd := m[0]
	upd.Body = "corrected wording"
	if err := x.ApplyMessages(ctx, []sms.Message{upd}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := x.Search(ctx, Search{Text: "guaranteed"}); len(got) != 0 {
		t.Errorf("old words still found after an update: %v", ids(got))
	}
	if got, _, _ := x.Search(ctx, Search{Text: "corrected"}); len(got) != 1 {
		t.Errorf("new words not found after an update")
	}
}

func TestConversationAndReviews(t *testing.T) {
	x, m := seed(t)
	ctx := context.Background()
	conv, err := x.Conversation(ctx, "+14155550100", "+14155550199", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(ids(conv), []sms.MessageID{m[0].ID, m[1].ID, m[4].ID}) {
		t.Errorf("conversation = %v", ids(conv))
	}
	if err := x.AddReview(ctx, Review{MessageID: m[1].ID, Reviewer: "carol", At: time.Now(), Action: "escalated", Comment: "card sent by customer"}); err != nil {
		t.Fatal(err)
	}
	if err := x.AddReview(ctx, Review{MessageID: "01ARZ3NDEKTSV4RRFFQ69G5FAV", Reviewer: "carol", At: time.Now(), Action: "approved"}); sms.KindOf(err) != sms.NotFound {
		t.Errorf("reviewing an unknown message: %v", err)
	}
	rs, err := x.Reviews(ctx, m[1].ID)
	if err != nil || len(rs) != 1 || rs[0].Action != "escalated" || rs[0].Reviewer != "carol" {
		t.Errorf("reviews = %+v %v", rs, err)
	}
	no := false
	got, _, _ := x.Search(ctx, Search{Reviewed: &no})
	if len(got) != 4 {
		t.Errorf("unreviewed = %v, want the other 4", ids(got))
	}
}

func equal(a, b []sms.MessageID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package readmodel

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

// Messages reach the index out of order (pipeline latency, a reindex in
// segment order); searches still list them by time, and date ranges cut
// exactly at the millisecond, with or without text.
func TestSearchTimeOrder(t *testing.T) {
	x, err := Open(filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	mk := func(ms int, n byte, body string) sms.Message {
		return sms.Message{ID: idAtTime(at(ms), n), Direction: sms.Inbound, From: "+14155550199", To: "+14155550100",
			Body: body, Verdict: sms.VerdictPass, AcceptedAt: at(ms), ArchivedAt: at(ms), Segment: "seg"}
	}
	a, b, c, d := mk(0, 1, "alpha report"), mk(5, 1, "beta report"), mk(5, 2, "gamma report"), mk(9, 1, "delta report")
	// d first, then a; b and c share a millisecond; a status event creates
	// c's row before c itself is indexed.
	for _, batch := range [][]sms.Message{{d}, {a}, {b}} {
		if err := x.ApplyMessages(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.ApplyEvents(ctx, []sms.Event{{MessageID: c.ID, Status: sms.StatusDelivered, At: at(6)}}); err != nil {
		t.Fatal(err)
	}
	if err := x.ApplyMessages(ctx, []sms.Message{c}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		name string
		q    Search
		want []sms.MessageID
	}{
		{"all", Search{}, []sms.MessageID{d.ID, c.ID, b.ID, a.ID}},
		{"text", Search{Text: "report"}, []sms.MessageID{d.ID, c.ID, b.ID, a.ID}},
		{"range", Search{From: at(5), To: at(9)}, []sms.MessageID{c.ID, b.ID}},
		{"range with text", Search{Text: "report", From: at(1), To: at(10)}, []sms.MessageID{d.ID, c.ID, b.ID}},
		{"range with text and party", Search{Text: "report", Party: "+14155550199", From: at(0), To: at(5)}, []sms.MessageID{a.ID}},
		{"range with verdict", Search{Verdict: sms.VerdictPass, From: at(6), To: at(10)}, []sms.MessageID{d.ID}},
	} {
		got, _, err := x.Search(ctx, q.q)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		// b and c share a millisecond: either order is time order.
		g := ids(got)
		if len(g) == len(q.want) {
			for i := range g {
				if g[i] == b.ID && i+1 < len(g) && g[i+1] == c.ID {
					g[i], g[i+1] = g[i+1], g[i]
				}
			}
		}
		if !equal(g, q.want) {
			t.Errorf("%s: got %v, want %v", q.name, ids(got), q.want)
		}
	}
	v, err := x.Get(ctx, c.ID)
	if err != nil || v.Body != "gamma report" || v.Status != sms.StatusDelivered {
		t.Errorf("a row created by its status event, then indexed: %+v %v", v, err)
	}
}

// An index written before time-keyed rowids (arrival-order rowids, layout
// version 0) is migrated when opened: searches list by time and still
// find text.
func TestMigrateTimeKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	late, early := idAtTime(t0.Add(time.Hour), 1), idAtTime(t0, 2)
	// Write as the old layout did: rowids 1, 2 in arrival order.
	for i, m := range []struct {
		id   sms.MessageID
		body string
	}{{late, "later words"}, {early, "earlier words"}, {"legacy-id", "odd words"}} {
		if _, err := x.db.Exec(`INSERT INTO messages (rowid, id, body, verdict, archived_at) VALUES (?, ?, ?, 'pass', 1)`, i+1, string(m.id), m.body); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := x.db.Exec(`PRAGMA user_version = 0`); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if x, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	got, _, err := x.Search(context.Background(), Search{})
	if err != nil || !equal(ids(got), []sms.MessageID{"legacy-id", late, early}) {
		t.Errorf("after migration: %v %v", ids(got), err)
	}
	got, _, err = x.Search(context.Background(), Search{Text: "words", From: t0, To: t0.Add(time.Minute)})
	if err != nil || !equal(ids(got), []sms.MessageID{early}) {
		t.Errorf("text and range after migration: %v %v", ids(got), err)
	}
}

// A text refused after its SMPP parts were answered OK is never archived:
// its failed event names our sending number, which query_sm needs to tell
// whose message it was. Only that event sets it, and never over a number
// the archived message already has.
func TestFailedEventNamesSender(t *testing.T) {
	x, m := seed(t)
	ctx := context.Background()
	refused := idAtTime(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC), 9)
	evs := []sms.Event{
		{MessageID: refused, Status: sms.StatusFailed, At: time.Now(), Detail: "recipient_opted_out", Attrs: map[string]string{"from": "+14155550100"}},
		{MessageID: m[0].ID, Status: sms.StatusFailed, At: time.Now(), Detail: "x", Attrs: map[string]string{"from": "+19999999999"}},
	}
	if err := x.ApplyEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	v, err := x.Get(ctx, refused)
	if err != nil || v.From != "+14155550100" || v.Direction != sms.Outbound || v.Status != sms.StatusFailed || v.Archived {
		t.Errorf("refused text = %+v %v", v, err)
	}
	if v, _ := x.Get(ctx, m[0].ID); v.From != m[0].From {
		t.Errorf("a failed event overwrote an archived message's sender: %s", v.From)
	}
}

// A review shared as a reviewed event is recorded once however often the
// event arrives, and it is not a status of the message.
func TestReviewEventAppliedOnce(t *testing.T) {
	x, m := seed(t)
	ctx := context.Background()
	r := Review{MessageID: m[1].ID, Reviewer: "carol", At: time.Date(2026, 6, 1, 10, 0, 0, 123456789, time.UTC), Action: "escalated", Comment: "card sent"}
	if err := x.AddReview(ctx, r); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := x.ApplyEvents(ctx, []sms.Event{ReviewEvent(r)}); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := x.Reviews(ctx, m[1].ID)
	if err != nil || len(rs) != 1 || rs[0].Comment != "card sent" || !rs[0].At.Equal(r.At) {
		t.Errorf("reviews = %+v %v, want the one review", rs, err)
	}
	other := r
	other.Reviewer = "dave"
	if err := x.ApplyEvents(ctx, []sms.Event{ReviewEvent(other)}); err != nil {
		t.Fatal(err)
	}
	if rs, _ := x.Reviews(ctx, m[1].ID); len(rs) != 2 {
		t.Errorf("a second reviewer's review: %d reviews, want 2", len(rs))
	}
	if v, _ := x.Get(ctx, m[1].ID); v.Status == sms.StatusReviewed || len(v.Events) != 0 {
		t.Errorf("a review became a status or event of the message: %+v", v)
	}
}

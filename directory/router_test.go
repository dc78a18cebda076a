package directory

import (
	"context"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return sms.CodeOf(err)
}

func TestPickAgent(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		cs   []Candidate
		want string
	}{
		{"none", nil, ""},
		{"unavailable skipped", []Candidate{{EmployeeID: "a", Capacity: 2, Active: true}}, ""},
		{"full skipped", []Candidate{{EmployeeID: "a", Capacity: 1, Open: 1, Available: true, Active: true}}, ""},
		{"inactive skipped", []Candidate{{EmployeeID: "a", Capacity: 1, Available: true}}, ""},
		{"least busy", []Candidate{
			{EmployeeID: "a", Capacity: 5, Open: 2, Available: true, Active: true},
			{EmployeeID: "b", Capacity: 5, Open: 1, Available: true, Active: true, LastAssigned: t0.Add(time.Hour)},
		}, "b"},
		{"longest idle", []Candidate{
			{EmployeeID: "a", Capacity: 5, Open: 1, Available: true, Active: true, LastAssigned: t0.Add(time.Minute)},
			{EmployeeID: "b", Capacity: 5, Open: 1, Available: true, Active: true, LastAssigned: t0},
		}, "b"},
		{"tie by id", []Candidate{
			{EmployeeID: "b", Capacity: 1, Available: true, Active: true},
			{EmployeeID: "a", Capacity: 1, Available: true, Active: true},
		}, "a"},
	} {
		got, ok := PickAgent(c.cs)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s: PickAgent = %q, %v; want %q", c.name, got, ok, c.want)
		}
	}
}

const (
	mainNum  = sms.Number("+14155550000")
	cust1    = sms.Number("+14155550111")
	cust2    = sms.Number("+14155550122")
	cust3    = sms.Number("+14155550133")
	deptNum  = sms.Number("+14155550001")
	ownNum   = sms.Number("+14155550002")
	otherNum = sms.Number("+14155550003")
)

func mo(from, to sms.Number, body string) *sms.Message {
	return &sms.Message{ID: sms.NewMessageID(), Direction: sms.Inbound, From: from, To: to, Body: body, AcceptedAt: time.Now().UTC()}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// setupContactCentre: a main number with a menu (1 sales, 2 support), a
// support queue with two agents of capacity 1.
func setupContactCentre(t *testing.T) (*Directory, context.Context) {
	t.Helper()
	d := newDir(t)
	ctx := context.Background()
	for _, id := range []string{"ann", "bob", "sam"} {
		must[Employee](t)(d.CreateEmployee(ctx, Employee{ID: id, Name: id}))
	}
	must[Queue](t)(d.CreateQueue(ctx, Queue{ID: "sales"}, "admin"))
	must[Queue](t)(d.CreateQueue(ctx, Queue{ID: "support", WaitMessage: "Please hold."}, "admin"))
	must[Queue](t)(d.SetMember(ctx, "support", "ann", 1, "admin"))
	must[Queue](t)(d.SetMember(ctx, "support", "bob", 1, "admin"))
	must[Queue](t)(d.SetMember(ctx, "sales", "sam", 2, "admin"))
	must[Number](t)(d.AddNumber(ctx, Number{Number: mainNum, Kind: KindMain}, "admin"))
	must[Menu](t)(d.SetMenu(ctx, Menu{Number: mainNum, Greeting: "Hi! Reply 1 for sales, 2 for support.",
		Options: []Option{{Digit: "1", Keywords: []string{"sales"}, Queue: "sales"}, {Digit: "2", Keywords: []string{"support"}, Queue: "support"}}}, "admin"))
	return d, ctx
}

func route(t *testing.T, d *Directory, m *sms.Message) Decision {
	t.Helper()
	dec, err := d.RouteInbound(context.Background(), m)
	if err != nil {
		t.Fatalf("RouteInbound(%q): %v", m.Body, err)
	}
	return dec
}

func replyKinds(dec Decision) []string {
	var out []string
	for _, r := range dec.Replies {
		out = append(out, r.Kind)
	}
	return out
}

func TestMenuAndQueueRouting(t *testing.T) {
	d, ctx := setupContactCentre(t)

	// First text: the greeting.
	dec := route(t, d, mo(cust1, mainNum, "hello"))
	if dec.Route != RouteMenu || len(dec.Replies) != 1 || dec.Replies[0].Body != "Hi! Reply 1 for sales, 2 for support." || dec.Replies[0].From != mainNum {
		t.Fatalf("first text: %+v", dec)
	}
	// Unknown reply: re-prompt.
	dec = route(t, d, mo(cust1, mainNum, "what?"))
	if dec.Route != RouteMenu || replyKinds(dec)[0] != ReplyReprompt {
		t.Fatalf("unknown reply: %+v", dec)
	}
	// Another auto-responder answering every menu: the menu stops after MaxPrompts.
	for k := 1; k <= MaxPrompts+2; k++ {
		dec = route(t, d, mo(cust2, mainNum, "I am away until Monday"))
		want := 1
		if k > MaxPrompts {
			want = 0
		}
		if len(dec.Replies) != want || dec.Route != RouteMenu {
			t.Fatalf("auto-responder text %d: %+v, want %d replies", k, dec, want)
		}
	}
	must[Conversation](t)(d.CloseConversation(ctx, ConversationKey(mainNum, cust2), "admin", "test"))
	// "2": the support queue's next agent (ann and bob both idle: ann by id).
	dec = route(t, d, mo(cust1, mainNum, "2"))
	if dec.Route != RouteAgent || dec.EmployeeID != "ann" || dec.Queue != "support" || len(dec.Replies) != 0 {
		t.Fatalf("picking 2: %+v", dec)
	}
	// Sticky: the next text goes to ann again.
	if dec = route(t, d, mo(cust1, mainNum, "my router is broken")); dec.EmployeeID != "ann" || dec.Route != RouteAgent {
		t.Fatalf("returning customer: %+v", dec)
	}
	// Second customer: bob (ann is full).
	route(t, d, mo(cust2, mainNum, "hi"))
	if dec = route(t, d, mo(cust2, mainNum, "support")); dec.EmployeeID != "bob" {
		t.Fatalf("second customer: %+v", dec)
	}
	// Third customer: nobody free, queued with the queue's wait message, once.
	route(t, d, mo(cust3, mainNum, "hi"))
	dec = route(t, d, mo(cust3, mainNum, "2"))
	if dec.Route != RouteQueued || dec.EmployeeID != "" || len(dec.Replies) != 1 || dec.Replies[0].Body != "Please hold." {
		t.Fatalf("third customer: %+v", dec)
	}
	if dec = route(t, d, mo(cust3, mainNum, "hello??")); dec.Route != RouteQueued || len(dec.Replies) != 0 {
		t.Fatalf("third customer again: %+v (want no second wait message)", dec)
	}
	// ann closes her conversation: the waiting customer gets her.
	key1 := ConversationKey(mainNum, cust1)
	must[Conversation](t)(d.CloseConversation(ctx, key1, "ann", "agent"))
	c3 := must[Conversation](t)(d.Conversation(ctx, ConversationKey(mainNum, cust3)))
	if c3.State != ConvOpen || c3.Agent != "ann" {
		t.Fatalf("after ann closed: waiting conversation is %+v", c3)
	}
	if q := must[Queue](t)(func() (Queue, error) { q, _, err := d.Queue(ctx, "support"); return q, err }()); len(q.Waiting) != 0 {
		t.Errorf("queue still lists waiting %v", q.Waiting)
	}
	// Customer 1 comes back after the close: the menu again.
	if dec = route(t, d, mo(cust1, mainNum, "one more thing")); dec.Route != RouteMenu {
		t.Fatalf("after close: %+v", dec)
	}
	// Back to menu from an open conversation frees the agent.
	if dec = route(t, d, mo(cust2, mainNum, "menu")); dec.Route != RouteMenu || replyKinds(dec)[0] != ReplyGreeting {
		t.Fatalf("back to menu: %+v", dec)
	}
	if a, _, _ := d.Agent(ctx, "bob"); len(a.Open) != 0 {
		t.Errorf("bob still holds %v after the customer went back to the menu", a.Open)
	}
	// Unavailable agents get nothing; becoming available hands them the queue.
	must[Agent](t)(d.SetAvailability(ctx, "bob", false, "bob"))
	if dec = route(t, d, mo(cust2, mainNum, "2")); dec.Route != RouteQueued {
		t.Fatalf("bob unavailable: %+v", dec)
	}
	must[Agent](t)(d.SetAvailability(ctx, "bob", true, "bob"))
	if c := must[Conversation](t)(d.Conversation(ctx, ConversationKey(mainNum, cust2))); c.Agent != "bob" || c.State != ConvOpen {
		t.Fatalf("bob available again: conversation %+v", c)
	}
}

func TestInactivityCloses(t *testing.T) {
	d, ctx := setupContactCentre(t)
	must[Queue](t)(d.UpdateQueue(ctx, "support", QueuePatch{InactivitySeconds: ptr(60)}, "admin"))
	route(t, d, mo(cust1, mainNum, "2"))
	if n, err := d.Sweep(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("Sweep now = %d, %v; want nothing closed", n, err)
	}
	if n, err := d.Sweep(ctx, time.Now().Add(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("Sweep later = %d, %v; want 1 closed", n, err)
	}
	c := must[Conversation](t)(d.Conversation(ctx, ConversationKey(mainNum, cust1)))
	if c.State != ConvClosed || c.CloseReason != "inactivity" || c.ClosedBy != ActorSystem {
		t.Errorf("after sweep: %+v", c)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDepartmentAndHeldRouting(t *testing.T) {
	d, ctx := setupContactCentre(t)
	must[Number](t)(d.AddNumber(ctx, Number{Number: deptNum, Kind: KindDepartment, Queue: "sales"}, "admin"))
	if dec := route(t, d, mo(cust1, deptNum, "hi")); dec.Route != RouteAgent || dec.EmployeeID != "sam" {
		t.Fatalf("department number: %+v", dec)
	}
	// Unassigned employee number with an auto-reply: held, replied once.
	must[Number](t)(d.AddNumber(ctx, Number{Number: otherNum, AutoReply: "This number is no longer in service."}, "admin"))
	dec := route(t, d, mo(cust1, otherNum, "anyone?"))
	if dec.Route != RouteHeld || dec.EmployeeID != "" || len(dec.Replies) != 1 || dec.Replies[0].Kind != ReplyAutoReply {
		t.Fatalf("held: %+v", dec)
	}
	if dec = route(t, d, mo(cust1, otherNum, "hello?")); dec.Route != RouteHeld || len(dec.Replies) != 0 {
		t.Fatalf("held again: %+v", dec)
	}
	// A number not in the inventory at all: still held, never refused.
	if dec = route(t, d, mo(cust1, "+14155559999", "hi")); dec.Route != RouteHeld {
		t.Fatalf("unknown number: %+v", dec)
	}
	held, err := d.Conversations(ctx, ConversationQuery{State: ConvHeld})
	if err != nil || len(held) != 2 {
		t.Errorf("held conversations = %d, %v; want 2", len(held), err)
	}
	// Retired and quarantined numbers are held the same way.
	must[Number](t)(d.Retire(ctx, otherNum, "admin"))
	if dec = route(t, d, mo(cust2, otherNum, "hi")); dec.Route != RouteHeld {
		t.Fatalf("retired: %+v", dec)
	}
}

func TestOptOutRouting(t *testing.T) {
	d, ctx := setupContactCentre(t)
	must[Number](t)(d.AddNumber(ctx, Number{Number: ownNum, EmployeeID: "ann"}, "admin"))
	dec := route(t, d, mo(cust1, ownNum, " Stop "))
	if dec.Route != RouteOptOut || dec.EmployeeID != "ann" || len(dec.Replies) != 1 || !dec.Replies[0].Always {
		t.Fatalf("STOP: %+v", dec)
	}
	// Company-wide by default: every number is blocked.
	for _, n := range []sms.Number{ownNum, mainNum} {
		if out, err := d.OptedOut(ctx, cust1, n); err != nil || !out {
			t.Errorf("OptedOut(%s) = %v, %v; want true", n, out, err)
		}
	}
	if dec = route(t, d, mo(cust1, ownNum, "STOP")); len(dec.Replies) != 0 {
		t.Errorf("second STOP got another confirmation: %+v", dec)
	}
	if dec = route(t, d, mo(cust1, ownNum, "help")); dec.Route != RouteHelp || len(dec.Replies) != 1 || !dec.Replies[0].Always {
		t.Errorf("HELP: %+v", dec)
	}
	if dec = route(t, d, mo(cust1, ownNum, "start")); dec.Route != RouteOptIn || len(dec.Replies) != 1 {
		t.Fatalf("START: %+v", dec)
	}
	if out, _ := d.OptedOut(ctx, cust1, ownNum); out {
		t.Error("still opted out after START")
	}
	// YES when not opted out is an ordinary reply.
	if dec = route(t, d, mo(cust1, ownNum, "yes")); dec.Route != RouteHolder {
		t.Errorf("yes: %+v", dec)
	}

	// Per-number scope.
	cfg := DefaultConfig()
	cfg.OptOutScope = ScopeNumber
	d.cfg = cfg
	route(t, d, mo(cust2, ownNum, "unsubscribe"))
	if out, _ := d.OptedOut(ctx, cust2, ownNum); !out {
		t.Error("per-number STOP did not opt out of the number")
	}
	if out, _ := d.OptedOut(ctx, cust2, mainNum); out {
		t.Error("per-number STOP opted out of another number")
	}
	route(t, d, mo(cust2, ownNum, "STOPALL"))
	if out, _ := d.OptedOut(ctx, cust2, mainNum); !out {
		t.Error("STOPALL did not opt out company-wide")
	}
}

func TestOffboarding(t *testing.T) {
	d := newDir(t)
	ctx := context.Background()
	must[Employee](t)(d.CreateEmployee(ctx, Employee{ID: "boss", Name: "Boss"}))
	must[Employee](t)(d.CreateEmployee(ctx, Employee{ID: "jo", Name: "Jo", Manager: "boss"}))
	must[Employee](t)(d.CreateEmployee(ctx, Employee{ID: "al", Name: "Al"}))
	must[Queue](t)(d.CreateQueue(ctx, Queue{ID: "desk"}, "admin"))
	must[Number](t)(d.AddNumber(ctx, Number{Number: ownNum, EmployeeID: "jo"}, "admin"))
	// A conversation on jo's number.
	in := mo(cust1, ownNum, "hi")
	dec := route(t, d, in)
	in.EmployeeID = dec.EmployeeID
	if err := d.RecordMessage(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Offboard(ctx, "al", OffboardPolicy{}, "admin"); codeOf(err) != "successor_required" || FieldOf(err) != "successor" {
		t.Errorf("offboarding without manager or successor: %v", err)
	}
	if _, err := d.Offboard(ctx, "jo", OffboardPolicy{Policy: "vanish"}, "admin"); codeOf(err) != "invalid_policy" {
		t.Errorf("bad policy: %v", err)
	}
	res, err := d.Offboard(ctx, "jo", OffboardPolicy{}, "admin") // default: the manager
	if err != nil || res.Successor != "boss" || len(res.Numbers) != 1 || res.Numbers[0].EmployeeID != "boss" {
		t.Fatalf("Offboard = %+v, %v", res, err)
	}
	if e, _, _ := d.Employee(ctx, "jo"); e.State != EmployeeOffboarded {
		t.Errorf("jo is %s", e.State)
	}
	// The customer's next text reaches the successor...
	if dec := route(t, d, mo(cust1, ownNum, "still there?")); dec.EmployeeID != "boss" || dec.Route != RouteHolder {
		t.Errorf("after offboarding: %+v", dec)
	}
	// ...whose inbox has the open conversation with its history.
	cs, err := d.Conversations(ctx, ConversationQuery{Owner: "boss", OpenOnly: true})
	if err != nil || len(cs) != 1 || len(cs[0].Messages) != 1 || cs[0].Messages[0] != in.ID {
		t.Errorf("successor's conversations = %+v, %v", cs, err)
	}
	// History: jo then boss, with times and actors.
	h, err := d.History(ctx, HistoryQuery{Number: ownNum})
	if err != nil || len(h) != 2 || h[0].EmployeeID != "jo" || h[0].To.IsZero() || h[0].Reason != "offboard" || h[1].EmployeeID != "boss" || !h[1].To.IsZero() {
		t.Fatalf("history = %+v, %v", h, err)
	}
	if who, _, _ := d.Number(ctx, ownNum); who.HolderAt(h[0].From) != "jo" || who.HolderAt(time.Now()) != "boss" {
		t.Errorf("HolderAt wrong: %+v", who.History)
	}
	if got, _ := d.History(ctx, HistoryQuery{EmployeeID: "jo"}); len(got) != 1 {
		t.Errorf("jo's history = %+v", got)
	}
	// Assigning to an offboarded employee is refused.
	if _, err := d.Assign(ctx, otherNum, "jo", "admin"); codeOf(err) != "employee_not_found" && codeOf(err) != "number_not_found" && codeOf(err) != "employee_inactive" {
		t.Errorf("assign to offboarded: %v", err)
	}

	// Queue policy and quarantine policy.
	must[Employee](t)(d.CreateEmployee(ctx, Employee{ID: "kim", Name: "Kim"}))
	must[Number](t)(d.AddNumber(ctx, Number{Number: otherNum, EmployeeID: "kim"}, "admin"))
	res, err = d.Offboard(ctx, "kim", OffboardPolicy{Policy: PolicyQueue, Queue: "desk", AutoReply: "Kim has left; the team will answer."}, "admin")
	if err != nil || res.Numbers[0].State != StateAvailable || res.Numbers[0].Queue != "desk" {
		t.Fatalf("queue policy: %+v, %v", res, err)
	}
	dec = route(t, d, mo(cust2, otherNum, "hi kim"))
	if dec.Route != RouteQueued || dec.Queue != "desk" || len(dec.Replies) != 2 {
		t.Errorf("text to a number released to a queue: %+v", dec)
	}
	must[Employee](t)(d.CreateEmployee(ctx, Employee{ID: "lee", Name: "Lee"}))
	must[Number](t)(d.AddNumber(ctx, Number{Number: deptNum, EmployeeID: "lee"}, "admin"))
	res, err = d.Offboard(ctx, "lee", OffboardPolicy{Policy: PolicyQuarantine, QuarantineDays: 30}, "admin")
	if err != nil || res.Numbers[0].State != StateQuarantined || res.Numbers[0].QuarantinedUntil.Before(time.Now().Add(29*24*time.Hour)) {
		t.Fatalf("quarantine policy: %+v, %v", res, err)
	}
	if _, err := d.Assign(ctx, deptNum, "al", "admin"); codeOf(err) != "number_quarantined" {
		t.Errorf("assigning a quarantined number: %v", err)
	}
	if dec := route(t, d, mo(cust3, deptNum, "hello")); dec.Route != RouteHeld {
		t.Errorf("text to a quarantined number: %+v", dec)
	}
}

func TestReassignAndRetire(t *testing.T) {
	d := newDir(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		must[Employee](t)(d.CreateEmployee(ctx, Employee{ID: id, Name: id}))
	}
	must[Number](t)(d.AddNumber(ctx, Number{Number: ownNum}, "admin"))
	must[Number](t)(d.Assign(ctx, ownNum, "a", "admin"))
	if _, err := d.Assign(ctx, ownNum, "b", "admin"); codeOf(err) != "number_assigned" {
		t.Errorf("assign over a holder: %v", err)
	}
	n := must[Number](t)(d.Reassign(ctx, ownNum, "b", "admin2"))
	if n.EmployeeID != "b" || len(n.History) != 2 || n.History[0].ReleasedBy != "admin2" || n.History[0].Reason != "reassign" {
		t.Errorf("reassign: %+v", n)
	}
	n = must[Number](t)(d.Retire(ctx, ownNum, "admin"))
	if n.State != StateRetired || n.EmployeeID != "" || n.History[1].To.IsZero() {
		t.Errorf("retire: %+v", n)
	}
	if _, err := d.Assign(ctx, ownNum, "a", "admin"); codeOf(err) != "number_retired" {
		t.Errorf("assign retired: %v", err)
	}
	must[Number](t)(d.Restore(ctx, ownNum, "admin"))
	must[Number](t)(d.Assign(ctx, ownNum, "a", "admin"))
	if _, err := d.UpdateNumber(ctx, ownNum, NumberPatch{Capabilities: []string{"sms", "fax"}}, "admin"); codeOf(err) != "invalid_capability" || FieldOf(err) != "capabilities" {
		t.Errorf("bad capability: %v", err)
	}
	d.SetCarriers([]string{"sandbox"})
	if _, err := d.UpdateNumber(ctx, ownNum, NumberPatch{Carrier: ptr("nope")}, "admin"); codeOf(err) != "unknown_carrier" {
		t.Errorf("unknown carrier: %v", err)
	}
}

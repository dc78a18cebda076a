package directory

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/sms"
)

func newDir(t *testing.T) *Directory {
	t.Helper()
	b := testenv.OpenBus(t)
	return New(Stores{
		Numbers: b.KV(bus.BucketNumbers), Employees: b.KV(bus.BucketEmployees), Queues: b.KV(bus.BucketQueues),
		Conversations: b.KV(bus.BucketConversations), OptOuts: b.KV(bus.BucketOptOuts),
		Events: busEvents{b},
	})
}

// Two admins assign the same number to different employees at the same
// time: exactly one wins, the other gets a Conflict.
func TestConcurrentAssignOneWinner(t *testing.T) {
	d := newDir(t)
	ctx := context.Background()
	num := sms.Number("+14155550100")
	if _, err := d.AddNumber(ctx, Number{Number: num}, "admin"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := d.CreateEmployee(ctx, Employee{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 20 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range []string{"a", "b"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = d.Assign(ctx, num, id, "admin-"+id)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if sms.KindOf(err) != sms.Conflict {
				t.Fatalf("round %d: loser got %v, want a Conflict", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d assignments succeeded (%v), want exactly 1", round, ok, errs)
		}
		n, _, err := d.Number(ctx, num)
		if err != nil {
			t.Fatal(err)
		}
		winner := "a"
		if errs[0] != nil {
			winner = "b"
		}
		if n.EmployeeID != winner || n.State != StateAssigned {
			t.Fatalf("round %d: number held by %q (%s), want winner %q", round, n.EmployeeID, n.State, winner)
		}
		if _, err := d.Release(ctx, num, "admin"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDirectoryErrors(t *testing.T) {
	d := newDir(t)
	ctx := context.Background()
	num := sms.Number("+14155550100")
	if _, err := d.AddNumber(ctx, Number{Number: num}, "x"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		code string
	}{
		{"duplicate number", second(d.AddNumber(ctx, Number{Number: num}, "x")), "number_exists"},
		{"bad kind", second(d.AddNumber(ctx, Number{Number: "+14155550101", Kind: "vanity"}, "x")), "invalid_kind"},
		{"unknown number", third(d.Number(ctx, "+14155550999")), "number_not_found"},
		{"assign to nobody", second(d.Assign(ctx, num, "ghost", "x")), "employee_not_found"},
		{"bad employee id", second(d.CreateEmployee(ctx, Employee{ID: "Not OK", Name: "x"})), "invalid_employee_id"},
		{"no name", second(d.CreateEmployee(ctx, Employee{ID: "ok", Name: " "})), "invalid_name"},
		{"bad webhook", second(d.CreateEmployee(ctx, Employee{ID: "ok", Name: "x", WebhookURL: "ftp://x"})), "invalid_webhook_url"},
	}
	for _, c := range cases {
		if got := sms.CodeOf(c.err); got != c.code {
			t.Errorf("%s: code %q (%v), want %q", c.name, got, c.err, c.code)
		}
	}
	e, err := d.CreateEmployee(ctx, Employee{ID: "jo", Name: "Jo", WebhookURL: "https://example.com/h"})
	if err != nil || len(e.WebhookSecret) < 20 {
		t.Fatalf("CreateEmployee with webhook: %+v, %v; want a generated secret", e, err)
	}
	if _, err := d.CreateEmployee(ctx, Employee{ID: "jo", Name: "Jo"}); sms.CodeOf(err) != "employee_exists" {
		t.Errorf("duplicate employee: %v", err)
	}
	e2, err := d.SetWebhook(ctx, "jo", "https://example.com/other")
	if err != nil || e2.WebhookSecret == e.WebhookSecret {
		t.Errorf("SetWebhook must rotate the secret: %v", err)
	}
	if _, err := d.Assign(ctx, num, "jo", "x"); err != nil {
		t.Fatal(err)
	}
	held, err := d.NumbersOf(ctx, "jo")
	if err != nil || len(held) != 1 || held[0].Number != num {
		t.Errorf("NumbersOf(jo) = %v, %v", held, err)
	}
}

func second[T any](_ T, err error) error            { return err }
func third[T any, U any](_ T, _ U, err error) error { return err }

// busEvents publishes directory events on EVENTS as a node does.
type busEvents struct{ b *bus.Bus }

func (e busEvents) Emit(ctx context.Context, ev sms.Event) error {
	data, _ := json.Marshal(ev)
	return e.b.Publish(ctx, bus.Out{Subject: bus.SubjEvents + string(ev.Status), MsgID: ev.ID, Data: data})
}

package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/sms"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// publish puts n messages on INGRESS and returns their ids.
func publish(t *testing.T, b *bus.Bus, n int) []string {
	t.Helper()
	var ids []string
	var outs []bus.Out
	for range n {
		id := string(sms.NewMessageID())
		ids = append(ids, id)
		outs = append(outs, bus.Out{Subject: bus.SubjIngressOutbound, MsgID: id, Data: []byte(id)})
	}
	for _, err := range b.PublishBatch(context.Background(), outs) {
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// run runs stage s until every input was handled `want` times in all,
// then stops it.
func run(t *testing.T, b *bus.Bus, s Stage, done func() bool) {
	t.Helper()
	runN(t, b, s, 1, done)
}

// runN runs n instances of stage s on its one durable (n nodes) until done.
func runN(t *testing.T, b *bus.Bus, s Stage, n int, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, n)
	for range n {
		go func() { errc <- Run(ctx, b, s, quiet) }()
	}
	deadline := time.Now().Add(30 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Error("stage did not get there in 30s")
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	for range n {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// A handler slower than AckWait never has its inputs handed out a second
// time — not to itself, not to another node on the same durable: every
// fetched input is kept in progress until it is settled, and nothing is
// fetched that the handler is not given.
func TestSlowHandlerGetsEachInputOnce(t *testing.T) {
	b := testenv.OpenBus(t)
	ids := publish(t, b, 12)
	var mu sync.Mutex
	seen := map[string][]uint64{} // id -> deliveries of each time it was handed over
	handled := 0
	s := Stage{Name: "slow", Stream: bus.StreamIngress, Batch: 3, AckWait: time.Second,
		Handle: func(ctx context.Context, batch []*bus.Msg) []Result {
			mu.Lock()
			for _, m := range batch {
				seen[string(m.Data)] = append(seen[string(m.Data)], m.Deliveries)
			}
			mu.Unlock()
			time.Sleep(2500 * time.Millisecond) // two and a half AckWaits
			mu.Lock()
			handled += len(batch)
			mu.Unlock()
			return make([]Result, len(batch))
		}}
	// Once every input was handled, a last message goes in: the server
	// hands out redeliveries before new messages, so when it has been
	// handled any second copy of an input would have been too.
	var sentinel []string
	runN(t, b, s, 2, func() bool {
		mu.Lock()
		defer mu.Unlock()
		if handled < len(ids) {
			return false
		}
		if sentinel == nil {
			mu.Unlock()
			sentinel = publish(t, b, 1)
			mu.Lock()
		}
		return len(seen[sentinel[0]]) > 0 && handled > len(ids)
	})
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		if got := seen[id]; !slices.Equal(got, []uint64{1}) {
			t.Errorf("input %s handed over with deliveries %v, want once, first delivery", id, got)
		}
	}
	if n, _ := b.StreamMsgs(context.Background(), bus.StreamIngress); n != 0 {
		t.Errorf("INGRESS holds %d after every input was settled done", n)
	}
}

// failingPublisher fails the publish of subjects with a given prefix.
type failingPublisher struct {
	b      *bus.Bus
	prefix string
}

func (f failingPublisher) PublishBatch(ctx context.Context, outs []bus.Out) []error {
	errs := make([]error, len(outs))
	var ok []bus.Out
	var at []int
	for i, o := range outs {
		if strings.HasPrefix(o.Subject, f.prefix) {
			errs[i] = errors.New("injected publish failure")
			continue
		}
		ok, at = append(ok, o), append(at, i)
	}
	for j, err := range f.b.PublishBatch(ctx, ok) {
		errs[at[j]] = err
	}
	return errs
}

func (f failingPublisher) SecureDelete(ctx context.Context, stream string, seqs []uint64) []error {
	return f.b.SecureDelete(ctx, stream, seqs)
}

// Settle: outputs and events are durable before the ack; an input whose
// output failed is retried, not acked; Dead writes a dead letter (no body)
// and terms; Retry naks.
func TestSettleOrder(t *testing.T) {
	b := testenv.OpenBus(t)
	ctx := context.Background()
	publish(t, b, 4)
	cons := Stage{Name: "settle-test", Stream: bus.StreamIngress, Batch: 4, MaxWait: 200 * time.Millisecond}
	var batch []*bus.Msg
	got := make(chan struct{})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go b.Consume(cctx, cons.Config(), func(ctx context.Context, in []*bus.Msg) {
		if batch == nil && len(in) == 4 {
			batch = in
			// Settle the way Run does, with a publisher that loses the
			// FILTERED output of input 1.
			id := func(i int) sms.MessageID { return sms.MessageID(in[i].Data) }
			res := []Result{
				{ID: id(0), Out: []bus.Out{{Subject: bus.SubjFiltered + "outbound", MsgID: string(id(0)), Data: []byte("x")}},
					Events: []sms.Event{Event(id(0), sms.StatusFiltered, "pass")}},
				{ID: id(1), Out: []bus.Out{{Subject: bus.SubjFiltered + "outbound", MsgID: string(id(1)) + "-lost", Data: []byte("y")}}},
				{Outcome: Dead, ID: id(2), Code: "undecodable"},
				{Outcome: Retry, Delay: time.Hour, ID: id(3)},
			}
			p := failingPublisher{b: b, prefix: bus.SubjFiltered + "outbound"}
			// Only the second output fails: route the first directly.
			if errs := b.PublishBatch(ctx, res[0].Out); errs[0] != nil {
				t.Error(errs[0])
			}
			res[0].Out = nil
			Settle(ctx, p, cons, in, res, quiet)
			close(got)
		}
	})
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no batch of 4")
	}
	cancel()
	n := func(stream string) uint64 {
		v, err := b.StreamMsgs(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := n(bus.StreamFiltered); got != 1 {
		t.Errorf("FILTERED holds %d, want 1 (the lost output never landed)", got)
	}
	if got := n(bus.StreamEvents); got != 1 {
		t.Errorf("EVENTS holds %d, want the one filtered event", got)
	}
	if got := n(bus.StreamDead); got != 1 {
		t.Errorf("DEAD holds %d, want 1", got)
	}
	// Input 0 acked (gone); 1 nakked (its output failed); 2 termed; 3 nakked.
	// A work queue keeps what is not acked: 1 and 3 (a term removes it).
	if got := n(bus.StreamIngress); got != 2 {
		t.Errorf("INGRESS holds %d, want 2 (the retried input and the one whose output failed)", got)
	}
	// The dead letter names stage, id and code, and holds no body.
	var dl DeadLetter
	readOne(t, b, bus.StreamDead, &dl)
	if dl.Stage != "settle-test" || dl.Code != "undecodable" || string(dl.MessageID) != string(batch[2].Data) {
		t.Errorf("dead letter = %+v", dl)
	}
}

func readOne(t *testing.T, b *bus.Bus, stream string, v any) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan []byte, 1)
	go b.Consume(ctx, bus.StageConfig{Stream: stream, Durable: "reader"}, func(ctx context.Context, batch []*bus.Msg) {
		for _, m := range batch {
			select {
			case got <- m.Data:
			default:
			}
			_ = m.Ack()
		}
	})
	select {
	case data := <-got:
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("nothing on %s", stream)
	}
}

// Every stage of the flow is one row: a unique durable, an input stream,
// a handler; the archive precedes every delivery stage, and nothing but
// the filter reads INGRESS (guarantee 2 as a property of the table).
func TestFlowTable(t *testing.T) {
	b := testenv.OpenBus(t)
	stages := Flow(Deps{Bus: b, Logger: quiet, SMPP: nopPlatforms{}, Node: "n1"})
	names := map[string]bool{}
	var order []string
	for _, s := range stages {
		if s.Name == "" || s.Stream == "" || s.Handle == nil {
			t.Errorf("incomplete stage %+v", s)
		}
		if names[s.Name] {
			t.Errorf("durable %s twice", s.Name)
		}
		names[s.Name] = true
		order = append(order, s.Name)
		if s.Stream == bus.StreamIngress && s.Name != bus.ConsumerFilter {
			t.Errorf("stage %s reads raw INGRESS", s.Name)
		}
		if s.Stream == bus.StreamFiltered && s.Name != bus.ConsumerArchive {
			t.Errorf("stage %s reads FILTERED (not archived yet)", s.Name)
		}
	}
	want := []string{bus.ConsumerFilter, bus.ConsumerArchive, bus.ConsumerDeliverMT, bus.ConsumerDeliverMO, bus.ConsumerSMPPMO,
		ConsumerConversations, "index-n1-msgs", "index-n1-events", bus.ConsumerReceipts, bus.ConsumerSMPPDLR, ConsumerHandover,
		bus.ConsumerArchiveEvents, bus.ConsumerArchiveJournal}
	if !slices.Equal(order, want) {
		t.Errorf("flow = %v\nwant   %v", order, want)
	}
}

type nopPlatforms struct{}

func (nopPlatforms) PlatformsFor(sms.Number) []string { return nil }
func (nopPlatforms) SendText(context.Context, string, smpp.Submit) ([]string, error) {
	return nil, fmt.Errorf("no")
}
func (nopPlatforms) SendReceipt(context.Context, string, *sms.Message, string, time.Time) error {
	return nil
}

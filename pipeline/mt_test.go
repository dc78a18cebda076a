package pipeline

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/sandbox"
	"github.com/smsgw/smsgw/sms"
)

// mtRig is the MT stage on a real bus, submitting through a real SMPP
// client to the sandbox SMSC, which records every submit_sm.
type mtRig struct {
	s   *mtStage
	smc *sandbox.Server
	ids *bus.KV
}

func newMTRig(t *testing.T) *mtRig {
	t.Helper()
	b := testenv.OpenBus(t)
	smc, err := sandbox.New(sandbox.Config{SystemID: "gw", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go smc.Run(ctx)
	c := smpp.NewClient(smpp.ClientConfig{Name: "sb", Addr: smc.Addr(), SystemID: "gw", Password: "pw", ReconnectMin: 20 * time.Millisecond, Log: quiet}, nopHandler{})
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; smc.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for !c.Bound() {
		if time.Now().After(deadline) {
			t.Fatal("client never bound to the sandbox")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ids := b.KV(bus.BucketCarrierIDs)
	return &mtRig{s: &mtStage{carriers: map[string]Carrier{"sb": c}, defaultCarrier: "sb", ids: ids, maxDeliver: 8, log: quiet}, smc: smc, ids: ids}
}

type nopHandler struct{}

func (nopHandler) HandleDeliver(context.Context, *smpp.Deliver) error { return nil }

// run hands one archived outbound text to the stage, as its first
// delivery (after a crash the server may say so), and returns the result
// and how many submit_sm the SMSC got for it.
func (r *mtRig) run(t *testing.T, m *sms.Message) (Result, int) {
	t.Helper()
	data, _ := json.Marshal(m)
	before := r.count(m.Body)
	res := r.s.handle(context.Background(), []*bus.Msg{{Subject: bus.SubjArchivedOut, Data: data, Deliveries: 1}})
	return res[0], r.count(m.Body) - before
}

func (r *mtRig) count(body string) int {
	n := 0
	for _, s := range r.smc.Submitted() {
		if s.Text == body {
			n++
		}
	}
	return n
}

func (r *mtRig) record(t *testing.T, ref carrierRef) {
	t.Helper()
	v, _ := json.Marshal(ref)
	if _, err := r.ids.Put(context.Background(), submitKey(ref.MessageID), v); err != nil {
		t.Fatal(err)
	}
}

func statuses(evs []sms.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Status)+"/"+e.Detail)
	}
	return out
}

// What the MT stage does with each submit record it finds, whatever the
// delivery count: never a second submit_sm for a text the carrier
// answered or that went unanswered; one more, flagged, for a text a node
// died submitting; none for a text whose resubmit crashed too.
func TestMTSubmitRecords(t *testing.T) {
	r := newMTRig(t)
	msg := func(body string) *sms.Message {
		return &sms.Message{ID: sms.NewMessageID(), Direction: sms.Outbound, From: "+14155550100", To: "+14155550199", Body: body, Verdict: sms.VerdictPass}
	}
	for _, tc := range []struct {
		name    string
		rec     *carrierRef // nil: none
		submits int
		events  []string
		state   string // the record afterwards
	}{
		{"no record", nil, 1, []string{"sent/"}, submitSent},
		{"answered", &carrierRef{State: submitSent, IDs: []string{"abc"}}, 0, []string{"sent/"}, submitSent},
		{"unanswered", &carrierRef{State: submitUnconfirmed, Detail: "bind_lost"}, 0, []string{"unconfirmed/bind_lost"}, submitUnconfirmed},
		{"refused", &carrierRef{State: submitFailed, Detail: "carrier_rejected"}, 0, []string{"failed/carrier_rejected"}, submitFailed},
		{"intent, node died", &carrierRef{State: submitIntent, Attempt: 1}, 1, []string{"resubmitted_after_crash/", "sent/"}, submitSent},
		{"died during the resubmit", &carrierRef{State: submitIntent, Attempt: 2, InDoubt: true}, 0, []string{"resubmitted_after_crash/", "unconfirmed/crashed_during_resubmit"}, submitIntent},
		{"in doubt, last try never left", &carrierRef{State: submitPending, Attempt: 2, InDoubt: true}, 1, []string{"resubmitted_after_crash/", "sent/"}, submitSent},
		{"answered after a resubmit", &carrierRef{State: submitSent, IDs: []string{"def"}, Attempt: 2, InDoubt: true}, 0, []string{"resubmitted_after_crash/", "sent/"}, submitSent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := msg("records " + tc.name)
			if tc.rec != nil {
				tc.rec.MessageID, tc.rec.Carrier = m.ID, "sb"
				r.record(t, *tc.rec)
			}
			res, n := r.run(t, m)
			if res.Outcome != Done || n != tc.submits || !slices.Equal(statuses(res.Events), tc.events) {
				t.Errorf("outcome %v, %d submit_sm, events %v; want done, %d, %v", res.Outcome, n, statuses(res.Events), tc.submits, tc.events)
			}
			e, err := r.ids.Get(context.Background(), submitKey(m.ID))
			if err != nil {
				t.Fatalf("no submit record afterwards: %v", err)
			}
			var after carrierRef
			_ = json.Unmarshal(e.Value, &after)
			if after.State != tc.state {
				t.Errorf("record afterwards %+v, want state %s", after, tc.state)
			}
			if tc.state == submitSent {
				// The receipt key of every part the carrier named is there.
				for _, id := range after.IDs {
					if _, err := r.ids.Get(context.Background(), carrierKey("sb", id)); err != nil {
						t.Errorf("receipt key for %s: %v", id, err)
					}
				}
			}
		})
	}
}

package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// Carrier is what the MT stage needs of a carrier bind.
type Carrier interface {
	Submit(ctx context.Context, m smpp.Submit) (smpp.SubmitResult, error)
}

// boundCarrier is a carrier that can say whether it is bound now: the MT
// stage records a submit intent only when the text can go out at once.
type boundCarrier interface {
	Bound() bool
}

var (
	_ Carrier      = (*smpp.Client)(nil)
	_ boundCarrier = (*smpp.Client)(nil)
)

// Submit states recorded under "msg.<message id>" in carrier_ids.
const (
	submitIntent      = "intent"      // written before submit_sm; Attempt counts them
	submitSent        = "sent"        // the carrier answered; IDs are its message ids
	submitUnconfirmed = "unconfirmed" // written, never answered; not sent again
	// submitPending: nothing on the wire now (the last try never reached
	// the carrier), but an earlier try may have: InDoubt.
	submitPending = "pending"
	submitFailed  = "failed" // refused for good; never submitted again
)

// carrierRef is stored in carrier_ids under "c.<carrier>.<id>" so a
// receipt finds its message, and under "msg.<message id>" (with State) so
// a redelivered message is never submitted twice without it being known.
type carrierRef struct {
	MessageID sms.MessageID `json:"message_id"`
	Part      int           `json:"part"`
	Parts     int           `json:"parts"`
	Carrier   string        `json:"carrier"`
	IDs       []string      `json:"ids,omitempty"`
	State     string        `json:"state,omitempty"` // "" (written before states existed) means sent
	Attempt   int           `json:"attempt,omitempty"`
	// InDoubt: a node died while an earlier attempt may have been on the
	// wire, so the carrier may get this text twice (the history says so).
	InDoubt bool `json:"in_doubt,omitempty"`
	// Detail is the unconfirmed or failed event's detail, so a crash
	// before the event was published can publish it again.
	Detail string `json:"detail,omitempty"`
}

// mtStage consumes ARCHIVED outbound messages and submits them to their
// carrier. Blocked messages are archived but never submitted.
//
// At most one submit_sm per message, except across a crash (issue 12):
//   - before a submit, an intent is recorded (msg.<id>, state intent);
//   - after the answer, the carrier's ids (state sent) and the sent event;
//   - a submit written but never answered (bind lost, SubmitTimeout) is
//     recorded unconfirmed, with an unconfirmed event, and not sent again;
//   - a redelivered message with a sent record is only acked (its sent
//     event re-published, which JetStream deduplicates); with an intent and
//     no answer, the node that handled it died with the submit possibly on
//     the wire: it is submitted once more, and a resubmitted_after_crash
//     event says so; an intent from that second attempt too ends unconfirmed;
//   - a copy of a message this node is submitting right now waits.
type mtStage struct {
	carriers       map[string]Carrier
	defaultCarrier string
	ids            *bus.KV
	maxDeliver     int
	log            *slog.Logger

	mu       sync.Mutex
	inflight map[sms.MessageID]bool
}

func (s *mtStage) stage() Stage {
	return Stage{Name: bus.ConsumerDeliverMT, Stream: bus.StreamArchived, Filter: []string{bus.SubjArchivedOut},
		Outputs: []string{bus.StreamEvents, bus.StreamDead}, Handle: s.handle, Batch: 512, MaxAckPending: 4096}
}

// normalizeCarrierID makes IDs comparable: trimmed, lower-case, without
// leading zeros (carriers send "0A1B" in one place and "a1b" in another).
func normalizeCarrierID(id string) string {
	id = strings.ToLower(strings.TrimSpace(id))
	t := strings.TrimLeft(id, "0")
	if t == "" && id != "" {
		return "0"
	}
	return t
}

func carrierKey(carrier, id string) string {
	return "c." + kvSafe(carrier) + "." + kvSafe(normalizeCarrierID(id))
}

func submitKey(id sms.MessageID) string { return "msg." + string(id) }

// kvSafe maps a string to KV-key-safe characters (letters, digits, -, _, =).
func kvSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '=' {
			return r
		}
		return '_'
	}, s)
}

// mtJob is one message of a batch on its way to a carrier.
type mtJob struct {
	i       int
	m       *sms.Message
	name    string
	c       Carrier
	attempt int
	inDoubt bool
}

func (s *mtStage) handle(ctx context.Context, batch []*bus.Msg) []Result {
	res := make([]Result, len(batch))
	var wg sync.WaitGroup
	for i, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil {
			s.log.Error("undecodable archived message parked", "err", err)
			res[i] = Result{Outcome: Dead, Code: "undecodable"}
			continue
		}
		res[i].ID = m.ID
		if m.Verdict == sms.VerdictBlocked || m.Direction != sms.Outbound {
			continue
		}
		name := cmp.Or(m.Carrier, s.defaultCarrier)
		c, ok := s.carriers[name]
		if !ok {
			s.log.Error("no such carrier route; message failed", "id", m.ID, "carrier", name)
			res[i].Events = []sms.Event{Event(m.ID, sms.StatusFailed, "no_route")}
			continue
		}
		if !s.claim(m.ID) {
			// This node is submitting another copy right now.
			res[i] = Result{Outcome: Retry, Delay: 5 * time.Second, ID: m.ID}
			continue
		}
		wg.Go(func() {
			defer s.release(m.ID)
			res[i] = s.deliver(ctx, in, mtJob{i: i, m: m, name: name, c: c})
		})
	}
	wg.Wait()
	return res
}

// deliver decides about one message from its submit record — whatever
// the delivery count says: after a crash the server may hand a message
// out again as a first delivery, its delivery count not yet persisted —
// and submits it when it has to go.
func (s *mtStage) deliver(ctx context.Context, in *bus.Msg, j mtJob) Result {
	r, attempt, inDoubt, done := s.resume(ctx, j.m, j.name)
	if done {
		r.ID = j.m.ID
		return r
	}
	j.attempt, j.inDoubt = attempt, inDoubt
	if bc, ok := j.c.(boundCarrier); ok && !bc.Bound() {
		// Not bound: nothing is recorded; the text waits on the stream.
		return Result{Outcome: Retry, Delay: min(Backoff(in.Deliveries), 30*time.Second), ID: j.m.ID}
	}
	r, keys, vals := s.submit(ctx, in, j)
	// The answer is recorded at once (not with the batch), so a crash
	// after it never counts this text as possibly unsent; receipts, which
	// may already be on their way, find their message by these keys (the
	// receipts stage waits for them).
	for _, err := range s.ids.PutBatch(ctx, keys, vals) {
		if err != nil {
			s.log.Warn("recording the carrier's answer failed; a crash now would resubmit this text (flagged)", "id", j.m.ID, "err", err)
		}
	}
	return r
}

// resume decides from a message's submit record: none (never submitted,
// attempt 1), answered, unconfirmed, or an intent with no answer (the
// node crashed with it possibly on the wire: attempt 2, flagged). done
// means r is final; otherwise the message is submitted as attempt.
func (s *mtStage) resume(ctx context.Context, m *sms.Message, name string) (r Result, attempt int, inDoubt, done bool) {
	e, err := s.ids.Get(ctx, submitKey(m.ID))
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			return Result{}, 1, false, false // never submitted
		}
		s.log.Warn("reading submit record failed; will retry", "id", m.ID, "err", err)
		return Result{Outcome: Retry, Delay: time.Second}, 0, false, true
	}
	var ref carrierRef
	if err := json.Unmarshal(e.Value, &ref); err != nil {
		s.log.Error("undecodable submit record; not submitting again", "id", m.ID, "err", err)
		return Result{Events: []sms.Event{Event(m.ID, sms.StatusUnconfirmed, "bad_submit_record")}}, 0, false, true
	}
	// Settled before, and only the ack (or the events) got lost: publish
	// its events again (JetStream drops the copies it has).
	var evs []sms.Event
	if ref.InDoubt && ref.State != submitPending && ref.State != submitIntent {
		evs = append(evs, Event(m.ID, sms.StatusResubmitted, ""))
	}
	switch ref.State {
	case "", submitSent:
		// Its receipt keys again too (idempotent), should a crash have
		// stopped them.
		keys, vals := correlation(m.ID, cmp.Or(ref.Carrier, name), ref.IDs)
		for _, err := range s.ids.PutBatch(ctx, keys, vals) {
			if err != nil {
				return Result{Outcome: Retry, Delay: time.Second}, 0, false, true
			}
		}
		ev := Event(m.ID, sms.StatusSent, "")
		ev.CarrierIDs = ref.IDs
		return Result{Events: append(evs, ev)}, 0, false, true
	case submitUnconfirmed:
		ev := Event(m.ID, sms.StatusUnconfirmed, ref.Detail)
		ev.CarrierIDs = ref.IDs
		return Result{Events: append(evs, ev)}, 0, false, true
	case submitFailed:
		return Result{Events: []sms.Event{Event(m.ID, sms.StatusFailed, ref.Detail)}}, 0, false, true
	case submitPending:
		return Result{}, max(ref.Attempt, 1), ref.InDoubt, false
	}
	if ref.Attempt >= 2 {
		s.log.Warn("crashed again while resubmitting; not submitting a third time", "id", m.ID, "carrier", name)
		// Both attempts may be at the carrier: say so, then that it ends here.
		return Result{Events: []sms.Event{Event(m.ID, sms.StatusResubmitted, ""),
			Event(m.ID, sms.StatusUnconfirmed, "crashed_during_resubmit")}}, 0, false, true
	}
	s.log.Warn("submit intent without an answer: the node crashed with this submit possibly on the wire; submitting once more", "id", m.ID, "carrier", name)
	return Result{}, ref.Attempt + 1, true, false
}

// submit sends one message and returns its result and the records to
// write (carrier ids, submit state).
func (s *mtStage) submit(ctx context.Context, in *bus.Msg, j mtJob) (Result, []string, [][]byte) {
	m := j.m
	r := Result{ID: m.ID}
	if j.inDoubt {
		// Said once the text went out again (success or unconfirmed
		// below), not when this try fails before the wire.
		r.Events = append(r.Events, Event(m.ID, sms.StatusResubmitted, ""))
	}
	sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	intent, _ := json.Marshal(carrierRef{MessageID: m.ID, Carrier: j.name, State: submitIntent, Attempt: j.attempt, InDoubt: j.inDoubt})
	res, err := j.c.Submit(sctx, smpp.Submit{Src: m.From.Digits(), Dst: m.To.Digits(), Text: m.Body, RegisteredDelivery: true,
		// The intent is recorded once a window slot is free, just before
		// the first part is written: only a text that may be on the wire
		// when the node dies counts as possibly sent.
		BeforeWrite: func() error {
			_, err := s.ids.Put(ctx, submitKey(m.ID), intent)
			return err
		}})
	cancel()
	state := carrierRef{MessageID: m.ID, Parts: len(res.MessageIDs), Carrier: j.name, IDs: res.MessageIDs, State: submitSent, Attempt: j.attempt, InDoubt: j.inDoubt}
	switch {
	case errors.Is(err, smpp.ErrUnconfirmed):
		detail := "no_response"
		if errors.Is(err, smpp.ErrClosed) {
			detail = "bind_lost"
		}
		s.log.Warn("submit not answered; not sending it again", "id", m.ID, "carrier", j.name, "detail", detail)
		state.State, state.Detail = submitUnconfirmed, detail
		ev := Event(m.ID, sms.StatusUnconfirmed, detail)
		ev.CarrierIDs = res.MessageIDs
		r.Events = append(r.Events, ev)
	case err != nil:
		// Nothing reached the carrier: the intent stays, and is harmless
		// (a retry writes a new one; this node is alive to know it).
		k := sms.KindOf(err)
		retry := k == sms.Throttled || k == sms.Unavailable || k == sms.Internal
		if retry && (s.maxDeliver <= 0 || in.Deliveries < uint64(s.maxDeliver)) {
			s.log.Warn("submit failed; will retry", "id", m.ID, "carrier", j.name, "delivery", in.Deliveries, "err", err)
			if !j.inDoubt {
				s.forget(ctx, m.ID)
				return Result{Outcome: Retry, ID: m.ID}, nil, nil
			}
			// Keep what an earlier crash left us knowing.
			v, _ := json.Marshal(carrierRef{MessageID: m.ID, Carrier: j.name, State: submitPending, Attempt: j.attempt, InDoubt: true})
			return Result{Outcome: Retry, ID: m.ID}, []string{submitKey(m.ID)}, [][]byte{v}
		}
		s.log.Warn("submit failed for good", "id", m.ID, "carrier", j.name, "code", sms.CodeOf(err), "err", err)
		r.Events = append(r.Events, Event(m.ID, sms.StatusFailed, sms.CodeOf(err)))
		if retry {
			r.Out = append(r.Out, DeadOut(bus.ConsumerDeliverMT, m.ID, in, sms.CodeOf(err)))
		}
		state.State, state.Detail = submitFailed, sms.CodeOf(err) // never submit it again
		state.IDs = nil
		if j.inDoubt {
			r.Events = r.Events[:0:0] // this try never went out; the failure is what counts
			r.Events = append(r.Events, Event(m.ID, sms.StatusFailed, sms.CodeOf(err)))
		}
		v, _ := json.Marshal(state)
		return r, []string{submitKey(m.ID)}, [][]byte{v}
	default:
		ev := Event(m.ID, sms.StatusSent, "")
		ev.CarrierIDs = res.MessageIDs
		r.Events = append(r.Events, ev)
	}
	keys, vals := correlation(m.ID, j.name, res.MessageIDs)
	v, _ := json.Marshal(state)
	// The outcome last: writes to one bucket land in order, so a crash that
	// keeps it kept the correlation keys too.
	return r, append(keys, submitKey(m.ID)), append(vals, v)
}

// correlation is the receipt keys of a submit: one per part the carrier
// gave an id for ("c.<carrier>.<id>" -> message, part).
func correlation(id sms.MessageID, carrier string, ids []string) ([]string, [][]byte) {
	var keys []string
	var vals [][]byte
	for i, cid := range ids {
		if cid == "" {
			continue // a peer that gave no id cannot send a receipt against it
		}
		v, _ := json.Marshal(carrierRef{MessageID: id, Part: i + 1, Parts: len(ids), Carrier: carrier})
		keys, vals = append(keys, carrierKey(carrier, cid)), append(vals, v)
	}
	return keys, vals
}

// forget removes the intent of a submit that never reached the carrier,
// so a crash before the retry does not count it as possibly sent.
func (s *mtStage) forget(ctx context.Context, id sms.MessageID) {
	if err := s.ids.Delete(ctx, submitKey(id)); err != nil && sms.KindOf(err) != sms.NotFound {
		s.log.Debug("removing an unused submit intent failed", "id", id, "err", err)
	}
}

func (s *mtStage) claim(id sms.MessageID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == nil {
		s.inflight = map[sms.MessageID]bool{}
	}
	if s.inflight[id] {
		return false
	}
	s.inflight[id] = true
	return true
}

func (s *mtStage) release(id sms.MessageID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, id)
}

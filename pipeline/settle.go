package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// Publisher is what Settle needs of the bus.
type Publisher interface {
	PublishBatch(ctx context.Context, outs []bus.Out) []error
	SecureDelete(ctx context.Context, stream string, seqs []uint64) []error
}

var _ Publisher = (*bus.Bus)(nil)

// Run consumes the stage's input with b until ctx ends, handing each batch
// to the stage's handler and settling it.
func Run(ctx context.Context, b *bus.Bus, s Stage, log *slog.Logger) error {
	log = log.With("stage", s.Name)
	return b.Consume(ctx, s.Config(), func(ctx context.Context, batch []*bus.Msg) {
		res := s.Handle(ctx, batch)
		if Settle(ctx, b, s, batch, res, log) && s.Acked != nil {
			s.Acked(ctx)
		}
	})
}

// Settle publishes what the results say, then acks, naks or terms each
// input (see the package comment for the order). It reports whether every
// ack of the batch was confirmed by the server.
func Settle(ctx context.Context, p Publisher, s Stage, batch []*bus.Msg, res []Result, log *slog.Logger) bool {
	if len(res) != len(batch) {
		// A handler bug: retry everything rather than guess.
		log.Error("handler returned the wrong number of results; retrying the batch", "inputs", len(batch), "results", len(res))
		for _, in := range batch {
			_ = in.Nak(time.Second)
		}
		return false
	}
	var outs []bus.Out
	var owner []int
	for i := range res {
		r := &res[i]
		for _, o := range r.Out {
			outs, owner = append(outs, o), append(owner, i)
		}
		for _, e := range r.Events {
			outs, owner = append(outs, EventOut(e)), append(owner, i)
		}
		if r.Outcome == Dead {
			outs, owner = append(outs, DeadOut(s.Name, r.ID, batch[i], r.Code)), append(owner, i)
		}
	}
	failed := make([]bool, len(res))
	if len(outs) > 0 {
		for j, err := range p.PublishBatch(ctx, outs) {
			if err != nil && !failed[owner[j]] {
				failed[owner[j]] = true
				log.Warn("publishing a stage's output failed; the input will be retried", "id", res[owner[j]].ID, "subject", outs[j].Subject, "err", err)
			}
		}
	}
	var erase []uint64
	for i, r := range res {
		if !failed[i] && r.Erase && r.Outcome != Retry {
			erase = append(erase, batch[i].StreamSeq)
		}
	}
	if len(erase) > 0 {
		for _, err := range p.SecureDelete(ctx, s.Stream, erase) {
			if err != nil {
				// The ack below deletes the message; only its bytes may stay
				// in a block file until compaction.
				log.Warn("erasing a settled input failed", "err", err)
			}
		}
	}
	var acks []*bus.Msg
	for i, r := range res {
		in := batch[i]
		switch {
		case failed[i]:
			_ = in.Nak(time.Second)
		case r.Outcome == Done:
			acks = append(acks, in)
		case r.Outcome == Retry:
			d := r.Delay
			if d <= 0 {
				d = Backoff(in.Deliveries)
			}
			_ = in.Nak(d)
		case r.Outcome == Dead:
			log.Warn("input dead-lettered", "id", r.ID, "code", r.Code, "deliveries", in.Deliveries)
			_ = in.Term()
		}
	}
	if len(acks) == 0 {
		return true
	}
	for _, in := range acks[:len(acks)-1] {
		_ = in.Ack()
	}
	// Acks from one connection are processed in order: once the server
	// confirms the last, it has taken every ack of the batch.
	if err := acks[len(acks)-1].AckSync(ctx); err != nil {
		log.Warn("ack not confirmed; inputs may be redelivered", "err", err)
		return false
	}
	return true
}

// EventOut turns a status event into a publish whose Nats-Msg-Id makes a
// retried stage emit it once: message id, status and detail name it.
func EventOut(e sms.Event) bus.Out {
	if e.ID == "" {
		e.ID = EventID(e)
	}
	data, _ := json.Marshal(e)
	return bus.Out{Subject: bus.SubjEvents + string(e.Status), MsgID: e.ID, Data: data}
}

// EventID is an event's identity: the same event published twice, or
// archived twice, is one event.
func EventID(e sms.Event) string {
	id := string(e.MessageID) + "." + string(e.Status)
	if e.Detail != "" {
		id += "." + e.Detail
	}
	return id
}

// Event is a status event now.
func Event(id sms.MessageID, st sms.Status, detail string) sms.Event {
	return sms.Event{MessageID: id, Status: st, At: time.Now().UTC(), Detail: detail}
}

// DeadLetter is what DEAD holds: who, where and why — never a body.
type DeadLetter struct {
	MessageID  sms.MessageID `json:"message_id,omitempty"`
	Stage      string        `json:"stage"`
	Subject    string        `json:"subject"`
	Deliveries uint64        `json:"deliveries"`
	Code       string        `json:"code"`
	At         time.Time     `json:"at"`
}

// DeadOut is the dead letter for input m of stage.
func DeadOut(stage string, id sms.MessageID, m *bus.Msg, code string) bus.Out {
	data, _ := json.Marshal(DeadLetter{MessageID: id, Stage: stage, Subject: m.Subject, Deliveries: m.Deliveries, Code: code, At: time.Now().UTC()})
	msgID := stage + "." + string(id)
	if id == "" {
		msgID = fmt.Sprintf("%s.seq%d", stage, m.StreamSeq)
	}
	return bus.Out{Subject: bus.SubjDead + stage, MsgID: msgID, Data: data}
}

// Events publishes single events as the stages do (EventOut): for
// components outside the flow that emit events, such as the directory.
type Events struct {
	Bus interface {
		Publish(ctx context.Context, o bus.Out) error
	}
}

// Emit publishes e and returns once it is persisted.
func (ev Events) Emit(ctx context.Context, e sms.Event) error {
	return ev.Bus.Publish(ctx, EventOut(e))
}

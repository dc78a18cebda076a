package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

func event(id sms.MessageID, st sms.Status, detail string) sms.Event {
	return sms.Event{MessageID: id, Status: st, At: time.Now().UTC(), Detail: detail}
}

// eventOut turns an event into a publish whose Nats-Msg-Id makes a retried
// stage emit it once.
func eventOut(e sms.Event) bus.Out {
	data, _ := json.Marshal(e)
	id := string(e.MessageID) + "." + string(e.Status)
	if e.Detail != "" {
		id += "." + e.Detail
	}
	return bus.Out{Subject: bus.SubjEvents + string(e.Status), MsgID: id, Data: data}
}

// emit publishes events and logs (without content) those that failed: an
// event lost is a gap in the status history, never in the message flow.
func emit(ctx context.Context, b *bus.Bus, evs ...sms.Event) {
	if len(evs) == 0 {
		return
	}
	outs := make([]bus.Out, len(evs))
	for i, e := range evs {
		outs[i] = eventOut(e)
	}
	for i, err := range b.PublishBatch(ctx, outs) {
		if err != nil {
			slog.Warn("publishing event failed", "id", evs[i].MessageID, "status", evs[i].Status, "err", err)
		}
	}
}

// deadLetter is what DEAD holds: who, where and why — never a body.
type deadLetter struct {
	MessageID  sms.MessageID `json:"message_id,omitempty"`
	Stage      string        `json:"stage"`
	Subject    string        `json:"subject"`
	Deliveries uint64        `json:"deliveries"`
	Code       string        `json:"code"`
	At         time.Time     `json:"at"`
}

func deadOut(stage string, id sms.MessageID, m *bus.Msg, code string) bus.Out {
	data, _ := json.Marshal(deadLetter{MessageID: id, Stage: stage, Subject: m.Subject, Deliveries: m.Deliveries, Code: code, At: time.Now().UTC()})
	return bus.Out{Subject: bus.SubjDead + stage, MsgID: stage + "." + string(id), Data: data}
}

// backoff returns the redelivery delay after the n-th delivery.
func backoff(n uint64) time.Duration {
	d := time.Second << min(n, 8)
	return min(d, 5*time.Minute)
}

package app

import (
	"context"
	"encoding/json"
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

var _ Carrier = (*smpp.Client)(nil)

// carrierRef is stored in carrier_ids under "<carrier>.<id>" so a receipt
// finds its message, and under "msg.<message id>" so a redelivered message
// that was already submitted is not submitted twice.
type carrierRef struct {
	MessageID sms.MessageID `json:"message_id"`
	Part      int           `json:"part"`
	Parts     int           `json:"parts"`
	Carrier   string        `json:"carrier"`
	IDs       []string      `json:"ids,omitempty"`
}

// mtStage consumes ARCHIVED outbound messages and submits them to their
// carrier. Blocked messages are archived but never submitted.
type mtStage struct {
	bus            *bus.Bus
	carriers       map[string]Carrier
	defaultCarrier string
	ids            *bus.KV
	maxDeliver     int
	log            *slog.Logger
}

func (s *mtStage) config() bus.StageConfig {
	return bus.StageConfig{
		Stream: bus.StreamArchived, Durable: bus.ConsumerDeliverMT, Filter: []string{bus.SubjArchivedOut},
		MaxDeliver: -1, Batch: 512, MaxAckPending: 4096,
	}
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

// kvSafe maps a string to KV-key-safe characters (letters, digits, -, _, =).
func kvSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '=' {
			return r
		}
		return '_'
	}, s)
}

func (s *mtStage) handle(ctx context.Context, batch []*bus.Msg) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var evs []sms.Event
	var outs []bus.Out
	for _, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil {
			s.log.Error("undecodable archived message parked", "err", err)
			s.bus.Publish(ctx, deadOut("deliver-mt", "", in, "undecodable"))
			_ = in.Term()
			continue
		}
		if m.Verdict == sms.VerdictBlocked || m.Direction != sms.Outbound {
			_ = in.Ack()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev, dead := s.deliver(ctx, in, m)
			mu.Lock()
			defer mu.Unlock()
			if ev != nil {
				evs = append(evs, *ev)
			}
			if dead != nil {
				outs = append(outs, *dead)
			}
		}()
	}
	wg.Wait()
	if len(outs) > 0 {
		s.bus.PublishBatch(ctx, outs)
	}
	emit(ctx, s.bus, evs...)
}

// deliver submits one message and settles its bus message.
func (s *mtStage) deliver(ctx context.Context, in *bus.Msg, m *sms.Message) (*sms.Event, *bus.Out) {
	name := m.Carrier
	if name == "" {
		name = s.defaultCarrier
	}
	c, ok := s.carriers[name]
	if !ok {
		s.log.Error("no such carrier route; message failed", "id", m.ID, "carrier", name)
		_ = in.Ack()
		ev := event(m.ID, sms.StatusFailed, "no_route")
		return &ev, nil
	}
	if in.Deliveries > 1 {
		// Submitted already, and only the ack got lost?
		if e, err := s.ids.Get(ctx, "msg."+string(m.ID)); err == nil {
			var ref carrierRef
			if json.Unmarshal(e.Value, &ref) == nil {
				_ = in.Ack()
				ev := event(m.ID, sms.StatusSent, "")
				ev.CarrierIDs = ref.IDs
				return &ev, nil
			}
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	res, err := c.Submit(sctx, smpp.Submit{Src: m.From.Digits(), Dst: m.To.Digits(), Text: m.Body, RegisteredDelivery: true})
	cancel()
	if err != nil {
		k := sms.KindOf(err)
		retry := k == sms.Throttled || k == sms.Unavailable || k == sms.Internal
		if retry && (s.maxDeliver <= 0 || in.Deliveries < uint64(s.maxDeliver)) {
			s.log.Warn("submit failed; will retry", "id", m.ID, "carrier", name, "delivery", in.Deliveries, "err", err)
			_ = in.Nak(backoff(in.Deliveries))
			return nil, nil
		}
		s.log.Warn("submit failed for good", "id", m.ID, "carrier", name, "code", sms.CodeOf(err), "err", err)
		_ = in.Ack()
		ev := event(m.ID, sms.StatusFailed, sms.CodeOf(err))
		var dead *bus.Out
		if retry {
			d := deadOut("deliver-mt", m.ID, in, sms.CodeOf(err))
			dead = &d
		}
		return &ev, dead
	}
	// Record correlation before acking so receipts (which may already be
	// on their way) find the message; the receipts stage waits for it.
	keys := []string{"msg." + string(m.ID)}
	ref := carrierRef{MessageID: m.ID, Parts: len(res.MessageIDs), Carrier: name, IDs: res.MessageIDs}
	v, _ := json.Marshal(ref)
	vals := [][]byte{v}
	for i, id := range res.MessageIDs {
		if id == "" {
			continue // a peer that gave no id cannot send a receipt against it
		}
		r := carrierRef{MessageID: m.ID, Part: i + 1, Parts: len(res.MessageIDs), Carrier: name}
		v, _ := json.Marshal(r)
		keys, vals = append(keys, carrierKey(name, id)), append(vals, v)
	}
	for _, err := range s.ids.PutBatch(ctx, keys, vals) {
		if err != nil {
			s.log.Warn("recording carrier ids failed; receipts for this message may not correlate", "id", m.ID, "err", err)
		}
	}
	_ = in.Ack()
	ev := event(m.ID, sms.StatusSent, "")
	ev.CarrierIDs = res.MessageIDs
	return &ev, nil
}

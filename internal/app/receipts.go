package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// receipt is a delivery receipt as persisted on RECEIPTS (before the
// deliver_sm_resp is sent). It holds no text.
type receipt struct {
	Carrier   string    `json:"carrier"`
	CarrierID string    `json:"carrier_id"`
	Stat      string    `json:"stat"`
	Err       string    `json:"err,omitempty"`
	Done      time.Time `json:"done,omitzero"`
	At        time.Time `json:"at"`
}

// receiptStage correlates receipts with messages (carrier_ids bucket) and
// turns them into delivered/failed events. A receipt can beat the MT
// stage's correlation write; it is retried until receiptWait has passed.
type receiptStage struct {
	bus         *bus.Bus
	ids         *bus.KV
	receiptWait time.Duration
	log         *slog.Logger
}

func (s *receiptStage) config() bus.StageConfig {
	return bus.StageConfig{Stream: bus.StreamReceipts, Durable: bus.ConsumerReceipts, MaxDeliver: -1, Batch: 256, MaxAckPending: 8192}
}

// receiptStatus maps SMPP receipt stat values to our statuses; "" means
// not final (ENROUTE, ACCEPTD): record nothing.
func receiptStatus(stat string) sms.Status {
	switch stat {
	case "DELIVRD":
		return sms.StatusDelivered
	case "UNDELIV", "EXPIRED", "DELETED", "REJECTD", "UNKNOWN":
		return sms.StatusFailed
	}
	return ""
}

func (s *receiptStage) handle(ctx context.Context, batch []*bus.Msg) {
	var evs []sms.Event
	for _, in := range batch {
		var r receipt
		if err := json.Unmarshal(in.Data, &r); err != nil {
			_ = in.Term()
			continue
		}
		ref, err := s.lookup(ctx, r.Carrier, r.CarrierID)
		if err != nil {
			if sms.KindOf(err) == sms.NotFound && time.Since(r.At) < s.receiptWait {
				_ = in.Nak(min(backoff(in.Deliveries-1)/2+250*time.Millisecond, 10*time.Second))
				continue
			}
			if sms.KindOf(err) != sms.NotFound {
				_ = in.Nak(time.Second)
				continue
			}
			s.log.Warn("receipt for unknown carrier message dropped", "carrier", r.Carrier, "stat", r.Stat)
			_ = in.Ack()
			continue
		}
		st := receiptStatus(r.Stat)
		if st != "" {
			ev := event(ref.MessageID, st, r.Stat)
			if ref.Parts > 1 {
				ev.Detail = fmt.Sprintf("%s.part%d", r.Stat, ref.Part)
			}
			evs = append(evs, ev)
		}
		_ = in.Ack()
	}
	emit(ctx, s.bus, evs...)
}

// lookup finds a carrier message ID, trying the other base when carriers
// report in the receipt a decimal rendering of a hex submit_sm_resp ID or
// the reverse.
func (s *receiptStage) lookup(ctx context.Context, carrier, id string) (carrierRef, error) {
	cands := []string{id}
	if n, err := strconv.ParseUint(id, 10, 64); err == nil {
		cands = append(cands, strconv.FormatUint(n, 16))
	}
	if n, err := strconv.ParseUint(id, 16, 64); err == nil {
		cands = append(cands, strconv.FormatUint(n, 10))
	}
	var last error
	for _, c := range cands {
		e, err := s.ids.Get(ctx, carrierKey(carrier, c))
		if err != nil {
			last = err
			if sms.KindOf(err) == sms.NotFound {
				continue
			}
			return carrierRef{}, err
		}
		var ref carrierRef
		if err := json.Unmarshal(e.Value, &ref); err != nil {
			return carrierRef{}, fmt.Errorf("decoding carrier ref: %w", err)
		}
		return ref, nil
	}
	return carrierRef{}, last
}

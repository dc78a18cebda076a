package pipeline

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
	ids         *bus.KV
	receiptWait time.Duration
	log         *slog.Logger
}

func (s *receiptStage) stage() Stage {
	return Stage{Name: bus.ConsumerReceipts, Stream: bus.StreamReceipts, Outputs: []string{bus.StreamEvents},
		Handle: s.handle, Batch: 256, MaxAckPending: 8192}
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

func (s *receiptStage) handle(ctx context.Context, batch []*bus.Msg) []Result {
	res := make([]Result, len(batch))
	for i, in := range batch {
		var r receipt
		if err := json.Unmarshal(in.Data, &r); err != nil {
			res[i] = Result{Outcome: Dead, Code: "undecodable"}
			continue
		}
		ref, err := s.lookup(ctx, r.Carrier, r.CarrierID)
		if err != nil {
			if sms.KindOf(err) == sms.NotFound && time.Since(r.At) < s.receiptWait {
				res[i] = Result{Outcome: Retry, Delay: min(Backoff(in.Deliveries-1)/2+250*time.Millisecond, 10*time.Second)}
				continue
			}
			if sms.KindOf(err) != sms.NotFound {
				res[i] = Result{Outcome: Retry, Delay: time.Second}
				continue
			}
			s.log.Warn("receipt for unknown carrier message dropped", "carrier", r.Carrier, "stat", r.Stat)
			continue
		}
		res[i].ID = ref.MessageID
		if st := receiptStatus(r.Stat); st != "" {
			ev := Event(ref.MessageID, st, r.Stat)
			if ref.Parts > 1 {
				ev.Detail = fmt.Sprintf("%s.part%d", r.Stat, ref.Part)
			}
			res[i].Events = []sms.Event{ev}
		}
	}
	return res
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

package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/kv"
	"github.com/smsgw/smsgw/sms"
)

// PlatformServer is what the SMPP stages need of our SMPP server
// (gateway/smppserver): who may use a number, and deliver_sm to a bind.
type PlatformServer interface {
	PlatformsFor(n sms.Number) []string
	SendText(ctx context.Context, systemID string, m smpp.Submit) ([]string, error)
	SendReceipt(ctx context.Context, systemID string, m *sms.Message, stat string, done time.Time) error
}

// ReceiptRequest is stored in smpp_receipts (message id -> it) when a
// platform submits with registered_delivery: where the receipt goes.
type ReceiptRequest struct {
	SystemID   string     `json:"system_id"`
	From       sms.Number `json:"from"`
	To         sms.Number `json:"to"`
	AcceptedAt time.Time  `json:"accepted_at"`
}

// smppReceiptStage turns final status events of messages submitted over
// our SMPP server with registered_delivery into deliver_sm receipts to a
// receiving bind of the same account. Without such a bind it retries.
type smppReceiptStage struct {
	srv     PlatformServer
	pending *bus.KV
	log     *slog.Logger
}

func (s *smppReceiptStage) stage() Stage {
	return Stage{Name: bus.ConsumerSMPPDLR, Stream: bus.StreamEvents, Handle: s.handle, Batch: 256,
		Filter: []string{bus.SubjEvents + string(sms.StatusDelivered), bus.SubjEvents + string(sms.StatusFailed),
			bus.SubjEvents + string(sms.StatusBlocked), bus.SubjEvents + string(sms.StatusDeadLetter),
			bus.SubjEvents + string(sms.StatusUnconfirmed)}}
}

func receiptStat(st sms.Status) string {
	switch st {
	case sms.StatusDelivered:
		return "DELIVRD"
	case sms.StatusFailed:
		return "UNDELIV"
	case sms.StatusUnconfirmed:
		return "UNKNOWN" // the carrier never said whether it took it
	}
	return "REJECTD"
}

func (s *smppReceiptStage) handle(ctx context.Context, batch []*bus.Msg) []Result {
	res := make([]Result, len(batch))
	for i, in := range batch {
		res[i] = s.receipt(ctx, in)
	}
	return res
}

func (s *smppReceiptStage) receipt(ctx context.Context, in *bus.Msg) Result {
	var ev sms.Event
	if err := json.Unmarshal(in.Data, &ev); err != nil {
		return Result{Outcome: Dead, Code: "undecodable"}
	}
	e, err := s.pending.Get(ctx, string(ev.MessageID))
	if sms.KindOf(err) == sms.NotFound {
		return Result{} // not submitted over SMPP with a receipt request (or already answered)
	}
	if err != nil {
		return Result{Outcome: Retry, Delay: time.Second}
	}
	var req ReceiptRequest
	if err := json.Unmarshal(e.Value, &req); err != nil {
		return Result{}
	}
	m := &sms.Message{ID: ev.MessageID, From: req.From, To: req.To, AcceptedAt: req.AcceptedAt}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = s.srv.SendReceipt(sctx, req.SystemID, m, receiptStat(ev.Status), ev.At)
	cancel()
	if err != nil {
		if time.Since(ev.At) > 72*time.Hour {
			s.log.Warn("SMPP receipt given up after 72h", "id", ev.MessageID, "system_id", req.SystemID)
			return Result{}
		}
		return Result{Outcome: Retry}
	}
	// First final status wins: the request is answered.
	_ = s.pending.Delete(ctx, string(ev.MessageID))
	return Result{}
}

// smppMOStage delivers archived inbound texts to the platform accounts
// allowed to use the business number they were sent to, as deliver_sm
// (redacted text; blocked texts are not delivered). Without a receiving
// bind it retries with backoff for up to 72 hours: a platform that
// reconnects gets what arrived meanwhile. Delivery is at least once: a
// crash between the deliver_sm_resp and the ack repeats a text.
type smppMOStage struct {
	srv PlatformServer
	// done records, for a text that goes to several platforms, each one it
	// reached ("mo.<id>.<system_id>"), so a retry for the others does not
	// send it again to those that have it.
	done kv.Bucket
	log  *slog.Logger
}

func moDoneKey(id sms.MessageID, systemID string) string {
	return "mo." + string(id) + "." + kvSafe(systemID)
}

func (s *smppMOStage) stage() Stage {
	return Stage{Name: bus.ConsumerSMPPMO, Stream: bus.StreamArchived, Filter: []string{bus.SubjArchivedIn},
		Handle: s.handle, Batch: 128, MaxAckPending: 2048}
}

func (s *smppMOStage) handle(ctx context.Context, batch []*bus.Msg) []Result {
	res := make([]Result, len(batch))
	var wg sync.WaitGroup
	for i, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil {
			res[i] = Result{Outcome: Dead, Code: "undecodable"}
			continue
		}
		res[i].ID = m.ID
		targets := s.srv.PlatformsFor(m.To)
		if len(targets) == 0 || m.Verdict == sms.VerdictBlocked {
			continue
		}
		wg.Go(func() {
			var failed error
			for _, sys := range targets {
				// Delivery state is per platform: one that has the text
				// does not get it again while another is retried.
				if len(targets) > 1 {
					if _, err := s.done.Get(ctx, moDoneKey(m.ID, sys)); err == nil {
						continue
					}
				}
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := s.srv.SendText(sctx, sys, smpp.Submit{Src: m.From.Digits(), Dst: m.To.Digits(), Text: m.Body})
				cancel()
				if err != nil {
					failed = err
					continue
				}
				if len(targets) > 1 {
					if _, err := s.done.Put(ctx, moDoneKey(m.ID, sys), []byte("1")); err != nil {
						s.log.Warn("recording an MO delivery to a platform failed; a retry may repeat it there", "id", m.ID, "system_id", sys, "err", err)
					}
				}
			}
			switch {
			case failed == nil:
			case sms.KindOf(failed) == sms.Permanent:
				s.log.Warn("platform refused MO", "id", m.ID, "code", sms.CodeOf(failed))
			case time.Since(m.AcceptedAt) > 72*time.Hour:
				s.log.Warn("MO to platform given up after 72h", "id", m.ID)
			default:
				if sms.CodeOf(failed) != "smpp_not_bound" {
					s.log.Warn("MO to platform failed; will retry", "id", m.ID, "err", failed)
				}
				res[i].Outcome = Retry
			}
		})
	}
	wg.Wait()
	return res
}

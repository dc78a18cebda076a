package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/smsgw/smsgw/filters"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// filterStage consumes INGRESS (raw), runs the filter chain and publishes
// the redacted message to FILTERED. The raw message is acked (deleted from
// the work queue) only after FILTERED has persisted the result.
//
// Fail closed: a message the chain cannot process (panic, undecodable
// envelope) is retried; on its last delivery it becomes a blocked record
// with its body withheld, so it is archived and reported but never sent,
// and a dead letter (metadata only) is written.
type filterStage struct {
	bus        *bus.Bus
	codec      *codec
	chain      *filters.Chain
	maxDeliver int
	log        *slog.Logger

	// conv holds, per conversation (business number, customer number)
	// and direction, the digits the last message ended with, in memory
	// only, to catch a card split across two messages.
	convOnce sync.Once
	conv     *filters.Conversations
}

// conversations returns the stage's conversation window.
func (s *filterStage) conversations() *filters.Conversations {
	s.convOnce.Do(func() { s.conv = filters.NewConversations(s.chain) })
	return s.conv
}

const withheldBody = "[withheld: the filter could not process this message]"

func (s *filterStage) config() bus.StageConfig {
	return bus.StageConfig{
		Stream: bus.StreamIngress, Durable: bus.ConsumerFilter,
		MaxDeliver: -1, Batch: 256, MaxAckPending: 4096,
	}
}

func (s *filterStage) handle(ctx context.Context, batch []*bus.Msg) {
	type result struct {
		in    *bus.Msg
		outs  []bus.Out
		evs   []sms.Event
		retry bool
		// erase: the raw text held something the filter found (or could
		// not be filtered), so its bytes are overwritten, not just deleted.
		erase bool
	}
	results := make([]result, 0, len(batch))
	for _, in := range batch {
		r := result{in: in}
		m, err := s.codec.decodeIngress(in.Data)
		if err == nil {
			// The direction's policy, and the card a message completes
			// after the previous one of its conversation: that finding
			// (card_split) records that the first part already went.
			var out filters.Outcome
			out, err = s.conversations().Apply(filters.Turn{
				Conversation: string(m.BusinessNumber()) + " " + string(m.CustomerNumber()),
				ID:           string(m.ID), Direction: m.Direction, At: m.AcceptedAt, Text: m.Body,
			})
			if err == nil {
				m.Body, m.Verdict, m.Findings = out.Text, out.Verdict, out.Findings
				if m.Incomplete {
					// Parts of this text never arrived: say so in the record.
					m.Findings = append(m.Findings, sms.Finding{Type: "incomplete_multipart", Start: 0, End: len(m.Body), Action: sms.ActionFlag})
				}
			}
		}
		if err != nil {
			if in.Deliveries < uint64(s.maxDeliver) {
				r.retry = true
				s.log.Warn("filter failed; will retry", "id", idOf(m), "delivery", in.Deliveries, "err", err)
				results = append(results, r)
				continue
			}
			s.log.Error("filter failed for good; message blocked and parked", "id", idOf(m), "err", err)
			if m == nil || m.ID == "" {
				// Nothing to archive: not even an ID could be read.
				r.outs = append(r.outs, deadOut("filter", "", in, "undecodable"))
				results = append(results, r)
				continue
			}
			r.erase = true
			m.Body, m.Verdict = withheldBody, sms.VerdictBlocked
			m.Findings = []sms.Finding{{Type: "filter_error", Action: sms.ActionBlock}}
			r.outs = append(r.outs, deadOut("filter", m.ID, in, "filter_error"))
			r.evs = append(r.evs, event(m.ID, sms.StatusDeadLetter, "filter_error"))
		}
		data, _ := json.Marshal(m)
		r.outs = append(r.outs, bus.Out{Subject: bus.SubjFiltered + string(m.Direction), MsgID: string(m.ID), Data: data})
		st := sms.StatusFiltered
		if m.Verdict == sms.VerdictBlocked {
			st = sms.StatusBlocked
		}
		r.evs = append(r.evs, event(m.ID, st, string(m.Verdict)))
		for _, f := range m.Findings {
			r.erase = r.erase || f.Action != sms.ActionFlag
		}
		if len(m.Findings) > 0 {
			s.log.Info("filtered", "id", m.ID, "verdict", m.Verdict, "findings", len(m.Findings))
		}
		results = append(results, r)
	}
	// Publish every output, then settle each input by its own outputs.
	var outs []bus.Out
	var owner []int
	for i, r := range results {
		for _, o := range r.outs {
			outs = append(outs, o)
			owner = append(owner, i)
		}
	}
	failed := make([]bool, len(results))
	for j, err := range s.bus.PublishBatch(ctx, outs) {
		if err != nil {
			failed[owner[j]] = true
			s.log.Warn("publishing filtered message failed; will retry", "err", err)
		}
	}
	var evs []sms.Event
	var done []*bus.Msg
	var seqs []uint64
	for i, r := range results {
		if r.retry || failed[i] {
			_ = r.in.Nak(backoff(r.in.Deliveries))
			continue
		}
		done = append(done, r.in)
		evs = append(evs, r.evs...)
		if r.erase {
			seqs = append(seqs, r.in.StreamSeq)
		}
	}
	// The result is durable on FILTERED. Raw texts with findings are
	// erased from INGRESS (their bytes overwritten: a work-queue ack only
	// marks a message deleted and leaves it in the block file); then
	// everything is acked.
	for _, err := range s.bus.SecureDelete(ctx, bus.StreamIngress, seqs) {
		if err != nil {
			s.log.Warn("erasing filtered ingress message failed", "err", err)
		}
	}
	for _, in := range done {
		_ = in.Ack()
	}
	emit(ctx, s.bus, evs...)
}

func idOf(m *sms.Message) sms.MessageID {
	if m == nil {
		return ""
	}
	return m.ID
}

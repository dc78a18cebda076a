package pipeline

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
	codec      *Codec
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

// WithheldBody replaces the text of a message the filter could not process.
const WithheldBody = "[withheld: the filter could not process this message]"

func (s *filterStage) stage() Stage {
	return Stage{Name: bus.ConsumerFilter, Stream: bus.StreamIngress, Outputs: []string{bus.StreamFiltered, bus.StreamEvents},
		Handle: s.handle, Batch: 256, MaxAckPending: 4096}
}

// handle filters each raw text. Raw texts with findings (or that could
// not be filtered) are erased from INGRESS once the result is durable on
// FILTERED: a work-queue ack only marks a message deleted and leaves its
// bytes in the block file.
func (s *filterStage) handle(ctx context.Context, batch []*bus.Msg) []Result {
	results := make([]Result, len(batch))
	for i, in := range batch {
		results[i] = s.filter(in)
	}
	return results
}

func (s *filterStage) filter(in *bus.Msg) Result {
	var r Result
	m, err := s.codec.DecodeIngress(in.Data)
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
	r.ID = idOf(m)
	if err != nil {
		if in.Deliveries < uint64(s.maxDeliver) {
			s.log.Warn("filter failed; will retry", "id", r.ID, "delivery", in.Deliveries, "err", err)
			return Result{Outcome: Retry, ID: r.ID}
		}
		s.log.Error("filter failed for good; message blocked and parked", "id", r.ID, "err", err)
		if m == nil || m.ID == "" {
			// Nothing to archive: not even an ID could be read.
			return Result{Outcome: Dead, Code: "undecodable", Erase: true}
		}
		// Archived blocked (body withheld), never sent; reported once.
		r.Erase = true
		m.Body, m.Verdict = WithheldBody, sms.VerdictBlocked
		m.Findings = []sms.Finding{{Type: "filter_error", Action: sms.ActionBlock}}
		r.Out = append(r.Out, DeadOut(bus.ConsumerFilter, m.ID, in, "filter_error"))
		r.Events = append(r.Events, Event(m.ID, sms.StatusDeadLetter, "filter_error"))
	}
	data, _ := json.Marshal(m)
	r.Out = append(r.Out, bus.Out{Subject: bus.SubjFiltered + string(m.Direction), MsgID: string(m.ID), Data: data})
	st := sms.StatusFiltered
	if m.Verdict == sms.VerdictBlocked {
		st = sms.StatusBlocked
	}
	r.Events = append(r.Events, Event(m.ID, st, string(m.Verdict)))
	for _, f := range m.Findings {
		r.Erase = r.Erase || f.Action != sms.ActionFlag
	}
	if len(m.Findings) > 0 {
		s.log.Info("filtered", "id", m.ID, "verdict", m.Verdict, "findings", len(m.Findings))
	}
	return r
}

func idOf(m *sms.Message) sms.MessageID {
	if m == nil {
		return ""
	}
	return m.ID
}

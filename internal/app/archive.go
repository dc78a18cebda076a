package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// archiveStage consumes FILTERED (redacted), writes batches of records as
// one segment object each at the next positions of the archive's Merkle
// log (archive_log.go), and only then publishes the messages to ARCHIVED,
// which is what delivery consumes (guarantee 2: nothing is transmitted
// unarchived).
//
// Exactly one record per message (guarantee 5): before a segment is
// written, each of its message IDs is mapped to the segment's key in the
// archive_ids bucket. A redelivered message whose mapped segment was
// written is not written again, only re-announced; one whose segment never
// got written (crash between the map and the put) has that segment's
// reservation sealed void and is written anew.
type archiveStage struct {
	bus        *bus.Bus
	alog       *archiveLog
	maxRecords int
	maxAge     time.Duration
	log        *slog.Logger
}

func (s *archiveStage) config() bus.StageConfig {
	return bus.StageConfig{
		Stream: bus.StreamFiltered, Durable: bus.ConsumerArchive,
		// Never give up on archiving: a store outage must hold messages
		// back, not drop them.
		MaxDeliver: -1,
		Batch:      s.maxRecords, MaxWait: s.maxAge, MaxAckPending: max(2*s.maxRecords, 4096),
	}
}

func (s *archiveStage) handle(ctx context.Context, batch []*bus.Msg) {
	now := time.Now().UTC()
	recs := make([]pendingRecord, 0, len(batch))
	msgs := make([]*sms.Message, 0, len(batch))
	for _, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil || m.ID == "" {
			s.log.Error("undecodable filtered message parked", "err", err)
			s.bus.Publish(ctx, deadOut("archive", "", in, "undecodable"))
			_ = in.Term()
			continue
		}
		m.ArchivedAt = now
		recs = append(recs, pendingRecord{in: in, dedupe: string(m.ID),
			rec: archive.Record{Kind: archive.KindMessage, ID: m.ID, Message: m, ArchivedAt: now}})
		msgs = append(msgs, m)
	}
	segs, _ := s.alog.archiveBatch(ctx, archive.SourceMessages, recs, now, func(key string, r *pendingRecord) {
		r.rec.Message.Segment = key
	}, nil)
	outs := make([]bus.Out, 0, len(msgs))
	var ins []*bus.Msg
	var archived []*sms.Message
	for i, m := range msgs {
		if segs[i] == "" {
			_ = recs[i].in.Nak(2 * time.Second)
			continue
		}
		if m.Segment != segs[i] {
			// Archived by an earlier delivery.
			m.Segment = segs[i]
			m.ArchivedAt = m.ID.Time() // not known exactly any more; the record has it
		}
		data, _ := json.Marshal(m)
		outs = append(outs, bus.Out{Subject: bus.SubjArchived + string(m.Direction), MsgID: string(m.ID), Data: data})
		ins, archived = append(ins, recs[i].in), append(archived, m)
	}
	errs := s.bus.PublishBatch(ctx, outs)
	var evs []sms.Event
	for i, in := range ins {
		if errs[i] != nil {
			_ = in.Nak(time.Second)
			continue
		}
		_ = in.Ack()
		evs = append(evs, event(archived[i].ID, sms.StatusArchived, ""))
	}
	emit(ctx, s.bus, evs...)
}

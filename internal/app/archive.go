package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/pipeline"
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

func (s *archiveStage) stage() pipeline.Stage {
	return pipeline.Stage{Name: bus.ConsumerArchive, Stream: bus.StreamFiltered, Outputs: []string{bus.StreamArchived, bus.StreamEvents},
		Handle: s.handle,
		// Never give up on archiving: a store outage must hold messages
		// back, not drop them.
		Batch: s.maxRecords, MaxWait: s.maxAge, MaxAckPending: max(2*s.maxRecords, 4096)}
}

func (s *archiveStage) handle(ctx context.Context, batch []*bus.Msg) []pipeline.Result {
	now := time.Now().UTC()
	res := make([]pipeline.Result, len(batch))
	recs := make([]pendingRecord, 0, len(batch))
	msgs := make([]*sms.Message, 0, len(batch))
	at := make([]int, 0, len(batch)) // recs[j] is batch[at[j]]
	for i, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil || m.ID == "" {
			s.log.Error("undecodable filtered message parked", "err", err)
			res[i] = pipeline.Result{Outcome: pipeline.Dead, Code: "undecodable"}
			continue
		}
		m.ArchivedAt = now
		recs = append(recs, pendingRecord{in: in, dedupe: string(m.ID),
			rec: archive.Record{Kind: archive.KindMessage, ID: m.ID, Message: m, ArchivedAt: now}})
		msgs, at = append(msgs, m), append(at, i)
	}
	segs, _ := s.alog.archiveBatch(ctx, archive.SourceMessages, recs, now, func(key string, r *pendingRecord) {
		r.rec.Message.Segment = key
	}, nil)
	for j, m := range msgs {
		i := at[j]
		if segs[j] == "" {
			// Not in the archive: never forwarded (guarantee 2).
			res[i] = pipeline.Result{Outcome: pipeline.Retry, Delay: 2 * time.Second, ID: m.ID}
			continue
		}
		if m.Segment != segs[j] {
			// Archived by an earlier delivery.
			m.Segment = segs[j]
			m.ArchivedAt = m.ID.Time() // not known exactly any more; the record has it
		}
		data, _ := json.Marshal(m)
		res[i] = pipeline.Result{ID: m.ID,
			Out:    []bus.Out{{Subject: bus.SubjArchived + string(m.Direction), MsgID: string(m.ID), Data: data}},
			Events: []sms.Event{pipeline.Event(m.ID, sms.StatusArchived, "")}}
	}
	return res
}

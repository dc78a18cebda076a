package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/archive/merklelog"
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
// written, each of its message ids is mapped to the segment's key in the
// archive_ids bucket, and every message is looked up there first —
// whatever its delivery count. A message can come back as a new one: after
// a kill -9 an INGRESS message whose ack had not reached the disk is
// filtered again, and FILTERED (a work queue) no longer remembers the id
// of a message it deleted, so the second copy has a new stream sequence.
// A message whose mapped segment was written is only re-announced; one
// whose segment never got written (crash between the map and the put) has
// that reservation sealed void and is written anew.
type archiveStage struct {
	alog       *merklelog.Log
	maxRecords int
	maxAge     time.Duration
	log        *slog.Logger
}

func (s *archiveStage) stage() Stage {
	return Stage{Name: bus.ConsumerArchive, Stream: bus.StreamFiltered, Outputs: []string{bus.StreamArchived, bus.StreamEvents},
		Handle: s.handle,
		// Never give up on archiving: a store outage must hold messages
		// back, not drop them.
		Batch: s.maxRecords, MaxWait: s.maxAge, MaxAckPending: max(2*s.maxRecords, 4096)}
}

func (s *archiveStage) handle(ctx context.Context, batch []*bus.Msg) []Result {
	now := time.Now().UTC()
	res := make([]Result, len(batch))
	recs := make([]merklelog.Pending, 0, len(batch))
	msgs := make([]*sms.Message, 0, len(batch))
	at := make([]int, 0, len(batch)) // recs[j] is batch[at[j]]
	for i, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil || m.ID == "" {
			s.log.Error("undecodable filtered message parked", "err", err)
			res[i] = Result{Outcome: Dead, Code: "undecodable"}
			continue
		}
		m.ArchivedAt = now
		recs = append(recs, merklelog.Pending{Seq: in.StreamSeq, Redelivered: true, Dedupe: string(m.ID),
			Rec: archive.Record{Kind: archive.KindMessage, ID: m.ID, Message: m, ArchivedAt: now}})
		msgs, at = append(msgs, m), append(at, i)
	}
	segs, _ := s.alog.Archive(ctx, archive.SourceMessages, recs, now, func(key string, r *merklelog.Pending) {
		r.Rec.Message.Segment = key
	}, nil)
	for j, m := range msgs {
		i := at[j]
		if segs[j] == "" {
			// Not in the archive: never forwarded (guarantee 2).
			res[i] = Result{Outcome: Retry, Delay: 2 * time.Second, ID: m.ID}
			continue
		}
		if m.Segment != segs[j] {
			// Archived by an earlier delivery.
			m.Segment = segs[j]
			m.ArchivedAt = m.ID.Time() // not known exactly any more; the record has it
		}
		data, _ := json.Marshal(m)
		res[i] = Result{ID: m.ID,
			Out:    []bus.Out{{Subject: bus.SubjArchived + string(m.Direction), MsgID: string(m.ID), Data: data}},
			Events: []sms.Event{Event(m.ID, sms.StatusArchived, "")}}
	}
	return res
}

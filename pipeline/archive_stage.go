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
// Exactly one record per message (guarantee 5): a segment's reservation in
// the archive log head keeps the FILTERED stream sequences of its messages
// until their acks are confirmed (then release drops them; a confirmed ack
// deletes the message from the work queue, so it cannot come back). A
// redelivered message found there in a written segment is not written
// again, only re-announced; one whose segment never got written (crash
// between the reservation and the put) has that reservation sealed void and
// is written anew. No KV write per message.
type archiveStage struct {
	alog       *merklelog.Log
	maxRecords int
	maxAge     time.Duration
	log        *slog.Logger
	written    string // the segment the last batch wrote (handle, then release)
}

func (s *archiveStage) stage() Stage {
	return Stage{Name: bus.ConsumerArchive, Stream: bus.StreamFiltered, Outputs: []string{bus.StreamArchived, bus.StreamEvents},
		Handle: s.handle, Acked: s.release,
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
	segs, written := s.alog.Archive(ctx, archive.SourceMessages, recs, now, func(key string, r *merklelog.Pending) {
		r.Rec.Message.Segment = key
	}, sameMessage)
	s.written = written
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

// sameMessage: the stored record is the message's record.
func sameMessage(stored, incoming *archive.Record) bool {
	return stored.Kind == archive.KindMessage && incoming.Kind == archive.KindMessage && stored.ID == incoming.ID
}

// release drops the FILTERED sequences kept in the archive log head for
// the segment just written, once the acks of its messages are confirmed:
// those messages are deleted from the work queue and cannot come back.
func (s *archiveStage) release(ctx context.Context) {
	written := s.written
	s.written = ""
	if written == "" {
		return
	}
	if err := s.alog.Release(ctx, written); err != nil {
		s.log.Warn("releasing archived segment failed; it stays in the archive log head until its TTL", "segment", written, "err", err)
	}
}

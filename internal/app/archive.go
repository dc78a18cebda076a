package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// archiveStage consumes FILTERED (redacted), writes batches of records as
// one segment object each, and only then publishes the messages to
// ARCHIVED, which is what delivery consumes (guarantee 2: nothing is
// transmitted unarchived).
//
// Exactly one record per message (guarantee 5): before a segment is
// written, each of its message IDs is mapped to the segment's key in the
// archive_ids bucket. A redelivered message whose mapped segment exists in
// the store is not written again, only re-announced; one whose segment
// never got written (crash between the map and the put) is written anew.
type archiveStage struct {
	bus        *bus.Bus
	store      archive.Store
	ids        *bus.KV
	retention  time.Duration
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
	msgs := make([]*sms.Message, 0, len(batch))
	ins := make([]*bus.Msg, 0, len(batch))
	var fresh []int // indexes into msgs that need writing
	for _, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil || m.ID == "" {
			s.log.Error("undecodable filtered message parked", "err", err)
			s.bus.Publish(ctx, deadOut("archive", "", in, "undecodable"))
			_ = in.Term()
			continue
		}
		if in.Deliveries > 1 {
			seg, ok, err := s.archivedIn(ctx, m.ID)
			if err != nil {
				s.log.Warn("checking archive for redelivered message failed; will retry", "id", m.ID, "err", err)
				_ = in.Nak(2 * time.Second)
				continue
			}
			if ok {
				m.Segment = seg
				m.ArchivedAt = m.ID.Time() // not known exactly any more; the record has it
				msgs, ins = append(msgs, m), append(ins, in)
				continue
			}
		}
		m.ArchivedAt = now
		fresh = append(fresh, len(msgs))
		msgs, ins = append(msgs, m), append(ins, in)
	}
	if len(fresh) > 0 {
		key := archive.NewSegmentKey(now)
		recs := make([]archive.Record, len(fresh))
		keys := make([]string, len(fresh))
		vals := make([][]byte, len(fresh))
		for i, j := range fresh {
			m := msgs[j]
			m.Segment = key
			recs[i] = archive.Record{Kind: "message", ID: m.ID, Message: m, ArchivedAt: now}
			keys[i], vals[i] = string(m.ID), []byte(key)
		}
		if err := s.write(ctx, key, recs, keys, vals, now); err != nil {
			s.log.Warn("writing archive segment failed; will retry", "segment", key, "records", len(recs), "err", err)
			for _, in := range ins {
				_ = in.Nak(2 * time.Second)
			}
			return
		}
		s.log.Debug("segment written", "segment", key, "records", len(recs))
	}
	outs := make([]bus.Out, 0, 2*len(msgs))
	for _, m := range msgs {
		data, _ := json.Marshal(m)
		outs = append(outs, bus.Out{Subject: bus.SubjArchived + string(m.Direction), MsgID: string(m.ID), Data: data})
	}
	errs := s.bus.PublishBatch(ctx, outs)
	var evs []sms.Event
	for i, in := range ins {
		if errs[i] != nil {
			_ = in.Nak(time.Second)
			continue
		}
		_ = in.Ack()
		evs = append(evs, event(msgs[i].ID, sms.StatusArchived, ""))
	}
	emit(ctx, s.bus, evs...)
}

func (s *archiveStage) write(ctx context.Context, key string, recs []archive.Record, keys []string, vals [][]byte, now time.Time) error {
	for _, err := range s.ids.PutBatch(ctx, keys, vals) {
		if err != nil {
			return err
		}
	}
	data, err := archive.EncodeSegment(key, recs, now, now.Add(s.retention))
	if err != nil {
		return err
	}
	_, err = s.store.Put(ctx, key, data, now.Add(s.retention))
	return err
}

// archivedIn reports the segment already holding id's record, if any. An
// error means it cannot tell (store or KV down): the caller must not write.
func (s *archiveStage) archivedIn(ctx context.Context, id sms.MessageID) (string, bool, error) {
	e, err := s.ids.Get(ctx, string(id))
	if sms.KindOf(err) == sms.NotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	seg := string(e.Value)
	if _, err := s.store.Stat(ctx, seg); errors.Is(err, archive.ErrNotFound) {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	return seg, true, nil
}

package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/archive/merklelog"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/kv"
	"github.com/smsgw/smsgw/sms"
)

// recordStage archives the records of a stream that needs nothing else
// done with them: EVENTS (status, directory and routing events) and
// JOURNAL (audit and number-assignment entries). Each batch becomes one
// segment in the Merkle log and the stream messages are acked once it is
// written. Records are archived once: journal entries through their id in
// archive_ids, as messages; events — five or more per message, too many
// for a KV write each — through their stream sequences kept in the
// segment's head entry until the acks are sent (see archiveBatch).
type recordStage struct {
	alog       *merklelog.Log
	stream     string
	durable    string
	source     string
	maxRecords int
	maxAge     time.Duration
	// decode turns a stream message into its record and dedupe key.
	decode func(in *bus.Msg, now time.Time) (archive.Record, string, error)
	// sameRecord, if set, recognises redelivered records by stream
	// sequence (see archiveLog.archiveBatch).
	sameRecord func(stored, incoming *archive.Record) bool
	log        *slog.Logger
	written    string // the segment the last batch wrote (handle and release run one after the other)
}

func (s *recordStage) stage() Stage {
	st := Stage{Name: s.durable, Stream: s.stream, Handle: s.handle,
		Batch: s.maxRecords, MaxWait: s.maxAge, MaxAckPending: max(2*s.maxRecords, 4096)}
	if s.sameRecord != nil {
		st.Acked = s.release
	}
	return st
}

func (s *recordStage) handle(ctx context.Context, batch []*bus.Msg) []Result {
	now := time.Now().UTC()
	res := make([]Result, len(batch))
	recs := make([]merklelog.Pending, 0, len(batch))
	at := make([]int, 0, len(batch))
	for i, in := range batch {
		rec, key, err := s.decode(in, now)
		if err != nil {
			// Not archivable as a record: report, never loop on it.
			s.log.Error("undecodable record not archived", "stream", s.stream, "subject", in.Subject, "err", err)
			res[i] = Result{Outcome: Dead, Code: "undecodable"}
			continue
		}
		recs, at = append(recs, merklelog.Pending{Seq: in.StreamSeq, Redelivered: true, Rec: rec, Dedupe: key}), append(at, i)
	}
	segs, written := s.alog.Archive(ctx, s.source, recs, now, nil, s.sameRecord)
	s.written = written
	for j, seg := range segs {
		if seg == "" {
			res[at[j]] = Result{Outcome: Retry, Delay: 2 * time.Second}
		}
	}
	return res
}

// release drops the stream sequences kept in the archive log head for the
// segment just written, once the server has confirmed the acks of its
// records: from then on they cannot be redelivered.
func (s *recordStage) release(ctx context.Context) {
	written := s.written
	s.written = ""
	if written == "" {
		return
	}
	if err := s.alog.Release(ctx, written); err != nil {
		s.log.Warn("releasing archived segment failed; it stays in the archive log head until its TTL", "segment", written, "err", err)
	}
}

func eventArchiveStage(d Deps) *recordStage {
	return &recordStage{alog: d.Log, stream: bus.StreamEvents, durable: bus.ConsumerArchiveEvents, source: archive.SourceEvents,
		maxRecords: d.SegmentMaxRecords, maxAge: max(d.SegmentMaxAge, time.Second),
		decode: decodeEventRecord, sameRecord: sameEvent, log: d.Logger.With("stage", bus.ConsumerArchiveEvents)}
}

func journalArchiveStage(d Deps) *recordStage {
	return &recordStage{alog: d.Log, stream: bus.StreamJournal, durable: bus.ConsumerArchiveJournal, source: archive.SourceJournal,
		maxRecords: d.SegmentMaxRecords, maxAge: d.SegmentMaxAge,
		decode: decodeJournalRecord, log: d.Logger.With("stage", bus.ConsumerArchiveJournal)}
}

// sameEvent: the stored record holds the same event.
func sameEvent(stored, incoming *archive.Record) bool {
	if stored.Kind != archive.KindEvent || stored.Event == nil || incoming.Event == nil {
		return false
	}
	a, _ := json.Marshal(stored.Event)
	b, _ := json.Marshal(incoming.Event)
	return bytes.Equal(a, b)
}

// decodeEventRecord: an event's dedupe key within a batch is its id (the
// same event twice in one batch is one record); events published before
// events had ids fall back to the hash of their bytes.
func decodeEventRecord(in *bus.Msg, now time.Time) (archive.Record, string, error) {
	var e sms.Event
	if err := json.Unmarshal(in.Data, &e); err != nil {
		return archive.Record{}, "", fmt.Errorf("decoding event: %w", err)
	}
	key := "ev." + e.ID
	if e.ID == "" {
		sum := sha256.Sum256(in.Data)
		key = "ev." + hex.EncodeToString(sum[:16])
	}
	return archive.Record{Kind: archive.KindEvent, ID: e.MessageID, Event: &e, ArchivedAt: now}, key, nil
}

func decodeJournalRecord(in *bus.Msg, now time.Time) (archive.Record, string, error) {
	var e archive.AuditEntry
	if err := json.Unmarshal(in.Data, &e); err != nil || e.ID == "" {
		return archive.Record{}, "", fmt.Errorf("decoding journal entry: %v", err)
	}
	return archive.Record{Kind: archive.KindAudit, ID: sms.MessageID(e.ID), Audit: &e, ArchivedAt: now}, "jr." + e.ID, nil
}

// Journal appends audit and number-assignment entries to the archive's
// Merkle log: Append returns once the entry is durable on JOURNAL; the
// archive-journal stage writes it into a segment shortly after, once per
// id however often it is appended. Get one from App.Journal; components
// that append define their own one-method interface.
type Journal struct {
	bus *bus.Bus
}

// NewJournal returns the journal that appends to JOURNAL on b.
func NewJournal(b *bus.Bus) *Journal { return &Journal{bus: b} }

// Append records e and returns its id. ID (a ULID) and At are filled in
// when empty; Type defaults to archive.AuditAction. An entry must never
// carry a message body or a secret.
func (j *Journal) Append(ctx context.Context, e archive.AuditEntry) (string, error) {
	now := time.Now().UTC()
	if e.ID == "" {
		e.ID = sms.NewULID(now)
	}
	if e.At.IsZero() {
		e.At = now
	}
	if e.Type == "" {
		e.Type = archive.AuditAction
	}
	switch {
	case e.Type != archive.AuditAction && e.Type != archive.AuditAssignment:
		return "", sms.Errorf(sms.Invalid, "bad_audit_entry", "audit entry type %q (want %s or %s)", e.Type, archive.AuditAction, archive.AuditAssignment)
	case e.Action == "" || e.Actor == "":
		return "", sms.Errorf(sms.Invalid, "bad_audit_entry", "an audit entry needs an actor and an action")
	case !kv.ValidToken(e.ID):
		return "", sms.Errorf(sms.Invalid, "bad_audit_entry", "audit entry id %q: letters, digits, '-' and '_' only", e.ID)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	if err := j.bus.Publish(ctx, bus.Out{Subject: bus.SubjJournal + e.Type, MsgID: "journal." + e.ID, Data: data}); err != nil {
		return "", fmt.Errorf("appending audit entry %s: %w", e.ID, err)
	}
	return e.ID, nil
}

package merklelog

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/kv"
	"github.com/smsgw/smsgw/sms"
)

// Log is this node's part in the archive's one global Merkle log.
// Every archived record — message, event, audit entry — has a log index;
// a segment holds a consecutive range of them and says so in its header,
// so the log is the concatenation of the segments in index order.
//
// Log positions are handed out through the "head" record of the
// archive_log bucket, changed only by revision compare-and-set:
//
//	head = {next, segments: [{key, first, count, state, ...}]}
//
// A writer (1) reserves [next, next+count) for a new segment key K
// (state open); (2) maps every record's dedupe key to K in archive_ids;
// (3) PUTs K put-if-absent with its range in the header — on errors it
// retries the same bytes under the same key, so a rewrite reuses the
// reserved range; (4) marks K written.
//
// A crash or a give-up between (1) and (3) leaves K open. Whoever next
// has to decide about K — a redelivered record mapped to K, or the
// checkpointer once K has been open for sealAfter — seals it: it PUTs a
// void segment for K's range under the same key K, put-if-absent. Exactly
// one of the data segment and the void lands (a late PUT from a slow
// writer finds the key taken and reads what is there). A record whose
// reservation was voided is written again under a new reservation. So a
// reserved range always ends up holding its records or an explicit void
// placeholder that verify reports: never a silent gap, never a record
// twice.
//
// The checkpointer (checkpoint.go) folds written and void segments
// into the tree in index order ("tree" record), drops them from head, and
// signs checkpoints.
type Log struct {
	store archive.Store
	state kv.Bucket // archive_log
	ids   interface {
		kv.Bucket
		PutBatch(ctx context.Context, keys []string, vals [][]byte) []error
	} // archive_ids: record dedupe key -> segment key
	signer    *archive.Signer
	retention time.Duration    // default retention; see policy
	policy    *RetentionPolicy // retention classes; nil: retention for everything
	node      string
	log       *slog.Logger

	// putTimeout bounds a writer's attempts to PUT its segment; sealAfter
	// is how long a reservation may stay open before the checkpointer
	// seals it (well above putTimeout, so a live writer is never raced
	// in practice — put-if-absent keeps it safe if it is).
	putTimeout time.Duration
	sealAfter  time.Duration
	// interval and heartbeat: see config.Archive.
	interval, heartbeat time.Duration
	// tick is how often the checkpointer folds segments into the tree.
	tick time.Duration
	// releaseGrace: see logEntry.Released.
	releaseGrace time.Duration
}

// Segment states in head.
const (
	segOpen    = "open"
	segWritten = "written"
	segVoid    = "void"
)

// maxHeadSegments bounds head: beyond it the tree is not advancing (the
// checkpointer is stalled, see its errors) and reservations are refused,
// which holds messages back rather than archiving them where no checkpoint
// will cover them.
const maxHeadSegments = 2000

const headKey, treeKey = "head", "tree"

type logEntry struct {
	Key     string    `json:"key"`
	First   int64     `json:"first"`
	Count   int       `json:"count"`
	Source  string    `json:"source"`
	State   string    `json:"state"`
	At      time.Time `json:"at"` // reserved at
	Node    string    `json:"node,omitempty"`
	Version string    `json:"version,omitempty"` // object version written (S3)
	// Seqs are the stream sequences of the records, as ranges in record
	// order, for stages that find redelivered records by sequence (events)
	// instead of a KV entry per record; Pending says their stream messages
	// may not be acked yet. A pending entry stays in head after it is
	// folded into the tree, until the stage released it or pendingTTL.
	Seqs    [][2]uint64 `json:"seqs,omitempty"`
	Pending bool        `json:"pending,omitempty"`
	// Released is when the stage said its acks were confirmed. The entry
	// is still kept for releaseGrace: the server confirms an ack once it
	// holds it in memory and writes consumer state a little later, so a
	// kill -9 right after may hand the records out once more.
	Released time.Time `json:"released,omitzero"`
}

// defaultReleaseGrace: how long a released entry still recognises
// redelivered records (well above the server's consumer-state write delay).
const defaultReleaseGrace = time.Minute

// pendingTTL: how long a segment whose acks may have been lost is kept in
// head to recognise its redelivered records.
const pendingTTL = 7 * 24 * time.Hour

type logHead struct {
	Next     int64      `json:"next"`
	Segments []logEntry `json:"segments"`
}

type logTree struct {
	Tree       archive.Tree `json:"tree"`
	Started    time.Time    `json:"started"` // when the log began: the first interval counts from here
	SignedSize int64        `json:"signed_size"`
	SignedAt   time.Time    `json:"signed_at"`
	SignedKey  string       `json:"signed_key,omitempty"`
}

// errVoided: the segment's reservation was sealed void before its PUT
// landed; its records are not archived and must be written again.
var errVoided = errors.New("archive segment reservation was voided before it was written")

// Config is how the log writes and signs.
type Config struct {
	Node string // this node's name, recorded with its reservations
	// Retention is the default lock period of a segment (the policy's
	// classes may lengthen it per record).
	Retention time.Duration
	// Interval is how often a checkpoint is signed while records arrive
	// (1s to 60s); Heartbeat how often when idle (Interval to 24h).
	Interval, Heartbeat time.Duration
}

// Buckets are where the log keeps its state: State holds "head" and
// "tree"; IDs maps journal entry ids to the segment holding them.
type Buckets struct {
	State kv.Bucket
	IDs   interface {
		kv.Bucket
		PutBatch(ctx context.Context, keys []string, vals [][]byte) []error
	}
}

// Open returns the log writer for store st, signing checkpoints with
// signer. policy may be nil (Retention for everything).
func Open(cfg Config, st archive.Store, b Buckets, signer *archive.Signer, policy *RetentionPolicy, log *slog.Logger) (*Log, error) {
	if cfg.Interval < time.Second || cfg.Interval > time.Minute {
		return nil, sms.Errorf(sms.Invalid, "bad_config", "archive.checkpoint_interval: must be between 1s and 60s (got %s)", cfg.Interval)
	}
	if cfg.Heartbeat < cfg.Interval || cfg.Heartbeat > 24*time.Hour {
		return nil, sms.Errorf(sms.Invalid, "bad_config", "archive.checkpoint_heartbeat: must be between archive.checkpoint_interval and 24h (got %s)", cfg.Heartbeat)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Log{
		store: st, state: b.State, ids: b.IDs, signer: signer, policy: policy,
		retention: cfg.Retention, node: cfg.Node, log: log.With("component", "archive-log"),
		putTimeout: 30 * time.Second, sealAfter: 3 * time.Minute,
		interval: cfg.Interval, heartbeat: cfg.Heartbeat,
		tick: min(time.Second, cfg.Interval/2), releaseGrace: defaultReleaseGrace,
	}, nil
}

// Signer is the key the log signs its checkpoints with.
func (l *Log) Signer() *archive.Signer { return l.signer }

// getJSON reads key into v; rev 0 when absent.
func (l *Log) getJSON(ctx context.Context, key string, v any) (uint64, error) {
	e, err := l.state.Get(ctx, key)
	if sms.KindOf(err) == sms.NotFound {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return 0, fmt.Errorf("decoding archive log %s: %w", key, err)
	}
	return e.Revision, nil
}

// putJSON writes key if its revision is still rev (0: if absent).
func (l *Log) putJSON(ctx context.Context, key string, v any, rev uint64) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = l.state.Create(ctx, key, data)
	} else {
		_, err = l.state.Update(ctx, key, data, rev)
	}
	return err
}

// update applies f to a record under compare-and-set, retrying on
// conflicts. f may return errNoChange to leave the record as it is.
func (l *Log) update(ctx context.Context, key string, fresh func() any, f func(v any) error) error {
	for attempt := 0; ; attempt++ {
		v := fresh()
		rev, err := l.getJSON(ctx, key, v)
		if err != nil {
			return err
		}
		if err := f(v); errors.Is(err, errNoChange) {
			return nil
		} else if err != nil {
			return err
		}
		err = l.putJSON(ctx, key, v, rev)
		if sms.KindOf(err) != sms.Conflict {
			return err
		}
		if attempt == 200 {
			return fmt.Errorf("updating archive log %s: too much contention", key)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(rand.IntN(1+min(attempt, 20))) * time.Millisecond):
		}
	}
}

var errNoChange = errors.New("no change")

func (l *Log) updateHead(ctx context.Context, f func(h *logHead) error) error {
	return l.update(ctx, headKey, func() any { return &logHead{} }, func(v any) error { return f(v.(*logHead)) })
}

// reserve takes the next count log positions for segment key.
func (l *Log) reserve(ctx context.Context, key, source string, count int, at time.Time, seqs [][2]uint64) (logEntry, error) {
	var e logEntry
	err := l.updateHead(ctx, func(h *logHead) error {
		if len(h.Segments) >= maxHeadSegments {
			return sms.Errorf(sms.Unavailable, "archive_log_stalled",
				"archive log: %d segments are waiting to be folded into the tree; the checkpointer is stalled (see its errors)", len(h.Segments))
		}
		e = logEntry{Key: key, First: h.Next, Count: count, Source: source, State: segOpen, At: at.UTC(), Node: l.node, Seqs: seqs, Pending: len(seqs) > 0}
		h.Next += int64(count)
		h.Segments = append(h.Segments, e)
		return nil
	})
	if err != nil {
		return logEntry{}, fmt.Errorf("reserving archive log positions: %w", err)
	}
	return e, nil
}

// release marks a segment's stream messages acked: its entry may leave
// head once folded into the tree.
func (l *Log) Release(ctx context.Context, key string) error {
	return l.updateHead(ctx, func(h *logHead) error {
		for i := range h.Segments {
			if s := &h.Segments[i]; s.Key == key && s.Pending && s.Released.IsZero() {
				s.Released = time.Now().UTC()
				return nil
			}
		}
		return errNoChange
	})
}

// finish records the outcome of an open segment.
func (l *Log) finish(ctx context.Context, key, state, version string) error {
	return l.updateHead(ctx, func(h *logHead) error {
		for i := range h.Segments {
			if s := &h.Segments[i]; s.Key == key {
				if s.State != segOpen {
					return errNoChange
				}
				s.State, s.Version = state, version
				return nil
			}
		}
		return errNoChange
	})
}

// entry finds key in head.
func (l *Log) entry(ctx context.Context, key string) (logEntry, bool, error) {
	var h logHead
	if _, err := l.getJSON(ctx, headKey, &h); err != nil {
		return logEntry{}, false, err
	}
	for _, s := range h.Segments {
		if s.Key == key {
			return s, true, nil
		}
	}
	return logEntry{}, false, nil
}

// write archives recs as one segment under key: reserve, map (dedupe keys
// to archive_ids, when given; seqs go into the reservation), put, confirm.
// nil means every record is archived in key; an error means none is (the
// reservation is sealed void, now or later by someone else).
func (l *Log) write(ctx context.Context, key, source string, recs []archive.Record, dedupe []string, seqs [][2]uint64, now time.Time) error {
	e, err := l.reserve(ctx, key, source, len(recs), now, seqs)
	if err != nil {
		return err
	}
	until := now.Add(l.retentionOf(ctx, recs))
	vals := make([][]byte, len(dedupe))
	for i := range vals {
		vals[i] = []byte(key)
	}
	for _, err := range l.ids.PutBatch(ctx, dedupe, vals) {
		if err != nil {
			l.giveUp(ctx, e, "the writer could not record which segment holds its records")
			return fmt.Errorf("mapping records to %s: %w", key, err)
		}
	}
	data, _, err := archive.EncodeLogSegment(archive.SegmentInfo{Key: key, First: e.First, Source: source, Created: now, RetainUntil: until}, recs)
	if err != nil {
		l.giveUp(ctx, e, "the writer could not encode the segment")
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, l.putTimeout)
	defer cancel()
	var putErr error
	for attempt := 0; ; attempt++ {
		var oi archive.ObjectInfo
		oi, putErr = l.store.Put(pctx, key, data, until)
		if putErr == nil {
			if err := l.finish(ctx, key, segWritten, oi.VersionID); err != nil {
				// The segment is written; the checkpointer finds it when it
				// seals the still-open entry and marks it written.
				l.log.Warn("marking archive segment written failed; the checkpointer will", "segment", key, "err", err)
			}
			return nil
		}
		if errors.Is(putErr, archive.ErrExists) {
			// An earlier attempt landed after all, or someone sealed the
			// reservation: read what holds the key.
			state, version, err := l.holder(ctx, e)
			if err != nil {
				return err
			}
			_ = l.finish(ctx, key, state, version)
			if state == segVoid {
				return errVoided
			}
			return nil
		}
		l.log.Warn("writing archive segment failed; retrying the same segment", "segment", key, "first", e.First, "records", len(recs), "attempt", attempt+1, "err", putErr)
		select {
		case <-pctx.Done():
			if l.giveUp(ctx, e, "the writer gave up after "+l.putTimeout.String()) == segWritten {
				return nil // a PUT that seemed to fail had landed
			}
			return fmt.Errorf("writing segment %s: %w", key, putErr)
		case <-time.After(min(time.Duration(100<<min(attempt, 6))*time.Millisecond, 5*time.Second)):
		}
	}
}

// giveUp seals a reservation its writer abandons, best effort: if the
// store is down this fails too and the reservation is sealed later.
// It returns what holds the key now ("" when unknown).
func (l *Log) giveUp(ctx context.Context, e logEntry, reason string) string {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	state, err := l.seal(sctx, e, reason)
	if err != nil {
		l.log.Warn("sealing an abandoned archive reservation failed; it will be sealed later", "segment", e.Key, "first", e.First, "err", err)
	}
	return state
}

// seal settles an open reservation: it PUTs a void segment for e's range
// under e's key, put-if-absent, and records what now holds the key
// (segWritten when the data segment got there first).
func (l *Log) seal(ctx context.Context, e logEntry, reason string) (string, error) {
	now := time.Now().UTC()
	recs := archive.VoidRecords(e.First, e.Count, reason, now)
	data, _, err := archive.EncodeLogSegment(archive.SegmentInfo{Key: e.Key, First: e.First, Source: e.Source, Void: reason,
		Created: now, RetainUntil: now.Add(l.longestRetention())}, recs)
	if err != nil {
		return "", err
	}
	state, version := segVoid, ""
	oi, err := l.store.Put(ctx, e.Key, data, now.Add(l.longestRetention()))
	switch {
	case errors.Is(err, archive.ErrExists):
		if state, version, err = l.holder(ctx, e); err != nil {
			return "", err
		}
	case err != nil:
		return "", fmt.Errorf("sealing %s: %w", e.Key, err)
	default:
		version = oi.VersionID
		l.log.Warn("archive reservation sealed void", "segment", e.Key, "first", e.First, "count", e.Count, "reason", reason)
	}
	if err := l.finish(ctx, e.Key, state, version); err != nil {
		return "", err
	}
	return state, nil
}

// holder reads the object under e's key (its original version) and says
// whether it is the data segment or a void.
func (l *Log) holder(ctx context.Context, e logEntry) (state, version string, err error) {
	data, version, err := readOriginal(ctx, l.store, e.Key)
	if err != nil {
		return "", "", fmt.Errorf("reading %s: %w", e.Key, err)
	}
	info, err := archive.ReadSegmentInfo(data)
	if err != nil {
		return "", "", fmt.Errorf("reading %s: %w", e.Key, err)
	}
	if info.First != e.First || info.Count != e.Count {
		return "", "", sms.Errorf(sms.Permanent, "archive_log_corrupt", "segment %s holds log indexes [%d, %d), its reservation [%d, %d)",
			e.Key, info.First, info.First+int64(info.Count), e.First, e.First+int64(e.Count))
	}
	if info.Void != "" {
		return segVoid, version, nil
	}
	return segWritten, version, nil
}

// readOriginal reads key's first version (the one written put-if-absent
// and locked) on a versioned store, the object otherwise.
func readOriginal(ctx context.Context, st archive.Store, key string) ([]byte, string, error) {
	vst, ok := st.(archive.VersionedStore)
	if !ok {
		data, _, err := st.Get(ctx, key)
		return data, "", err
	}
	var first string
	err := vst.ListVersions(ctx, key, func(ov archive.ObjectVersion) error {
		if ov.Key == key && !ov.DeleteMarker && first == "" {
			first = ov.VersionID
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if first == "" {
		return nil, "", archive.ErrNotFound
	}
	data, err := vst.GetVersion(ctx, key, first)
	return data, first, err
}

// archivedIn reports the segment holding the record with this dedupe key,
// if one does. An open reservation is sealed first, so that the answer
// stays true: after "not archived" no late PUT can archive it after all.
// An error means it cannot tell; the caller must not write.
//
// known caches, per batch, what each segment key turned out to hold (true:
// its records are archived), so that a redelivered batch of many records
// of one segment costs one look each at head and the store.
func (l *Log) archivedIn(ctx context.Context, dedupe string, known map[string]bool, mapped map[string]lookup) (string, bool, error) {
	m, ok := mapped[dedupe]
	if !ok {
		m.key, m.err = l.mappedSegment(ctx, dedupe)
	}
	if m.err != nil {
		return "", false, m.err
	}
	if m.key == "" {
		return "", false, nil
	}
	key := m.key
	if ok, seen := known[key]; seen {
		return key, ok, nil
	}
	ok, err := l.segmentHolds(ctx, key)
	if err != nil {
		return "", false, err
	}
	known[key] = ok
	return key, ok, nil
}

type lookup struct {
	key string
	err error
}

// mappedSegment is the segment key dedupe is mapped to ("" for none).
func (l *Log) mappedSegment(ctx context.Context, dedupe string) (string, error) {
	ent, err := l.ids.Get(ctx, dedupe)
	if sms.KindOf(err) == sms.NotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(ent.Value), nil
}

// lookupMapped looks the dedupe keys of a batch up in the IDs bucket, 32 at
// a time: every record of a stream is checked (see Pending.Redelivered), so
// the lookups must not add up one after the other.
func (l *Log) lookupMapped(ctx context.Context, keys []string) map[string]lookup {
	out := make(map[string]lookup, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			key, err := l.mappedSegment(ctx, k)
			mu.Lock()
			out[k] = lookup{key, err}
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// segmentHolds reports whether segment key holds its records (written) or
// not (void), sealing it first if its reservation is still open.
func (l *Log) segmentHolds(ctx context.Context, key string) (bool, error) {
	e, found, err := l.entry(ctx, key)
	if err != nil {
		return false, err
	}
	if found {
		state := e.State
		if state == segOpen {
			if state, err = l.seal(ctx, e, "a record of the segment was redelivered before the segment was written (writer crashed or gave up)"); err != nil {
				return false, err
			}
		}
		return state == segWritten, nil
	}
	// Folded into the tree long ago: the store says what it is.
	data, _, err := readOriginal(ctx, l.store, key)
	if errors.Is(err, archive.ErrNotFound) {
		// Reservations are made before records are mapped, and leave head
		// only once written or void: this cannot happen unless the store
		// lost the object. Writing the record again is the safe side.
		l.log.Error("archive segment a record was mapped to is missing from the store", "segment", key)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	info, err := archive.ReadSegmentInfo(data)
	if err != nil {
		return false, err
	}
	return info.Void == "", nil
}

// Pending is one record a stage wants archived.
type Pending struct {
	// Rec is the record; Dedupe its key among the batch (and, without a
	// sameRecord function, in the IDs bucket).
	Rec    archive.Record
	Dedupe string
	// Seq is the record's stream sequence; Redelivered says it may be
	// archived already. Stream stages set it always: after a crash the
	// server may hand a message out again with a delivery count of 1 (its
	// consumer state is persisted lazily), so the count cannot be trusted
	// to say "first time". The check costs one head read per batch.
	Seq         uint64
	Redelivered bool
}

// archiveBatch archives the records of a batch exactly once: duplicates in
// the batch and redelivered records already archived are skipped, the rest
// go into one new segment. It returns, per record, the segment key
// holding it ("" when it could not be archived now: nak it), and the key of
// the segment it wrote ("" for none).
//
// Redelivered records are recognised by their dedupe key in archive_ids,
// or — when sameRecord is given (events: five per message, too many for a
// KV entry each) — by their stream sequence in the pending segments of
// head, confirmed by comparing the stored record with sameRecord.
func (l *Log) Archive(ctx context.Context, source string, recs []Pending, now time.Time,
	prepare func(key string, r *Pending), sameRecord func(stored, incoming *archive.Record) bool) ([]string, string) {
	out := make([]string, len(recs))
	first := map[string]int{}
	known := map[string]bool{}
	seqc := &seqCache{segs: map[string]*archive.Segment{}}
	var mapped map[string]lookup
	if sameRecord == nil {
		var keys []string
		for _, r := range recs {
			if r.Redelivered {
				keys = append(keys, r.Dedupe)
			}
		}
		mapped = l.lookupMapped(ctx, keys)
	}
	var fresh []int
	var dups [][2]int
	for i := range recs {
		r := &recs[i]
		if j, ok := first[r.Dedupe]; ok {
			dups = append(dups, [2]int{i, j})
			continue
		}
		first[r.Dedupe] = i
		if r.Redelivered {
			var seg string
			var ok bool
			var err error
			if sameRecord != nil {
				seg, ok, err = l.archivedBySeq(ctx, source, r, seqc, sameRecord)
			} else {
				seg, ok, err = l.archivedIn(ctx, r.Dedupe, known, mapped)
			}
			if err != nil {
				l.log.Warn("checking the archive for a redelivered record failed; will retry", "source", source, "id", r.Rec.ID, "err", err)
				continue
			}
			if ok {
				out[i] = seg
				continue
			}
		}
		fresh = append(fresh, i)
	}
	written := ""
	if len(fresh) > 0 {
		key := archive.NewSegmentKey(now)
		batch := make([]archive.Record, len(fresh))
		var dedupe []string
		var seqs [][2]uint64
		for k, i := range fresh {
			if prepare != nil {
				prepare(key, &recs[i])
			}
			batch[k] = recs[i].Rec
			if sameRecord == nil {
				dedupe = append(dedupe, recs[i].Dedupe)
				continue
			}
			seq := recs[i].Seq
			if n := len(seqs); n > 0 && seqs[n-1][1]+1 == seq {
				seqs[n-1][1] = seq
			} else {
				seqs = append(seqs, [2]uint64{seq, seq})
			}
		}
		if err := l.write(ctx, key, source, batch, dedupe, seqs, now); err != nil {
			l.log.Warn("writing archive segment failed; will retry", "source", source, "segment", key, "records", len(batch), "err", err)
		} else {
			for _, i := range fresh {
				out[i] = key
			}
			written = key
			l.log.Debug("segment written", "source", source, "segment", key, "records", len(batch))
		}
	}
	for _, d := range dups {
		out[d[0]] = out[d[1]]
	}
	return out, written
}

// seqCache holds, for one batch, head and the segments read while
// recognising redelivered records by stream sequence.
type seqCache struct {
	head *logHead
	segs map[string]*archive.Segment
}

// archivedBySeq finds a redelivered record by its stream sequence among
// head's pending segments of source. Open segments are sealed first; a
// written one counts only if the record stored at that position is the
// same record (a stream recreated since reuses sequences).
func (l *Log) archivedBySeq(ctx context.Context, source string, r *Pending, c *seqCache, same func(stored, incoming *archive.Record) bool) (string, bool, error) {
	if c.head == nil {
		c.head = &logHead{}
		if _, err := l.getJSON(ctx, headKey, c.head); err != nil {
			c.head = nil
			return "", false, err
		}
	}
	for i := range c.head.Segments {
		e := &c.head.Segments[i]
		if e.Source != source {
			continue
		}
		idx := seqIndex(e.Seqs, r.Seq)
		if idx < 0 {
			continue
		}
		if e.State == segOpen {
			state, err := l.seal(ctx, *e, "a record of the segment was redelivered before the segment was written (writer crashed or gave up)")
			if err != nil {
				return "", false, err
			}
			e.State = state
		}
		if e.State != segWritten {
			continue
		}
		seg := c.segs[e.Key]
		if seg == nil {
			data, _, err := readOriginal(ctx, l.store, e.Key)
			if err != nil {
				return "", false, err
			}
			if seg, err = archive.DecodeSegment(data); err != nil {
				return "", false, err
			}
			c.segs[e.Key] = seg
		}
		if idx < len(seg.Records) && same(&seg.Records[idx], &r.Rec) {
			return e.Key, true, nil
		}
	}
	return "", false, nil
}

// seqIndex is the position of seq in ranges laid out in record order, or -1.
func seqIndex(ranges [][2]uint64, seq uint64) int {
	off := 0
	for _, rg := range ranges {
		if seq >= rg[0] && seq <= rg[1] {
			return off + int(seq-rg[0])
		}
		off += int(rg[1]-rg[0]) + 1
	}
	return -1
}

// sortedSegments returns head's segments in log order.
func sortedSegments(h logHead) []logEntry {
	s := slices.Clone(h.Segments)
	slices.SortFunc(s, func(a, b logEntry) int { return cmp.Compare(a.First, b.First) })
	return s
}

// retentionOf is how long a segment of recs is locked (and sets each
// message record's retention class).
func (l *Log) retentionOf(ctx context.Context, recs []archive.Record) time.Duration {
	if l.policy == nil {
		return l.retention
	}
	return l.policy.of(ctx, recs)
}

// longestRetention is what the log's own objects (void segments,
// checkpoints) are locked for: as long as any record they speak for.
func (l *Log) longestRetention() time.Duration {
	if l.policy == nil {
		return l.retention
	}
	return l.policy.longest
}

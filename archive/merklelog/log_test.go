package merklelog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/sms"
)

func testArchiveLog(t *testing.T, st archive.Store) *Log {
	t.Helper()
	b := testenv.OpenBus(t)
	file := filepath.Join(t.TempDir(), "signing.key")
	if _, err := archive.WriteKeyFile(file, "smsgw-archive"); err != nil {
		t.Fatal(err)
	}
	signer, err := archive.LoadSigner(file)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(Config{Node: "t", Retention: 2557 * 24 * time.Hour, Interval: time.Second, Heartbeat: 2 * time.Second},
		st, Buckets{State: b.KV(bus.BucketArchiveLog), IDs: b.KV(bus.BucketArchiveIDs)}, signer, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func localStore(t *testing.T) *archive.LocalStore {
	t.Helper()
	st, err := archive.NewLocalStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func msgRecords(n int) []Pending {
	now := time.Now().UTC()
	out := make([]Pending, n)
	for i := range out {
		id := sms.NewMessageID()
		m := &sms.Message{ID: id, Direction: sms.Outbound, From: "+14155550100", To: "+14155550199", Body: "hello", AcceptedAt: now}
		out[i] = Pending{Dedupe: string(id), Rec: archive.Record{Kind: archive.KindMessage, ID: id, Message: m, ArchivedAt: now}}
	}
	return out
}

func first(keys []string, _ string) []string { return keys }

func redelivered(recs []Pending) []Pending {
	out := make([]Pending, len(recs))
	for i, r := range recs {
		r.Redelivered = true
		out[i] = r
	}
	return out
}

var settled int

// settle folds everything into the tree and signs a checkpoint.
func settle(t *testing.T, l *Log) string {
	t.Helper()
	ctx := context.Background()
	if err := l.advance(ctx); err != nil {
		t.Fatal(err)
	}
	settled++
	key, err := l.checkpoint(ctx, time.Now().Add(time.Duration(settled)*time.Hour))
	if err != nil || key == "" {
		t.Fatalf("checkpoint = %q, %v", key, err)
	}
	return key
}

func verifyLog(t *testing.T, l *Log) *archive.Report {
	t.Helper()
	rep, err := archive.Verify(context.Background(), l.store, archive.VerifyConfig{VerifierKeys: []string{l.signer.VerifierKey()}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("verify:\n%s", b.String())
	}
	return rep
}

func countIDs(t *testing.T, st archive.Store) map[sms.MessageID]int {
	t.Helper()
	ctx := context.Background()
	n := map[sms.MessageID]int{}
	err := st.List(ctx, archive.SegmentPrefix, func(oi archive.ObjectInfo) error {
		data, _, err := st.Get(ctx, oi.Key)
		if err != nil {
			return err
		}
		seg, err := archive.DecodeSegment(data)
		if err != nil {
			return err
		}
		for _, r := range seg.Records {
			if r.Kind != archive.KindVoid {
				n[r.ID]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestArchiveLogCrashBeforePut: a writer reserved positions and mapped
// its records, then died before its PUT. The redelivered records seal
// the reservation void and are written once, at new positions; verify
// accounts for every index.
func TestArchiveLogCrashBeforePut(t *testing.T) {
	ctx := context.Background()
	l := testArchiveLog(t, localStore(t))
	before := msgRecords(3)
	if got := first(l.Archive(ctx, archive.SourceMessages, before, time.Now(), nil, nil)); got[0] == "" {
		t.Fatal("first batch not archived")
	}
	// The crashed writer: reservation and map, no PUT.
	lost := msgRecords(4)
	key := archive.NewSegmentKey(time.Now())
	e, err := l.reserve(ctx, key, archive.SourceMessages, len(lost), time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range lost {
		if _, err := l.ids.Put(ctx, r.Dedupe, []byte(key)); err != nil {
			t.Fatal(err)
		}
	}
	// Another writer takes the next positions meanwhile.
	first(l.Archive(ctx, archive.SourceMessages, msgRecords(2), time.Now(), nil, nil))

	got := first(l.Archive(ctx, archive.SourceMessages, redelivered(lost), time.Now(), nil, nil))
	for i, k := range got {
		if k == "" || k == key {
			t.Fatalf("redelivered record %d archived in %q, want a new segment", i, k)
		}
	}
	// The dead writer's late PUT cannot land any more.
	data, _, _ := archive.EncodeLogSegment(archive.SegmentInfo{Key: key, First: e.First}, []archive.Record{lost[0].Rec})
	if _, err := l.store.Put(ctx, key, data, time.Now()); !errors.Is(err, archive.ErrExists) {
		t.Fatalf("late PUT of the sealed segment: %v, want ErrExists", err)
	}
	// A further redelivery finds them archived, not written again.
	again := first(l.Archive(ctx, archive.SourceMessages, redelivered(lost), time.Now(), nil, nil))
	for i := range again {
		if again[i] != got[i] {
			t.Errorf("second redelivery of record %d: %q, want %q", i, again[i], got[i])
		}
	}
	settle(t, l)
	rep := verifyLog(t, l)
	if rep.LogSize != 13 || rep.Voided != 4 || rep.Records != 9 {
		t.Errorf("log size %d, voided %d, records %d; want 13, 4, 9", rep.LogSize, rep.Voided, rep.Records)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "log indexes [3, 7) are void") {
		t.Errorf("notes do not explain the void: %v", rep.Notes)
	}
	for id, n := range countIDs(t, l.store) {
		if n != 1 {
			t.Errorf("%s archived %d times", id, n)
		}
	}
}

// flakyStore fails the first failures Puts, and can run a hook before a
// Put (a concurrent sealer).
type flakyStore struct {
	archive.Store
	mu       sync.Mutex
	failures int
	landed   int // Puts that store the object but report an error (a lost response)
	before   func(key string)
}

func (f *flakyStore) Put(ctx context.Context, key string, data []byte, until time.Time) (archive.ObjectInfo, error) {
	f.mu.Lock()
	fail := f.failures > 0
	if fail {
		f.failures--
	}
	hook := f.before
	f.before = nil
	landed := f.landed > 0
	if landed {
		f.landed--
	}
	f.mu.Unlock()
	if hook != nil {
		hook(key)
	}
	if landed {
		f.Store.Put(ctx, key, data, until)
		return archive.ObjectInfo{}, errors.New("response lost")
	}
	if fail {
		return archive.ObjectInfo{}, errors.New("store unavailable")
	}
	return f.Store.Put(ctx, key, data, until)
}

// TestArchiveLogRetriesSameSegment: PUT errors are retried with the same
// key and range, so nothing is reserved twice.
func TestArchiveLogRetriesSameSegment(t *testing.T) {
	ctx := context.Background()
	fs := &flakyStore{Store: localStore(t), failures: 2}
	l := testArchiveLog(t, fs)
	got := first(l.Archive(ctx, archive.SourceMessages, msgRecords(5), time.Now(), nil, nil))
	if got[0] == "" {
		t.Fatal("not archived after transient errors")
	}
	var h logHead
	l.getJSON(ctx, headKey, &h)
	if h.Next != 5 || len(h.Segments) != 1 || h.Segments[0].State != segWritten || h.Segments[0].Key != got[0] {
		t.Errorf("head = %+v, want one written segment at [0, 5)", h)
	}
	settle(t, l)
	verifyLog(t, l)
}

// TestArchiveLogLostPutResponse: a PUT that landed but whose response was
// lost is recognised on the retry (the key holds our segment).
func TestArchiveLogLostPutResponse(t *testing.T) {
	ctx := context.Background()
	fs := &flakyStore{Store: localStore(t), landed: 1}
	l := testArchiveLog(t, fs)
	got := first(l.Archive(ctx, archive.SourceMessages, msgRecords(3), time.Now(), nil, nil))
	if got[0] == "" {
		t.Fatal("records not archived after a lost PUT response")
	}
	settle(t, l)
	if rep := verifyLog(t, l); rep.Voided != 0 || rep.Records != 3 {
		t.Errorf("voided %d records %d", rep.Voided, rep.Records)
	}
}

// TestArchiveLogWriterLosesToSealer: a slow writer whose reservation was
// sealed meanwhile learns that its records are not archived.
func TestArchiveLogWriterLosesToSealer(t *testing.T) {
	ctx := context.Background()
	fs := &flakyStore{Store: localStore(t)}
	l := testArchiveLog(t, fs)
	fs.before = func(key string) {
		e, found, err := l.entry(ctx, key)
		if err != nil || !found {
			t.Errorf("entry %s: %v %v", key, found, err)
			return
		}
		if _, err := l.seal(ctx, e, "test: sealed under a slow writer"); err != nil {
			t.Error(err)
		}
	}
	recs := msgRecords(3)
	got := first(l.Archive(ctx, archive.SourceMessages, recs, time.Now(), nil, nil))
	if got[0] != "" {
		t.Fatalf("records reported archived in %s, whose reservation was sealed void", got[0])
	}
	got = first(l.Archive(ctx, archive.SourceMessages, redelivered(recs), time.Now(), nil, nil))
	if got[0] == "" {
		t.Fatal("redelivered records not archived")
	}
	settle(t, l)
	rep := verifyLog(t, l)
	if rep.Voided != 3 || rep.Records != 3 {
		t.Errorf("voided %d, records %d; want 3, 3", rep.Voided, rep.Records)
	}
}

// TestArchiveLogSealsStaleReservation: a reservation nobody comes back
// for is sealed by the checkpointer after sealAfter, so the tree moves on.
func TestArchiveLogSealsStaleReservation(t *testing.T) {
	ctx := context.Background()
	l := testArchiveLog(t, localStore(t))
	if _, err := l.reserve(ctx, archive.NewSegmentKey(time.Now()), archive.SourceEvents, 2, time.Now().Add(-time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	first(l.Archive(ctx, archive.SourceMessages, msgRecords(2), time.Now(), nil, nil))
	settle(t, l)
	var tr logTree
	l.getJSON(ctx, treeKey, &tr)
	var h logHead
	l.getJSON(ctx, headKey, &h)
	if tr.Tree.Size() != 4 || len(h.Segments) != 0 {
		t.Errorf("tree size %d, head %+v; want 4 and nothing left in head", tr.Tree.Size(), h)
	}
	rep := verifyLog(t, l)
	if rep.Voided != 2 || rep.SignedSize != 4 {
		t.Errorf("voided %d, signed %d", rep.Voided, rep.SignedSize)
	}
}

// TestArchiveLogCheckpointCadence: checkpoints come interval after the
// last one while records arrive, and every heartbeat when idle.
func TestArchiveLogCheckpointCadence(t *testing.T) {
	ctx := context.Background()
	l := testArchiveLog(t, localStore(t)) // interval 1s, heartbeat 2s
	if err := l.advance(ctx); err != nil {
		t.Fatal(err)
	}
	var tr logTree
	l.getJSON(ctx, treeKey, &tr)
	t0 := tr.Started
	due := func(at time.Duration) bool {
		t.Helper()
		k, err := l.checkpoint(ctx, t0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		return k != ""
	}
	if due(1500 * time.Millisecond) {
		t.Errorf("a checkpoint of the empty log before the heartbeat")
	}
	if !due(2100 * time.Millisecond) {
		t.Errorf("no heartbeat checkpoint when idle")
	}
	first(l.Archive(ctx, archive.SourceMessages, msgRecords(1), time.Now(), nil, nil))
	if err := l.advance(ctx); err != nil {
		t.Fatal(err)
	}
	if due(2500 * time.Millisecond) {
		t.Errorf("a checkpoint before the interval passed")
	}
	if !due(3200 * time.Millisecond) {
		t.Errorf("no checkpoint an interval after records arrived")
	}
	if due(4500 * time.Millisecond) {
		t.Errorf("a checkpoint with nothing new before the heartbeat")
	}
	var n int
	l.store.List(ctx, archive.CheckpointPrefix, func(archive.ObjectInfo) error { n++; return nil })
	if n != 2 {
		t.Errorf("%d checkpoint objects, want 2", n)
	}
	verifyLog(t, l)
}

func TestOpenChecksIntervals(t *testing.T) {
	for _, c := range []Config{{Interval: 2 * time.Minute, Heartbeat: time.Hour}, {Interval: 500 * time.Millisecond, Heartbeat: time.Hour}} {
		if _, err := Open(c, nil, Buckets{}, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "archive.checkpoint_interval") {
			t.Errorf("Open(%+v) = %v, want an archive.checkpoint_interval error", c, err)
		}
	}
	if _, err := Open(Config{Interval: 10 * time.Second, Heartbeat: 5 * time.Second}, nil, Buckets{}, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "archive.checkpoint_heartbeat") {
		t.Errorf("heartbeat below interval: %v", err)
	}
}

// TestArchiveLogConcurrentWriters: writers and checkpointers of several
// nodes share the log; every index is taken once and the result verifies.
func TestArchiveLogConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	l := testArchiveLog(t, localStore(t))
	nodes := []*Log{l}
	for i := range 2 {
		n := *l
		n.node = "n" + string(rune('1'+i))
		nodes = append(nodes, &n)
	}
	var wg sync.WaitGroup
	var want sync.Map
	for _, n := range nodes {
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 15 {
					recs := msgRecords(1 + w*3)
					got := first(n.Archive(ctx, archive.SourceMessages, recs, time.Now(), nil, nil))
					for i, k := range got {
						if k == "" {
							t.Errorf("record not archived")
						}
						want.Store(recs[i].Rec.ID, true)
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if err := n.advance(ctx); err != nil {
					t.Error(err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	settle(t, l)
	rep := verifyLog(t, l)
	if rep.LogSize != 3*15*(1+4) || rep.Voided != 0 {
		t.Errorf("log size %d voided %d, want %d, 0", rep.LogSize, rep.Voided, 3*15*5)
	}
	got := countIDs(t, l.store)
	want.Range(func(k, _ any) bool {
		if got[k.(sms.MessageID)] != 1 {
			t.Errorf("%s archived %d times", k, got[k.(sms.MessageID)])
		}
		return true
	})
}

func eventRecords(seq uint64, n int) []Pending {
	now := time.Now().UTC()
	out := make([]Pending, n)
	for i := range out {
		e := &sms.Event{MessageID: sms.NewMessageID(), Status: sms.StatusSent, At: now}
		out[i] = Pending{Seq: seq + uint64(i), Dedupe: "ev." + string(e.MessageID),
			Rec: archive.Record{Kind: archive.KindEvent, ID: e.MessageID, Event: e, ArchivedAt: now}}
	}
	return out
}

// TestArchiveLogEventsBySequence: events are recognised on redelivery by
// their stream sequence in the segment's pending head entry (no KV entry
// per event), checked against the stored record; an entry stays in head
// until released.
func TestArchiveLogEventsBySequence(t *testing.T) {
	ctx := context.Background()
	l := testArchiveLog(t, localStore(t))
	batch := func(recs []Pending) ([]string, string) {
		return l.Archive(ctx, archive.SourceEvents, recs, time.Now(), nil, sameEvent)
	}
	evs := eventRecords(10, 5)
	got, key := batch(evs)
	if key == "" || got[4] != key {
		t.Fatalf("events not archived: %v %q", got, key)
	}
	if _, err := l.ids.Get(ctx, evs[0].Dedupe); sms.KindOf(err) != sms.NotFound {
		t.Errorf("an event was mapped in archive_ids: %v", err)
	}
	// Acks lost: redelivered, recognised, nothing written.
	again, written := batch(redelivered(evs[1:3]))
	if written != "" || again[0] != key || again[1] != key {
		t.Errorf("redelivered events: %v, wrote %q; want found in %s", again, written, key)
	}
	// Same sequences, other events (the stream was recreated): archived.
	other := redelivered(eventRecords(11, 2))
	if got, written := batch(other); written == "" || got[0] != written {
		t.Errorf("new events at reused sequences: %v %q, want archived anew", got, written)
	}
	// The entry survives folding into the tree until released.
	settle(t, l)
	if e, found, _ := l.entry(ctx, key); !found || !e.Pending {
		t.Fatalf("pending entry left head before release: %+v %v", e, found)
	}
	if err := l.Release(ctx, key); err != nil {
		t.Fatal(err)
	}
	// Released, it still recognises its records for the grace period (the
	// server writes consumer state after it confirms an ack).
	l.advance(ctx)
	if again, written := batch(redelivered(evs[1:2])); written != "" || again[0] != key {
		t.Errorf("redelivered right after release: %v, wrote %q; want found in %s", again, written, key)
	}
	l.releaseGrace = 0
	l.advance(ctx)
	if _, found, _ := l.entry(ctx, key); found {
		t.Errorf("released entry still in head after the grace period")
	}

	// A writer crashed after reserving for events 20-22: their redelivery
	// seals the reservation and archives them once.
	lost := eventRecords(20, 3)
	lostKey := archive.NewSegmentKey(time.Now())
	if _, err := l.reserve(ctx, lostKey, archive.SourceEvents, 3, time.Now(), [][2]uint64{{20, 22}}); err != nil {
		t.Fatal(err)
	}
	got, written = batch(redelivered(lost))
	if written == "" || written == lostKey || got[2] != written {
		t.Fatalf("events of a crashed writer: %v %q", got, written)
	}
	settle(t, l)
	rep := verifyLog(t, l)
	if rep.Voided != 3 || rep.Records != 10 {
		t.Errorf("voided %d records %d, want 3 and 10", rep.Voided, rep.Records)
	}
}

// sameEvent: the stored record holds the same event (as the archive-events
// stage decides).
func sameEvent(stored, incoming *archive.Record) bool {
	return stored.Kind == archive.KindEvent && incoming.Kind == archive.KindEvent && stored.Event != nil && incoming.Event != nil &&
		stored.Event.MessageID == incoming.Event.MessageID && stored.Event.Status == incoming.Event.Status && stored.Event.At.Equal(incoming.Event.At)
}

package compliance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/kv"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// maxHoldMessages bounds one matter (its record lists every message id).
const maxHoldMessages = 100000

// Journal appends audit entries to the archive (pipeline.Journal).
type Journal interface {
	Append(ctx context.Context, e archive.AuditEntry) (string, error)
}

// NewHolds keeps matters and segment references in b (the legal_holds
// bucket), switches S3 legal holds on store (nil: holds are refused),
// resolves searches with idx and audits with j.
func NewHolds(b kv.Bucket, store archive.HoldStore, idx *readmodel.Index, j Journal) *Holds {
	return &Holds{kv: b, store: store, idx: idx, journal: j}
}

// Holds places and releases legal holds per matter. Each held segment has
// a reference record listing the matters that need it (KV, revision
// checked); the object's S3 legal hold is switched on when the first
// matter takes it and off when the last one lets go, so releasing one
// matter never releases another's.
type Holds struct {
	kv      kv.Bucket
	store   archive.HoldStore
	idx     *readmodel.Index
	journal Journal
	mu      sync.Mutex // one place/release at a time on this node
}

type segmentRefs struct {
	Key     string   `json:"key"`
	Matters []string `json:"matters"`
}

func refKey(seg string) string {
	h := sha256.Sum256([]byte(seg))
	return "s." + hex.EncodeToString(h[:16])
}

// Place creates a matter holding the messages selected by q (every page)
// or listed in ids, and holds their segments.
func (h *Holds) Place(ctx context.Context, actor, name, reason string, q *readmodel.Search, ids []sms.MessageID) (archive.Matter, error) {
	if h.store == nil {
		return archive.Matter{}, sms.Errorf(sms.Unsupported, "holds_unsupported", "the archive store does not support legal holds")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now().UTC()
	m := archive.Matter{ID: sms.NewULID(now), Name: name, Reason: reason, State: "active", CreatedBy: actor, CreatedAt: now,
		MessageIDs: []string{}, Segments: []string{}}
	segs := map[string]bool{}
	add := func(v readmodel.View) error {
		if len(m.MessageIDs) >= maxHoldMessages {
			return sms.Errorf(sms.Invalid, "hold_too_large", "a matter holds at most %d messages; narrow the query", maxHoldMessages)
		}
		m.MessageIDs = append(m.MessageIDs, string(v.ID))
		if v.Segment != "" {
			segs[v.Segment] = true
		}
		return nil
	}
	if q != nil {
		m.Query = q.Describe()
		page := *q
		page.Limit = 500
		for {
			vs, next, err := h.idx.Search(ctx, page)
			if err != nil {
				return m, err
			}
			for _, v := range vs {
				if err := add(v); err != nil {
					return m, err
				}
			}
			if next == "" {
				break
			}
			page.Before = next
		}
	}
	for _, id := range ids {
		v, err := h.idx.Get(ctx, id)
		if err != nil || !v.Archived {
			return m, sms.Errorf(sms.NotFound, "message_not_found", "message %s is not in the archive", id)
		}
		if err := add(v); err != nil {
			return m, err
		}
	}
	if len(m.MessageIDs) == 0 {
		return m, sms.Errorf(sms.Invalid, "hold_empty", "the hold selects no archived messages")
	}
	// The segments holding the messages' status events too: the evidence
	// of what happened to them must outlive retention as long as the
	// messages do.
	evSegs, err := h.eventSegments(ctx, m.MessageIDs)
	if err != nil {
		return m, err
	}
	for _, s := range evSegs {
		segs[s] = true
	}
	for s := range segs {
		m.Segments = append(m.Segments, s)
	}
	sort.Strings(m.Segments)
	// The audit record first: a hold that is not in the trail did not happen.
	if _, err := h.journal.Append(ctx, archive.AuditEntry{Actor: actor, Action: "legal_hold.place",
		Params:      map[string]string{"matter": m.ID, "name": name, "reason": reason, "segments": fmt.Sprint(len(m.Segments))},
		ResultCount: len(m.MessageIDs), ResultHash: idsHash(m.MessageIDs)}); err != nil {
		return m, sms.Wrap(sms.Unavailable, "audit_unavailable", "the audit trail could not be written; retry", err)
	}
	if err := h.save(ctx, m); err != nil {
		return m, err
	}
	for _, seg := range m.Segments {
		if err := h.ref(ctx, seg, m.ID, true); err != nil {
			return m, fmt.Errorf("holding %s: %w (the matter is recorded; place it again or release it)", seg, err)
		}
	}
	if err := h.idx.AddHold(ctx, m.ID, m.MessageIDs); err != nil {
		return m, err
	}
	return m, nil
}

// eventSegments lists the segments that hold status events of ids. Events
// come after their message is accepted and segments are named by the time
// they were written, so only segments from the earliest message's day on
// are read.
func (h *Holds) eventSegments(ctx context.Context, ids []string) ([]string, error) {
	want := make(map[sms.MessageID]bool, len(ids))
	var since time.Time
	for _, id := range ids {
		want[sms.MessageID(id)] = true
		if t := sms.MessageID(id).Time(); since.IsZero() || t.Before(since) {
			since = t
		}
	}
	day := archive.SegmentPrefix + since.UTC().Format("2006/01/02")
	var out []string
	err := h.store.List(ctx, archive.SegmentPrefix, func(oi archive.ObjectInfo) error {
		if oi.Key < day {
			return nil
		}
		data, _, err := h.store.Get(ctx, oi.Key)
		if err != nil {
			return err
		}
		seg, err := archive.DecodeSegment(data)
		if err != nil {
			return nil // not a segment this can read: archive verify reports it
		}
		for _, r := range seg.Records {
			if r.Kind == archive.KindEvent && r.Event != nil && want[r.Event.MessageID] {
				out = append(out, oi.Key)
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finding the segments of the messages' events: %w", err)
	}
	return out, nil
}

// Release ends a matter; segments no other matter holds lose their hold.
func (h *Holds) Release(ctx context.Context, actor, id string) (archive.Matter, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, err := h.Get(ctx, id)
	if err != nil {
		return m, err
	}
	if m.State == "released" {
		return m, sms.Errorf(sms.Conflict, "hold_released", "matter %s was released already", id)
	}
	if _, err := h.journal.Append(ctx, archive.AuditEntry{Actor: actor, Action: "legal_hold.release",
		Params: map[string]string{"matter": m.ID, "name": m.Name}, ResultCount: len(m.MessageIDs), ResultHash: idsHash(m.MessageIDs)}); err != nil {
		return m, sms.Wrap(sms.Unavailable, "audit_unavailable", "the audit trail could not be written; retry", err)
	}
	for _, seg := range m.Segments {
		if err := h.ref(ctx, seg, m.ID, false); err != nil {
			return m, fmt.Errorf("releasing %s: %w (release again to finish)", seg, err)
		}
	}
	now := time.Now().UTC()
	m.State, m.ReleasedBy, m.ReleasedAt = "released", actor, &now
	if err := h.save(ctx, m); err != nil {
		return m, err
	}
	return m, h.idx.ReleaseHold(ctx, m.ID)
}

// ref adds (or removes) matter from a segment's references with a
// revision check, switching the object's legal hold on for the first
// reference and off after the last. After switching off it looks again: a
// matter that took the segment meanwhile gets its hold back.
func (h *Holds) ref(ctx context.Context, seg, matter string, add bool) error {
	for attempt := 0; attempt < 20; attempt++ {
		var refs segmentRefs
		var rev uint64
		e, err := h.kv.Get(ctx, refKey(seg))
		switch {
		case err == nil:
			if err := json.Unmarshal(e.Value, &refs); err != nil {
				return err
			}
			rev = e.Revision
		case sms.KindOf(err) == sms.NotFound:
			refs = segmentRefs{Key: seg}
		default:
			return err
		}
		had := len(refs.Matters) > 0
		if add {
			if slices.Contains(refs.Matters, matter) {
				return h.store.SetLegalHold(ctx, seg, true) // idempotent: make sure
			}
			refs.Matters = append(refs.Matters, matter)
		} else {
			refs.Matters = slices.DeleteFunc(refs.Matters, func(s string) bool { return s == matter })
		}
		data, _ := json.Marshal(refs)
		if rev == 0 {
			_, err = h.kv.Create(ctx, refKey(seg), data)
		} else {
			_, err = h.kv.Update(ctx, refKey(seg), data, rev)
		}
		if sms.KindOf(err) == sms.Conflict {
			continue // someone else changed it: read again
		}
		if err != nil {
			return err
		}
		switch {
		case add && !had:
			return h.store.SetLegalHold(ctx, seg, true)
		case !add && len(refs.Matters) == 0:
			if err := h.store.SetLegalHold(ctx, seg, false); err != nil {
				return err
			}
			if e, err := h.kv.Get(ctx, refKey(seg)); err == nil {
				var now segmentRefs
				if json.Unmarshal(e.Value, &now) == nil && len(now.Matters) > 0 {
					return h.store.SetLegalHold(ctx, seg, true)
				}
			}
		}
		return nil
	}
	return sms.Errorf(sms.Unavailable, "hold_contended", "segment %s kept changing; retry", seg)
}

func (h *Holds) save(ctx context.Context, m archive.Matter) error {
	data, _ := json.Marshal(m)
	_, err := h.kv.Put(ctx, "m."+m.ID, data)
	return err
}

// Get returns a matter.
func (h *Holds) Get(ctx context.Context, id string) (archive.Matter, error) {
	var m archive.Matter
	if !kv.ValidToken(id) {
		return m, sms.Errorf(sms.NotFound, "hold_not_found", "no such matter")
	}
	e, err := h.kv.Get(ctx, "m."+id)
	if sms.KindOf(err) == sms.NotFound {
		return m, sms.Errorf(sms.NotFound, "hold_not_found", "no such matter")
	}
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(e.Value, &m)
}

// List returns every matter, newest first.
func (h *Holds) List(ctx context.Context) ([]archive.Matter, error) {
	keys, err := h.kv.Keys(ctx)
	if err != nil {
		return nil, err
	}
	out := []archive.Matter{}
	for _, k := range keys {
		if len(k) > 2 && k[:2] == "m." {
			if m, err := h.Get(ctx, k[2:]); err == nil {
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

func idsHash(ids []string) string {
	s := sha256.New()
	for _, id := range ids {
		s.Write([]byte(id))
		s.Write([]byte{'\n'})
	}
	return hex.EncodeToString(s.Sum(nil))
}

// runHoldSync keeps this node's index in step with every matter (the
// "held" search filter): matters live in KV, placed and released on any

package archive

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/smsgw/smsgw/sms"
)

// VerifyConfig says what verify trusts and checks.
type VerifyConfig struct {
	// VerifierKeys are the trusted checkpoint keys ("<name>+<hash>+<key>",
	// printed by `smsgw archive keygen`).
	VerifierKeys []string
	// CheckpointRetention is the checkpoints' lock policy: each must be
	// locked until at least its time plus this. 0 checks the mode only.
	CheckpointRetention time.Duration
	// Heartbeat, if set, adds a note for every stretch longer than twice
	// it without a checkpoint.
	Heartbeat time.Duration
	// Workers read and check segments in parallel (default: 2 per CPU, at
	// least 4).
	Workers int
}

// Problem is one thing wrong with the archive. Code is stable; Detail
// says precisely what and where.
type Problem struct {
	Code    string `json:"code"`
	Object  string `json:"object,omitempty"` // object key; empty for the log as a whole
	Version string `json:"version,omitempty"`
	Index   int64  `json:"index"` // log index, -1 when not about one record
	Detail  string `json:"detail"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Code)
	if p.Object != "" {
		b.WriteString(" ")
		b.WriteString(p.Object)
		if p.Version != "" {
			fmt.Fprintf(&b, " (version %s)", p.Version)
		}
	}
	if p.Index >= 0 {
		fmt.Fprintf(&b, " [log index %d]", p.Index)
	}
	b.WriteString(": ")
	b.WriteString(p.Detail)
	return b.String()
}

// Report is the outcome of Verify. The archive is proven complete and
// unchanged when Problems is empty.
type Report struct {
	Segments     int           `json:"segments"`
	VoidSegments int           `json:"void_segments"`
	Checkpoints  int           `json:"checkpoints"`
	LogSize      int64         `json:"log_size"`      // log indexes accounted for
	Records      int64         `json:"records"`       // records checked (void positions excluded)
	Voided       int64         `json:"voided"`        // void positions
	SignedSize   int64         `json:"signed_size"`   // size of the latest valid checkpoint
	LocksChecked bool          `json:"locks_checked"` // object locks were checked (S3)
	Problems     []Problem     `json:"problems"`
	Notes        []string      `json:"notes"`
	Elapsed      time.Duration `json:"elapsed_ns"`
}

// OK reports whether verify found no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// WriteText prints the report for people: a summary line, then every
// problem and every note, one per line.
func (r *Report) WriteText(w io.Writer) {
	rate := 0.0
	if r.Elapsed > 0 {
		rate = float64(r.Records+r.Voided) / r.Elapsed.Seconds()
	}
	verdict := "OK: complete and unchanged"
	if !r.OK() {
		verdict = fmt.Sprintf("FAILED: %d problem(s)", len(r.Problems))
	}
	fmt.Fprintf(w, "archive verify: %s\n", verdict)
	fmt.Fprintf(w, "  %d segments (%d void), %d records, log size %d, %d checkpoints (latest signs %d), locks checked: %v\n",
		r.Segments, r.VoidSegments, r.Records, r.LogSize, r.Checkpoints, r.SignedSize, r.LocksChecked)
	fmt.Fprintf(w, "  %.1fs, %.0f records/s\n", r.Elapsed.Seconds(), rate)
	for _, p := range r.Problems {
		fmt.Fprintf(w, "PROBLEM %s\n", p)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// Verify re-reads every segment and checkpoint in st: it recomputes every
// record's leaf hash and every segment's root, rebuilds the log from the
// segments in index order (every index held exactly once, no gap), checks
// each checkpoint's signature and that its root is the root of the log at
// its size — which also proves consecutive checkpoints consistent, as all
// roots come from the one leaf sequence —, that every message and audit id
// appears once, and (S3) that every object version is still locked in
// COMPLIANCE mode until at least its policy date, with no later version or
// delete marker hiding it.
//
// The error is for when verification could not run (no trusted key,
// listing failed); everything found wrong with the archive is in the
// report.
func Verify(ctx context.Context, st Store, cfg VerifyConfig) (*Report, error) {
	vs, err := Verifiers(cfg.VerifierKeys...)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	v := &verifier{cfg: cfg, st: st, verifiers: vs, rep: &Report{Problems: []Problem{}, Notes: []string{}}}
	v.vst, v.rep.LocksChecked = st.(VersionedStore)
	if v.rep.LocksChecked {
		if err := st.Check(ctx); sms.CodeOf(err) == "bucket_not_locked" {
			v.problem(Problem{Code: "bucket_not_locked", Index: -1, Detail: err.Error()})
			v.rep.LocksChecked = false
		} else if err != nil {
			return nil, err
		}
	}
	if v.vst == nil {
		v.note("the %s store is not WORM: object locks were not checked and files can be replaced unnoticed up to the latest checkpoint", st.Kind())
	}
	if err := v.readCheckpoints(ctx); err != nil {
		return nil, err
	}
	if err := v.readSegments(ctx); err != nil {
		return nil, err
	}
	v.checkCheckpoints()
	v.checkIDs()
	slices.SortStableFunc(v.rep.Problems, func(a, b Problem) int {
		ai, bi := a.Index, b.Index
		if ai < 0 {
			ai = 1<<63 - 1
		}
		if bi < 0 {
			bi = 1<<63 - 1
		}
		return cmp.Or(cmp.Compare(ai, bi), strings.Compare(a.Object, b.Object), strings.Compare(a.Code, b.Code))
	})
	v.rep.Elapsed = time.Since(start)
	return v.rep, nil
}

type verifier struct {
	cfg       VerifyConfig
	st        Store
	vst       VersionedStore
	verifiers note.Verifiers
	rep       *Report
	mu        sync.Mutex

	cps     []cpItem
	wantAt  []int64            // checkpoint sizes, sorted, unique
	rootsAt map[int64][32]byte // log root at each wanted size

	tree      Tree
	next      int64 // next log index expected
	maxSigned int64 // largest size a valid checkpoint signs
	brokenAt  int64 // first index from which the tree is unknown, when brokenSet
	brokenSet bool
	placed    []placedRange
	ids       []idRef
}

type cpItem struct {
	key, version string
	cp           Checkpoint
}

type placedRange struct {
	first, end   int64
	key, version string
	misplaced    bool // the segment's header names another key
}

// idRef is a message or audit id and where it is.
type idRef struct {
	id    [17]byte // kind byte + ULID (or a hash of a non-ULID id)
	index int64
	seg   int32
}

func (v *verifier) problem(p Problem) {
	v.mu.Lock()
	v.rep.Problems = append(v.rep.Problems, p)
	v.mu.Unlock()
}

func (v *verifier) note(format string, args ...any) {
	v.mu.Lock()
	v.rep.Notes = append(v.rep.Notes, fmt.Sprintf(format, args...))
	v.mu.Unlock()
}

// object is one key with its versions (oldest first).
type object struct {
	key      string
	versions []ObjectVersion
}

// list groups the objects under prefix with their versions.
func (v *verifier) list(ctx context.Context, prefix string, fn func(object) error) error {
	if v.vst == nil {
		return v.st.List(ctx, prefix, func(oi ObjectInfo) error {
			return fn(object{key: oi.Key, versions: []ObjectVersion{{ObjectInfo: oi, IsLatest: true}}})
		})
	}
	var cur object
	err := v.vst.ListVersions(ctx, prefix, func(ov ObjectVersion) error {
		if cur.key != "" && cur.key != ov.Key {
			if err := fn(cur); err != nil {
				return err
			}
			cur = object{}
		}
		cur.key = ov.Key
		cur.versions = append(cur.versions, ov)
		return nil
	})
	if err != nil {
		return err
	}
	if cur.key != "" {
		return fn(cur)
	}
	return nil
}

// original returns the version verify treats as the object (the first one
// written) and reports every later version and delete marker.
func (v *verifier) original(o object) (ObjectVersion, []ObjectVersion, bool) {
	var orig ObjectVersion
	var later []ObjectVersion
	found := false
	for _, ov := range o.versions {
		switch {
		case ov.DeleteMarker:
			v.problem(Problem{Code: "delete_marker", Object: o.key, Version: ov.VersionID, Index: -1,
				Detail: fmt.Sprintf("a delete marker (placed %s) hides the object from ordinary reads; the locked version is still there", ov.LastModified.UTC().Format(time.RFC3339))})
		case !found:
			orig, found = ov, true
		default:
			later = append(later, ov)
		}
	}
	if !found {
		v.problem(Problem{Code: "object_missing", Object: o.key, Index: -1, Detail: "only delete markers remain: no version of the object can be read"})
	}
	return orig, later, found
}

// lock checks a version's Object Lock against its policy date.
func (v *verifier) lock(ctx context.Context, key, version string, policy time.Time) {
	if !v.rep.LocksChecked {
		return
	}
	mode, until, _, err := v.vst.Retention(ctx, key, version)
	switch {
	case err != nil:
		v.problem(Problem{Code: "lock_unreadable", Object: key, Version: version, Index: -1, Detail: err.Error()})
	case mode != "COMPLIANCE":
		m := mode
		if m == "" {
			m = "none"
		}
		v.problem(Problem{Code: "not_locked", Object: key, Version: version, Index: -1,
			Detail: fmt.Sprintf("Object Lock mode is %s, want COMPLIANCE", m)})
	case !policy.IsZero() && until.Before(policy.Add(-time.Second)):
		v.problem(Problem{Code: "lock_too_short", Object: key, Version: version, Index: -1,
			Detail: fmt.Sprintf("locked until %s, before its policy date %s", until.UTC().Format(time.RFC3339), policy.UTC().Format(time.RFC3339))})
	}
}

func (v *verifier) get(ctx context.Context, key, version string) ([]byte, error) {
	if v.vst != nil {
		return v.vst.GetVersion(ctx, key, version)
	}
	data, _, err := v.st.Get(ctx, key)
	return data, err
}

func (v *verifier) readCheckpoints(ctx context.Context) error {
	err := v.list(ctx, CheckpointPrefix, func(o object) error {
		orig, later, ok := v.original(o)
		if !ok {
			return nil
		}
		for _, ov := range later {
			v.problem(Problem{Code: "object_overwritten", Object: o.key, Version: ov.VersionID, Index: -1,
				Detail: fmt.Sprintf("a later version (written %s) shadows the checkpoint; verify used the original %s", ov.LastModified.UTC().Format(time.RFC3339), orig.VersionID)})
		}
		data, err := v.get(ctx, o.key, orig.VersionID)
		if err != nil {
			v.problem(Problem{Code: "unreadable", Object: o.key, Version: orig.VersionID, Index: -1, Detail: err.Error()})
			return nil
		}
		cp, err := OpenCheckpoint(data, v.verifiers)
		if err != nil {
			v.problem(Problem{Code: "checkpoint_signature", Object: o.key, Version: orig.VersionID, Index: -1, Detail: err.Error()})
			return nil
		}
		policy := time.Time{}
		if v.cfg.CheckpointRetention > 0 {
			policy = cp.Time.Add(v.cfg.CheckpointRetention)
		}
		v.lock(ctx, o.key, orig.VersionID, policy)
		v.cps = append(v.cps, cpItem{key: o.key, version: orig.VersionID, cp: cp})
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing checkpoints: %w", err)
	}
	v.rep.Checkpoints = len(v.cps)
	v.rootsAt = map[int64][32]byte{}
	for _, c := range v.cps {
		v.wantAt = append(v.wantAt, c.cp.Size)
		v.maxSigned = max(v.maxSigned, c.cp.Size)
	}
	slices.Sort(v.wantAt)
	v.wantAt = slices.Compact(v.wantAt)
	if len(v.wantAt) > 0 && v.wantAt[0] == 0 {
		v.rootsAt[0] = v.tree.Root()
		v.wantAt = v.wantAt[1:]
	}
	return nil
}

// segResult is what a worker found in one segment.
type segResult struct {
	seq          int // listing order
	key, version string
	info         SegmentInfo
	usable       bool // leaves can go into the tree
	leaves       [][32]byte
	ids          []idRef // index relative to the segment until placed
	records      int64
	voids        int64
}

func (v *verifier) readSegments(ctx context.Context) error {
	workers := v.cfg.Workers
	if workers <= 0 {
		workers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	jobs := make(chan object, workers)
	results := make(chan *segResult, workers)
	var listErr error
	go func() {
		defer close(jobs)
		listErr = v.list(ctx, SegmentPrefix, func(o object) error {
			select {
			case jobs <- o:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for o := range jobs {
				var r *segResult
				r, buf = v.scan(ctx, o, buf)
				if r != nil {
					results <- r
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	// Place segments in log order as they come in; a segment arriving
	// ahead of its predecessor waits in pending.
	pending := map[int64][]*segResult{}
	var waiting int64
	var segNo int32
	placeReady := func(final bool) {
		for len(pending) > 0 {
			rs, ok := pending[v.next]
			if !ok {
				if !final && waiting < 4<<20 {
					return
				}
				first := int64(-1)
				for f := range pending {
					if first < 0 || f < first {
						first = f
					}
				}
				rs = pending[first]
			}
			r := rs[0]
			if len(rs) == 1 {
				delete(pending, r.info.First)
			} else {
				pending[r.info.First] = rs[1:]
			}
			waiting -= int64(len(r.leaves))
			v.place(r, segNo)
			segNo++
		}
	}
	for r := range results {
		v.rep.Segments++
		if r.info.Void != "" {
			v.rep.VoidSegments++
		}
		if !r.info.InLog() {
			continue // reported by scan
		}
		pending[r.info.First] = append(pending[r.info.First], r)
		waiting += int64(len(r.leaves))
		placeReady(false)
	}
	placeReady(true)
	if listErr != nil {
		return fmt.Errorf("listing segments: %w", listErr)
	}
	v.rep.LogSize = v.next
	return nil
}

// scan reads and checks one segment object.
func (v *verifier) scan(ctx context.Context, o object, buf []byte) (*segResult, []byte) {
	orig, later, ok := v.original(o)
	if !ok {
		return nil, buf
	}
	r := &segResult{key: o.key, version: orig.VersionID}
	data, err := v.get(ctx, o.key, orig.VersionID)
	if err != nil {
		v.problem(Problem{Code: "unreadable", Object: o.key, Version: orig.VersionID, Index: -1, Detail: err.Error()})
		r.info.First = -1
		return r, buf
	}
	type changedRecord struct {
		i        int
		kind, id string
	}
	var changed []changedRecord
	info, buf, err := ScanSegment(data, buf, func(sr *ScannedRecord) {
		r.leaves = append(r.leaves, sr.Leaf)
		if !sr.Valid {
			changed = append(changed, changedRecord{sr.Index, sr.Kind, sr.ID})
		}
		switch sr.Kind {
		case KindVoid:
			r.voids++
			return
		case KindMessage, KindAudit:
			r.ids = append(r.ids, idRef{id: idKey(sr.Kind, sr.ID), index: int64(sr.Index)})
		case KindEvent:
			// Events carry their own id (since event ids were added):
			// each is archived once, like messages.
			if id := eventID(sr.Data); id != "" {
				r.ids = append(r.ids, idRef{id: idKey(sr.Kind, id), index: int64(sr.Index)})
			}
		}
		r.records++
	})
	r.info = info
	at := func(i int) int64 {
		if info.InLog() {
			return info.First + int64(i)
		}
		return -1
	}
	for _, c := range changed {
		v.problem(Problem{Code: "record_changed", Object: o.key, Version: orig.VersionID, Index: at(c.i),
			Detail: fmt.Sprintf("record %d of the segment (%s %s) does not match its leaf hash: its content was changed after it was written", c.i, c.kind, c.id)})
	}
	switch {
	case err != nil && info.Count > 0 && info.InLog():
		v.problem(Problem{Code: "segment_corrupt", Object: o.key, Version: orig.VersionID, Index: info.First,
			Detail: fmt.Sprintf("%v; log indexes [%d, %d) it should hold cannot be checked", err, info.First, info.First+int64(info.Count))})
		r.leaves = nil
	case err != nil:
		v.problem(Problem{Code: "segment_corrupt", Object: o.key, Version: orig.VersionID, Index: -1, Detail: err.Error()})
		r.info.First = -1
	case info.Format == LegacySegmentFormat:
		v.problem(Problem{Code: "legacy_segment", Object: o.key, Version: orig.VersionID, Index: -1,
			Detail: fmt.Sprintf("format %s has no log position: its %d records are outside the Merkle log and no checkpoint covers them", info.Format, info.Count)})
	case info.Key != o.key:
		v.problem(Problem{Code: "segment_misplaced", Object: o.key, Version: orig.VersionID, Index: info.First,
			Detail: fmt.Sprintf("the segment says it is %s: it was copied here", info.Key)})
		r.usable = true
	default:
		r.usable = true
	}
	if info.InLog() && info.Count != len(r.leaves) && r.usable {
		r.usable = false
	}
	v.lock(ctx, o.key, orig.VersionID, info.RetainUntil)
	for _, ov := range later {
		v.laterVersion(ctx, o.key, orig.VersionID, ov, r)
	}
	return r, buf
}

// laterVersion reports a version written over a segment and, when it can
// be read, which records it differs in.
func (v *verifier) laterVersion(ctx context.Context, key, origVersion string, ov ObjectVersion, r *segResult) {
	detail := fmt.Sprintf("a later version (written %s) shadows the locked original %s; verify used the original",
		ov.LastModified.UTC().Format(time.RFC3339), origVersion)
	data, err := v.get(ctx, key, ov.VersionID)
	if err == nil {
		var leaves [][32]byte
		_, _, serr := ScanSegment(data, nil, func(sr *ScannedRecord) { leaves = append(leaves, sr.Leaf) })
		var diff []string
		for i := range max(len(leaves), len(r.leaves)) {
			if i >= len(leaves) || i >= len(r.leaves) || leaves[i] != r.leaves[i] {
				if len(diff) == 10 {
					diff = append(diff, "...")
					break
				}
				if r.info.InLog() {
					diff = append(diff, fmt.Sprintf("%d", r.info.First+int64(i)))
				} else {
					diff = append(diff, fmt.Sprintf("record %d", i))
				}
			}
		}
		switch {
		case serr != nil && len(leaves) == 0:
			detail += fmt.Sprintf("; the later version is not a segment (%v)", serr)
		case len(diff) == 0:
			detail += "; it holds the same records"
		default:
			detail += fmt.Sprintf("; it differs at log indexes %s (%d vs %d records)", strings.Join(diff, ", "), len(leaves), len(r.leaves))
		}
	}
	v.problem(Problem{Code: "object_overwritten", Object: key, Version: ov.VersionID, Index: -1, Detail: detail})
}

// place puts a segment into the log at its position.
func (v *verifier) place(r *segResult, segNo int32) {
	first, end := r.info.First, r.info.First+int64(r.info.Count)
	if r.info.Void != "" {
		v.note("log indexes [%d, %d) are void: the reservation for %s was abandoned (%s) and its records archived again later",
			first, end, r.key, r.info.Void)
	}
	v.rep.Records += r.records
	v.rep.Voided += r.voids
	switch {
	case first > v.next:
		between := "before " + r.key
		if len(v.placed) > 0 {
			between = "between " + v.placed[len(v.placed)-1].key + " and " + r.key
		}
		hint := ""
		if v.next >= v.maxSigned {
			hint = "; no checkpoint covers them yet: if nodes are archiving right now, a segment may still be being written — run verify again"
		}
		v.problem(Problem{Code: "log_gap", Index: v.next,
			Detail: fmt.Sprintf("log indexes [%d, %d) are missing: no segment holds them (%s); a segment was removed or lost%s", v.next, first, between, hint)})
		v.breakAt(v.next)
		v.next = first
	case first < v.next:
		hi := min(end, v.next)
		others := v.holders(first, hi)
		obj, ver := r.key, r.version
		// Blame a copy rather than the segment it was copied from,
		// whichever was read first.
		if r.info.Key == r.key {
			for _, p := range v.placed {
				if p.first < hi && p.end > first && p.misplaced {
					obj, ver, others = p.key, p.version, []string{r.key}
					break
				}
			}
		}
		v.problem(Problem{Code: "log_overlap", Object: obj, Version: ver, Index: first,
			Detail: fmt.Sprintf("log indexes [%d, %d) are held twice: by this segment and by %s", first, hi, strings.Join(others, ", "))})
		v.breakAt(first)
	}
	if !r.usable {
		v.breakAt(first)
	}
	if !v.broken() && first == v.tree.Size() {
		for _, l := range r.leaves {
			v.tree.Append(l)
			if len(v.wantAt) > 0 && v.tree.Size() == v.wantAt[0] {
				v.rootsAt[v.wantAt[0]] = v.tree.Root()
				v.wantAt = v.wantAt[1:]
			}
		}
	}
	for _, id := range r.ids {
		id.index += first
		id.seg = segNo
		v.ids = append(v.ids, id)
	}
	v.placed = append(v.placed, placedRange{first: first, end: end, key: r.key, version: r.version, misplaced: r.info.Key != r.key})
	v.next = max(v.next, end)
}

func (v *verifier) breakAt(i int64) {
	if !v.brokenSet || i < v.brokenAt {
		v.brokenAt, v.brokenSet = i, true
	}
}

func (v *verifier) broken() bool { return v.brokenSet }

// holders names the segments already placed over [lo, hi).
func (v *verifier) holders(lo, hi int64) []string {
	var out []string
	for i := len(v.placed) - 1; i >= 0 && len(out) < 5; i-- {
		p := v.placed[i]
		if p.first < hi && p.end > lo {
			out = append(out, p.key)
		}
	}
	return out
}

func (v *verifier) checkCheckpoints() {
	if len(v.cps) == 0 {
		if v.next > 0 {
			v.problem(Problem{Code: "no_checkpoint", Index: -1,
				Detail: fmt.Sprintf("the log holds %d records but no valid signed checkpoint covers them", v.next)})
		}
		return
	}
	byTime := slices.Clone(v.cps)
	slices.SortStableFunc(byTime, func(a, b cpItem) int {
		return cmp.Or(a.cp.Time.Compare(b.cp.Time), cmp.Compare(a.cp.Size, b.cp.Size), strings.Compare(a.key, b.key))
	})
	origin := byTime[0].cp.Origin
	for i, c := range byTime {
		if c.cp.Origin != origin {
			v.note("checkpoint %s has origin %q, others %q", c.key, c.cp.Origin, origin)
		}
		if i > 0 {
			prev := byTime[i-1]
			if c.cp.Size < prev.cp.Size {
				v.problem(Problem{Code: "checkpoint_order", Object: c.key, Version: c.version, Index: -1,
					Detail: fmt.Sprintf("signs size %d at %s, smaller than %s signed earlier (size %d at %s): the log shrank",
						c.cp.Size, c.cp.Time.UTC().Format(time.RFC3339), prev.key, prev.cp.Size, prev.cp.Time.UTC().Format(time.RFC3339))})
			}
			if hb := v.cfg.Heartbeat; hb > 0 && c.cp.Time.Sub(prev.cp.Time) > 2*hb {
				v.note("no checkpoint between %s and %s (%s): the archive was not running or could not sign",
					prev.cp.Time.UTC().Format(time.RFC3339), c.cp.Time.UTC().Format(time.RFC3339), c.cp.Time.Sub(prev.cp.Time).Round(time.Second))
			}
		}
	}
	latest := byTime[len(byTime)-1]
	v.rep.SignedSize = latest.cp.Size
	bySize := slices.Clone(v.cps)
	slices.SortStableFunc(bySize, func(a, b cpItem) int {
		return cmp.Or(cmp.Compare(a.cp.Size, b.cp.Size), a.cp.Time.Compare(b.cp.Time))
	})
	lastGood := int64(0)
	var mismatch *Problem // the first of a run of checkpoints whose roots differ
	var alsoDiffer []string
	flush := func() {
		if mismatch == nil {
			return
		}
		if len(alsoDiffer) > 0 {
			if len(alsoDiffer) > 5 {
				alsoDiffer = append(alsoDiffer[:5], fmt.Sprintf("and %d more", len(alsoDiffer)-5))
			}
			mismatch.Detail += "; later checkpoints differ too: " + strings.Join(alsoDiffer, ", ")
		}
		v.rep.Problems = append(v.rep.Problems, *mismatch)
		mismatch, alsoDiffer = nil, nil
	}
	for _, c := range bySize {
		switch {
		case c.cp.Size > v.next:
			v.problem(Problem{Code: "checkpoint_beyond_log", Object: c.key, Version: c.version, Index: v.next,
				Detail: fmt.Sprintf("signs %d records but the segments hold only %d: log indexes [%d, %d) are missing (segments removed from the end)",
					c.cp.Size, v.next, v.next, c.cp.Size)})
		case v.broken() && c.cp.Size > v.brokenAt:
			v.note("checkpoint %s (size %d) cannot be checked: log index %d and later are missing or unreadable (see problems)", c.key, c.cp.Size, v.brokenAt)
		default:
			root, ok := v.rootsAt[c.cp.Size]
			switch {
			case !ok:
				v.note("checkpoint %s (size %d) was not checked", c.key, c.cp.Size)
			case root == c.cp.Root:
				flush()
				lastGood = c.cp.Size
			case mismatch != nil:
				alsoDiffer = append(alsoDiffer, c.key)
			default:
				mismatch = &Problem{Code: "checkpoint_root", Object: c.key, Version: c.version, Index: lastGood,
					Detail: fmt.Sprintf("the signed root of size %d differs from the root recomputed from the segments: a record in log indexes [%d, %d) was changed, added, removed or reordered after it was signed",
						c.cp.Size, lastGood, c.cp.Size)}
			}
		}
	}
	flush()
	if latest.cp.Size < v.next {
		v.note("log indexes [%d, %d) are not yet covered by a signed checkpoint (the latest, %s, signs %d)", latest.cp.Size, v.next, latest.key, latest.cp.Size)
	}
}

// checkIDs reports message and audit ids archived more than once; ids
// duplicated between the same segments (a copied segment) are reported
// together.
func (v *verifier) checkIDs() {
	slices.SortFunc(v.ids, func(a, b idRef) int {
		return cmp.Or(strings.Compare(string(a.id[:]), string(b.id[:])), cmp.Compare(a.index, b.index), strings.Compare(v.placed[a.seg].key, v.placed[b.seg].key))
	})
	type group struct {
		ids   []string
		where []string
		index int64
	}
	groups := map[string]*group{}
	var order []string
	for i := 0; i < len(v.ids); {
		j := i + 1
		for j < len(v.ids) && v.ids[j].id == v.ids[i].id {
			j++
		}
		if j-i > 1 {
			var segs, where []string
			for _, r := range v.ids[i:j] {
				segs = append(segs, v.placed[r.seg].key)
				where = append(where, fmt.Sprintf("log index %d (%s)", r.index, v.placed[r.seg].key))
			}
			kind := "message"
			if v.ids[i].id[0]|0x20 == 'a' {
				kind = "audit entry"
			}
			gk := kind + strings.Join(segs, " ")
			g := groups[gk]
			if g == nil {
				g = &group{index: v.ids[i+1].index, where: where}
				groups[gk] = g
				order = append(order, gk)
			}
			g.ids = append(g.ids, kind+" "+idString(v.ids[i].id))
		}
		i = j
	}
	for _, gk := range order {
		g := groups[gk]
		detail := fmt.Sprintf("%s is archived %d times: %s", g.ids[0], len(g.where), strings.Join(g.where, ", "))
		if len(g.ids) > 1 {
			ids := g.ids
			if len(ids) > 5 {
				ids = append(ids[:5:5], fmt.Sprintf("and %d more", len(g.ids)-5))
			}
			detail = fmt.Sprintf("%d records are archived %d times in the same segments (first: %s): %s",
				len(g.ids), len(g.where), strings.Join(g.where, ", "), strings.Join(ids, ", "))
		}
		v.problem(Problem{Code: "duplicate_id", Index: g.index, Detail: detail})
	}
}

// eventID reads an event record's event id without decoding the record:
// Record marshals as {"kind":..,"id":..,"event":{"id":"<event id>",...}.
// Records written before events had ids have none ("").
func eventID(rec []byte) string {
	const mark = `"event":{"id":"`
	i := bytes.Index(rec, []byte(mark))
	if i < 0 {
		return ""
	}
	rest := rec[i+len(mark):]
	j := bytes.IndexByte(rest, '"')
	if j <= 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		var r struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		if json.Unmarshal(rec, &r) != nil {
			return ""
		}
		return r.Event.ID
	}
	return string(rest[:j])
}

// idKey packs a kind and an id: a ULID's 16 bytes, or (other ids) the
// first 16 bytes of its SHA-256 with the kind byte upper-cased.
func idKey(kind, id string) [17]byte {
	var k [17]byte
	k[0] = kind[0]
	if u, ok := parseULID(id); ok {
		copy(k[1:], u[:])
		return k
	}
	k[0] -= 'a' - 'A'
	h := sha256.Sum256([]byte(id))
	copy(k[1:], h[:16])
	return k
}

func idString(k [17]byte) string {
	if k[0] >= 'a' {
		var u [16]byte
		copy(u[:], k[1:])
		return formatULID(u)
	}
	if k[0] == 'E' {
		return fmt.Sprintf("(event id, hash %x)", k[1:9])
	}
	return fmt.Sprintf("(non-ULID id, hash %x)", k[1:9])
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var crockfordDec = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range crockford {
		t[c] = byte(i)
		t[c|0x20] = byte(i) // lower case
	}
	return t
}()

// parseULID decodes a 26-character Crockford base32 ULID (128 bits after
// two leading zero bits).
func parseULID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 26 {
		return u, false
	}
	var acc uint32
	bits, out := 0, 0
	for i := range 26 {
		d := crockfordDec[s[i]]
		if d == 0xff || i == 0 && d > 7 {
			return u, false
		}
		acc = acc<<5 | uint32(d)
		bits += 5
		if i == 0 {
			bits = 3
		}
		for bits >= 8 {
			bits -= 8
			u[out] = byte(acc >> bits)
			out++
		}
		acc &= 1<<bits - 1
	}
	return u, out == 16
}

func formatULID(u [16]byte) string {
	var b [26]byte
	var acc uint32
	bits, pos := 2, 0
	for _, x := range u {
		acc = acc<<8 | uint32(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			b[pos] = crockford[(acc>>bits)&31]
			pos++
		}
		acc &= 1<<bits - 1
	}
	return string(b[:])
}

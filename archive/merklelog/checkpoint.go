package merklelog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/sms"
)

// runCheckpointer folds written segments into the log's tree, seals
// reservations left open too long, and signs checkpoints: when records
// arrived, at most interval after the previous checkpoint; when idle,
// every heartbeat. Every node runs one; they coordinate through the
// compare-and-set of the tree record (a node that loses a race drops its
// work, and a checkpoint signed by two nodes at once is harmless: both are
// true statements about the one log).
func (l *Log) Run(ctx context.Context) {
	t := time.NewTicker(l.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := l.advance(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("archive log: folding segments into the tree failed", "err", err)
		}
		if _, err := l.checkpoint(ctx, time.Now().UTC()); err != nil && ctx.Err() == nil {
			l.log.Error("archive log: signing a checkpoint failed", "err", err)
		}
	}
}

// advance seals stale reservations, folds the written and void segments
// that continue the tree into it, and drops them from head.
func (l *Log) advance(ctx context.Context) error {
	var h logHead
	if _, err := l.getJSON(ctx, headKey, &h); err != nil {
		return err
	}
	var t logTree
	trev, err := l.getJSON(ctx, treeKey, &t)
	if err != nil {
		return err
	}
	now := time.Now()
	if trev == 0 {
		t.Started = now.UTC()
	}
	segs := sortedSegments(h)
	for i, e := range segs {
		if e.State == segOpen && now.Sub(e.At) > l.sealAfter {
			state, err := l.seal(ctx, e, fmt.Sprintf("the reservation was still open after %s (writer crashed or gave up)", l.sealAfter))
			if err != nil {
				return err
			}
			segs[i].State = state
		}
	}
	tree := t.Tree.Clone()
	folded := 0
	for _, e := range segs {
		end := e.First + int64(e.Count)
		if end <= tree.Size() {
			continue
		}
		if e.First != tree.Size() || e.State == segOpen || folded == 256 {
			break
		}
		leaves, err := l.leavesOf(ctx, e)
		if err != nil {
			// The log cannot move past this segment: no checkpoint will
			// cover anything after it until someone looks.
			return fmt.Errorf("log stalled at index %d: %w", e.First, err)
		}
		for _, leaf := range leaves {
			tree.Append(leaf)
		}
		folded++
	}
	if folded == 0 && trev != 0 {
		return l.trim(ctx, tree.Size())
	}
	t.Tree = tree
	if err := l.putJSON(ctx, treeKey, &t, trev); sms.KindOf(err) == sms.Conflict {
		return nil // another node advanced it; try again next tick
	} else if err != nil {
		return err
	}
	return l.trim(ctx, tree.Size())
}

// trim drops from head the segments the tree holds.
func (l *Log) trim(ctx context.Context, size int64) error {
	return l.updateHead(ctx, func(h *logHead) error {
		keep := h.Segments[:0]
		for _, e := range h.Segments {
			if e.State == segOpen || e.First+int64(e.Count) > size || e.Pending && time.Since(e.At) < pendingTTL && (e.Released.IsZero() || time.Since(e.Released) < l.releaseGrace) {
				keep = append(keep, e)
			}
		}
		if len(keep) == len(h.Segments) {
			return errNoChange
		}
		h.Segments = keep
		return nil
	})
}

// leavesOf reads a written or void segment (the version its writer wrote)
// and checks it is what head says before its leaves go into the tree.
func (l *Log) leavesOf(ctx context.Context, e logEntry) ([][32]byte, error) {
	var data []byte
	var err error
	if vst, ok := l.store.(archive.VersionedStore); ok && e.Version != "" {
		data, err = vst.GetVersion(ctx, e.Key, e.Version)
	} else {
		data, _, err = readOriginal(ctx, l.store, e.Key)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", e.Key, err)
	}
	leaves := make([][32]byte, 0, e.Count)
	bad := -1
	info, _, err := archive.ScanSegment(data, nil, func(r *archive.ScannedRecord) {
		if !r.Valid && bad < 0 {
			bad = r.Index
		}
		leaves = append(leaves, r.Leaf)
	})
	switch {
	case err != nil:
		return nil, fmt.Errorf("segment %s: %w", e.Key, err)
	case bad >= 0:
		return nil, fmt.Errorf("segment %s: record %d does not match its leaf hash", e.Key, bad)
	case info.Key != e.Key || info.First != e.First || info.Count != e.Count:
		return nil, fmt.Errorf("segment %s says it is %s at [%d, %d), head says [%d, %d)", e.Key, info.Key,
			info.First, info.First+int64(info.Count), e.First, e.First+int64(e.Count))
	}
	return leaves, nil
}

// checkpoint signs and stores a checkpoint of the tree when one is due,
// and returns its key ("" when none was due).
func (l *Log) checkpoint(ctx context.Context, now time.Time) (string, error) {
	var t logTree
	trev, err := l.getJSON(ctx, treeKey, &t)
	if err != nil || trev == 0 {
		return "", err // no tree yet: advance creates it
	}
	last := t.SignedAt
	if last.IsZero() {
		last = t.Started
	}
	grew := t.Tree.Size() > t.SignedSize || t.SignedAt.IsZero() && t.Tree.Size() > 0
	if !(grew && now.Sub(last) >= l.interval || now.Sub(last) >= l.heartbeat) {
		return "", nil
	}
	cp := archive.Checkpoint{Origin: l.signer.Name(), Size: t.Tree.Size(), Root: t.Tree.Root(), Time: now}
	msg, err := l.signer.Sign(cp)
	if err != nil {
		return "", fmt.Errorf("signing checkpoint: %w", err)
	}
	key := archive.NewCheckpointKey(now)
	if _, err := l.store.Put(ctx, key, msg, now.Add(l.longestRetention())); err != nil {
		return "", fmt.Errorf("writing checkpoint %s: %w", key, err)
	}
	err = l.update(ctx, treeKey, func() any { return &logTree{} }, func(v any) error {
		t := v.(*logTree)
		if !t.SignedAt.Before(now) {
			return errNoChange
		}
		t.SignedSize, t.SignedAt, t.SignedKey = cp.Size, now, key
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return key, fmt.Errorf("recording checkpoint %s: %w", key, err)
	}
	l.log.Info("archive checkpoint signed", "size", cp.Size, "checkpoint", key)
	return key, nil
}

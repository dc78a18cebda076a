package readmodel

import (
	"context"
	"fmt"
	"os"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/sms"
)

// RebuildStats counts what a rebuild read.
type RebuildStats struct {
	Segments, Messages, Events, Reviews int
	Skipped                             []string // objects under segments/ that are not readable segments
}

// Rebuild writes a new index at path from the object store alone: every
// archived message and status event, and the reviews (which are audit
// records in the archive, so the read model never holds anything the
// archive does not). path must not exist; the caller moves it into place.
func Rebuild(ctx context.Context, st archive.Store, path string) (RebuildStats, error) {
	var stats RebuildStats
	if _, err := os.Stat(path); err == nil {
		return stats, fmt.Errorf("%s exists; rebuild writes a new index", path)
	}
	x, err := Open(path)
	if err != nil {
		return stats, err
	}
	defer x.Close()
	err = st.List(ctx, archive.SegmentPrefix, func(oi archive.ObjectInfo) error {
		data, _, err := st.Get(ctx, oi.Key)
		if err != nil {
			return fmt.Errorf("reading %s: %w", oi.Key, err)
		}
		seg, err := archive.DecodeSegment(data)
		if err != nil {
			stats.Skipped = append(stats.Skipped, oi.Key+": "+err.Error())
			return nil
		}
		stats.Segments++
		var msgs []sms.Message
		var evs []sms.Event
		var reviews []Review
		for _, r := range seg.Records {
			switch {
			case r.Kind == archive.KindMessage && r.Message != nil:
				m := *r.Message
				m.Segment, m.ArchivedAt = oi.Key, r.ArchivedAt
				msgs = append(msgs, m)
			case r.Kind == archive.KindEvent && r.Event != nil && r.Event.MessageID != "" && r.Event.Status != sms.StatusReviewed:
				// (A reviewed event only shares a review between nodes;
				// the review's archive record is its audit entry, below.)
				evs = append(evs, *r.Event)
			case r.Kind == archive.KindAudit && r.Audit != nil && r.Audit.Action == "review":
				reviews = append(reviews, Review{MessageID: sms.MessageID(r.Audit.Params["id"]), Reviewer: r.Audit.Actor,
					At: r.Audit.At, Action: r.Audit.Params["action"], Comment: r.Audit.Params["comment"]})
			}
		}
		if err := x.ApplyMessages(ctx, msgs); err != nil {
			return err
		}
		if err := x.ApplyEvents(ctx, evs); err != nil {
			return err
		}
		for _, rv := range reviews {
			if err := x.insertReview(ctx, rv); err != nil {
				return err
			}
		}
		stats.Messages, stats.Events, stats.Reviews = stats.Messages+len(msgs), stats.Events+len(evs), stats.Reviews+len(reviews)
		return nil
	})
	if err != nil {
		return stats, err
	}
	if _, err := x.db.ExecContext(ctx, `INSERT INTO messages_fts(messages_fts) VALUES ('optimize'); ANALYZE;`); err != nil {
		return stats, fmt.Errorf("optimising the rebuilt index: %w", err)
	}
	return stats, nil
}

// insertReview stores a review without checking the message (a rebuild may
// meet the review's audit record before the message's segment).
func (x *Index) insertReview(ctx context.Context, r Review) error {
	if r.MessageID == "" || r.Action == "" {
		return nil
	}
	if _, err := x.db.ExecContext(ctx, insertReview, reviewArgs(r)...); err != nil {
		return fmt.Errorf("restoring review of %s: %w", r.MessageID, err)
	}
	return nil
}

package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/readmodel"
)

// sharedReviews is the index as the API searches it, with supervisory
// reviews shared with every node: recorded in this node's index (which
// checks the message exists), then published as a reviewed event that
// each node's index applies once — so reviewed/unreviewed searches agree
// across nodes. The review is an audit record in the archive first (the
// API writes it), which is what a reindex restores it from.
type sharedReviews struct {
	*readmodel.Index
	bus *bus.Bus
	log *slog.Logger
}

func (s sharedReviews) AddReview(ctx context.Context, r readmodel.Review) error {
	if err := s.Index.AddReview(ctx, r); err != nil {
		return err
	}
	ev := readmodel.ReviewEvent(r)
	// Two reviews of one message differ by reviewer or time, never both.
	id := string(r.MessageID) + ".reviewed." + r.Reviewer + "." + strconv.FormatInt(r.At.UnixNano(), 10)
	ev.ID = id
	data, _ := json.Marshal(ev)
	if err := s.bus.Publish(ctx, bus.Out{Subject: bus.SubjEvents + string(ev.Status), MsgID: id, Data: data}); err != nil {
		s.log.Warn("sharing a review with the other nodes failed; it is in the audit trail and this node's index", "id", r.MessageID, "err", err)
	}
	return nil
}

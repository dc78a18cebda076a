package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// indexer feeds this node's read model from ARCHIVED (messages) and
// EVENTS (status history). Each node has its own durable consumers.
type indexer struct {
	idx  *readmodel.Index
	node string
	log  *slog.Logger
}

func (x *indexer) messagesStage() Stage {
	return Stage{Name: bus.ConsumerIndexPrefix + x.node + "-msgs", Stream: bus.StreamArchived, Handle: x.handleMessages,
		Batch: 1000, MaxWait: 20 * time.Millisecond, MaxAckPending: 20000}
}

func (x *indexer) eventsStage() Stage {
	return Stage{Name: bus.ConsumerIndexPrefix + x.node + "-events", Stream: bus.StreamEvents, Handle: x.handleEvents,
		Batch: 1000, MaxWait: 20 * time.Millisecond, MaxAckPending: 20000}
}

func (x *indexer) handleMessages(ctx context.Context, batch []*bus.Msg) []Result {
	res := make([]Result, len(batch))
	msgs := make([]sms.Message, 0, len(batch))
	for i, in := range batch {
		var m sms.Message
		if err := json.Unmarshal(in.Data, &m); err != nil {
			res[i] = Result{Outcome: Dead, Code: "undecodable"}
			continue
		}
		msgs = append(msgs, m)
	}
	return x.settle(res, x.idx.ApplyMessages(ctx, msgs))
}

func (x *indexer) handleEvents(ctx context.Context, batch []*bus.Msg) []Result {
	res := make([]Result, len(batch))
	evs := make([]sms.Event, 0, len(batch))
	for i, in := range batch {
		var e sms.Event
		if err := json.Unmarshal(in.Data, &e); err != nil {
			res[i] = Result{Outcome: Dead, Code: "undecodable"}
			continue
		}
		evs = append(evs, e)
	}
	return x.settle(res, x.idx.ApplyEvents(ctx, evs))
}

// settle: the batch is applied in one transaction; a failure retries it.
func (x *indexer) settle(res []Result, err error) []Result {
	if err == nil {
		return res
	}
	x.log.Warn("indexing failed; will retry", "n", len(res), "err", err)
	for i := range res {
		if res[i].Outcome == Done {
			res[i] = Result{Outcome: Retry, Delay: time.Second}
		}
	}
	return res
}

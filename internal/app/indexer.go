package app

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

func (x *indexer) messagesConfig() bus.StageConfig {
	return bus.StageConfig{Stream: bus.StreamArchived, Durable: bus.ConsumerIndexPrefix + x.node + "-msgs", MaxDeliver: -1, Batch: 1000, MaxWait: 20 * time.Millisecond, MaxAckPending: 20000}
}

func (x *indexer) eventsConfig() bus.StageConfig {
	return bus.StageConfig{Stream: bus.StreamEvents, Durable: bus.ConsumerIndexPrefix + x.node + "-events", MaxDeliver: -1, Batch: 1000, MaxWait: 20 * time.Millisecond, MaxAckPending: 20000}
}

func (x *indexer) handleMessages(ctx context.Context, batch []*bus.Msg) {
	msgs := make([]sms.Message, 0, len(batch))
	for _, in := range batch {
		var m sms.Message
		if err := json.Unmarshal(in.Data, &m); err != nil {
			_ = in.Term()
			continue
		}
		msgs = append(msgs, m)
	}
	x.settle(batch, x.idx.ApplyMessages(ctx, msgs))
}

func (x *indexer) handleEvents(ctx context.Context, batch []*bus.Msg) {
	evs := make([]sms.Event, 0, len(batch))
	for _, in := range batch {
		var e sms.Event
		if err := json.Unmarshal(in.Data, &e); err != nil {
			_ = in.Term()
			continue
		}
		evs = append(evs, e)
	}
	x.settle(batch, x.idx.ApplyEvents(ctx, evs))
}

func (x *indexer) settle(batch []*bus.Msg, err error) {
	if err != nil {
		x.log.Warn("indexing failed; will retry", "n", len(batch), "err", err)
	}
	for _, in := range batch {
		if err != nil {
			_ = in.Nak(time.Second)
		} else {
			_ = in.Ack()
		}
	}
}

package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Out is one message to publish. MsgID becomes the Nats-Msg-Id header, so
// publishing the same MsgID twice within DuplicateWindow stores it once.
type Out struct {
	Subject string
	MsgID   string
	Data    []byte
}

// Publish publishes one message and returns after JetStream has persisted
// it (PubAck). This is what "accepted means durable" rests on.
func (b *Bus) Publish(ctx context.Context, o Out) error {
	errs := b.PublishBatch(ctx, []Out{o})
	return errs[0]
}

// PublishBatch publishes every message asynchronously and waits for all
// PubAcks. It returns one error per message (nil when persisted), so a
// caller can ack exactly the inputs whose outputs are durable.
func (b *Bus) PublishBatch(ctx context.Context, outs []Out) []error {
	errs := make([]error, len(outs))
	futs := make([]jetstream.PubAckFuture, len(outs))
	for i, o := range outs {
		m := &nats.Msg{Subject: o.Subject, Data: o.Data, Header: nats.Header{}}
		if o.MsgID != "" {
			m.Header.Set(jetstream.MsgIDHeader, o.MsgID)
		}
		for attempt := 0; ; attempt++ {
			f, err := b.js.PublishMsgAsync(m)
			if errors.Is(err, jetstream.ErrTooManyStalledMsgs) && attempt < 50 && ctx.Err() == nil {
				// The async window is full: wait for acks to come back, then retry.
				select {
				case <-b.js.PublishAsyncComplete():
				case <-time.After(100 * time.Millisecond):
				case <-ctx.Done():
				}
				continue
			}
			if err != nil {
				errs[i] = fmt.Errorf("publishing %s: %w", o.MsgID, err)
			}
			futs[i] = f
			break
		}
	}
	for i, f := range futs {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = fmt.Errorf("publishing %s: %w", outs[i].MsgID, err)
		case <-ctx.Done():
			errs[i] = fmt.Errorf("publishing %s: %w", outs[i].MsgID, ctx.Err())
		}
	}
	return errs
}

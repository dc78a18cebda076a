package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Msg is a message delivered to a stage. Exactly one of Ack, Nak or Term
// must be called.
type Msg struct {
	m          jetstream.Msg
	Subject    string
	Data       []byte
	Deliveries uint64 // 1 on first delivery
	StreamSeq  uint64 // sequence in the stream (for SecureDelete)
}

// Ack marks the message done; on a work-queue stream this deletes it.
func (m *Msg) Ack() error { return m.m.Ack() }

// AckSync acks and waits for the server to confirm (used where the ack
// deletes sensitive data and we want to know it is gone).
func (m *Msg) AckSync(ctx context.Context) error { return m.m.DoubleAck(ctx) }

// Nak asks for redelivery after delay.
func (m *Msg) Nak(delay time.Duration) error { return m.m.NakWithDelay(delay) }

// Term stops redelivery for good.
func (m *Msg) Term() error { return m.m.TermWithReason("permanent") }

// InProgress resets the ack timer for long work.
func (m *Msg) InProgress() error { return m.m.InProgress() }

// StageConfig describes a durable pull consumer.
type StageConfig struct {
	Stream  string
	Durable string
	Filter  []string
	// MaxDeliver bounds deliveries on the server (-1: unlimited). Stages
	// use -1 and count attempts themselves: a message the server stops
	// delivering would sit in its stream forever, unreported.
	MaxDeliver int
	AckWait    time.Duration
	// Batch is the most messages handed to the handler at once; MaxWait is
	// how long to wait to fill a batch after the first message arrived.
	Batch   int
	MaxWait time.Duration
	// MaxAckPending bounds messages in flight for this consumer.
	MaxAckPending int
	// DeliverNew starts a new consumer at new messages instead of the
	// beginning of the stream (read models that rebuild elsewhere).
	DeliverAll bool
}

// Handler processes a batch. It must settle (ack/nak/term) every message.
// The context it receives is cancelled only when the drain deadline passes,
// not at shutdown, so a batch in hand is finished.
type Handler func(ctx context.Context, batch []*Msg)

// Consume runs a durable pull consumer until ctx is cancelled, then
// finishes the batch in hand and returns nil.
func (b *Bus) Consume(ctx context.Context, cfg StageConfig, h Handler) error {
	cc := jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    cfg.MaxDeliver,
		MaxAckPending: cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	switch len(cfg.Filter) {
	case 0:
	case 1:
		cc.FilterSubject = cfg.Filter[0]
	default:
		cc.FilterSubjects = cfg.Filter
	}
	if cc.AckWait == 0 {
		// Short, so that messages a stopped or crashed node held come back
		// quickly; long handlers are covered by the heartbeat below.
		cc.AckWait = 5 * time.Second
	}
	batch := max(cfg.Batch, 1)
	if cc.MaxAckPending == 0 {
		cc.MaxAckPending = max(batch*4, 1000)
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, cfg.Stream, cc)
	if err != nil {
		return fmt.Errorf("creating consumer %s on %s: %w", cfg.Durable, cfg.Stream, err)
	}
	maxWait := cfg.MaxWait
	if maxWait <= 0 {
		maxWait = 5 * time.Millisecond
	}
	drainCtx := context.WithoutCancel(ctx)
	for ctx.Err() == nil {
		// Only what the handler will be given is fetched: nothing waits in
		// a client-side buffer where AckWait could expire unseen and the
		// server hand out a second copy while the first is still handled.
		msgs, err := fetch(ctx, cons, batch, maxWait)
		if err != nil {
			slog.Warn("consumer fetch failed", "consumer", cfg.Durable, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
		if len(msgs) == 0 {
			continue
		}
		handle(drainCtx, h, msgs, cc.AckWait)
	}
	return nil
}

// fetch waits (until ctx ends, checking it every few seconds) for a first
// message, then for up to maxWait for the rest of a batch.
func fetch(ctx context.Context, cons jetstream.Consumer, batch int, maxWait time.Duration) ([]*Msg, error) {
	fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	b, err := cons.Fetch(1, jetstream.FetchContext(fctx))
	if err != nil {
		return nil, err
	}
	var msgs []*Msg
	for m := range b.Messages() {
		msgs = append(msgs, wrap(m))
	}
	if len(msgs) == 0 || batch == 1 {
		if err := b.Error(); err != nil && ctx.Err() == nil && !quietFetchErr(err) {
			return msgs, err
		}
		return msgs, nil
	}
	rest, err := cons.Fetch(batch-1, jetstream.FetchMaxWait(maxWait))
	if err != nil {
		return msgs, nil // the first is handled; the rest come next time
	}
	for m := range rest.Messages() {
		msgs = append(msgs, wrap(m))
	}
	return msgs, nil
}

func quietFetchErr(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, jetstream.ErrNoMessages) || errors.Is(err, nats.ErrTimeout)
}

func wrap(m jetstream.Msg) *Msg {
	out := &Msg{m: m, Subject: m.Subject(), Data: m.Data(), Deliveries: 1}
	if md, err := m.Metadata(); err == nil {
		out.Deliveries = md.NumDelivered
		out.StreamSeq = md.Sequence.Stream
	}
	return out
}

// handle runs h on a batch and, while it runs, tells the server the batch
// is in progress so AckWait does not expire under a slow handler (an
// archive PUT, a carrier submit). Progress on already-settled messages is
// ignored by the server.
func handle(ctx context.Context, h Handler, msgs []*Msg, ackWait time.Duration) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress()
				}
			}
		}
	}()
	h(ctx, msgs)
	close(done)
}

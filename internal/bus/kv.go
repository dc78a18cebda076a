package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/smsgw/smsgw/kv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smsgw/smsgw/sms"
)

// KV is a JetStream key-value bucket. Errors are *sms.Error: NotFound for a
// missing key, Conflict for a create on an existing key or a stale revision.
type KV struct {
	name string
	kv   jetstream.KeyValue
	bus  *Bus
}

// KV returns one of the buckets declared in topology.go.
func (b *Bus) KV(name string) *KV {
	kv, ok := b.kv[name]
	if !ok {
		panic("bus: undeclared bucket " + name)
	}
	return &KV{name: name, kv: kv, bus: b}
}

// Entry is a value with the revision to pass to Update.
type Entry = kv.Entry

var _ kv.Bucket = (*KV)(nil)

func (k *KV) wrap(op, key string, err error) error {
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return sms.Wrap(sms.NotFound, "not_found", "not found", fmt.Errorf("%s %s/%s: %w", op, k.name, key, err))
	case errors.Is(err, jetstream.ErrKeyExists):
		return sms.Wrap(sms.Conflict, "conflict", "changed concurrently or already exists", fmt.Errorf("%s %s/%s: %w", op, k.name, key, err))
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return sms.Wrap(sms.Conflict, "conflict", "changed concurrently", fmt.Errorf("%s %s/%s: %w", op, k.name, key, err))
	}
	return sms.Wrap(sms.Unavailable, "store_unavailable", "state store unavailable", fmt.Errorf("%s %s/%s: %w", op, k.name, key, err))
}

// Get returns the current value of key.
func (k *KV) Get(ctx context.Context, key string) (Entry, error) {
	e, err := k.kv.Get(ctx, key)
	if err != nil {
		return Entry{}, k.wrap("getting", key, err)
	}
	return Entry{Key: key, Value: e.Value(), Revision: e.Revision()}, nil
}

// Put writes key unconditionally.
func (k *KV) Put(ctx context.Context, key string, v []byte) (uint64, error) {
	rev, err := k.kv.Put(ctx, key, v)
	if err != nil {
		return 0, k.wrap("putting", key, err)
	}
	return rev, nil
}

// Create writes key only if it does not exist.
func (k *KV) Create(ctx context.Context, key string, v []byte) (uint64, error) {
	rev, err := k.kv.Create(ctx, key, v)
	if err != nil {
		return 0, k.wrap("creating", key, err)
	}
	return rev, nil
}

// Update writes key only if its revision is still rev.
func (k *KV) Update(ctx context.Context, key string, v []byte, rev uint64) (uint64, error) {
	nrev, err := k.kv.Update(ctx, key, v, rev)
	if err != nil {
		return 0, k.wrap("updating", key, err)
	}
	return nrev, nil
}

// Delete removes key.
func (k *KV) Delete(ctx context.Context, key string) error {
	if err := k.kv.Delete(ctx, key); err != nil {
		return k.wrap("deleting", key, err)
	}
	return nil
}

// Keys lists every key (empty bucket: no keys, no error).
func (k *KV) Keys(ctx context.Context) ([]string, error) {
	l, err := k.kv.ListKeys(ctx)
	if err != nil {
		return nil, k.wrap("listing", "*", err)
	}
	var keys []string
	for key := range l.Keys() {
		keys = append(keys, key)
	}
	return keys, nil
}

// PutBatch writes many keys with pipelined publishes (a KV put is a publish
// to $KV.<bucket>.<key>) and waits for all of them; one error per key.
func (k *KV) PutBatch(ctx context.Context, keys []string, vals [][]byte) []error {
	outs := make([]Out, len(keys))
	for i, key := range keys {
		outs[i] = Out{Subject: "$KV." + k.name + "." + key, Data: vals[i]}
	}
	return k.bus.PublishBatch(ctx, outs)
}

// Watch calls f with the current value of every key matching pattern
// (NATS subject wildcards), then with every new value, until ctx ends.
// Deletes are not reported.
func (k *KV) Watch(ctx context.Context, pattern string, f func(Entry)) error {
	w, err := k.kv.Watch(ctx, pattern)
	if err != nil {
		return k.wrap("watching", pattern, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue // nil: the current values have all been sent
			}
			f(Entry{Key: e.Key(), Value: e.Value(), Revision: e.Revision()})
		}
	}
}

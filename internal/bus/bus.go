package bus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config says where the bus is.
type Config struct {
	// URL of an external NATS cluster; empty uses Embedded.
	URL string
	// CredsFile for an external cluster (optional).
	CredsFile string
	// Replicas for streams and buckets (1 embedded; 3 in a cluster).
	Replicas int
	Embedded EmbeddedConfig
}

// Bus is a connection to JetStream with the pipeline's topology declared.
type Bus struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	srv *server.Server // nil when external
	kv  map[string]jetstream.KeyValue

	mu      sync.Mutex
	streams map[string]jetstream.Stream
}

// Open connects (starting the embedded server when no URL is given) and
// declares every stream and bucket of topology.go.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	b := &Bus{kv: map[string]jetstream.KeyValue{}, streams: map[string]jetstream.Stream{}}
	var err error
	if cfg.URL == "" {
		b.srv, err = StartEmbedded(cfg.Embedded)
		if err != nil {
			return nil, err
		}
		b.nc, err = nats.Connect("", nats.InProcessServer(b.srv), nats.Name("smsgw"), nats.MaxReconnects(-1))
	} else {
		opts := []nats.Option{nats.Name("smsgw"), nats.MaxReconnects(-1)}
		if cfg.CredsFile != "" {
			opts = append(opts, nats.UserCredentials(cfg.CredsFile))
		}
		b.nc, err = nats.Connect(cfg.URL, opts...)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("connecting to NATS: %w", err)
	}
	b.js, err = jetstream.New(b.nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	if err := b.declare(ctx, max(cfg.Replicas, 1)); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bus) declare(ctx context.Context, replicas int) error {
	for _, s := range streams {
		sc := jetstream.StreamConfig{
			Name:       s.name,
			Subjects:   s.subjects,
			Storage:    jetstream.FileStorage,
			Replicas:   replicas,
			Duplicates: DuplicateWindow,
			MaxAge:     s.maxAge,
		}
		if s.workQueue {
			sc.Retention = jetstream.WorkQueuePolicy
		}
		if _, err := b.js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("declaring stream %s: %w", s.name, err)
		}
	}
	for _, k := range buckets {
		if erasableBuckets[k.name] {
			// KV streams deny message deletes, and that cannot be undone
			// later; SecureDelete needs them, so this bucket's stream is
			// declared here with the KV conventions, deletes allowed.
			_, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
				Name: "KV_" + k.name, Subjects: []string{"$KV." + k.name + ".>"},
				MaxMsgsPerSubject: int64(max(k.hist, 1)), MaxAge: k.ttl, MaxBytes: -1, MaxMsgs: -1, MaxMsgSize: -1, MaxConsumers: -1,
				Storage: jetstream.FileStorage, Replicas: replicas, AllowRollup: true, AllowDirect: true,
				Discard: jetstream.DiscardNew, Duplicates: 2 * time.Minute,
			})
			if err != nil {
				return fmt.Errorf("declaring bucket %s: %w", k.name, err)
			}
			kv, err := b.js.KeyValue(ctx, k.name)
			if err != nil {
				return fmt.Errorf("declaring bucket %s: %w", k.name, err)
			}
			b.kv[k.name] = kv
			continue
		}
		kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:   k.name,
			History:  max(k.hist, 1),
			TTL:      k.ttl,
			Storage:  jetstream.FileStorage,
			Replicas: replicas,
		})
		if err != nil {
			return fmt.Errorf("declaring bucket %s: %w", k.name, err)
		}
		b.kv[k.name] = kv
	}
	return nil
}

// Close drains the connection and shuts the embedded server down, in that
// order, so acks in flight reach the server before it stops. Idempotent.
func (b *Bus) Close() {
	if b.nc != nil && !b.nc.IsClosed() {
		_ = b.nc.Drain()
		deadline := time.Now().Add(10 * time.Second)
		for !b.nc.IsClosed() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		b.nc.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
		b.srv = nil
	}
}

// StreamInfo reports the number of messages in a stream (tests, health).
func (b *Bus) StreamMsgs(ctx context.Context, stream string) (uint64, error) {
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("looking up stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading stream %s info: %w", stream, err)
	}
	return info.State.Msgs, nil
}

// Healthy reports whether the connection to JetStream is up.
func (b *Bus) Healthy() bool { return b.nc != nil && b.nc.IsConnected() }

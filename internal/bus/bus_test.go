package bus

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

func openTest(t *testing.T) (*Bus, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Open(ctx, Config{Embedded: EmbeddedConfig{StoreDir: dir}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(b.Close)
	return b, dir
}

func TestPublishDeduplicatesByMsgID(t *testing.T) {
	b, _ := openTest(t)
	ctx := context.Background()
	for range 3 {
		if err := b.Publish(ctx, Out{Subject: SubjIngressOutbound, MsgID: "01ARZ3NDEKTSV4RRFFQ69G5FAV", Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Publish(ctx, Out{Subject: SubjIngressOutbound, MsgID: "01ARZ3NDEKTSV4RRFFQ69G5FAW", Data: []byte("y")}); err != nil {
		t.Fatal(err)
	}
	n, err := b.StreamMsgs(ctx, StreamIngress)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("INGRESS holds %d messages after 3 publishes of one id and 1 of another, want 2", n)
	}
}

func TestConsumeAckNakAndRedelivery(t *testing.T) {
	b, _ := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var outs []Out
	for i := range 10 {
		outs = append(outs, Out{Subject: SubjFiltered + "outbound", MsgID: string(rune('a' + i)), Data: []byte{byte(i)}})
	}
	for _, err := range b.PublishBatch(ctx, outs) {
		if err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[byte][]uint64{}
	done := make(chan struct{})
	go func() {
		_ = b.Consume(ctx, StageConfig{Stream: StreamFiltered, Durable: "t", Batch: 4, MaxDeliver: 5}, func(ctx context.Context, batch []*Msg) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range batch {
				seen[m.Data[0]] = append(seen[m.Data[0]], m.Deliveries)
				// Odd messages fail once.
				if m.Data[0]%2 == 1 && m.Deliveries == 1 {
					_ = m.Nak(10 * time.Millisecond)
					continue
				}
				_ = m.Ack()
			}
			total := 0
			for _, d := range seen {
				total += len(d)
			}
			if total == 15 {
				close(done)
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("not every message was redelivered as expected: %v", seen)
	}
	cancel()
	mu.Lock()
	defer mu.Unlock()
	for i := byte(0); i < 10; i++ {
		want := 1
		if i%2 == 1 {
			want = 2
		}
		if len(seen[i]) != want {
			t.Errorf("message %d delivered %d times, want %d", i, len(seen[i]), want)
		}
	}
	// Work queue: all acked messages are gone.
	eventually(t, func() bool { n, _ := b.StreamMsgs(context.Background(), StreamFiltered); return n == 0 })
}

func TestSecureDeleteErasesBytesOnDisk(t *testing.T) {
	b, dir := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	secret := []byte("raw-secret-4111111111111111-marker")
	if err := b.Publish(ctx, Out{Subject: SubjIngressOutbound, MsgID: "s1", Data: secret}); err != nil {
		t.Fatal(err)
	}
	if !onDisk(t, dir, secret) {
		t.Fatalf("test premise: the published bytes should be in the store dir")
	}
	got := make(chan *Msg, 1)
	go b.Consume(ctx, StageConfig{Stream: StreamIngress, Durable: "filter"}, func(ctx context.Context, batch []*Msg) {
		for _, m := range batch {
			got <- m
		}
	})
	m := <-got
	for _, err := range b.SecureDelete(ctx, StreamIngress, []uint64{m.StreamSeq}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	_ = m.Ack()
	if onDisk(t, dir, secret) {
		t.Errorf("secure-deleted message bytes are still in the JetStream store")
	}
	// Deleting again is not an error.
	for _, err := range b.SecureDelete(ctx, StreamIngress, []uint64{m.StreamSeq}) {
		if err != nil {
			t.Errorf("second SecureDelete: %v", err)
		}
	}
}

func TestKVConflicts(t *testing.T) {
	b, _ := openTest(t)
	ctx := context.Background()
	kv := b.KV(BucketNumbers)
	rev, err := kv.Create(ctx, "k", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "k", []byte("2")); sms.KindOf(err) != sms.Conflict {
		t.Errorf("second Create: kind %v, want Conflict (%v)", sms.KindOf(err), err)
	}
	if _, err := kv.Update(ctx, "k", []byte("3"), rev); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(ctx, "k", []byte("4"), rev); sms.KindOf(err) != sms.Conflict {
		t.Errorf("stale Update: kind %v, want Conflict (%v)", sms.KindOf(err), err)
	}
	if _, err := kv.Get(ctx, "missing"); sms.KindOf(err) != sms.NotFound {
		t.Errorf("Get missing: kind %v, want NotFound", sms.KindOf(err))
	}
	errs := kv.PutBatch(ctx, []string{"a", "b"}, [][]byte{[]byte("A"), []byte("B")})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e, err := kv.Get(ctx, "b"); err != nil || string(e.Value) != "B" {
		t.Errorf("PutBatch then Get b = %q, %v", e.Value, err)
	}
}

func onDisk(t *testing.T, dir string, needle []byte) bool {
	t.Helper()
	found := false
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, needle) {
			found = true
		}
		return nil
	})
	return found
}

func eventually(t *testing.T, f func() bool) {
	t.Helper()
	for range 500 {
		if f() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition not met in time")
}

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/sandbox"
	"github.com/smsgw/smsgw/sms"
)

// TestRestartDeliversOnceArchivesOnce stops the gateway with every
// message in flight — the carrier is not up yet, so none can have left —
// and starts it again on the same data dir with the carrier up: every
// accepted message reaches the carrier exactly once and is archived
// exactly once.
func TestRestartDeliversOnceArchivesOnce(t *testing.T) {
	// The carrier's address, not served until the restart.
	carrierAddr := testenv.FreePort(t)
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Sandbox.Enabled = false
	cfg.Carriers = []config.Carrier{{Name: "acme", Addr: carrierAddr, SystemID: "gw", Password: "secret"}}
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")

	const n = 60
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := g.call("POST", "/v1/messages", tok, map[string]string{"to": customer, "body": fmt.Sprintf("restart test message %03d", i)})
			if r.Status != 202 {
				t.Errorf("message %d: %d %s", i, r.Status, r.Body)
				return
			}
			ids[i], _ = r.json(t)["id"].(string)
		}()
	}
	wg.Wait()
	// Stop at once: the messages are somewhere in the pipeline, and none
	// has reached a carrier (none is listening).
	g.stop()

	var carrier *sandbox.Server
	var err error
	for range 100 { // the address was free a moment ago
		if carrier, err = sandbox.New(sandbox.Config{Addr: carrierAddr, SystemID: "gw", Password: "secret"}); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("starting the carrier on %s: %v", carrierAddr, err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go carrier.Run(cctx)
	defer carrier.Close()

	cfg2 := cfg
	cfg2.HTTP.Addr = "127.0.0.1:0"
	g2 := start(t, cfg2, nil)
	if _, err := carrier.WaitSubmitted(ctxT(t), n); err != nil {
		t.Fatalf("after restart the carrier has %d of %d messages: %v", len(carrier.Submitted()), n, err)
	}
	for _, id := range ids {
		g2.waitStatus(id, tok, "delivered")
	}
	// Stopped, the node sends nothing more: what the carrier has now is
	// all it will get from this run.
	g2.stop()
	count := map[string]int{}
	for _, s := range carrier.Submitted() {
		count[s.Text]++
	}
	for i := range n {
		body := fmt.Sprintf("restart test message %03d", i)
		if count[body] != 1 {
			t.Errorf("carrier received %q %d times, want 1", body, count[body])
		}
	}

	store, err := archive.NewLocalStore(dir + "/archive")
	if err != nil {
		t.Fatal(err)
	}
	recs := map[sms.MessageID]int{}
	ctx := ctxT(t)
	err = store.List(ctx, archive.SegmentPrefix, func(oi archive.ObjectInfo) error {
		data, _, err := store.Get(ctx, oi.Key)
		if err != nil {
			return err
		}
		seg, err := archive.DecodeSegment(data)
		if err != nil {
			return fmt.Errorf("segment %s: %w", oi.Key, err)
		}
		for _, r := range seg.Records {
			if r.Kind == "message" {
				recs[r.ID]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if recs[sms.MessageID(id)] != 1 {
			t.Errorf("archive holds %d records for %s, want 1", recs[sms.MessageID(id)], id)
		}
	}
}

package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// TestArchiveLogS3: a node on MinIO with Object Lock archives messages,
// their status events and journal entries into one Merkle log, signs
// checkpoints, and the result verifies with every lock checked.
func TestArchiveLogS3(t *testing.T) {
	m := testenv.StartMinIO(t)
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Node = "t"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.SMPP.Addr = "127.0.0.1:0"
	cfg.Archive.SegmentMaxAge = 20 * time.Millisecond
	cfg.Archive.Backend = "s3"
	cfg.Archive.S3 = config.S3{Endpoint: m.Endpoint, Bucket: m.NewLockedBucket(t), AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey, Prefix: "smsgw"}
	cfg.Archive.CheckpointInterval = time.Second
	cfg.Archive.CheckpointHeartbeat = 2 * time.Second
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := New(ctx, cfg, log); err == nil || !strings.Contains(err.Error(), "archive.signing_key_file") {
		t.Fatalf("New on s3 without a signing key: %v", err)
	}
	cfg.Archive.SigningKeyFile = filepath.Join(cfg.DataDir, "archive.key")
	vkey, err := archive.WriteKeyFile(cfg.Archive.SigningKeyFile, "smsgw.test/archive")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)

	var ids []sms.MessageID
	for range 3 {
		msg := &sms.Message{Direction: sms.Inbound, From: "+14155550199", To: "+14155550100", Body: "card 4111 1111 1111 1111", Source: sms.SourceCarrier}
		if err := a.Ingress.Accept(ctx, msg); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, msg.ID)
	}
	for _, id := range ids {
		waitView(t, a, id, func(v readmodel.View) bool { return v.Archived })
	}
	auditID, err := a.Journal().Append(ctx, archive.AuditEntry{Actor: "officer", Action: "search", Params: map[string]string{"q": "card"}, ResultCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	assignID, err := a.Journal().Append(ctx, archive.AuditEntry{Type: archive.AuditAssignment, Actor: "admin", Action: "number.assign",
		Params: map[string]string{"number": "+14155550100", "employee_id": "jane"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Journal().Append(ctx, archive.AuditEntry{Actor: "x"}); sms.KindOf(err) != sms.Invalid {
		t.Errorf("an entry without an action: %v", err)
	}
	// Replaying an entry (same id) archives it once.
	if _, err := a.Journal().Append(ctx, archive.AuditEntry{ID: auditID, Actor: "officer", Action: "search"}); err != nil {
		t.Fatal(err)
	}

	st := a.Store
	kinds := func() map[string]int {
		n := map[string]int{}
		st.List(ctx, archive.SegmentPrefix, func(oi archive.ObjectInfo) error {
			data, _, err := st.Get(ctx, oi.Key)
			if err != nil {
				return err
			}
			seg, err := archive.DecodeSegment(data)
			if err != nil {
				t.Errorf("segment %s: %v", oi.Key, err)
				return nil
			}
			for _, r := range seg.Records {
				n[r.Kind]++
				if r.Kind == archive.KindAudit {
					n["audit:"+string(r.ID)]++
				}
				if r.Kind == archive.KindEvent && r.Event.Status == sms.StatusArchived {
					n["archived-event"]++
				}
			}
			return nil
		})
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	var rep *archive.Report
	for {
		n := kinds()
		var err error
		rep, err = archive.Verify(ctx, st, archive.VerifyConfig{VerifierKeys: []string{vkey}})
		if err != nil {
			t.Fatal(err)
		}
		if n[archive.KindMessage] == 3 && n["audit:"+auditID] == 1 && n["audit:"+assignID] == 1 && n["archived-event"] == 3 &&
			rep.OK() && rep.SignedSize == rep.LogSize {
			break
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			rep.WriteText(&b)
			t.Fatalf("archive never settled: kinds %v\n%s", n, b.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop()
	rep, err = archive.Verify(ctx, st, archive.VerifyConfig{VerifierKeys: []string{vkey}, CheckpointRetention: time.Duration(cfg.Archive.RetentionDays) * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || !rep.LocksChecked || rep.Checkpoints == 0 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("after stop:\n%s", b.String())
	}
}

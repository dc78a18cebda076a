package archive

import (
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/smsgw/smsgw/internal/testenv"
)

// TestLegalHoldOutlastsRetention: on real MinIO, a held object cannot be
// deleted after its retention date has passed; once the hold is off, it
// can (retention alone no longer protects it).
func TestLegalHoldOutlastsRetention(t *testing.T) {
	m := testenv.StartMinIO(t)
	bucket := m.NewLockedBucket(t)
	s, err := NewS3Store(S3Config{Endpoint: m.Endpoint, Bucket: bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	oi, err := s.Put(ctx, "segments/held.seg", []byte("records"), time.Now().Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetLegalHold(ctx, "segments/held.seg", true); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stat(ctx, "segments/held.seg"); err != nil || !st.LegalHold {
		t.Fatalf("Stat after hold: %+v %v, want LegalHold", st, err)
	}
	time.Sleep(3 * time.Second) // the retention date passes
	del := func() error {
		return m.Client.RemoveObject(ctx, bucket, "segments/held.seg", minio.RemoveObjectOptions{VersionID: oi.VersionID})
	}
	if err := del(); err == nil {
		t.Fatal("a held version was deleted after its retention date")
	}
	if err := s.SetLegalHold(ctx, "segments/held.seg", false); err != nil {
		t.Fatal(err)
	}
	if err := del(); err != nil {
		t.Errorf("deleting after the hold was released and retention passed: %v", err)
	}
}

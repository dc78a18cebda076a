package archive

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/internal/testenv"
)

// TestCheckConformance: MinIO with Object Lock passes every check; a
// bucket without Object Lock is reported and the rest skipped.
func TestCheckConformance(t *testing.T) {
	m := testenv.StartMinIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	locked, _ := NewS3Store(S3Config{Endpoint: m.Endpoint, Bucket: m.NewLockedBucket(t), AccessKey: m.AccessKey, SecretKey: m.SecretKey, Prefix: "arch"})
	checks := locked.CheckConformance(ctx, 2*time.Minute)
	var b strings.Builder
	if !WriteConformance(&b, locked.Bucket(), checks) || len(checks) != 8 {
		t.Fatalf("locked bucket:\n%s", b.String())
	}
	t.Logf("\n%s", b.String())
	// Only the locked test object is left (it expires by itself).
	var left []string
	locked.ListVersions(ctx, ConformancePrefix, func(ov ObjectVersion) error { left = append(left, ov.Key); return nil })
	if len(left) != 1 || !strings.HasSuffix(left[0], "/locked") {
		t.Errorf("left behind: %v, want only the locked test object", left)
	}

	plain, _ := NewS3Store(S3Config{Endpoint: m.Endpoint, Bucket: m.NewPlainBucket(t), AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	checks = plain.CheckConformance(ctx, time.Minute)
	b.Reset()
	if WriteConformance(&b, plain.Bucket(), checks) {
		t.Fatalf("a bucket without Object Lock conforms:\n%s", b.String())
	}
	if checks[0].Name != CheckLockEnabled || checks[0].OK || !strings.Contains(checks[0].Detail, "has no Object Lock") {
		t.Errorf("first check = %+v", checks[0])
	}
	for _, c := range checks[1:] {
		if !c.Skipped {
			t.Errorf("%s ran on a bucket without Object Lock: %+v", c.Name, c)
		}
	}
}

package archive

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/smsgw/smsgw/internal/testenv"
)

// TestVerifyS3 runs verify against real MinIO with Object Lock: an intact
// log passes with every version's lock checked; a version written over a
// segment through the backend, a delete marker, a weaker lock and a
// checkpoint locked in GOVERNANCE mode are each reported precisely.
func TestVerifyS3(t *testing.T) {
	m := testenv.StartMinIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bucket := m.NewLockedBucket(t)
	st, err := NewS3Store(S3Config{Endpoint: m.Endpoint, Bucket: bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Prefix: "arch"})
	if err != nil {
		t.Fatal(err)
	}
	l := buildLog(t, st)
	rep := l.verify()
	if !rep.OK() || !rep.LocksChecked || rep.LogSize != 22 || rep.Checkpoints != 3 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("intact log:\n%s", b.String())
	}

	// Overwrite segment 1 through the backend: versioning keeps the
	// locked original, verify reads it and reports the new version and
	// the records it differs in.
	orig, _, err := st.Get(ctx, l.keys[1])
	if err != nil {
		t.Fatal(err)
	}
	seg, err := DecodeSegment(orig)
	if err != nil {
		t.Fatal(err)
	}
	seg.Records[3].Message.Body = "rewritten"
	forged, _, _ := EncodeLogSegment(seg.SegmentInfo, seg.Records)
	if _, err := m.Client.PutObject(ctx, bucket, "arch/"+l.keys[1], bytes.NewReader(forged), int64(len(forged)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Hide segment 2 behind a delete marker.
	if err := m.Client.RemoveObject(ctx, bucket, "arch/"+l.keys[2], minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// A store that did not write them reads the locked originals, not the
	// overwrite, and not "missing" behind the delete marker.
	fresh, _ := NewS3Store(S3Config{Endpoint: m.Endpoint, Bucket: bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Prefix: "arch"})
	if got, _, err := fresh.Get(ctx, l.keys[1]); err != nil || !bytes.Equal(got, orig) {
		t.Errorf("Get after an overwrite: %v (original: %v)", err, bytes.Equal(got, orig))
	}
	if _, _, err := fresh.Get(ctx, l.keys[2]); err != nil {
		t.Errorf("Get behind a delete marker: %v", err)
	}
	if _, err := fresh.Stat(ctx, "segments/none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat of a missing key: %v", err)
	}
	// A checkpoint written in GOVERNANCE mode, and a segment whose lock
	// ends before its own policy date.
	gov := minio.Governance
	comp := minio.Compliance
	cpAt := l.tick()
	cpKey := NewCheckpointKey(cpAt)
	msg, _ := l.signer.Sign(Checkpoint{Origin: l.signer.Name(), Size: l.tree.Size(), Root: l.tree.Root(), Time: cpAt})
	if _, err := m.Client.PutObject(ctx, bucket, "arch/"+cpKey, bytes.NewReader(msg), int64(len(msg)), minio.PutObjectOptions{Mode: gov, RetainUntilDate: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	shortKey := NewSegmentKey(time.Now())
	short, leaves, _ := EncodeLogSegment(SegmentInfo{Key: shortKey, First: l.tree.Size(), Created: time.Now(), RetainUntil: time.Now().Add(48 * time.Hour)}, sampleRecords(2))
	if _, err := m.Client.PutObject(ctx, bucket, "arch/"+shortKey, bytes.NewReader(short), int64(len(short)), minio.PutObjectOptions{Mode: comp, RetainUntilDate: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, h := range leaves {
		l.tree.Append(h)
	}
	l.checkpoint()

	rep = l.verify()
	wantProblem(t, rep, "object_overwritten", l.keys[1], -1, "it differs at log indexes 8 (5 vs 5 records)")
	wantProblem(t, rep, "delete_marker", l.keys[2], -1, "hides the object")
	wantProblem(t, rep, "not_locked", cpKey, -1, "mode is GOVERNANCE, want COMPLIANCE")
	wantProblem(t, rep, "lock_too_short", shortKey, -1, "before its policy date")
	if len(rep.Problems) != 4 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Errorf("want exactly 4 problems:\n%s", b.String())
	}

	// A log in a bucket without Object Lock: nothing is locked.
	plain := m.NewPlainBucket(t)
	ps, _ := NewS3Store(S3Config{Endpoint: m.Endpoint, Bucket: plain, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	lk := NewSegmentKey(time.Now())
	data, leaves, _ := EncodeLogSegment(SegmentInfo{Key: lk, First: 0, Created: time.Now(), RetainUntil: time.Now().Add(time.Hour)}, sampleRecords(1))
	if _, err := m.Client.PutObject(ctx, plain, lk, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	var tr Tree
	tr.Append(leaves[0])
	msg, _ = l.signer.Sign(Checkpoint{Origin: l.signer.Name(), Size: 1, Root: tr.Root(), Time: time.Now()})
	if _, err := m.Client.PutObject(ctx, plain, NewCheckpointKey(time.Now()), bytes.NewReader(msg), int64(len(msg)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	prep, err := Verify(ctx, ps, VerifyConfig{VerifierKeys: l.vkeys()})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, prep, "bucket_not_locked", "", -1, "has no Object Lock")
	if len(prep.Problems) != 1 || prep.LocksChecked {
		t.Errorf("plain bucket: problems %v, want only the bucket reported", prep.Problems)
	}
}

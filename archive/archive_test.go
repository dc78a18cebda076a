package archive

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"

	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/sms"
)

func sampleRecords(n int) []Record {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	recs := make([]Record, n)
	for i := range recs {
		id := sms.MessageID(sms.NewULID(now))
		recs[i] = Record{Kind: "message", ID: id, ArchivedAt: now, Message: &sms.Message{
			ID: id, Direction: sms.Outbound, From: "+14155550100", To: "+14155550199",
			Body: "card **** **** **** 1111", Verdict: sms.VerdictRedacted, EmployeeID: "jane",
			Findings: []sms.Finding{{Type: "card", Start: 5, End: 24, Action: sms.ActionRedact}}, AcceptedAt: now,
		}}
	}
	return recs
}

func TestSegmentRoundTrip(t *testing.T) {
	recs := sampleRecords(5)
	now := time.Now().UTC()
	data, err := EncodeSegment("segments/x.seg.zst", recs, now, now.AddDate(7, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	seg, err := DecodeSegment(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(seg.Records) != 5 || seg.Records[3].ID != recs[3].ID || seg.Records[3].Message.Body != recs[3].Message.Body {
		t.Fatalf("round trip lost records: %+v", seg.Records)
	}
	if seg.Key != "segments/x.seg.zst" || !seg.RetainUntil.Equal(now.AddDate(7, 0, 0)) {
		t.Errorf("header = %s %v", seg.Key, seg.RetainUntil)
	}
	if seg.Format != LegacySegmentFormat || seg.InLog() {
		t.Errorf("EncodeSegment wrote format %s at %d, want a legacy segment outside the log", seg.Format, seg.First)
	}
}

// rewrite decompresses a segment, applies f to its text and recompresses.
func rewrite(t *testing.T, data []byte, f func(string) string) []byte {
	t.Helper()
	d, _ := zstd.NewReader(nil)
	raw, err := d.DecodeAll(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := zstd.NewWriter(nil)
	return e.EncodeAll([]byte(f(string(raw))), nil)
}

func TestDecodeSegmentDetectsTampering(t *testing.T) {
	now := time.Now()
	data, _, err := EncodeLogSegment(SegmentInfo{Key: "k", First: 7, Created: now, RetainUntil: now}, sampleRecords(3))
	if err != nil {
		t.Fatal(err)
	}
	if seg, err := DecodeSegment(data); err != nil || seg.First != 7 || seg.Count != 3 || seg.Format != SegmentFormat {
		t.Fatalf("DecodeSegment = %+v, %v", seg, err)
	}
	lines := func(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
	for _, c := range []struct {
		name, want string
		f          func(string) string
	}{
		{"changed body", "record 1: leaf hash mismatch", func(s string) string {
			l := lines(s)
			l[2] = strings.Replace(l[2], "1111", "2222", 1)
			return strings.Join(l, "\n") + "\n"
		}},
		{"dropped record", "holds 2 records, header says 3", func(s string) string {
			l := lines(s)
			return strings.Join(append(l[:2], l[3:]...), "\n") + "\n"
		}},
		{"reordered", "root mismatch", func(s string) string {
			l := lines(s)
			l[1], l[2] = l[2], l[1]
			return strings.Join(l, "\n") + "\n"
		}},
		{"wrong format", "segment format", func(s string) string { return strings.Replace(s, SegmentFormat, "other/1", 1) }},
	} {
		_, err := DecodeSegment(rewrite(t, data, c.f))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 0x40
	if _, err := DecodeSegment(flipped); err == nil {
		t.Errorf("a flipped byte in the compressed segment went unnoticed")
	}
}

func TestLocalStorePutIfAbsent(t *testing.T) {
	dir := t.TempDir()
	s, err := NewLocalStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "segments/a.seg", []byte("one"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "segments/a.seg", []byte("two"), time.Now()); !errors.Is(err, ErrExists) {
		t.Fatalf("second Put: %v, want ErrExists", err)
	}
	data, _, err := s.Get(ctx, "segments/a.seg")
	if err != nil || string(data) != "one" {
		t.Fatalf("Get = %q, %v; want the first write", data, err)
	}
	st, _ := os.Stat(filepath.Join(dir, "segments/a.seg"))
	if st.Mode().Perm() != 0o444 {
		t.Errorf("segment file mode %v, want 0444", st.Mode().Perm())
	}
	if _, err := s.Stat(ctx, "segments/missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat missing: %v", err)
	}
	if _, err := s.Put(ctx, "../escape", []byte("x"), time.Now()); err == nil {
		t.Errorf("a key escaping the dir was accepted")
	}
	var keys []string
	if err := s.List(ctx, "segments/", func(oi ObjectInfo) error { keys = append(keys, oi.Key); return nil }); err != nil || len(keys) != 1 {
		t.Errorf("List = %v, %v", keys, err)
	}
	if os.Geteuid() != 0 { // root can write anywhere
		ro := t.TempDir()
		os.Chmod(ro, 0o500)
		rs, _ := NewLocalStore(ro)
		if err := rs.Check(ctx); err == nil {
			t.Errorf("Check on a read-only dir succeeded")
		}
	}
}

func TestS3StoreObjectLock(t *testing.T) {
	m := testenv.StartMinIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	plain := m.NewPlainBucket(t)
	ps, err := NewS3Store(S3Config{Endpoint: m.Endpoint, Bucket: plain, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.Check(ctx); sms.CodeOf(err) != "bucket_not_locked" || !strings.Contains(err.Error(), "--object-lock-enabled-for-bucket") {
		t.Errorf("Check on a bucket without Object Lock: %v, want bucket_not_locked with how to fix", err)
	}
	missing, _ := NewS3Store(S3Config{Endpoint: m.Endpoint, Bucket: "no-such-bucket", AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	if err := missing.Check(ctx); sms.CodeOf(err) != "bucket_missing" {
		t.Errorf("Check on a missing bucket: %v", err)
	}

	bucket := m.NewLockedBucket(t)
	s, err := NewS3Store(S3Config{Endpoint: m.Endpoint, Bucket: bucket, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Prefix: "arch"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("Check on a locked bucket: %v", err)
	}
	now := time.Now().UTC()
	data, _ := EncodeSegment("segments/a", sampleRecords(2), now, now.AddDate(7, 0, 0))
	until := now.AddDate(7, 0, 0)
	oi, err := s.Put(ctx, "segments/a", data, until)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(ctx, "segments/a")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != "COMPLIANCE" || st.RetainUntil.Before(until.Add(-time.Second)) {
		t.Errorf("Stat = mode %q until %v, want COMPLIANCE until %v", st.Mode, st.RetainUntil, until)
	}
	if _, err := s.Put(ctx, "segments/a", []byte("other"), until); !errors.Is(err, ErrExists) {
		t.Errorf("second Put of the same key: %v, want ErrExists", err)
	}
	// The locked version cannot be deleted, even with governance bypass.
	err = m.Client.RemoveObject(ctx, bucket, "arch/segments/a", minio.RemoveObjectOptions{VersionID: oi.VersionID, GovernanceBypass: true})
	if err == nil {
		t.Errorf("deleting a COMPLIANCE-locked version succeeded")
	}
	// Retention cannot be shortened nor turned into GOVERNANCE.
	gov := minio.Governance
	short := now.Add(time.Hour)
	if err := m.Client.PutObjectRetention(ctx, bucket, "arch/segments/a", minio.PutObjectRetentionOptions{VersionID: oi.VersionID, Mode: &gov, RetainUntilDate: &short}); err == nil {
		t.Errorf("weakening retention succeeded")
	}
	got, _, err := s.Get(ctx, "segments/a")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get after attacks: %v (equal %v)", err, bytes.Equal(got, data))
	}
	if _, err := DecodeSegment(got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := s.List(ctx, "segments/", func(o ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil || len(keys) != 1 || keys[0] != "segments/a" {
		t.Errorf("List = %v, %v", keys, err)
	}
	if _, err := s.Stat(ctx, "segments/none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat missing: %v", err)
	}
}

func FuzzDecodeSegment(f *testing.F) {
	now := time.Now()
	good, _ := EncodeSegment("k", sampleRecords(2), now, now)
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte("not zstd"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DecodeSegment(data) // must not panic
	})
}

func BenchmarkEncodeSegment10k(b *testing.B) {
	recs := sampleRecords(10000)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeSegment("k", recs, now, now); err != nil {
			b.Fatal(err)
		}
	}
}

package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/smsgw/smsgw/sms"
)

func TestTreeMatchesTlog(t *testing.T) {
	var leaves [][32]byte
	var stored []tlog.Hash
	var tr Tree
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	if got, want := tr.Root(), sha256.Sum256(nil); got != want {
		t.Fatalf("empty root = %x, want %x", got, want)
	}
	for n := 1; n <= 300; n++ {
		data := fmt.Appendf(nil, "record %d", n)
		leaf := LeafHash(data)
		if tlog.RecordHash(data) != tlog.Hash(leaf) {
			t.Fatalf("LeafHash differs from tlog.RecordHash")
		}
		hs, err := tlog.StoredHashes(int64(n-1), data, reader)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		leaves = append(leaves, leaf)
		tr.Append(leaf)
		want, err := tlog.TreeHash(int64(n), reader)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Root() != [32]byte(want) || MerkleRoot(leaves) != [32]byte(want) {
			t.Fatalf("size %d: Tree.Root %x, MerkleRoot %x, tlog %x", n, tr.Root(), MerkleRoot(leaves), want)
		}
		// The persisted state resumes where it left off.
		b, _ := json.Marshal(tr)
		var back Tree
		if err := json.Unmarshal(b, &back); err != nil || back.Root() != tr.Root() || back.Size() != tr.Size() {
			t.Fatalf("size %d: JSON round trip = %v, %v", n, back, err)
		}
	}
	var bad Tree
	if err := json.Unmarshal([]byte(`{"size":3,"stack":["00"]}`), &bad); err == nil {
		t.Errorf("a tree state with the wrong number of subtree roots was accepted")
	}
}

func TestULID(t *testing.T) {
	for range 1000 {
		id := sms.NewULID(time.Now())
		u, ok := parseULID(id)
		if !ok || formatULID(u) != id {
			t.Fatalf("ULID %s: parse ok %v, format %s", id, ok, formatULID(u))
		}
	}
	for _, bad := range []string{"", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01ARZ3NDEKTSV4RRFFQ69G5FAU", "short"} {
		if _, ok := parseULID(bad); ok {
			t.Errorf("parseULID(%q) ok", bad)
		}
	}
}

func testSigner(t testing.TB, name string) *Signer {
	t.Helper()
	skey, _, err := GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckpointSignAndOpen(t *testing.T) {
	s := testSigner(t, "smsgw.test/archive")
	cp := Checkpoint{Origin: s.Name(), Size: 42, Root: sha256.Sum256([]byte("x")), Time: time.Date(2026, 11, 23, 10, 0, 0, 5, time.UTC)}
	msg, err := s.Sign(cp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(msg, []byte("smsgw.test/archive\n42\n")) || !bytes.Contains(msg, []byte("\n\n\u2014 smsgw.test/archive ")) {
		t.Errorf("signed note =\n%s", msg)
	}
	vs, err := Verifiers(s.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(msg, vs)
	if err != nil || got != cp {
		t.Fatalf("OpenCheckpoint = %+v, %v; want %+v", got, err, cp)
	}
	other, _ := Verifiers(testSigner(t, "smsgw.test/archive").VerifierKey())
	if _, err := OpenCheckpoint(msg, other); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("opened with another key: %v", err)
	}
	forged := bytes.Replace(msg, []byte("\n42\n"), []byte("\n43\n"), 1)
	if _, err := OpenCheckpoint(forged, vs); err == nil {
		t.Errorf("a checkpoint with a changed size verified")
	}
	if _, err := OpenCheckpoint([]byte("garbage"), vs); err == nil {
		t.Errorf("garbage verified")
	}
	if _, err := Verifiers(); sms.CodeOf(err) != "no_verifier_key" {
		t.Errorf("Verifiers() = %v", err)
	}
	for _, body := range []string{"o\n-1\nAAAA\n", "o\n1\nnot base64\n", "o\n01\n" + strings.Repeat("A", 44) + "\n", "o\n1\n"} {
		if _, err := ParseCheckpoint(body); err == nil {
			t.Errorf("ParseCheckpoint(%q) succeeded", body)
		}
	}
}

func TestKeyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "archive.key")
	vkey, err := WriteKeyFile(file, "smsgw-archive")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(file)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	s, err := LoadSigner(file)
	if err != nil || s.VerifierKey() != vkey || s.Name() != "smsgw-archive" {
		t.Fatalf("LoadSigner = %v, %v; vkey %s", s, err, vkey)
	}
	pub, _ := os.ReadFile(file + ".pub")
	if strings.TrimSpace(string(pub)) != vkey {
		t.Errorf(".pub = %q, want %q", pub, vkey)
	}
	if _, err := WriteKeyFile(file, "smsgw-archive"); err == nil {
		t.Errorf("WriteKeyFile replaced an existing key")
	}
	if _, _, err := GenerateKey("has space"); err == nil {
		t.Errorf("a key name with a space was accepted")
	}
	os.WriteFile(file+".bad", []byte("PRIVATE+KEY+x+00000000+AAAA"), 0o600)
	if _, err := LoadSigner(file + ".bad"); err == nil {
		t.Errorf("a malformed key loaded")
	}
}

// testLog writes a log the way the archive stages do, without JetStream:
// segments at consecutive positions, checkpoints over them.
type testLog struct {
	t      testing.TB
	st     Store
	signer *Signer
	tree   Tree
	keys   []string
	firsts []int64
	now    time.Time
	n      int
}

func newTestLog(t testing.TB, st Store) *testLog {
	return &testLog{t: t, st: st, signer: testSigner(t, "smsgw.test/archive"), now: time.Now().UTC()}
}

func (l *testLog) vkeys() []string { return []string{l.signer.VerifierKey()} }

func (l *testLog) tick() time.Time {
	l.n++
	return l.now.Add(time.Duration(l.n) * time.Millisecond)
}

// segment appends recs as the next segment and returns its key.
func (l *testLog) segment(recs []Record) string {
	l.t.Helper()
	at := l.tick()
	key := NewSegmentKey(at)
	first := l.tree.Size()
	data, leaves, err := EncodeLogSegment(SegmentInfo{Key: key, First: first, Source: SourceMessages, Created: at, RetainUntil: at.Add(time.Hour)}, recs)
	if err != nil {
		l.t.Fatal(err)
	}
	if _, err := l.st.Put(context.Background(), key, data, at.Add(time.Hour)); err != nil {
		l.t.Fatal(err)
	}
	for _, h := range leaves {
		l.tree.Append(h)
	}
	l.keys, l.firsts = append(l.keys, key), append(l.firsts, first)
	return key
}

// void appends a void segment of n positions.
func (l *testLog) void(n int) string {
	l.t.Helper()
	at := l.tick()
	key := NewSegmentKey(at)
	data, leaves, err := EncodeLogSegment(SegmentInfo{Key: key, First: l.tree.Size(), Void: "test: writer crashed", Created: at, RetainUntil: at.Add(time.Hour)}, VoidRecords(l.tree.Size(), n, "test: writer crashed", at))
	if err != nil {
		l.t.Fatal(err)
	}
	if _, err := l.st.Put(context.Background(), key, data, at.Add(time.Hour)); err != nil {
		l.t.Fatal(err)
	}
	for _, h := range leaves {
		l.tree.Append(h)
	}
	l.keys, l.firsts = append(l.keys, key), append(l.firsts, l.tree.Size()-int64(n))
	return key
}

func (l *testLog) checkpoint() string {
	l.t.Helper()
	at := l.tick()
	msg, err := l.signer.Sign(Checkpoint{Origin: l.signer.Name(), Size: l.tree.Size(), Root: l.tree.Root(), Time: at})
	if err != nil {
		l.t.Fatal(err)
	}
	key := NewCheckpointKey(at)
	if _, err := l.st.Put(context.Background(), key, msg, at.Add(time.Hour)); err != nil {
		l.t.Fatal(err)
	}
	return key
}

func (l *testLog) verify() *Report {
	l.t.Helper()
	rep, err := Verify(context.Background(), l.st, VerifyConfig{VerifierKeys: l.vkeys(), CheckpointRetention: time.Hour})
	if err != nil {
		l.t.Fatal(err)
	}
	return rep
}

// buildLog writes: 3 message segments of 5, a void of 3, a segment of 4,
// with a checkpoint after the first, third and last segment.
func buildLog(t testing.TB, st Store) *testLog {
	l := newTestLog(t, st)
	l.segment(sampleRecords(5))
	l.checkpoint()
	l.segment(sampleRecords(5))
	l.segment(sampleRecords(5))
	l.checkpoint()
	l.void(3)
	l.segment(sampleRecords(4))
	l.checkpoint()
	return l
}

func wantProblem(t *testing.T, rep *Report, code, object string, index int64, detail string) {
	t.Helper()
	for _, p := range rep.Problems {
		if p.Code == code && (object == "" || p.Object == object) && p.Index == index && strings.Contains(p.Detail, detail) {
			return
		}
	}
	var b strings.Builder
	rep.WriteText(&b)
	t.Errorf("no problem %s %s [%d] %q in the report:\n%s", code, object, index, detail, b.String())
}

func localFile(st *LocalStore, key string) string {
	return filepath.Join(st.dir, filepath.FromSlash(key))
}

// replaceFile writes over a (read-only) segment file, as someone with
// file access could.
func replaceFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyLocal(t *testing.T) {
	fresh := func(t *testing.T) (*LocalStore, *testLog) {
		st, err := NewLocalStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st, buildLog(t, st)
	}

	t.Run("intact", func(t *testing.T) {
		_, l := fresh(t)
		rep := l.verify()
		if !rep.OK() || rep.LogSize != 22 || rep.Records != 19 || rep.Voided != 3 || rep.Segments != 5 || rep.VoidSegments != 1 || rep.Checkpoints != 3 || rep.SignedSize != 22 {
			var b strings.Builder
			rep.WriteText(&b)
			t.Fatalf("report:\n%s", b.String())
		}
		if !strings.Contains(strings.Join(rep.Notes, "\n"), "log indexes [15, 18) are void") {
			t.Errorf("notes do not explain the void range: %v", rep.Notes)
		}
	})

	t.Run("record changed in place", func(t *testing.T) {
		st, l := fresh(t)
		p := localFile(st, l.keys[1])
		data, _ := os.ReadFile(p)
		replaceFile(t, p, rewrite(t, data, func(s string) string { return strings.Replace(s, "**** 1111", "**** 2222", 3) }))
		rep := l.verify()
		for i := range int64(3) {
			wantProblem(t, rep, "record_changed", l.keys[1], 5+i, "does not match its leaf hash")
		}
		if len(rep.Problems) != 3 {
			t.Errorf("%d problems, want exactly the 3 changed records: %v", len(rep.Problems), rep.Problems)
		}
	})

	t.Run("segment rewritten consistently", func(t *testing.T) {
		st, l := fresh(t)
		// Re-encode segment 2 with one record changed: leaves and root
		// match, only the signed checkpoints can tell.
		seg, _ := DecodeSegment(mustRead(t, localFile(st, l.keys[2])))
		seg.Records[4].Message.Body = "changed"
		data, _, _ := EncodeLogSegment(seg.SegmentInfo, seg.Records)
		replaceFile(t, localFile(st, l.keys[2]), data)
		rep := l.verify()
		wantProblem(t, rep, "checkpoint_root", "", 5, "log indexes [5, 15) was changed")
		if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Detail, "later checkpoints differ too") {
			t.Errorf("problems = %v, want one root mismatch naming the later checkpoint too", rep.Problems)
		}
	})

	t.Run("segment dropped", func(t *testing.T) {
		st, l := fresh(t)
		os.Remove(localFile(st, l.keys[1]))
		rep := l.verify()
		wantProblem(t, rep, "log_gap", "", 5, "log indexes [5, 10) are missing")
	})

	t.Run("last segment dropped", func(t *testing.T) {
		st, l := fresh(t)
		os.Remove(localFile(st, l.keys[4]))
		rep := l.verify()
		wantProblem(t, rep, "checkpoint_beyond_log", "", 18, "log indexes [18, 22) are missing")
	})

	t.Run("segment copied", func(t *testing.T) {
		st, l := fresh(t)
		data := mustRead(t, localFile(st, l.keys[1]))
		if _, err := st.Put(context.Background(), "segments/zzz/copy.seg.zst", data, time.Now()); err != nil {
			t.Fatal(err)
		}
		rep := l.verify()
		wantProblem(t, rep, "log_overlap", "segments/zzz/copy.seg.zst", 5, "log indexes [5, 10) are held twice")
		wantProblem(t, rep, "segment_misplaced", "segments/zzz/copy.seg.zst", 5, "copied here")
		wantProblem(t, rep, "duplicate_id", "", 5, "5 records are archived 2 times in the same segments")
	})

	t.Run("message archived twice", func(t *testing.T) {
		st, l := fresh(t)
		seg, _ := DecodeSegment(mustRead(t, localFile(st, l.keys[0])))
		l.segment([]Record{seg.Records[2]})
		l.checkpoint()
		rep := l.verify()
		wantProblem(t, rep, "duplicate_id", "", 22, fmt.Sprintf("message %s is archived 2 times: log index 2 (%s), log index 22", seg.Records[2].ID, l.keys[0]))
	})

	t.Run("forged checkpoint", func(t *testing.T) {
		_, l := fresh(t)
		honest := l.signer
		l.signer = testSigner(t, honest.Name())
		k := l.checkpoint()
		l.signer = honest
		wantProblem(t, l.verify(), "checkpoint_signature", k, -1, "unknown key")
	})

	t.Run("legacy segment", func(t *testing.T) {
		st, l := fresh(t)
		data, _ := EncodeSegment("segments/old.seg.zst", sampleRecords(1), time.Now(), time.Now())
		st.Put(context.Background(), "segments/old.seg.zst", data, time.Now())
		rep := l.verify()
		wantProblem(t, rep, "legacy_segment", "segments/old.seg.zst", -1, "outside the Merkle log")
	})

	t.Run("garbage segment", func(t *testing.T) {
		st, l := fresh(t)
		replaceFile(t, localFile(st, l.keys[3]), []byte("not a segment"))
		rep := l.verify()
		wantProblem(t, rep, "segment_corrupt", l.keys[3], -1, "does not decompress")
		wantProblem(t, rep, "log_gap", "", 15, "log indexes [15, 18) are missing")
	})

	t.Run("no checkpoint", func(t *testing.T) {
		st, err := NewLocalStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		l := newTestLog(t, st)
		l.segment(sampleRecords(2))
		wantProblem(t, l.verify(), "no_checkpoint", "", -1, "holds 2 records")
	})
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package archive

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/smsgw/smsgw/sms"
)

// repackBundle zips files again in order (names not in files are left
// out, names in files but not in order appended).
func repackBundle(t *testing.T, order []string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	seen := map[string]bool{}
	write := func(name string) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(files[name])
		seen[name] = true
	}
	for _, name := range order {
		if _, ok := files[name]; ok {
			write(name)
		}
	}
	for name := range files {
		if !seen[name] {
			write(name)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func verifyBytes(t *testing.T, bundle []byte, vs note.Verifiers) *BundleReport {
	t.Helper()
	rep, err := VerifyBundle(bytes.NewReader(bundle), int64(len(bundle)), vs)
	if err != nil {
		t.Fatalf("VerifyBundle: %v", err)
	}
	return rep
}

// recomputeManifest rewrites manifest.json as a forger who can change
// every file but not sign would: counts and hashes of the files present.
func recomputeManifest(t *testing.T, files map[string][]byte, edit func(*Manifest)) {
	t.Helper()
	var man Manifest
	if err := json.Unmarshal(files[BundleManifest], &man); err != nil {
		t.Fatal(err)
	}
	man.Files = map[string]string{}
	for name, data := range files {
		if name == BundleManifest || name == BundleSignature {
			continue
		}
		sum := sha256.Sum256(data)
		man.Files[name] = hex.EncodeToString(sum[:])
	}
	if edit != nil {
		edit(&man)
	}
	files[BundleManifest], _ = json.MarshalIndent(man, "", "  ")
}

func cloneFiles(files map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for k, v := range files {
		out[k] = v
	}
	return out
}

// TestBundleManifestSigned: a bundle carries manifest.sig, a signed note
// over the manifest's SHA-256 by the checkpoint key, and verifies; a
// message left out (messages.jsonl, records.jsonl and the views, with a
// recomputed manifest) fails on the signature alone; so does a bundle
// without manifest.sig, or with one from another key.
func TestBundleManifestSigned(t *testing.T) {
	st, signer, msgs, _ := rsmfTestLog(t)
	bundle, man := exportBundle(t, st, signer, msgs)
	vs, err := Verifiers(signer.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if rep := verifyBytes(t, bundle, vs); !rep.OK() || rep.KeyFromBundle {
		t.Fatalf("bundle does not verify with the archive's key: %v", rep.Problems)
	}
	if rep := verifyBytes(t, bundle, nil); !rep.OK() || !rep.KeyFromBundle {
		t.Fatalf("bundle does not verify with its own key (KeyFromBundle %v): %v", rep.KeyFromBundle, rep.Problems)
	}
	files, order := bundleFiles(t, bundle)
	sig, ok := files[BundleSignature]
	if !ok {
		t.Fatalf("bundle has no %s: %v", BundleSignature, order)
	}
	if _, listed := man.Files[BundleSignature]; listed {
		t.Errorf("the manifest lists %s (it cannot hash its own signature)", BundleSignature)
	}
	n, err := note.Open(sig, vs)
	if err != nil {
		t.Fatalf("%s is not a note signed by the checkpoint key: %v", BundleSignature, err)
	}
	sum := sha256.Sum256(files[BundleManifest])
	if want := "smsgw evidence bundle v1\nmanifest.json sha256 " + hex.EncodeToString(sum[:]) + "\n"; n.Text != want {
		t.Errorf("%s text = %q, want %q", BundleSignature, n.Text, want)
	}
	// Never a checkpoint: OpenCheckpoint rejects it.
	if _, err := OpenCheckpoint(sig, vs); err == nil {
		t.Errorf("%s opens as a checkpoint", BundleSignature)
	}
	// Repacking as is keeps it valid (the test's repacking is sound).
	if rep := verifyBytes(t, repackBundle(t, order, files), vs); !rep.OK() {
		t.Fatalf("repacked bundle does not verify: %v", rep.Problems)
	}

	// One message left out: its line in messages.jsonl, its records (the
	// message and its events), the views rebuilt, the manifest recomputed.
	drop := msgs[0].ID
	forged := cloneFiles(files)
	var kept []sms.Message
	for _, m := range msgs {
		if m.ID != drop {
			kept = append(kept, m)
		}
	}
	forged[BundleMessagesJ] = messagesJSONL(kept)
	var rb bytes.Buffer
	nrec := 0
	for _, line := range bytes.SplitAfter(files[BundleRecords], []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var br BundleRecord
		var r Record
		if err := json.Unmarshal(line, &br); err != nil || json.Unmarshal(br.Record, &r) != nil {
			t.Fatalf("records.jsonl line %q: %v", line, err)
		}
		if r.ID == drop || (r.Message != nil && r.Message.ID == drop) || (r.Event != nil && r.Event.MessageID == drop) {
			continue
		}
		rb.Write(line)
		nrec++
	}
	if nrec >= man.Records {
		t.Fatalf("no record of %s removed", drop)
	}
	forged[BundleRecords] = rb.Bytes()
	for name := range forged {
		if strings.HasPrefix(name, BundleConvDir) || name == BundleMessagesC {
			delete(forged, name)
		}
	}
	views, err := derivedFiles(kept, false)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range views {
		forged[name] = data
	}
	recomputeManifest(t, forged, func(m *Manifest) { m.Messages, m.Records = len(kept), nrec })
	for _, v := range []note.Verifiers{vs, nil} {
		rep := verifyBytes(t, repackBundle(t, order, forged), v)
		if rep.OK() {
			t.Fatalf("a bundle with message %s left out (recomputed manifest) verified", drop)
		}
		// The signature is what catches it: everything else is consistent.
		if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "manifest.sig: the manifest signature does not match manifest.json") {
			t.Errorf("message left out: problems %q, want only the manifest signature's", rep.Problems)
		}
		if rep.Manifest.Messages != len(msgs)-1 {
			t.Errorf("forged manifest says %d messages", rep.Manifest.Messages)
		}
	}

	// No manifest.sig, with the manifest as exported or as forged.
	for what, fs := range map[string]map[string][]byte{"as exported": files, "with a message left out": forged} {
		unsigned := cloneFiles(fs)
		delete(unsigned, BundleSignature)
		rep := verifyBytes(t, repackBundle(t, order, unsigned), vs)
		if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "manifest.sig is missing: the manifest is not signed") {
			t.Errorf("a bundle %s without %s: problems %q", what, BundleSignature, rep.Problems)
		}
	}

	// manifest.sig from another key (same name), over the forged manifest.
	other := testSigner(t, signer.Name())
	otherSig, err := other.SignBundleManifest(forged[BundleManifest])
	if err != nil {
		t.Fatal(err)
	}
	resigned := cloneFiles(forged)
	resigned[BundleSignature] = otherSig
	for _, v := range []note.Verifiers{vs, nil} {
		rep := verifyBytes(t, repackBundle(t, order, resigned), v)
		if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "manifest.sig: the manifest signature is signed by no trusted key") {
			t.Errorf("manifest.sig from another key (verifiers %v): problems %q", v != nil, rep.Problems)
		}
	}
	// ... also when the forger names that key in the manifest: the trusted
	// key rejects the manifest; the bundle's own key then fails the checkpoint.
	renamed := cloneFiles(forged)
	recomputeManifest(t, renamed, func(m *Manifest) { m.VerifierKey = other.VerifierKey() })
	renamed[BundleSignature], _ = other.SignBundleManifest(renamed[BundleManifest])
	if rep := verifyBytes(t, repackBundle(t, order, renamed), vs); rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "manifest.sig: the manifest signature") {
		t.Errorf("manifest re-signed with the forger's key named in it: problems %q", rep.Problems)
	}
	if rep := verifyBytes(t, repackBundle(t, order, renamed), nil); rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), BundleCheckpoint+":") {
		t.Errorf("manifest re-signed with the forger's key, checked with the bundle's key: problems %q", rep.Problems)
	}
	// The checkpoint note (same key, valid signature) is not a manifest signature.
	swapped := cloneFiles(files)
	swapped[BundleSignature] = files[BundleCheckpoint]
	if rep := verifyBytes(t, repackBundle(t, order, swapped), vs); rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "is not an evidence bundle signature") {
		t.Errorf("checkpoint note as %s: problems %q", BundleSignature, rep.Problems)
	}
	// A manifest.sig valid for another export of the same messages does
	// not vouch for this manifest (created_at differs).
	time.Sleep(1100 * time.Millisecond)
	bundle2, _ := exportBundle(t, st, signer, msgs)
	files2, order2 := bundleFiles(t, bundle2)
	mixed := cloneFiles(files)
	mixed[BundleSignature] = files2[BundleSignature]
	if rep := verifyBytes(t, repackBundle(t, order, mixed), vs); rep.OK() {
		t.Error("a bundle verified with another export's manifest.sig")
	}
	// Deterministic apart from created_at: same files, same order, and
	// manifests equal but for created_at.
	if strings.Join(order, " ") != strings.Join(order2, " ") || order[len(order)-1] != BundleSignature {
		t.Errorf("zip order %v then %v; want the same, manifest.sig last", order, order2)
	}
	for name, data := range files {
		if name != BundleManifest && name != BundleSignature && !bytes.Equal(data, files2[name]) {
			t.Errorf("%s differs between two exports of the same messages", name)
		}
	}
	var m1, m2 Manifest
	_ = json.Unmarshal(files[BundleManifest], &m1)
	_ = json.Unmarshal(files2[BundleManifest], &m2)
	m1.CreatedAt, m2.CreatedAt = time.Time{}, time.Time{}
	j1, _ := json.Marshal(m1)
	j2, _ := json.Marshal(m2)
	if !bytes.Equal(j1, j2) {
		t.Errorf("manifests differ beyond created_at:\n%s\n%s", j1, j2)
	}
}

package e2e

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/archive"
)

// TestEvidenceBundle: against real MinIO, a compliance officer exports
// the messages of a conversation; the bundle verifies offline against the
// archive's verifier key, and fails after a byte of it is changed, after a
// record is altered (even with a re-computed manifest), and against another key.
func TestEvidenceBundle(t *testing.T) {
	dir := t.TempDir()
	cfg, vkey := wormConfig(t, dir)
	cfg.Archive.CheckpointInterval = time.Second
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	a := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "card 4111 1111 1111 1111 on file"})["id"].(string)
	if err := g.App.Sandbox.SendMO(ctxT(t), customer[1:], bizNumber[1:], "thanks!"); err != nil {
		t.Fatal(err)
	}
	g.waitStatus(a, tok, "delivered")

	var bundle []byte
	eventually(t, "an export covering both messages", func() bool {
		r := g.call("POST", "/v1/compliance/exports", g.Admin, map[string]any{"query": map[string]string{"party": customer}})
		if r.Status != http.StatusOK {
			return false // e.g. not covered by a checkpoint yet
		}
		bundle = r.Body
		rep, err := archive.VerifyBundle(bytes.NewReader(bundle), int64(len(bundle)), nil)
		return err == nil && rep.Manifest.Messages == 2
	})
	vs, err := archive.Verifiers(vkey)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := archive.VerifyBundle(bytes.NewReader(bundle), int64(len(bundle)), vs)
	if err != nil || !rep.OK() || rep.KeyFromBundle {
		t.Fatalf("bundle does not verify with the archive's key: %+v %v", rep, err)
	}
	if rep.Manifest.Records < 4 { // 2 messages and at least their accepted/archived events
		t.Errorf("bundle has %d records, want the messages and their status events", rep.Manifest.Records)
	}
	files := unzip(t, bundle)
	for _, name := range []string{archive.BundleMessagesC, archive.BundleMessagesJ, archive.BundleRecords, archive.BundleCheckpoint, archive.BundleManifest} {
		if _, ok := files[name]; !ok {
			t.Errorf("bundle lacks %s", name)
		}
	}
	eml, rsmf := "", ""
	for name, data := range files {
		switch {
		case strings.HasPrefix(name, archive.BundleConvDir) && strings.HasSuffix(name, ".eml"):
			eml = string(data)
		case strings.HasPrefix(name, archive.BundleConvDir) && strings.HasSuffix(name, ".rsmf"):
			rsmf = string(data)
		}
	}
	if !strings.Contains(eml, "card **** **** **** 1111 on file") || !strings.Contains(eml, "thanks!") || strings.Contains(string(bundle), "4111 1111 1111 1111") {
		t.Errorf("conversation EML = %q", eml)
	}
	if !strings.Contains(rsmf, "X-RSMF-Version: 2.0.0") || !strings.Contains(rsmf, `filename="rsmf.zip"`) {
		t.Errorf("conversation RSMF = %q", rsmf)
	}
	// A changed view (CSV, EML, RSMF) with a recomputed manifest fails: the
	// views are rebuilt from the proven messages.
	for _, suffix := range []string{".csv", ".eml", ".rsmf"} {
		views := map[string][]byte{}
		for name, data := range files {
			views[name] = data
			if strings.HasSuffix(name, suffix) {
				views[name] = bytes.Replace(data, []byte("1111"), []byte("1112"), 1)
				if bytes.Equal(views[name], data) {
					views[name] = append(append([]byte(nil), data...), '\n')
				}
			}
		}
		forged := rezip(t, views)
		if rep, _ := archive.VerifyBundle(bytes.NewReader(forged), int64(len(forged)), vs); rep == nil || rep.OK() {
			t.Errorf("a bundle with an altered %s view and a recomputed manifest verified", suffix)
		} else if !strings.Contains(strings.Join(rep.Problems, "\n"), "does not match the proven messages") {
			t.Errorf("altered %s view: problems %v", suffix, rep.Problems)
		}
	}

	// One changed byte anywhere fails.
	flipped := append([]byte(nil), bundle...)
	flipped[len(flipped)/2] ^= 0x01
	if rep, err := archive.VerifyBundle(bytes.NewReader(flipped), int64(len(flipped)), vs); err == nil && rep.OK() {
		t.Error("a bundle with a changed byte verified")
	}
	// An altered record with a recomputed manifest still fails (its proof).
	files[archive.BundleRecords] = bytes.Replace(files[archive.BundleRecords], []byte("thanks!"), []byte("thanks?"), 1)
	forged := rezip(t, files)
	if rep, _ := archive.VerifyBundle(bytes.NewReader(forged), int64(len(forged)), vs); rep == nil || rep.OK() {
		t.Error("a bundle with an altered record verified")
	} else if !strings.Contains(strings.Join(rep.Problems, "\n"), "altered") && !strings.Contains(strings.Join(rep.Problems, "\n"), "SHA-256") {
		t.Errorf("problems %v do not name the altered record", rep.Problems)
	}
	// Another key does not vouch for it.
	other := filepath.Join(dir, "other.key")
	ok2, _ := archive.WriteKeyFile(other, "test.example/smsgw")
	vs2, _ := archive.Verifiers(ok2)
	if rep, _ := archive.VerifyBundle(bytes.NewReader(bundle), int64(len(bundle)), vs2); rep == nil || rep.OK() {
		t.Error("the bundle verified against a key that did not sign it")
	}
	// The export itself is audited.
	eventually(t, "export audited", func() bool {
		for _, e := range g.auditRecords(t) {
			if e.Action == "export" && e.ResultCount == 2 {
				return true
			}
		}
		return false
	})
}

func unzip(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		out[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

// rezip packs files again with a manifest whose hashes match them, as a
// forger who can rewrite the zip (but not the signature) would.
func rezip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var man archive.Manifest
	if err := jsonUnmarshal(files[archive.BundleManifest], &man); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if name != archive.BundleManifest {
			man.Files[name] = sha256hex(data)
		}
	}
	files[archive.BundleManifest] = jsonMarshal(man)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, _ := zw.Create(name)
		_, _ = w.Write(data)
	}
	_ = zw.Close()
	return buf.Bytes()
}

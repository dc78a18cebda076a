package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/testenv"
)

func TestArchiveSigningKey(t *testing.T) {
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Archive.Backend = "s3"
	if _, err := ArchiveSigner(cfg, nil); err == nil || !strings.Contains(err.Error(), "archive.signing_key_file: required when archive.backend is s3") {
		t.Errorf("s3 without a key: %v", err)
	}
	cfg.Archive.SigningKeyFile = filepath.Join(cfg.DataDir, "missing.key")
	if _, err := ArchiveSigner(cfg, nil); err == nil {
		t.Errorf("a configured key file that does not exist was accepted")
	}
	cfg.Archive.Backend, cfg.Archive.SigningKeyFile = "local", ""
	var logs testenv.SyncBuffer
	s, err := ArchiveSigner(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "GENERATED A NEW ARCHIVE SIGNING KEY") || !strings.Contains(logs.String(), s.VerifierKey()) {
		t.Errorf("no loud log line for the generated key: %s", logs.String())
	}
	if st, err := os.Stat(filepath.Join(cfg.DataDir, "archive-signing.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("generated key file: %v %v", st, err)
	}
	again, err := ArchiveSigner(cfg, nil)
	if err != nil || again.VerifierKey() != s.VerifierKey() {
		t.Errorf("second start did not reuse the key: %v", err)
	}
}

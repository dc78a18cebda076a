package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/sms"
)

// OpenArchiveStore opens and checks the configured archive store, as a
// node does at start (for the archive CLI commands).
func OpenArchiveStore(ctx context.Context, cfg config.Config, log *slog.Logger) (archive.Store, error) {
	return openStore(ctx, cfg, log)
}

// S3ArchiveStore connects to the configured S3 bucket without checking it
// (check-backend reports what is wrong with it instead of refusing it).
func S3ArchiveStore(cfg config.Config) (*archive.S3Store, error) {
	if cfg.Archive.Backend != "s3" {
		return nil, sms.Errorf(sms.Invalid, "bad_config", "archive.backend is %q: check-backend tests an S3 bucket (set archive.backend=s3 and archive.s3.*)", cfg.Archive.Backend)
	}
	s := cfg.Archive.S3
	return archive.NewS3Store(archive.S3Config{Endpoint: s.Endpoint, Region: s.Region, Bucket: s.Bucket,
		AccessKey: s.AccessKeyID, SecretKey: s.SecretAccessKey, UseTLS: s.UseTLS, Prefix: s.Prefix})
}

// ArchiveVerifierKeys are the checkpoint keys verify trusts by default:
// archive.verifier_keys, and the public half of the signing key when its
// file (or, for the local backend, the generated one in the data dir) is
// readable here. It never generates a key.
func ArchiveVerifierKeys(cfg config.Config) []string {
	keys := append([]string(nil), cfg.Archive.VerifierKeys...)
	file := cfg.Archive.SigningKeyFile
	if file == "" && cfg.Archive.Backend != "s3" {
		file = filepath.Join(cfg.DataDir, "archive-signing.key")
	}
	if file == "" {
		return keys
	}
	if s, err := archive.LoadSigner(file); err == nil {
		return append(keys, s.VerifierKey())
	}
	if b, err := os.ReadFile(file + ".pub"); err == nil {
		return append(keys, strings.TrimSpace(string(b)))
	} else if !errors.Is(err, os.ErrNotExist) {
		return keys
	}
	return keys
}

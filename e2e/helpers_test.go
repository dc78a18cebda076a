package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"path/filepath"
	"testing"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/config"

	"github.com/smsgw/smsgw/internal/testenv"
)

type testenvBuffer struct{ b testenv.SyncBuffer }

func (t *testenvBuffer) buf() *testenv.SyncBuffer { return &t.b }
func (t *testenvBuffer) String() string           { return t.b.String() }

func dialTCP(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func jsonMarshal(v any) []byte { b, _ := json.Marshal(v); return b }

func sha256hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// wormConfig is testConfig with the archive on a fresh Object Lock bucket
// of a real MinIO, and a checkpoint signing key; it returns the key's
// verifier key.
func wormConfig(t *testing.T, dir string) (config.Config, string) {
	t.Helper()
	mc := testenv.StartMinIO(t)
	bucket := mc.NewLockedBucket(t)
	cfg := testConfig(dir)
	cfg.Archive.Backend = "s3"
	cfg.Archive.S3.Endpoint, cfg.Archive.S3.Bucket = mc.Endpoint, bucket
	cfg.Archive.S3.AccessKeyID, cfg.Archive.S3.SecretAccessKey = mc.AccessKey, mc.SecretKey
	cfg.Archive.S3.UseTLS = false
	cfg.Archive.SigningKeyFile = filepath.Join(dir, "archive.key")
	vkey, err := archive.WriteKeyFile(cfg.Archive.SigningKeyFile, "test.example/smsgw")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, vkey
}

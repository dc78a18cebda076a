package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/sms"
)

// DefaultSigningKeyName names generated keys and so the log's origin.
const DefaultSigningKeyName = "smsgw-archive"

// ArchiveSigner loads the checkpoint signing key. With the s3 backend the
// key file must be configured: a production key is never generated
// silently. With the local (development) backend and no file configured, a
// key is generated into <data_dir>/archive-signing.key on first start,
// with a loud warning.
func ArchiveSigner(cfg config.Config, log *slog.Logger) (*archive.Signer, error) {
	file := cfg.Archive.SigningKeyFile
	if file == "" {
		if cfg.Archive.Backend == "s3" {
			return nil, sms.Errorf(sms.Invalid, "bad_config",
				"archive.signing_key_file: required when archive.backend is s3: the key that signs the archive's checkpoints is never generated "+
					"silently in production; create one with `smsgw archive keygen --out FILE`, keep it secret, and give its .pub to whoever runs `smsgw archive verify`")
		}
		file = filepath.Join(cfg.DataDir, "archive-signing.key")
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			vkey, err := archive.WriteKeyFile(file, DefaultSigningKeyName)
			if err != nil {
				return nil, fmt.Errorf("generating the archive signing key: %w", err)
			}
			if log != nil {
				log.Warn("GENERATED A NEW ARCHIVE SIGNING KEY — development only: checkpoints of this local archive are signed with a key "+
					"created just now in the data dir; in production set archive.signing_key_file to a key made with `smsgw archive keygen`",
					"file", file, "verifier_key", vkey)
			}
		}
	}
	return archive.LoadSigner(file)
}

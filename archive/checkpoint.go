package archive

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/smsgw/smsgw/sms"
)

// CheckpointPrefix is where signed checkpoints live, one locked object each.
const CheckpointPrefix = "checkpoints/"

// SegmentPrefix is where segments live.
const SegmentPrefix = "segments/"

// Checkpoint is a signed statement of the log's size and root: the body of
// a C2SP tlog-checkpoint signed note. Time is an extension line, so that
// idle heartbeats (same size and root) are distinct signed statements.
//
//	<origin>
//	<size>
//	<base64 root>
//	time <RFC 3339>
type Checkpoint struct {
	Origin string
	Size   int64
	Root   [32]byte
	Time   time.Time
}

// Text is the checkpoint body.
func (c Checkpoint) Text() string {
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]),
		c.Time.UTC().Format(time.RFC3339Nano))
}

// ParseCheckpoint reads a checkpoint body (the text of a note, without
// signatures).
func ParseCheckpoint(text string) (Checkpoint, error) {
	var c Checkpoint
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 || !strings.HasSuffix(text, "\n") {
		return c, errors.New("checkpoint body has fewer than three lines")
	}
	c.Origin = lines[0]
	if c.Origin == "" {
		return c, errors.New("checkpoint has no origin")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return c, fmt.Errorf("checkpoint size %q is not a non-negative decimal", lines[1])
	}
	c.Size = n
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		return c, errors.New("checkpoint root is not a base64 SHA-256 hash")
	}
	copy(c.Root[:], root)
	for _, l := range lines[3:] {
		if v, ok := strings.CutPrefix(l, "time "); ok {
			if c.Time, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return c, fmt.Errorf("checkpoint time %q: %w", v, err)
			}
		}
	}
	return c, nil
}

// Signer signs checkpoints with an Ed25519 key in the note format.
type Signer struct {
	s    note.Signer
	vkey string
}

// Name is the key name, also the checkpoints' origin.
func (s *Signer) Name() string { return s.s.Name() }

// VerifierKey is the public key to give verify ("<name>+<hash>+<key>").
func (s *Signer) VerifierKey() string { return s.vkey }

// Sign returns the signed note for c.
func (s *Signer) Sign(c Checkpoint) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.Text()}, s.s)
}

// NewSigner parses a note signer key ("PRIVATE+KEY+<name>+<hash>+<key>").
func NewSigner(skey string) (*Signer, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, sms.Errorf(sms.Invalid, "bad_signing_key", "not a signing key (want PRIVATE+KEY+<name>+<hash>+<key>, as written by smsgw archive keygen): %v", err)
	}
	// The verifier key is derived from the private key: <name>+<hash>+base64(alg || public key).
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, sms.Errorf(sms.Invalid, "bad_signing_key", "signing key is not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, err
	}
	return &Signer{s: s, vkey: vkey}, nil
}

// LoadSigner reads a signing key file.
func LoadSigner(file string) (*Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading archive signing key: %w", err)
	}
	s, err := NewSigner(string(b))
	if err != nil {
		return nil, fmt.Errorf("archive signing key %s: %w", file, err)
	}
	return s, nil
}

// GenerateKey returns a new Ed25519 signing key and its verifier key.
// name is the log's origin (no spaces, no '+'), e.g. "smsgw.example.com/archive".
func GenerateKey(name string) (skey, vkey string, err error) {
	if name == "" || strings.ContainsAny(name, "+ \t\n") {
		return "", "", sms.Errorf(sms.Invalid, "bad_key_name", "key name %q must be non-empty without spaces or '+'", name)
	}
	return note.GenerateKey(rand.Reader, name)
}

// WriteKeyFile writes a new signing key to file (mode 0600, never
// replacing an existing file) and its verifier key to file+".pub".
func WriteKeyFile(file, name string) (vkey string, err error) {
	skey, vkey, err := GenerateKey(name)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("creating signing key file: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("writing signing key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("writing signing key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing signing key file: %w", err)
	}
	if err := os.WriteFile(file+".pub", []byte(vkey+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("writing verifier key file: %w", err)
	}
	return vkey, nil
}

// OpenCheckpoint checks a signed checkpoint note against the trusted
// verifier keys and parses its body.
func OpenCheckpoint(msg []byte, verifiers note.Verifiers) (Checkpoint, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		var unknown *note.UnknownVerifierError
		var unverified *note.UnverifiedNoteError
		switch {
		case errors.As(err, &unknown):
			return Checkpoint{}, fmt.Errorf("signed by an unknown key %s+%08x", unknown.Name, unknown.KeyHash)
		case errors.As(err, &unverified):
			var keys []string
			for _, sig := range unverified.Note.UnverifiedSigs {
				keys = append(keys, fmt.Sprintf("%s+%08x", sig.Name, sig.Hash))
			}
			return Checkpoint{}, fmt.Errorf("signed by no trusted key: unknown key %s", strings.Join(keys, ", "))
		case err.Error() == "malformed note":
			return Checkpoint{}, errors.New("not a signed note")
		}
		return Checkpoint{}, fmt.Errorf("signature does not verify: %v", err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return c, err
	}
	for _, s := range n.Sigs {
		if s.Name == c.Origin {
			return c, nil
		}
	}
	return c, fmt.Errorf("origin %q is not the name of the key that signed it", c.Origin)
}

// Verifiers builds the trusted key set for OpenCheckpoint.
func Verifiers(vkeys ...string) (note.Verifiers, error) {
	var vs []note.Verifier
	for _, k := range vkeys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, sms.Errorf(sms.Invalid, "bad_verifier_key", "verifier key %q: %v", k, err)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, sms.Errorf(sms.Invalid, "no_verifier_key", "no verifier key: pass the key printed by `smsgw archive keygen` (archive.verifier_keys or --vkey)")
	}
	return note.VerifierList(vs...), nil
}

// NewCheckpointKey returns the object key of a checkpoint signed at t:
// checkpoints/YYYY/MM/DD/<ULID>.note (time-sorted, unique).
func NewCheckpointKey(t time.Time) string {
	t = t.UTC()
	return path.Join("checkpoints", t.Format("2006/01/02"), sms.NewULID(t)+".note")
}

package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// LocalStore keeps segments in a directory: same format, put-if-absent,
// files made read-only — but anyone with file access can still change or
// delete them. Development only.
type LocalStore struct {
	dir string
}

var _ Store = (*LocalStore)(nil)

// NewLocalStore uses (and creates) dir.
func NewLocalStore(dir string) (*LocalStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating archive dir %s: %w", dir, err)
	}
	return &LocalStore{dir: dir}, nil
}

func (s *LocalStore) Kind() string { return "local" }
func (s *LocalStore) WORM() bool   { return false }

func (s *LocalStore) path(key string) (string, error) {
	clean := filepath.Clean("/" + key)
	if clean == "/" || strings.Contains(key, "..") {
		return "", sms.Errorf(sms.Invalid, "invalid_key", "invalid archive key")
	}
	return filepath.Join(s.dir, filepath.FromSlash(clean)), nil
}

// Check verifies the directory is writable.
func (s *LocalStore) Check(ctx context.Context) error {
	f, err := os.CreateTemp(s.dir, ".check-*")
	if err != nil {
		return fmt.Errorf("archive dir %s is not writable: %w", s.dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// Put writes to a temp file, fsyncs, and links it into place: the link
// fails if the key exists, so a segment is never replaced.
func (s *LocalStore) Put(ctx context.Context, key string, data []byte, retainUntil time.Time) (ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return ObjectInfo{}, fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("writing %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return ObjectInfo{}, fmt.Errorf("writing %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return ObjectInfo{}, fmt.Errorf("syncing %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return ObjectInfo{}, fmt.Errorf("writing %s: %w", key, err)
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return ObjectInfo{}, fmt.Errorf("protecting %s: %w", key, err)
	}
	if err := os.Link(tmp.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ObjectInfo{}, ErrExists
		}
		return ObjectInfo{}, fmt.Errorf("placing %s: %w", key, err)
	}
	if d, err := os.Open(filepath.Dir(p)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return s.Stat(ctx, key)
}

func (s *LocalStore) Get(ctx context.Context, key string) ([]byte, ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ObjectInfo{}, ErrNotFound
	}
	if err != nil {
		return nil, ObjectInfo{}, fmt.Errorf("reading %s: %w", key, err)
	}
	oi, err := s.Stat(ctx, key)
	return data, oi, err
}

func (s *LocalStore) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return ObjectInfo{}, ErrNotFound
	}
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	return ObjectInfo{Key: key, Size: st.Size(), LastModified: st.ModTime(), LegalHold: s.localHeld(key)}, nil
}

func (s *LocalStore) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	var keys []string
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing archive dir: %w", err)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		oi, err := s.Stat(ctx, k)
		if err != nil {
			return err
		}
		if err := fn(oi); err != nil {
			return err
		}
	}
	return nil
}

package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
)

// HoldStore is a Store that can put an object under legal hold: while the
// hold is on, the object cannot be deleted even after its retention date.
// Callers count holds per matter and switch the object's hold off only
// when no matter needs it any more.
type HoldStore interface {
	Store
	SetLegalHold(ctx context.Context, key string, on bool) error
}

var (
	_ HoldStore = (*S3Store)(nil)
	_ HoldStore = (*LocalStore)(nil)
)

// SetLegalHold switches the S3 legal hold of key's version (the one this
// store wrote or, for an object written elsewhere, the current one).
func (s *S3Store) SetLegalHold(ctx context.Context, key string, on bool) error {
	oi, err := s.Stat(ctx, key)
	if err != nil {
		return err
	}
	st := minio.LegalHoldDisabled
	if on {
		st = minio.LegalHoldEnabled
	}
	if err := s.c.PutObjectLegalHold(ctx, s.cfg.Bucket, s.key(key), minio.PutObjectLegalHoldOptions{VersionID: oi.VersionID, Status: &st}); err != nil {
		return s.mapErr(key, fmt.Errorf("setting legal hold: %w", err))
	}
	return nil
}

// holdPath is where the local store marks a held object: beside the store,
// not in it, so listings never see the markers.
func (s *LocalStore) holdPath(key string) (string, error) {
	if _, err := s.path(key); err != nil {
		return "", err
	}
	return filepath.Join(filepath.Clean(s.dir)+".holds", filepath.FromSlash(key)), nil
}

// SetLegalHold records a hold on a local object. The local store is not
// WORM; the marker only keeps holds visible in development.
func (s *LocalStore) SetLegalHold(ctx context.Context, key string, on bool) error {
	if _, err := s.Stat(ctx, key); err != nil {
		return err
	}
	p, err := s.holdPath(key)
	if err != nil {
		return err
	}
	if !on {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("releasing hold on %s: %w", key, err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("holding %s: %w", key, err)
	}
	return os.WriteFile(p, nil, 0o600)
}

// localHeld reports whether a local object carries a hold marker.
func (s *LocalStore) localHeld(key string) bool {
	p, err := s.holdPath(key)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// Matter is a legal hold: a named matter (case, investigation) that keeps
// the segments holding its messages under S3 legal hold until it is
// released. Segments are held per matter: releasing one matter never
// releases a segment another matter still needs.
type Matter struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Reason     string            `json:"reason"`
	Query      map[string]string `json:"query,omitempty"` // the search that selected the messages, if any
	MessageIDs []string          `json:"message_ids"`
	Segments   []string          `json:"segments"`
	State      string            `json:"state"` // "active" or "released"
	CreatedBy  string            `json:"created_by"`
	CreatedAt  time.Time         `json:"created_at"`
	ReleasedBy string            `json:"released_by,omitempty"`
	ReleasedAt *time.Time        `json:"released_at,omitempty"`
}

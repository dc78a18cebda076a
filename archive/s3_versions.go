package archive

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/smsgw/smsgw/sms"
)

var _ VersionedStore = (*S3Store)(nil)

// ListVersions lists every version and delete marker under prefix; the
// server lists a key's versions newest first, fn sees them oldest first.
func (s *S3Store) ListVersions(ctx context.Context, prefix string, fn func(ObjectVersion) error) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var group []ObjectVersion
	flush := func() error {
		for i := len(group) - 1; i >= 0; i-- {
			if err := fn(group[i]); err != nil {
				return err
			}
		}
		group = group[:0]
		return nil
	}
	for o := range s.c.ListObjects(lctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.key(prefix), Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			return fmt.Errorf("listing versions in %s: %w", s.cfg.Bucket, o.Err)
		}
		k := strings.TrimPrefix(strings.TrimPrefix(o.Key, s.cfg.Prefix), "/")
		if len(group) > 0 && group[0].Key != k {
			if err := flush(); err != nil {
				return err
			}
		}
		group = append(group, ObjectVersion{
			ObjectInfo:   ObjectInfo{Key: k, VersionID: o.VersionID, ETag: o.ETag, Size: o.Size, LastModified: o.LastModified},
			IsLatest:     o.IsLatest,
			DeleteMarker: o.IsDeleteMarker,
		})
	}
	return flush()
}

// GetVersion reads one version and checks it against the MD5 ETag of a
// single-part upload.
func (s *S3Store) GetVersion(ctx context.Context, key, versionID string) ([]byte, error) {
	o, err := s.c.GetObject(ctx, s.cfg.Bucket, s.key(key), minio.GetObjectOptions{VersionID: versionID})
	if err != nil {
		return nil, s.mapErr(key, err)
	}
	defer o.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, o); err != nil {
		return nil, s.mapErr(key, err)
	}
	st, err := o.Stat()
	if err != nil {
		return nil, s.mapErr(key, err)
	}
	data := buf.Bytes()
	if etag := strings.Trim(st.ETag, `"`); len(etag) == 32 {
		sum := md5.Sum(data)
		if hex.EncodeToString(sum[:]) != etag {
			return nil, sms.Errorf(sms.Invalid, "corrupt_object", "object %s version %s does not match its ETag", key, versionID)
		}
	}
	return data, nil
}

// Retention reads a version's lock: mode, retain-until and legal hold.
func (s *S3Store) Retention(ctx context.Context, key, versionID string) (string, time.Time, bool, error) {
	var mode string
	var until time.Time
	m, u, err := s.c.GetObjectRetention(ctx, s.cfg.Bucket, s.key(key), versionID)
	if err != nil {
		var er minio.ErrorResponse
		// No retention configured on the version is not an error here.
		if !errors.As(err, &er) || !strings.Contains(er.Code+er.Message, "ObjectLockConfiguration") {
			return "", time.Time{}, false, fmt.Errorf("reading retention of %s: %w", key, err)
		}
	}
	if m != nil {
		mode = string(*m)
	}
	if u != nil {
		until = *u
	}
	lh, err := s.c.GetObjectLegalHold(ctx, s.cfg.Bucket, s.key(key), minio.GetObjectLegalHoldOptions{VersionID: versionID})
	hold := err == nil && lh != nil && *lh == minio.LegalHoldEnabled
	return mode, until, hold, nil
}

package archive

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/smsgw/smsgw/sms"
)

// S3Config addresses a bucket on any S3-compatible store.
type S3Config struct {
	Endpoint, Region, Bucket string
	AccessKey, SecretKey     string
	UseTLS                   bool
	// Prefix is prepended to every key (e.g. "smsgw/").
	Prefix string
}

// S3Store keeps segments in an S3 bucket with Object Lock: every object
// is written with COMPLIANCE retention, Content-MD5 and If-None-Match: *
// (put-if-absent), and read back by version ID: always the first version
// of a key, the one that was locked.
type S3Store struct {
	cfg S3Config
	c   *minio.Client

	mu       sync.Mutex
	versions map[string]string // key -> version written by us
}

var _ Store = (*S3Store)(nil)

// NewS3Store connects (lazily) to the bucket.
func NewS3Store(cfg S3Config) (*S3Store, error) {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseTLS,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("creating S3 client for %s: %w", cfg.Endpoint, err)
	}
	return &S3Store{cfg: cfg, c: c, versions: map[string]string{}}, nil
}

func (s *S3Store) Kind() string { return "s3" }
func (s *S3Store) WORM() bool   { return true }

func (s *S3Store) key(k string) string { return path.Join(s.cfg.Prefix, k) }

// Check refuses a bucket that does not exist or has no Object Lock.
func (s *S3Store) Check(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("checking bucket %s at %s: %w", s.cfg.Bucket, s.cfg.Endpoint, err)
	}
	if !ok {
		return sms.Errorf(sms.Invalid, "bucket_missing",
			"archive bucket %q does not exist at %s; create it with Object Lock enabled, e.g. "+
				"`aws s3api create-bucket --bucket %s --object-lock-enabled-for-bucket` or `mc mb --with-lock ALIAS/%s`",
			s.cfg.Bucket, s.cfg.Endpoint, s.cfg.Bucket, s.cfg.Bucket)
	}
	enabled, _, _, _, err := s.c.GetObjectLockConfig(ctx, s.cfg.Bucket)
	if err != nil || enabled != "Enabled" {
		return sms.Errorf(sms.Invalid, "bucket_not_locked",
			"archive bucket %q has no Object Lock, so archived messages could be changed or deleted; "+
				"Object Lock can only be enabled when a bucket is created: create a new bucket with "+
				"`aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket` or `mc mb --with-lock ALIAS/NAME` "+
				"and set archive.s3.bucket to it", s.cfg.Bucket)
	}
	return nil
}

// Put writes data with COMPLIANCE retention until retainUntil.
func (s *S3Store) Put(ctx context.Context, key string, data []byte, retainUntil time.Time) (ObjectInfo, error) {
	opts := minio.PutObjectOptions{
		ContentType:     "application/zstd",
		SendContentMd5:  true,
		Mode:            minio.Compliance,
		RetainUntilDate: retainUntil.UTC(),
	}
	opts.SetMatchETagExcept("*")
	info, err := s.c.PutObject(ctx, s.cfg.Bucket, s.key(key), bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		var er minio.ErrorResponse
		if errors.As(err, &er) && (er.StatusCode == http.StatusPreconditionFailed || er.Code == "PreconditionFailed") {
			return ObjectInfo{}, ErrExists
		}
		return ObjectInfo{}, fmt.Errorf("putting %s: %w", key, err)
	}
	s.remember(key, info.VersionID)
	return ObjectInfo{Key: key, VersionID: info.VersionID, ETag: info.ETag, Size: info.Size, RetainUntil: retainUntil.UTC(), Mode: string(minio.Compliance)}, nil
}

// version is the version of key that is the archive's: the one this
// process wrote, else the first (oldest) version — the one written
// put-if-absent and locked. A later version (an overwrite) or a delete
// marker never stands in for it; `archive verify` reports both.
func (s *S3Store) version(ctx context.Context, key string) (string, error) {
	s.mu.Lock()
	v, ok := s.versions[key]
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	first, found := "", false
	err := s.ListVersions(ctx, key, func(ov ObjectVersion) error {
		if ov.Key == key && !ov.DeleteMarker && !found {
			first, found = ov.VersionID, true
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", key, err)
	}
	if !found {
		return "", ErrNotFound
	}
	if first == "null" { // a bucket without versioning
		first = ""
	}
	s.remember(key, first)
	return first, nil
}

func (s *S3Store) remember(key, version string) {
	s.mu.Lock()
	if len(s.versions) >= 100000 {
		clear(s.versions) // a bounded cache
	}
	s.versions[key] = version
	s.mu.Unlock()
}

// Get reads key at its archived version (see version) and checks its MD5
// against the ETag of a single-part upload.
func (s *S3Store) Get(ctx context.Context, key string) ([]byte, ObjectInfo, error) {
	v, err := s.version(ctx, key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	o, err := s.c.GetObject(ctx, s.cfg.Bucket, s.key(key), minio.GetObjectOptions{VersionID: v})
	if err != nil {
		return nil, ObjectInfo{}, s.mapErr(key, err)
	}
	defer o.Close()
	data, err := io.ReadAll(o)
	if err != nil {
		return nil, ObjectInfo{}, s.mapErr(key, err)
	}
	st, err := o.Stat()
	if err != nil {
		return nil, ObjectInfo{}, s.mapErr(key, err)
	}
	if etag := strings.Trim(st.ETag, `"`); len(etag) == 32 {
		sum := md5.Sum(data)
		if hex.EncodeToString(sum[:]) != etag {
			return nil, ObjectInfo{}, sms.Errorf(sms.Invalid, "corrupt_object", "object %s does not match its ETag", key)
		}
	}
	oi, err := s.Stat(ctx, key)
	return data, oi, err
}

// Stat describes key at its archived version (see version).
func (s *S3Store) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	v, err := s.version(ctx, key)
	if err != nil {
		return ObjectInfo{}, err
	}
	st, err := s.c.StatObject(ctx, s.cfg.Bucket, s.key(key), minio.StatObjectOptions{VersionID: v})
	if err != nil {
		return ObjectInfo{}, s.mapErr(key, err)
	}
	oi := ObjectInfo{Key: key, VersionID: st.VersionID, ETag: st.ETag, Size: st.Size, LastModified: st.LastModified}
	mode, until, err := s.c.GetObjectRetention(ctx, s.cfg.Bucket, s.key(key), st.VersionID)
	if err == nil && mode != nil {
		oi.Mode = string(*mode)
		if until != nil {
			oi.RetainUntil = *until
		}
	}
	if lh, err := s.c.GetObjectLegalHold(ctx, s.cfg.Bucket, s.key(key), minio.GetObjectLegalHoldOptions{VersionID: st.VersionID}); err == nil && lh != nil {
		oi.LegalHold = *lh == minio.LegalHoldEnabled
	}
	return oi, nil
}

// List lists every object under prefix; an error on any listed item stops
// the listing.
func (s *S3Store) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for o := range s.c.ListObjects(lctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.key(prefix), Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("listing %s: %w", s.cfg.Bucket, o.Err)
		}
		k := strings.TrimPrefix(strings.TrimPrefix(o.Key, s.cfg.Prefix), "/")
		if err := fn(ObjectInfo{Key: k, VersionID: o.VersionID, ETag: o.ETag, Size: o.Size, LastModified: o.LastModified}); err != nil {
			return err
		}
	}
	return nil
}

func (s *S3Store) mapErr(key string, err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) && (er.Code == "NoSuchKey" || er.Code == "NoSuchVersion" || er.StatusCode == http.StatusNotFound) {
		return ErrNotFound
	}
	return fmt.Errorf("reading %s: %w", key, err)
}

package archive

import (
	"context"
	"errors"
	"time"
)

// ObjectInfo describes one stored object version.
type ObjectInfo struct {
	Key          string
	VersionID    string
	ETag         string
	Size         int64
	RetainUntil  time.Time
	Mode         string // "COMPLIANCE", "GOVERNANCE" or "" (none)
	LegalHold    bool
	LastModified time.Time
}

var (
	// ErrExists: Put found the key already written (put-if-absent).
	ErrExists = errors.New("archive object already exists")
	// ErrNotFound: no such object.
	ErrNotFound = errors.New("archive object not found")
)

// Store is where segments live. Implementations: S3Store (WORM) and
// LocalStore (development only).
type Store interface {
	// Kind is "s3" or "local".
	Kind() string
	// WORM reports whether written objects cannot be changed or deleted.
	WORM() bool
	// Check verifies at startup that the store is usable and, for S3,
	// that the bucket has Object Lock enabled.
	Check(ctx context.Context) error
	// Put writes data under key only if key does not exist (ErrExists),
	// locked until retainUntil.
	Put(ctx context.Context, key string, data []byte, retainUntil time.Time) (ObjectInfo, error)
	// Get reads the object's current version.
	Get(ctx context.Context, key string) ([]byte, ObjectInfo, error)
	// Stat describes the object (ErrNotFound if absent).
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List calls fn for every object under prefix, in key order.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
}

// ObjectVersion is one version of an object, or a delete marker.
type ObjectVersion struct {
	ObjectInfo
	IsLatest     bool
	DeleteMarker bool
}

// VersionedStore is a Store that keeps every version of every object (S3
// with versioning, which Object Lock implies). verify reads each segment
// at its first version — the one written put-if-absent and locked — and
// reports any later version or delete marker as tampering.
type VersionedStore interface {
	Store
	// ListVersions calls fn for every version and delete marker under
	// prefix: keys in order, each key's versions oldest first.
	ListVersions(ctx context.Context, prefix string, fn func(ObjectVersion) error) error
	// GetVersion reads one version of key.
	GetVersion(ctx context.Context, key, versionID string) ([]byte, error)
	// Retention reports a version's Object Lock mode ("" for none), its
	// retain-until date and whether a legal hold is on.
	Retention(ctx context.Context, key, versionID string) (mode string, until time.Time, legalHold bool, err error)
}

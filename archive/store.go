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

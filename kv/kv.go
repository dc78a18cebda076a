// Package kv is the vocabulary of the key-value buckets that hold the
// gateway's state (numbers, employees, queues, conversations, opt-outs,
// the archive log): an Entry and the Bucket interface that the domain
// packages need. internal/bus implements it with JetStream KV; no domain
// package imports internal/bus.
package kv

import "context"

// Entry is a stored value and its revision (for compare-and-set).
type Entry struct {
	Key      string
	Value    []byte
	Revision uint64
}

// Bucket is one bucket of records. Errors are *sms.Error: NotFound for a
// missing key, Conflict when a revision or create check fails.
type Bucket interface {
	Get(ctx context.Context, key string) (Entry, error)
	Put(ctx context.Context, key string, v []byte) (uint64, error)
	// Create writes only if the key does not exist.
	Create(ctx context.Context, key string, v []byte) (uint64, error)
	// Update writes only if the key is at revision rev.
	Update(ctx context.Context, key string, v []byte, rev uint64) (uint64, error)
	Delete(ctx context.Context, key string) error
	Keys(ctx context.Context) ([]string, error)
}

// ValidToken reports whether s can be one token of a key (ids that become
// keys: audit entry ids, matter ids): 1-128 letters, digits, - and _.
func ValidToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

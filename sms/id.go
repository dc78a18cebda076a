package sms

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// MessageID identifies one message for its whole life: it is assigned at
// ingress, used as the JetStream Nats-Msg-Id for de-duplication, is the
// archive record's key and the message_id we return over SMPP.
// It is a ULID: 26 Crockford base-32 characters, sortable by time.
type MessageID string

var (
	idMu      sync.Mutex
	idEntropy = ulid.Monotonic(rand.Reader, 0)
)

// NewMessageID returns a new ULID for the current time.
func NewMessageID() MessageID { return MessageID(NewULID(time.Now())) }

// NewULID returns a ULID string for t. Within one process they are strictly
// increasing, even for the same millisecond.
func NewULID(t time.Time) string {
	idMu.Lock()
	defer idMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), idEntropy).String()
}

// ParseMessageID validates s as a ULID.
func ParseMessageID(s string) (MessageID, error) {
	if _, err := ulid.ParseStrict(s); err != nil {
		return "", Errorf(Invalid, "invalid_id", "message id must be a 26-character ULID")
	}
	return MessageID(s), nil
}

// Time returns the time encoded in the ID.
func (id MessageID) Time() time.Time {
	u, err := ulid.Parse(string(id))
	if err != nil {
		return time.Time{}
	}
	return ulid.Time(u.Time())
}

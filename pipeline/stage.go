package pipeline

import (
	"context"
	"time"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// Outcome is what becomes of an input once its outputs are durable.
type Outcome uint8

const (
	// Done acks the input: it is finished.
	Done Outcome = iota
	// Retry naks the input for redelivery after Result.Delay (zero: the
	// backoff for its delivery count).
	Retry
	// Dead terms the input and writes a dead letter (metadata only, never
	// a body) with Result.Code. It is for inputs that can never succeed.
	Dead
)

func (o Outcome) String() string {
	switch o {
	case Done:
		return "done"
	case Retry:
		return "retry"
	case Dead:
		return "dead"
	}
	return "unknown"
}

// Result is what a handler decided for one input.
type Result struct {
	Outcome Outcome
	Delay   time.Duration // Retry: how long until redelivery (0: Backoff)
	Code    string        // Dead: the dead letter's code
	ID      sms.MessageID // the message the input carries, when known
	// Out and Events are published, and persisted, before the input is
	// settled: an input is never acked while what it produced could still
	// be lost.
	Out    []bus.Out
	Events []sms.Event
	// Erase overwrites the input's bytes in its stream before the ack
	// (raw text with something sensitive in it).
	Erase bool
}

// Handler handles a batch and returns exactly one Result per input, in
// the same order. It must not ack, nak or term.
type Handler func(ctx context.Context, batch []*bus.Msg) []Result

// Stage is one row of the flow table.
type Stage struct {
	// Name is the durable consumer's name (and the stage's name in logs,
	// dead letters and metrics).
	Name   string
	Stream string   // input stream
	Filter []string // subjects of Stream it takes (empty: all)
	// Outputs names the streams the stage publishes to (documentation
	// and the flow test; Settle publishes wherever Out says).
	Outputs []string
	Handle  Handler
	// Acked, if set, runs after a batch is settled and the server has
	// confirmed its acks (the archive's record stages release the stream
	// sequences they kept for redelivered records then).
	Acked func(ctx context.Context)

	Batch         int           // most inputs per batch (default 1)
	MaxWait       time.Duration // how long to fill a batch once one input arrived
	MaxAckPending int
	AckWait       time.Duration
}

// Config is the bus consumer configuration of the stage.
func (s Stage) Config() bus.StageConfig {
	return bus.StageConfig{Stream: s.Stream, Durable: s.Name, Filter: s.Filter, MaxDeliver: -1,
		Batch: s.Batch, MaxWait: s.MaxWait, MaxAckPending: s.MaxAckPending, AckWait: s.AckWait}
}

// Backoff is the redelivery delay after the n-th delivery: 2 s, 4 s, ...
// up to 5 minutes.
func Backoff(n uint64) time.Duration {
	d := time.Second << min(n, 8)
	return min(d, 5*time.Minute)
}

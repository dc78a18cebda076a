package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// SecureDelete removes messages from a stream and has the server overwrite
// their bytes in its store. A plain ack on a work queue only marks a
// message deleted and leaves its bytes in the block file until compaction;
// INGRESS holds raw text, so the filter stage erases what it has filtered.
// It returns one error per sequence; a message already gone is not an error.
func (b *Bus) SecureDelete(ctx context.Context, stream string, seqs []uint64) []error {
	errs := make([]error, len(seqs))
	s, err := b.stream(ctx, stream)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, seq := range seqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.SecureDeleteMsg(ctx, seq); err != nil && !isMsgGone(err) {
				errs[i] = fmt.Errorf("erasing %s/%d: %w", stream, seq, err)
			}
		}()
	}
	wg.Wait()
	return errs
}

func isMsgGone(err error) bool {
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return true
	}
	// nats.go flattens the server's answer into text: "no message found"
	// (err_code 10057) means it was deleted already.
	return errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) && strings.Contains(err.Error(), "no message found")
}

func (b *Bus) stream(ctx context.Context, name string) (jetstream.Stream, error) {
	b.mu.Lock()
	s, ok := b.streams[name]
	b.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := b.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("looking up stream %s: %w", name, err)
	}
	b.mu.Lock()
	b.streams[name] = s
	b.mu.Unlock()
	return s, nil
}

package pipeline

import (
	"context"
	"log/slog"
	"sync"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// ConsumerConversations is the durable consumer of ARCHIVED that files
// every archived message into its conversation (directory.Conversation).
const ConsumerConversations = "conversations"

// convStage consumes ARCHIVED (both directions) and files each message
// into its conversation, so an agent or a successor sees the whole
// (redacted) history. It runs behind delivery and never holds it up.
type convStage struct {
	dir *directory.Directory
	log *slog.Logger
}

func (s *convStage) stage() Stage {
	return Stage{Name: ConsumerConversations, Stream: bus.StreamArchived, Handle: s.handle, Batch: 256, MaxAckPending: 4096}
}

func (s *convStage) handle(ctx context.Context, batch []*bus.Msg) []Result {
	res := make([]Result, len(batch))
	// The messages of one conversation are filed in one write;
	// conversations in parallel.
	groups := map[string][]int{}
	msgs := make([]*sms.Message, len(batch))
	for i, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil {
			res[i] = Result{Outcome: Dead, Code: "undecodable"}
			continue
		}
		msgs[i] = m
		k := directory.ConversationKey(m.BusinessNumber(), m.CustomerNumber())
		groups[k] = append(groups[k], i)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, idx := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ms := make([]*sms.Message, len(idx))
			for j, i := range idx {
				ms[j] = msgs[i]
			}
			err := s.dir.RecordMessages(ctx, ms)
			if k := sms.KindOf(err); err != nil && (k == sms.Unavailable || k == sms.Conflict || k == sms.Internal) {
				s.log.Warn("filing messages into their conversation failed; will retry", "id", ms[0].ID, "n", len(ms), "err", err)
				for _, i := range idx {
					res[i].Outcome = Retry
				}
				return
			}
			if err != nil {
				s.log.Warn("messages have no conversation", "id", ms[0].ID, "code", sms.CodeOf(err))
			}
		}()
	}
	wg.Wait()
	return res
}

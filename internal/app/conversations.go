package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/pipeline"
	"github.com/smsgw/smsgw/sms"
)

// ConsumerConversations is the durable consumer of ARCHIVED that files
// every archived message into its conversation (directory.Conversation).
const ConsumerConversations = "conversations"

// openDirectory opens the numbers directory with the routing config and
// the carrier routes numbers may name.
func (a *App) openDirectory() (*directory.Directory, error) {
	c := a.cfg.Numbers
	d, err := directory.Open(DirectoryStores(a.Bus), directory.Config{
		OptOutScope: c.OptOutScope, OptOutReply: c.OptOutReply, OptInReply: c.OptInReply, HelpReply: c.HelpReply,
		WaitMessage: c.WaitMessage, Reprompt: c.Reprompt, Inactivity: c.Inactivity,
	}, a.log)
	if err != nil {
		return nil, err
	}
	var routes []string
	if a.cfg.Sandbox.Enabled {
		routes = append(routes, SandboxCarrier)
	}
	for _, cr := range a.cfg.Carriers {
		routes = append(routes, cr.Name)
	}
	for _, acc := range a.cfg.SMPP.Accounts {
		if acc.Role == "carrier" {
			routes = append(routes, acc.SystemID)
		}
	}
	d.SetCarriers(routes)
	return d, nil
}

// DirectoryStores are the directory's buckets and event sink on b.
func DirectoryStores(b *bus.Bus) directory.Stores {
	return directory.Stores{
		Numbers: b.KV(bus.BucketNumbers), Employees: b.KV(bus.BucketEmployees), Queues: b.KV(bus.BucketQueues),
		Conversations: b.KV(bus.BucketConversations), OptOuts: b.KV(bus.BucketOptOuts),
		Events: pipeline.Events{Bus: b},
	}
}

// runSweeper closes idle queue conversations and hands waiting ones to
// free agents every directory.sweep_interval, until ctx ends.
func (a *App) runSweeper(ctx context.Context) {
	every := a.cfg.Numbers.SweepInterval
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := a.Directory.Sweep(ctx, time.Now())
			if err != nil && ctx.Err() == nil {
				a.log.Warn("sweeping conversations failed", "err", err)
			} else if n > 0 {
				a.log.Info("idle conversations closed", "n", n)
			}
		}
	}
}

// convStage consumes ARCHIVED (both directions) and files each message
// into its conversation, so an agent or a successor sees the whole
// (redacted) history. It runs behind delivery and never holds it up.
type convStage struct {
	dir *directory.Directory
	log *slog.Logger
}

func (s *convStage) stage() pipeline.Stage {
	return pipeline.Stage{Name: ConsumerConversations, Stream: bus.StreamArchived, Handle: s.handle, Batch: 256, MaxAckPending: 4096}
}

func (s *convStage) handle(ctx context.Context, batch []*bus.Msg) []pipeline.Result {
	res := make([]pipeline.Result, len(batch))
	// The messages of one conversation are filed in one write;
	// conversations in parallel.
	groups := map[string][]int{}
	msgs := make([]*sms.Message, len(batch))
	for i, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil {
			res[i] = pipeline.Result{Outcome: pipeline.Dead, Code: "undecodable"}
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
					res[i].Outcome = pipeline.Retry
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

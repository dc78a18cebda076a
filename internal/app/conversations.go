package app

import (
	"context"
	"time"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/pipeline"
)

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

package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/archive/compliance"
	"github.com/smsgw/smsgw/internal/bus"
)

// node; a new or rebuilt index gets them all at start. Until ctx ends.
func (a *App) runHoldSync(ctx context.Context) {
	for ctx.Err() == nil {
		err := a.Bus.KV(bus.BucketLegalHolds).Watch(ctx, "m.*", func(e bus.Entry) {
			var m archive.Matter
			if err := json.Unmarshal(e.Value, &m); err != nil {
				a.log.Warn("unreadable legal hold matter", "key", e.Key, "err", err)
				return
			}
			var err error
			if m.State == "active" {
				err = a.Index.AddHold(ctx, m.ID, m.MessageIDs)
			} else {
				err = a.Index.ReleaseHold(ctx, m.ID)
			}
			if err != nil && ctx.Err() == nil {
				a.log.Warn("updating the index's legal holds failed", "matter", m.ID, "err", err)
			}
		})
		if err != nil && ctx.Err() == nil {
			a.log.Warn("watching legal holds failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// holds returns the node's legal hold keeper.
func (a *App) holds() *compliance.Holds {
	hs, _ := a.Store.(archive.HoldStore)
	return compliance.NewHolds(a.Bus.KV(bus.BucketLegalHolds), hs, a.Index, a.Journal())
}

func (a *App) exporter() *compliance.Exporter {
	var signer *archive.Signer
	if a.alog != nil {
		signer = a.alog.Signer()
	}
	return compliance.NewExporter(a.Store, a.Index, a.holds(), a.Journal(), signer, a.cfg.Archive.VerifierKeys)
}

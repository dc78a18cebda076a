package app

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/smsgw/smsgw/directory"
)

// readiness is what /readyz reports: whether this node can take a message
// and carry it through. It is probed in the background (every
// probeEvery) so /readyz answers at once and a frozen dependency cannot
// hang it.
//
//   - nats: the JetStream connection is up (a 202 needs it);
//   - archive: the archive store answered a check within probeTimeout
//     (nothing is delivered unarchived, so messages would only pile up);
//   - carrier:<name>: at least one bind is up, for the default carrier and
//     every carrier a business number routes to (texts would wait).
//
// /healthz stays liveness only: the process runs and serves HTTP.
type readiness struct {
	mu     sync.Mutex
	checks map[string]string // component -> "ok" or why not
	probed bool
}

const (
	probeEvery   = 2 * time.Second
	probeTimeout = 3 * time.Second
)

// Ready reports whether every check passed, and the checks.
func (r *readiness) Ready() (bool, map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := maps.Clone(r.checks)
	if !r.probed {
		return false, map[string]string{"startup": "not probed yet"}
	}
	for _, v := range out {
		if v != "ok" {
			return false, out
		}
	}
	return true, out
}

// runProbes probes until ctx ends; state changes are logged.
func (a *App) runProbes(ctx context.Context) {
	routed := map[string]bool{}
	lastRoutes := time.Time{}
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		if time.Since(lastRoutes) > 30*time.Second {
			if nums, err := a.Directory.Numbers(ctx); err == nil {
				routed = carrierRoutes(nums, a.defaultCarrier())
				lastRoutes = time.Now()
			}
		}
		checks := a.probe(ctx, routed)
		a.ready.mu.Lock()
		for k, v := range checks {
			if old, ok := a.ready.checks[k]; !ok && v != "ok" || ok && old != v {
				if v == "ok" {
					a.log.Info("ready check passes again", "check", k)
				} else {
					a.log.Warn("ready check fails; /readyz answers 503", "check", k, "reason", v)
				}
			}
		}
		a.ready.checks, a.ready.probed = checks, true
		a.ready.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func carrierRoutes(nums []directory.Number, def string) map[string]bool {
	out := map[string]bool{def: true}
	for _, n := range nums {
		if n.Carrier != "" {
			out[n.Carrier] = true
		}
	}
	return out
}

func (a *App) probe(ctx context.Context, routed map[string]bool) map[string]string {
	checks := map[string]string{"nats": "ok", "archive": "ok"}
	if !a.Bus.Healthy() {
		checks["nats"] = "not connected"
	}
	cctx, cancel := context.WithTimeout(ctx, probeTimeout)
	if err := a.Store.Check(cctx); err != nil {
		checks["archive"] = "store unreachable or refusing"
		if cctx.Err() != nil {
			checks["archive"] = "store did not answer in " + probeTimeout.String()
		}
	}
	cancel()
	for _, name := range slices.Sorted(maps.Keys(routed)) {
		c, ok := a.carriers[name]
		if !ok {
			continue // a carrier-role account binds to us; not probed here
		}
		if c.Bound() {
			checks["carrier:"+name] = "ok"
		} else {
			checks["carrier:"+name] = "no bind up"
		}
	}
	return checks
}

package e2e

// TestFaults is the fault-injection suite of issue 12: guarantees 1, 2 and
// 5 of DESIGN.md under real faults. Every component is a real process on
// 127.0.0.1: the gateway (`smsgw serve`, built from ./cmd/smsgw), an SMSC
// peer (e2e/cmd/smscpeer) that records every submit_sm to a file, fsynced,
// before it answers, and MinIO with an Object Lock bucket as the archive.
// A load driver posts unique texts at concurrency 32 and records every 202
// while the scenario kills, freezes or cuts off one component. Then, per
// message: accepted = archived exactly once = at the carrier once (a second
// copy only after a kill -9 and only with `resubmitted_after_crash` in its
// history; `unconfirmed` ones never twice), every status event archived
// once, a `sent` with the carrier's id for everything the carrier
// answered, `smsgw archive verify` exits 0, /healthz stays 200 and /readyz
// is not ready while the carrier or the archive store is down.
//
// Default run (CI, about 5 minutes on 2 cores):
//
//	go test -count=1 -run TestFaults -v ./e2e/
//
// Long run (3-6k messages, 30 s carrier and 60 s MinIO outages, more kills):
//
//	go test -count=1 -run TestFaults -v -timeout 2h ./e2e/ -faults.long
//	SMSGW_FAULTS_LONG=1 go test -count=1 -run TestFaults -v -timeout 2h ./e2e/
//
// -faults.seed=N replays the fault points; SMSGW_FAULTS_KEEP=dir keeps every
// scenario's logs, record file and config; SMSGW_FAULTS_REPORT=file writes
// the figures as JSON; SMSGW_FAULTS_MESSAGES and SMSGW_FAULTS_RATE (posts
// per second, 0 for unpaced) override the size of a run.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/internal/testenv"
)

var (
	faultsLong = flag.Bool("faults.long", false, "run the long fault-injection suite (also SMSGW_FAULTS_LONG=1)")
	faultsSeed = flag.Uint64("faults.seed", 0, "seed of the fault points (0: from the clock; it is logged)")
)

// faultScale sizes a run.
type faultScale struct {
	messages      int           // per scenario
	workers       int           // load concurrency
	rate          float64       // >= 0 overrides the load pacing of every scenario (posts per second; 0: unpaced)
	kills         int           // kill -9 points per kill scenario
	sigterms      int           // SIGTERM points
	carrierOutage time.Duration // carrier killed / frozen
	minioOutage   time.Duration // MinIO frozen / killed
	drainMax      time.Duration // bound on waiting for every message to settle
	quiet         time.Duration // ... and on waiting when nothing changes any more
}

func scaleOf(long bool) faultScale {
	if long {
		return faultScale{messages: 4000, workers: 32, rate: -1, kills: 5, sigterms: 3,
			carrierOutage: 30 * time.Second, minioOutage: 60 * time.Second, drainMax: 15 * time.Minute, quiet: time.Minute}
	}
	return faultScale{messages: 1000, workers: 32, rate: -1, kills: 2, sigterms: 1,
		carrierOutage: 10 * time.Second, minioOutage: 10 * time.Second, drainMax: 4 * time.Minute, quiet: 20 * time.Second}
}

// scenario is one fault and the carrier it runs against.
type faultScenario struct {
	name    string
	latency time.Duration // carrier answers after this
	peer    []string      // further smscpeer flags
	crash   bool          // the gateway is killed with -9
	// paced spreads the posts over the outage and beyond, so that texts
	// keep arriving while a component is down; otherwise they are posted
	// as fast as the gateway takes them (concurrency 32) and the faults
	// hit a pipeline with a backlog.
	paced bool
	fault func(r *faultRun)
}

func faultScenarios() []faultScenario {
	return []faultScenario{
		{name: "kill9-lat0", crash: true, fault: gatewaySignals(syscall.SIGKILL)},
		{name: "kill9-lat50", latency: 50 * time.Millisecond, crash: true, fault: gatewaySignals(syscall.SIGKILL)},
		{name: "kill9-lat200", latency: 200 * time.Millisecond, crash: true, fault: gatewaySignals(syscall.SIGKILL)},
		{name: "sigterm", latency: 50 * time.Millisecond, fault: gatewaySignals(syscall.SIGTERM)},
		{name: "minio-frozen", latency: 50 * time.Millisecond, paced: true, fault: outageFault("minio-frozen")},
		{name: "minio-killed", latency: 50 * time.Millisecond, paced: true, fault: outageFault("minio-down")},
		{name: "carrier-killed", latency: 50 * time.Millisecond, paced: true, fault: outageFault("carrier-down")},
		{name: "carrier-frozen", latency: 50 * time.Millisecond, paced: true, fault: outageFault("carrier-frozen")},
		{name: "carrier-throttling", latency: 20 * time.Millisecond, peer: []string{"-throttle-every", "40", "-throttle-burst", "12"}},
	}
}

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault-injection suite runs real processes for minutes; skipped under -short")
	}
	if _, err := minioBinaryPath(); err != nil {
		testenv.RequireOrSkip(t, "the MinIO server binary", "not in $SMSGW_MINIO, .bin/minio or PATH")
	}
	long := *faultsLong || os.Getenv("SMSGW_FAULTS_LONG") == "1"
	seed := *faultsSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	scale := scaleOf(long)
	if v, err := strconv.Atoi(os.Getenv("SMSGW_FAULTS_MESSAGES")); err == nil && v > 0 {
		scale.messages = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("SMSGW_FAULTS_RATE"), 64); err == nil && v >= 0 {
		scale.rate = v
	}
	t.Logf("fault suite: long=%v seed=%d (replay with -faults.seed=%d), %d messages per scenario",
		long, seed, seed, scale.messages)
	binDir := t.TempDir()
	gwBin, peerBin := buildBinaries(t, binDir)

	var figs []*faultFigures
	for i, sc := range faultScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			r := &faultRun{t: t, sc: sc, scale: scale, gwBin: gwBin, peerBin: peerBin,
				rng: mrand.New(mrand.NewPCG(seed, uint64(i))), fig: &faultFigures{Scenario: sc.name, Readyz: []string{}, EventsTwiceByStatus: map[string]int{}}}
			figs = append(figs, r.fig)
			r.run()
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "fault suite figures (seed %d, long=%v):\n", seed, long)
	for _, f := range figs {
		b.WriteString(f.line())
		b.WriteString("\n")
	}
	t.Log(b.String())
	if p := os.Getenv("SMSGW_FAULTS_REPORT"); p != "" {
		data, _ := json.MarshalIndent(figs, "", "  ")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Errorf("writing %s: %v", p, err)
		}
	}
}

// faultFigures are a scenario's counts, for the log and the issue.
type faultFigures struct {
	Scenario             string
	Elapsed              string
	Posted, Accepted     int
	Unknown              int // connection lost mid-request: outcome unknown
	UnknownPersisted     int // ... of which the gateway has the message
	Rejected             int
	FaultPoints          []string
	DrainComplete        bool
	NotSettled           int // accepted messages not in a final state when the drain wait ended
	ArchiveMissing       int
	ArchiveTwice         int
	EventsTwice          int // status events (id, status, detail, carrier ids) archived more than once
	EventsExtraRecords   int
	EventsTwiceByStatus  map[string]int // extra records by status
	VerifyExit           int
	VerifyProblems       map[string]int
	CarrierMissing       int
	CarrierTwice         int // messages at the carrier more than once ...
	CarrierTwiceVisible  int // ... of which allowed: kill -9, resubmitted_after_crash, exactly twice
	CarrierPartial       int
	CarrierUnaccepted    int // texts at the carrier with no message at the gateway
	Resubmitted          int
	Unconfirmed          int
	MissingSent          int
	WrongCarrierIDs      int
	StuckArchived        int
	ReceiptNotDelivered  int
	Throttled            int
	HealthzBad           int
	Readyz               []string
	SecretsInLogs        int
	HistoryReadFailures  int
	CarrierSubmits       int
	CarrierReceiptsAcked int
}

func (f *faultFigures) line() string {
	return fmt.Sprintf("%-19s accepted %d/%d (unknown %d, persisted %d) | archive missing %d twice %d, events twice %d (+%d records %v), verify exit %d %v | "+
		"carrier missing %d twice %d (visible %d) partial %d unaccepted %d | resubmitted %d unconfirmed %d | no sent %d, wrong ids %d, stuck archived %d, receipt w/o delivered %d | "+
		"not settled %d | throttled %d | healthz bad %d | readyz %s | faults %s | %s",
		f.Scenario, f.Accepted, f.Posted, f.Unknown, f.UnknownPersisted, f.ArchiveMissing, f.ArchiveTwice, f.EventsTwice, f.EventsExtraRecords, f.EventsTwiceByStatus, f.VerifyExit, f.VerifyProblems,
		f.CarrierMissing, f.CarrierTwice, f.CarrierTwiceVisible, f.CarrierPartial, f.CarrierUnaccepted, f.Resubmitted, f.Unconfirmed,
		f.MissingSent, f.WrongCarrierIDs, f.StuckArchived, f.ReceiptNotDelivered, f.NotSettled, f.Throttled, f.HealthzBad,
		strings.Join(f.Readyz, "; "), strings.Join(f.FaultPoints, ", "), f.Elapsed)
}

// faultRun is one scenario being run.
type faultRun struct {
	t              *testing.T
	sc             faultScenario
	scale          faultScale
	gwBin, peerBin string
	rng            *mrand.Rand
	fig            *faultFigures

	dir   string
	minio *minioProc
	peer  *peerProc
	gw    *gwProc
	probe *readyProbe
	load  *loadDriver
	token string

	mu      sync.Mutex
	outages []outageSpan
}

// outageSpan is a time a component was down, for the /readyz check.
type outageSpan struct {
	phase         string
	start, end    time.Time
	readyAgain    time.Duration
	readyAgainOK  bool
	expectNoReady bool // /readyz must say not ready during it
}

var faultCustomers = []string{"+14155550300", "+14155550301", "+14155550302", "+14155550303", "+14155550304",
	"+14155550305", "+14155550306", "+14155550307", "+14155550308", "+14155550309"}

func (r *faultRun) run() {
	t := r.t
	began := time.Now()
	defer func() { r.fig.Elapsed = time.Since(began).Round(time.Second).String() }()
	r.dir = t.TempDir()
	if keep := os.Getenv("SMSGW_FAULTS_KEEP"); keep != "" {
		r.dir = filepath.Join(keep, r.sc.name)
		_ = os.RemoveAll(r.dir)
		if err := os.MkdirAll(r.dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() && r.gw != nil {
			t.Logf("gateway log (last 40 lines; all in %s):\n%s", r.gw.log, r.gw.tail(40))
		}
	})
	r.minio = startMinIOProc(t, r.dir)
	peerArgs := append([]string{"-latency", r.sc.latency.String()}, r.sc.peer...)
	r.peer = startPeer(t, r.peerBin, r.dir, peerArgs)
	r.gw = r.gatewayProc()
	r.gw.startGateway(t)
	t.Cleanup(r.gw.kill9)

	adminTok, err := os.ReadFile(filepath.Join(r.gw.dataDir, "admin.token"))
	if err != nil {
		t.Fatalf("reading the admin token: %v", err)
	}
	g := &gateway{t: t, URL: r.gw.url, Admin: strings.TrimSpace(string(adminTok))}
	r.token, _ = g.employee("fault.agent", bizNumber, "")
	if d, ok := waitReadyz(r.gw.url, 2*time.Minute); !ok {
		t.Errorf("/readyz not ready %s after the start, with every component up", d.Round(time.Second))
	}

	r.probe = startReadyProbe(r.gw.url)
	t.Cleanup(func() { r.probe.close() })
	r.load = &loadDriver{url: r.gw.url, token: r.token, scenario: r.sc.name, customers: faultCustomers,
		n: r.scale.messages, workers: r.scale.workers, perSecond: r.pace(),
		ids: map[int]string{}, unknown: map[int]string{}, rejected: map[int]string{}, done: make(chan struct{})}
	loadCtx, cancelLoad := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancelLoad()
	go r.load.run(loadCtx)

	if r.sc.fault != nil {
		r.sc.fault(r)
	}
	select {
	case <-r.load.done:
	case <-time.After(20 * time.Minute):
		t.Fatalf("the load driver did not finish in 20m (%d accepted)", r.load.accepted.Load())
	}
	r.drain()
	samples := r.probe.close()
	r.checkProbes(samples)
	r.account()
}

// pace is the scenario's load rate: unpaced, or spread over twice the
// longest outage and some.
func (r *faultRun) pace() float64 {
	switch {
	case r.scale.rate >= 0:
		return r.scale.rate
	case !r.sc.paced:
		return 0
	}
	return float64(r.scale.messages) / (2*max(r.scale.carrierOutage, r.scale.minioOutage) + 5*time.Second).Seconds()
}

func (r *faultRun) gatewayProc() *gwProc {
	t := r.t
	data := filepath.Join(r.dir, "gw-data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(r.dir, "archive.key")
	if _, err := archive.WriteKeyFile(keyFile, "faults.test/smsgw"); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreePort(t)
	cfg := map[string]any{
		"data_dir":        data,
		"node":            "faults",
		"log":             map[string]any{"level": "info"},
		"http":            map[string]any{"addr": addr},
		"smpp":            map[string]any{"enabled": false},
		"sandbox":         map[string]any{"enabled": false},
		"carriers":        []map[string]any{{"name": "peer", "addr": r.peer.addr, "system_id": "smsgw", "password": "secret", "enquire_link": "5s"}},
		"default_carrier": "peer",
		"archive": map[string]any{
			"backend":             "s3",
			"signing_key_file":    keyFile,
			"segment_max_age":     "100ms",
			"checkpoint_interval": "1s",
			"s3": map[string]any{"endpoint": r.minio.endpoint, "bucket": r.minio.bucket, "region": "us-east-1",
				"access_key_id": r.minio.access, "secret_access_key": r.minio.secret, "use_tls": false},
		},
	}
	data2, _ := json.MarshalIndent(cfg, "", "  ")
	cfgPath := filepath.Join(r.dir, "smsgw.json")
	if err := os.WriteFile(cfgPath, data2, 0o600); err != nil {
		t.Fatal(err)
	}
	return &gwProc{faultProc: &faultProc{name: "smsgw", bin: r.gwBin, args: []string{"serve", "--config", cfgPath}, log: filepath.Join(r.dir, "smsgw.log")},
		url: "http://" + addr, cfgPath: cfgPath, dataDir: data}
}

func (r *faultRun) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.fig.FaultPoints = append(r.fig.FaultPoints, s)
	r.mu.Unlock()
	r.t.Log(s)
}

// waitProgress waits until the carrier has k accepted submit_sm; false if
// it stops growing for a minute first (everything was delivered already).
func (r *faultRun) waitProgress(k int) bool {
	last, since := -1, time.Now()
	for {
		n := carrierSubmitCount(r.peer.record)
		if n >= k {
			return true
		}
		if n != last {
			last, since = n, time.Now()
		}
		if time.Since(since) > time.Minute {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gatewaySignals stops the gateway with sig at random points of the
// delivery (by how many submit_sm the carrier has) and starts it again on
// the same data dir.
func gatewaySignals(sig syscall.Signal) func(r *faultRun) {
	return func(r *faultRun) {
		n := r.scale.kills
		if sig == syscall.SIGTERM {
			n = r.scale.sigterms
		}
		N := r.scale.messages
		points := make([]int, n)
		for i := range points {
			points[i] = N*5/100 + r.rng.IntN(N*80/100)
		}
		sort.Ints(points)
		floor := 0
		for i, k := range points {
			k = max(k, floor)
			if !r.waitProgress(k) {
				r.note("%s point %d (carrier at %d submits) not reached: delivery had ended", sig, i+1, k)
				return
			}
			time.Sleep(time.Duration(r.rng.IntN(300)) * time.Millisecond)
			at, acc := carrierSubmitCount(r.peer.record), r.load.accepted.Load()
			r.probe.setPhase("gateway-down")
			began := time.Now()
			if err := r.gw.signal(sig); err != nil {
				r.t.Fatalf("signalling the gateway: %v", err)
			}
			if !r.gw.wait(time.Minute) {
				r.t.Errorf("the gateway did not exit within 1m of %s; killed", sig)
				r.gw.kill9()
			}
			exit, code := time.Since(began), r.gw.exitCode()
			if sig == syscall.SIGTERM && code != 0 {
				r.t.Errorf("the gateway exited with code %d on SIGTERM, want 0", code)
			}
			r.gw.startGateway(r.t)
			r.probe.setPhase("normal")
			r.note("%s %d at carrier=%d accepted=%d (exit code %d after %s)", sig, i+1, at, acc, code, exit.Round(time.Millisecond))
			floor = carrierSubmitCount(r.peer.record) + N/20
		}
	}
}

// outage takes one component away for the scenario's outage time, a
// quarter into the delivery, then brings it back.
func outageFault(phase string) func(r *faultRun) {
	return func(r *faultRun) {
		t := r.t
		if !r.waitProgress(r.scale.messages / 4) {
			t.Fatalf("the carrier never got a quarter of the messages (%d submits)", carrierSubmitCount(r.peer.record))
		}
		d := r.scale.carrierOutage
		if strings.HasPrefix(phase, "minio") {
			d = r.scale.minioOutage
		}
		// A frozen SMSC keeps its TCP connections open: only a bind's
		// enquire_link timing out can tell, so /readyz during a freeze is
		// reported, not required.
		span := outageSpan{phase: phase, start: time.Now(), expectNoReady: phase != "carrier-frozen"}
		at, acc := carrierSubmitCount(r.peer.record), r.load.accepted.Load()
		r.probe.setPhase(phase)
		switch phase {
		case "minio-frozen":
			_ = r.minio.signal(syscall.SIGSTOP)
			time.Sleep(d)
			_ = r.minio.signal(syscall.SIGCONT)
		case "minio-down":
			r.minio.kill9()
			time.Sleep(d)
			r.minio.restart(t)
		case "carrier-down":
			r.peer.kill9()
			time.Sleep(d)
			r.peer.restart(t)
		case "carrier-frozen":
			_ = r.peer.signal(syscall.SIGSTOP)
			time.Sleep(d)
			_ = r.peer.signal(syscall.SIGCONT)
		}
		span.end = time.Now()
		r.probe.setPhase("after-" + phase)
		span.readyAgain, span.readyAgainOK = waitReadyz(r.gw.url, 2*time.Minute)
		r.probe.setPhase("normal")
		r.mu.Lock()
		r.outages = append(r.outages, span)
		r.mu.Unlock()
		r.note("%s for %s at carrier=%d accepted=%d", phase, d, at, acc)
	}
}

// drain waits until every accepted message is in a final state, or nothing
// changed for the quiet time, or the bound passed. It is a wait, not an
// assertion: what is left over is counted by account.
func (r *faultRun) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), r.scale.drainMax)
	defer cancel()
	r.load.mu.Lock()
	ids := map[string]bool{}
	for _, id := range r.load.ids {
		ids[id] = true
	}
	r.load.mu.Unlock()
	last, since := "", time.Now()
	for ctx.Err() == nil {
		msgs, err := listAllMessages(ctx, r.gw.url, r.token)
		if err == nil {
			open := 0
			counts := map[string]int{}
			for _, m := range msgs {
				if ids[m.ID] {
					counts[m.Status]++
					if !settledStatus(m.Status) {
						open++
					}
				}
			}
			seen := 0
			for _, c := range counts {
				seen += c
			}
			open += len(ids) - seen // not even listed yet
			if open == 0 {
				r.fig.DrainComplete = true
				return
			}
			sig := fmt.Sprintf("%v %d %d", counts, seen, carrierSubmitCount(r.peer.record))
			if sig != last {
				last, since = sig, time.Now()
			} else if time.Since(since) > r.scale.quiet {
				r.t.Logf("drain: nothing changed for %s; %d messages not settled: %v", r.scale.quiet, open, counts)
				return
			}
		}
		time.Sleep(time.Second)
	}
	r.t.Logf("drain: still not settled after %s (%s)", r.scale.drainMax, last)
}

// checkProbes: /healthz answered 200 whenever the gateway was up; /readyz
// was not ready during outages that must show, and ready again after.
func (r *faultRun) checkProbes(samples []probeSample) {
	t := r.t
	var badHealth []string
	for _, s := range samples {
		if s.phase != "gateway-down" && s.health != 200 {
			badHealth = append(badHealth, fmt.Sprintf("%s:%d", s.phase, s.health))
		}
	}
	r.fig.HealthzBad = len(badHealth)
	if len(badHealth) > 0 {
		t.Errorf("/healthz answered other than 200 %d times while the gateway process was up (phase:status, first: %s)",
			len(badHealth), strings.Join(badHealth[:min(5, len(badHealth))], ", "))
	}
	for _, o := range r.outages {
		ready, notReady, readyAfterNot := 0, 0, 0
		for _, s := range samples {
			if s.phase != o.phase {
				continue
			}
			if s.ready == 200 {
				ready++
				if notReady > 0 {
					readyAfterNot++
				}
			} else {
				notReady++
			}
		}
		fig := fmt.Sprintf("%s: not ready in %d of %d probes (ready again after not ready: %d); ready %s after it ended",
			o.phase, notReady, notReady+ready, readyAfterNot, o.readyAgain.Round(100*time.Millisecond))
		if !o.readyAgainOK {
			fig = fmt.Sprintf("%s: not ready in %d of %d probes; NOT ready again within %s after it ended",
				o.phase, notReady, notReady+ready, o.readyAgain.Round(time.Second))
			t.Errorf("/readyz did not answer 200 within %s after %s ended", o.readyAgain.Round(time.Second), o.phase)
		}
		r.fig.Readyz = append(r.fig.Readyz, fig)
		if o.expectNoReady && notReady == 0 {
			t.Errorf("/readyz answered ready in all %d probes during %s (%s): want not ready while it is down",
				ready, o.phase, (o.end.Sub(o.start)).Round(time.Second))
		}
	}
}

// account counts, per message, what was accepted, archived, at the carrier
// and in its history, and reports every breach of the rules.
func (r *faultRun) account() {
	t := r.t
	f := r.fig
	crash := r.sc.crash
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	r.load.mu.Lock()
	idOf := map[int]string{}
	for n, id := range r.load.ids {
		idOf[n] = id
	}
	unknown := map[int]string{}
	for n, e := range r.load.unknown {
		unknown[n] = e
	}
	f.Posted, f.Accepted, f.Unknown, f.Rejected = r.scale.messages, len(r.load.ids), len(r.load.unknown), len(r.load.rejected)
	rejected := []string{}
	for n, why := range r.load.rejected {
		rejected = append(rejected, fmt.Sprintf("#%d: %s", n, why))
	}
	r.load.mu.Unlock()
	accepted := map[string]int{} // id -> n of every 202
	for n, id := range idOf {
		accepted[id] = n
	}
	if len(rejected) > 0 {
		sort.Strings(rejected)
		t.Errorf("%d messages were refused with a final non-202 answer (first: %s)", len(rejected), strings.Join(rejected[:min(5, len(rejected))], "; "))
	}
	if f.Unknown > 0 {
		t.Logf("%d requests lost their connection mid-request (outcome unknown; not resent)", f.Unknown)
	}

	// The gateway's own list: messages whose request outcome was unknown,
	// and texts accepted twice.
	listed, err := listAllMessages(ctx, r.gw.url, r.token)
	if err != nil {
		t.Errorf("listing messages: %v", err)
	}
	idsByN := map[int][]string{}
	for _, m := range listed {
		if m.Body == nil {
			continue
		}
		if mm := markerRE.FindStringSubmatch(*m.Body); mm != nil && mm[1] == r.sc.name {
			n, _ := strconv.Atoi(mm[2])
			idsByN[n] = append(idsByN[n], m.ID)
		}
	}
	var twiceAccepted []string
	for n, ids := range idsByN {
		if len(ids) > 1 {
			twiceAccepted = append(twiceAccepted, ids...)
		}
		if _, ok := idOf[n]; !ok {
			if _, unk := unknown[n]; unk && len(ids) == 1 {
				idOf[n] = ids[0] // persisted although the client saw the connection drop
				f.UnknownPersisted++
			}
		}
	}
	if len(twiceAccepted) > 0 {
		t.Errorf("%d messages share a text with another message (one request accepted twice): %s", len(twiceAccepted), firstIDs(twiceAccepted))
	}
	var all []string
	for _, id := range idOf {
		all = append(all, id)
	}
	sort.Strings(all)

	hist, failed := fetchHistories(ctx, r.gw.url, r.token, all)
	f.HistoryReadFailures = failed
	if failed > 0 {
		t.Errorf("GET /v1/messages/{id} failed for %d messages", failed)
	}

	// Stop everything, so that the archive and the record file are final.
	_ = r.gw.signal(syscall.SIGTERM)
	if !r.gw.wait(time.Minute) {
		t.Errorf("the gateway did not exit within 1m of SIGTERM at the end; killed")
		r.gw.kill9()
	} else if code := r.gw.exitCode(); code != 0 {
		t.Errorf("the gateway exited with code %d on SIGTERM at the end, want 0", code)
	}
	_ = r.peer.signal(syscall.SIGTERM)
	r.peer.wait(30 * time.Second)

	cl, err := readCarrierLog(r.peer.record, r.sc.name)
	if err != nil {
		t.Fatalf("reading the carrier's record: %v", err)
	}
	f.CarrierSubmits, f.Throttled, f.CarrierReceiptsAcked = cl.submits, cl.throttled, cl.receiptsOK
	ar, err := readArchiveCounts(ctx, r.minio)
	if err != nil {
		t.Fatalf("reading the archive: %v", err)
	}
	if ar.corrupt > 0 {
		t.Errorf("%d of %d archive segments do not decode", ar.corrupt, ar.segments)
	}
	code, codes, summary := runArchiveVerify(ctx, r.gwBin, r.gw.cfgPath)
	f.VerifyExit, f.VerifyProblems = code, codes
	if code != 0 {
		t.Errorf("smsgw archive verify: %s", summary)
	}

	var (
		archMissing, archTwice, evTwice                   []string
		carMissing, carTwice, carTwiceVisible, carPartial []string
		carBadDup, unconfResent, noSent, wrongIDs, stuck  []string
		receiptNoDelivered, notSettled                    []string
	)
	for n, id := range idOf {
		h := hist[id]
		switch c := ar.messages[id]; {
		case c == 0:
			archMissing = append(archMissing, id)
		case c > 1:
			archTwice = append(archTwice, id)
		}
		at := cl.byN[n]
		// lo: complete copies at the carrier; hi: copies of its most
		// repeated part (any part twice is a text the customer got twice).
		lo, hi := at.copies()
		resub := h != nil && h.has(evResubmitted)
		unconf := h != nil && h.has(evUnconfirmed)
		if resub {
			f.Resubmitted++
		}
		if unconf {
			f.Unconfirmed++
		}
		if lo != hi {
			carPartial = append(carPartial, id)
		}
		// Status events: each once; a receipt the carrier sent again
		// (its answer was lost) may add a delivered event.
		extra := 0
		for key, c := range ar.events[id] {
			allowed := 1
			if strings.HasPrefix(key, "delivered|") || strings.HasPrefix(key, "failed|") {
				allowed = max(1, at.receiptsSent())
			}
			if c > allowed {
				extra += c - allowed
				st, _, _ := strings.Cut(key, "|")
				f.EventsTwiceByStatus[st] += c - allowed
			}
		}
		if extra > 0 {
			evTwice = append(evTwice, id)
			f.EventsExtraRecords += extra
		}
		// Copies allowed: one; two after a kill -9 when the history says
		// resubmitted_after_crash (its resubmission may itself end
		// unconfirmed: still at most two).
		allowed := 1
		if crash && resub {
			allowed = 2
		}
		switch {
		case lo == 0 && !unconf:
			carMissing = append(carMissing, id)
		case hi >= 2:
			carTwice = append(carTwice, id)
			switch {
			case hi <= allowed:
				carTwiceVisible = append(carTwiceVisible, id)
			case unconf && !resub:
				unconfResent = append(unconfResent, id)
			default:
				carBadDup = append(carBadDup, id)
			}
		}
		if h == nil {
			continue
		}
		if !settledStatus(h.Status) {
			notSettled = append(notSettled, id)
		}
		if hi > 0 {
			// At the carrier: a sent event with the carrier's ids, or
			// unconfirmed.
			got, _ := h.sentIDs()
			switch {
			case len(got) == 0 && !unconf:
				noSent = append(noSent, id)
			case len(got) > 0:
				for _, cid := range got {
					if !slices.Contains(at.ids, cid) {
						wrongIDs = append(wrongIDs, id)
						break
					}
				}
			}
		}
		// The carrier answered (its answer may still have been lost with
		// the bind: then the message is unconfirmed, and exempt).
		if at.allAnswered() && !unconf {
			switch h.Status {
			case "accepted", "filtered", "archived":
				stuck = append(stuck, id)
			}
			if at.receiptsOK >= at.parts && !h.has("delivered") {
				receiptNoDelivered = append(receiptNoDelivered, id)
			}
		}
	}
	r.writeMessageDump(idOf, hist, cl, ar)
	// Texts at the carrier that no message at the gateway explains.
	for n := range cl.byN {
		if _, ok := idOf[n]; !ok {
			f.CarrierUnaccepted++
		}
	}
	f.ArchiveMissing, f.ArchiveTwice, f.EventsTwice = len(archMissing), len(archTwice), len(evTwice)
	f.CarrierMissing, f.CarrierTwice, f.CarrierTwiceVisible, f.CarrierPartial = len(carMissing), len(carTwice), len(carTwiceVisible), len(carPartial)
	f.MissingSent, f.WrongCarrierIDs, f.StuckArchived, f.ReceiptNotDelivered, f.NotSettled = len(noSent), len(wrongIDs), len(stuck), len(receiptNoDelivered), len(notSettled)

	fail := func(ids []string, format string, args ...any) {
		if len(ids) > 0 {
			t.Errorf("%d %s: %s", len(ids), fmt.Sprintf(format, args...), firstIDs(ids))
		}
	}
	fail(archMissing, "accepted messages have no archive record")
	fail(archTwice, "messages are archived more than once")
	fail(evTwice, "messages have a status event archived more than once (%d extra records)", f.EventsExtraRecords)
	fail(carMissing, "accepted messages never reached the carrier (and are not unconfirmed)")
	if crash {
		fail(carBadDup, "messages at the carrier twice or more without resubmitted_after_crash in their history (or more than twice)")
	} else {
		fail(carBadDup, "messages at the carrier twice or more with no gateway crash (zero allowed)")
	}
	fail(unconfResent, "messages marked unconfirmed were sent to the carrier again")
	if len(carPartial) > 0 {
		t.Logf("%d messages have some parts at the carrier more often than others: %s", len(carPartial), firstIDs(carPartial))
	}
	fail(noSent, "messages at the carrier have no sent event with a carrier id (nor unconfirmed)")
	fail(wrongIDs, "messages have a sent event with a carrier id the carrier never gave them")
	fail(stuck, "messages the carrier answered still show accepted/filtered/archived")
	fail(receiptNoDelivered, "messages whose receipts the gateway acknowledged have no delivered event")
	if f.CarrierUnaccepted > 0 {
		t.Errorf("%d texts reached the carrier that match no message at the gateway", f.CarrierUnaccepted)
	}
	if cl.unmatched > 0 {
		t.Errorf("%d submit_sm at the carrier carry no marker of this scenario", cl.unmatched)
	}
	if len(notSettled) > 0 {
		t.Logf("%d messages were not in a final state when the drain wait ended: %s", len(notSettled), firstIDs(notSettled))
	}

	// Logs never carry bodies or full phone numbers.
	logs, _ := os.ReadFile(r.gw.log)
	for _, needle := range append([]string{"fault " + r.sc.name + " #", "hello from the fault suite", "14155550100"}, customerDigits()...) {
		if strings.Contains(string(logs), needle) {
			f.SecretsInLogs++
			t.Errorf("the gateway log contains a message body or a full phone number (needle %d chars)", len(needle))
		}
	}
	t.Logf("figures: %s", f.line())
}

// writeMessageDump writes, for whoever investigates a failure (see
// SMSGW_FAULTS_KEEP), one line per message: its history, what the carrier
// got and what the archive holds.
func (r *faultRun) writeMessageDump(idOf map[int]string, hist map[string]*msgHistory, cl *carrierLog, ar *archiveCounts) {
	f, err := os.Create(filepath.Join(r.dir, "messages.jsonl"))
	if err != nil {
		r.t.Logf("writing the message dump: %v", err)
		return
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	ns := make([]int, 0, len(idOf))
	for n := range idOf {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	for _, n := range ns {
		id := idOf[n]
		line := map[string]any{"n": n, "id": id, "archived": ar.messages[id], "archived_events": ar.events[id]}
		if h := hist[id]; h != nil {
			line["status"], line["events"] = h.Status, h.Events
		}
		if a := cl.byN[n]; a != nil {
			line["carrier"] = map[string]any{"parts": a.parts, "per_part": a.perSeq, "answered": a.answered, "ids": a.ids,
				"throttled": a.throttled, "receipts": a.receipts, "receipts_ok": a.receiptsOK}
		}
		_ = enc.Encode(line)
	}
}

func customerDigits() []string {
	out := make([]string, len(faultCustomers))
	for i, c := range faultCustomers {
		out[i] = strings.TrimPrefix(c, "+")
	}
	return out
}

// receiptsSent is how many receipts the carrier sent for the message.
func (a *atCarrier) receiptsSent() int {
	if a == nil {
		return 0
	}
	return a.receipts
}

func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/app"
)

type benchResult struct {
	Messages       int     `json:"messages"`
	Concurrency    int     `json:"concurrency"`
	Accepted       int     `json:"accepted"`
	Rejected       int     `json:"rejected"`
	Delivered      int     `json:"delivered_to_carrier"`
	AcceptPerSec   float64 `json:"accepted_per_sec"`
	DeliverPerSec  float64 `json:"delivered_per_sec"`
	AcceptP50ms    float64 `json:"accept_p50_ms"`
	AcceptP99ms    float64 `json:"accept_p99_ms"`
	EndToEndP50ms  float64 `json:"e2e_p50_ms"`
	EndToEndP99ms  float64 `json:"e2e_p99_ms"`
	PeakRSSMiB     float64 `json:"peak_rss_mib"`
	ArchiveBackend string  `json:"archive_backend"`
	Secrets        float64 `json:"share_with_card_numbers"`
	SyncAlways     bool    `json:"sync_always"`
}

func benchCmd() *cobra.Command {
	var n, conc int
	var secrets float64
	var keep, cpuprofile string
	var syncAlways bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Start a gateway with the sandbox carrier in this process, send N messages over HTTP, report throughput and latency",
		Long: `Starts a gateway on embedded defaults (temporary data dir, embedded JetStream, local archive,
sandbox SMSC) in this process, creates an employee, and sends N messages over HTTP with the given
concurrency. Reports accepted/s, delivered/s (carrier submit_sm received by the sandbox), p50/p99
accept latency (HTTP 202), p50/p99 end-to-end latency (POST sent -> sandbox receives submit_sm,
with archive-before-delivery on), and the peak RSS of the process (gateway and load generator).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cpuprofile != "" {
				f, err := os.Create(cpuprofile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			return runBench(cmd, n, conc, secrets, keep, syncAlways)
		},
	}
	cmd.Flags().IntVarP(&n, "messages", "n", 20000, "messages to send")
	cmd.Flags().IntVarP(&conc, "concurrency", "c", 64, "concurrent HTTP senders")
	cmd.Flags().Float64Var(&secrets, "secrets", 0.1, "share of messages carrying a card number")
	cmd.Flags().BoolVar(&syncAlways, "sync-always", false, "fsync every JetStream write (nats.sync_always)")
	cmd.Flags().StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	cmd.Flags().StringVar(&keep, "data-dir", "", "data dir to use (default: a temporary one, removed afterwards)")
	return cmd
}

func runBench(cmd *cobra.Command, n, conc int, secrets float64, dataDir string, syncAlways bool) error {
	if dataDir == "" {
		d, err := os.MkdirTemp("", "smsgw-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dataDir = d
	}
	cfg := config.Defaults()
	cfg.DataDir = dataDir
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.SMPP.Enabled = false
	cfg.NATS.SyncAlways = syncAlways
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	base := "http://" + a.HTTPAddr()
	admin, err := os.ReadFile(a.AdminTokenPath)
	if err != nil {
		return err
	}
	c := &apiClient{server: base, token: strings.TrimSpace(string(admin)), http: &http.Client{Timeout: 30 * time.Second}}
	if err := c.do("POST", "/v1/numbers", map[string]string{"number": "+14155550100"}, nil); err != nil {
		return err
	}
	if err := c.do("POST", "/v1/employees", map[string]string{"id": "bench", "name": "Bench"}, nil); err != nil {
		return err
	}
	if err := c.do("POST", "/v1/numbers/+14155550100/assign", map[string]string{"employee_id": "bench"}, nil); err != nil {
		return err
	}
	var tok struct{ Token string }
	if err := c.do("POST", "/v1/employees/bench/tokens", map[string]string{}, &tok); err != nil {
		return err
	}

	tr := &http.Transport{MaxIdleConnsPerHost: conc * 2, MaxConnsPerHost: conc * 2}
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	acceptLat := make([]time.Duration, n)
	sentAt := make([]time.Time, n)
	var accepted, rejected atomic.Int64
	var next atomic.Int64
	every := 0
	if secrets > 0 {
		every = int(1 / secrets)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "sending %d messages with concurrency %d to %s ...\n", n, conc, base)
	t0 := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				body := "bench " + strconv.Itoa(i) + " hello, your appointment is confirmed for tomorrow at 10am"
				if every > 0 && i%every == 0 {
					body = "bench " + strconv.Itoa(i) + " card 4111 1111 1111 1111 exp 09/27"
				}
				data, _ := json.Marshal(map[string]string{"to": "+14155550199", "body": body})
				req, _ := http.NewRequest("POST", base+"/v1/messages", bytes.NewReader(data))
				req.Header.Set("Authorization", "Bearer "+tok.Token)
				req.Header.Set("Content-Type", "application/json")
				s := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					rejected.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				acceptLat[i] = time.Since(s)
				sentAt[i] = s
				if resp.StatusCode == 202 {
					accepted.Add(1)
				} else {
					rejected.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	acceptDur := time.Since(t0)
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Minute)
	subs, err := a.Sandbox.WaitSubmitted(wctx, int(accepted.Load()))
	wcancel()
	deliverDur := time.Since(t0)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: only %d of %d reached the carrier: %v\n", len(subs), accepted.Load(), err)
		subs = a.Sandbox.Submitted()
	}
	var e2e []time.Duration
	for _, s := range subs {
		f := strings.Fields(s.Text)
		if len(f) < 2 || f[0] != "bench" {
			continue
		}
		i, err := strconv.Atoi(f[1])
		if err != nil || i < 0 || i >= n || sentAt[i].IsZero() {
			continue
		}
		e2e = append(e2e, s.At.Sub(sentAt[i]))
	}
	res := benchResult{
		Messages: n, Concurrency: conc, Accepted: int(accepted.Load()), Rejected: int(rejected.Load()), Delivered: len(subs),
		AcceptPerSec:  float64(accepted.Load()) / acceptDur.Seconds(),
		DeliverPerSec: float64(len(subs)) / deliverDur.Seconds(),
		AcceptP50ms:   pct(acceptLat, 50), AcceptP99ms: pct(acceptLat, 99),
		EndToEndP50ms: pct(e2e, 50), EndToEndP99ms: pct(e2e, 99),
		PeakRSSMiB: peakRSS(), ArchiveBackend: cfg.Archive.Backend, Secrets: secrets, SyncAlways: syncAlways,
	}
	cancel()
	<-done
	fmt.Fprintf(cmd.ErrOrStderr(), "GOMAXPROCS=%d\n", runtime.GOMAXPROCS(0))
	return printJSON(cmd, res)
}

func pct(ds []time.Duration, p int) float64 {
	var xs []time.Duration
	for _, d := range ds {
		if d > 0 {
			xs = append(xs, d)
		}
	}
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := min(len(xs)*p/100, len(xs)-1)
	return float64(xs[i].Microseconds()) / 1000
}

// peakRSS reads VmHWM from /proc/self/status (Linux), in MiB.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

package app

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/gateway/smpp"
)

// BenchmarkSMPPIngest measures submit_sm per second through our SMPP
// server to the JetStream acknowledgement (submit_sm_resp goes out only
// then), with a window of 64 outstanding submits per bind, on 1 and 4
// binds. Only the ingress runs (the pipeline stages are not started), so
// this is what the SMPP door itself sustains; e2e's BenchmarkSMPPSubmit
// measures the same with the whole pipeline sharing the CPU.
func BenchmarkSMPPIngest(b *testing.B) {
	for _, binds := range []int{1, 4} {
		b.Run("binds="+strconv.Itoa(binds), func(b *testing.B) {
			hash, _ := bcrypt.GenerateFromPassword([]byte("bench"), bcrypt.MinCost)
			cfg := config.Defaults()
			cfg.DataDir, cfg.Node = b.TempDir(), "bench"
			cfg.HTTP.Addr, cfg.SMPP.Addr, cfg.Log.Level = "127.0.0.1:0", "127.0.0.1:0", "warn"
			cfg.SMPP.Accounts = []config.SMPPAccount{{SystemID: "bench", PasswordHash: string(hash), Role: "platform",
				AllowedSources: []string{"+14155550100"}, MaxBinds: binds}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			done := make(chan struct{})
			go func() { _ = a.SMPP.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			body := (&smpp.SM{SrcTON: 1, SrcNPI: 1, Src: "14155550100", DstTON: 1, DstNPI: 1, Dst: "14155550199",
				ShortMessage: []byte("Your appointment is confirmed for Tuesday at 10:30. Reply C to cancel.")}).Marshal()
			work := make(chan struct{}, 1024)
			var wg sync.WaitGroup
			var once sync.Once
			var firstErr error
			for range binds {
				s, err := smpp.DialBind(ctx, a.SMPPAddr(), smpp.BindTransmitter, "bench", "bench", nil, smpp.SessionConfig{Window: 64})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				for range 64 {
					wg.Go(func() {
						for range work {
							resp, err := s.Request(ctx, smpp.SubmitSM, body)
							if err == nil && resp.Status != 0 {
								err = smpp.StatusError(resp.Status)
							}
							if err != nil {
								once.Do(func() { firstErr = err })
							}
						}
					})
				}
			}
			b.ResetTimer()
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			wg.Wait()
			b.StopTimer()
			if firstErr != nil {
				b.Fatal(firstErr)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submits/s")
		})
	}
}

package e2e

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/gateway/smpp"
)

// benchGateway starts a gateway with one platform account for benchmarks.
func benchGateway(b *testing.B, maxBinds int) *gateway {
	hash, _ := bcrypt.GenerateFromPassword([]byte("bench"), bcrypt.MinCost)
	cfg := testConfig(b.TempDir())
	cfg.Log.Level = "warn"
	cfg.SMPP.Accounts = []config.SMPPAccount{{SystemID: "bench", PasswordHash: string(hash), Role: "platform",
		AllowedSources: []string{bizNumber}, MaxBinds: maxBinds}}
	g := start(b, cfg, nil)
	g.employee("jane.doe", bizNumber, "")
	return g
}

// BenchmarkSMPPSubmit measures submit_sm per second through our SMPP
// server to the JetStream acknowledgement (the submit_sm_resp is sent only
// then), with a window of 64 per bind, on 1 and on 4 binds. The rest of the
// pipeline (filter, archive, delivery to the sandbox carrier) runs in the
// same process, as in production. Report: submits/s.
func BenchmarkSMPPSubmit(b *testing.B) {
	for _, binds := range []int{1, 4} {
		b.Run("binds="+strconv.Itoa(binds), func(b *testing.B) {
			g := benchGateway(b, binds)
			body := (&smpp.SM{SrcTON: 1, SrcNPI: 1, Src: bizNumber[1:], DstTON: 1, DstNPI: 1, Dst: customer[1:],
				ShortMessage: []byte("Your appointment is confirmed for Tuesday at 10:30. Reply C to cancel.")}).Marshal()
			var sessions []*smpp.Session
			for range binds {
				s, err := smpp.DialBind(context.Background(), g.App.SMPPAddr(), smpp.BindTransmitter, "bench", "bench", nil, smpp.SessionConfig{Window: 64})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				sessions = append(sessions, s)
			}
			var next sync.WaitGroup
			work := make(chan struct{}, 1024)
			var errOnce sync.Once
			var firstErr error
			b.ResetTimer()
			for _, s := range sessions {
				for range 64 { // 64 outstanding per bind: the window
					next.Go(func() {
						for range work {
							resp, err := s.Request(context.Background(), smpp.SubmitSM, body)
							if err == nil && resp.Status != 0 {
								err = smpp.StatusError(resp.Status)
							}
							if err != nil {
								errOnce.Do(func() { firstErr = err })
							}
						}
					})
				}
			}
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			next.Wait()
			b.StopTimer()
			if firstErr != nil {
				b.Fatal(firstErr)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submits/s")
		})
	}
}

// BenchmarkSMPPIdleBinds measures the gateway's resident memory with
// 1,000 idle binds (raw connections on the client side, so what grows is
// the server's share). Report: MB of RSS growth and KB per bind.
func BenchmarkSMPPIdleBinds(b *testing.B) {
	const n = 1000
	g := benchGateway(b, n)
	bind := (&smpp.Bind{SystemID: "bench", Password: "bench", InterfaceVersion: 0x34}).Marshal()
	for range b.N {
		runtime.GC()
		before := rssKB(b)
		conns := make([]net.Conn, 0, n)
		for i := range n {
			c, err := net.Dial("tcp", g.App.SMPPAddr())
			if err != nil {
				b.Fatal(err)
			}
			pdu := (&smpp.PDU{ID: smpp.BindTransceiver, Seq: uint32(i + 1), Body: bind}).Marshal()
			if _, err := c.Write(pdu); err != nil {
				b.Fatal(err)
			}
			var hdr [16]byte
			if _, err := io.ReadFull(c, hdr[:]); err != nil {
				b.Fatal(err)
			}
			if st := binary.BigEndian.Uint32(hdr[8:]); st != 0 {
				b.Fatalf("bind %d: status %#x", i, st)
			}
			rest := make([]byte, binary.BigEndian.Uint32(hdr[:4])-16)
			_, _ = io.ReadFull(c, rest)
			conns = append(conns, c)
		}
		runtime.GC()
		after := rssKB(b)
		b.ReportMetric(float64(after-before)/1024, "MB-rss-growth")
		b.ReportMetric(float64(after-before)/n, "KB/bind")
		b.ReportMetric(float64(after)/1024, "MB-rss-total")
		for _, c := range conns {
			c.Close()
		}
	}
}

func rssKB(b *testing.B) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb
		}
	}
	b.Skip("no VmRSS")
	return 0
}

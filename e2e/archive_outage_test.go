package e2e

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/smsgw/smsgw/internal/testenv"
)

// cutProxy forwards TCP from a loopback port to target until cut: then it
// drops every connection and refuses new ones (a partition between the
// gateway and a real server), until healed.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, up); up.Close(); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		p.conns = map[net.Conn]bool{}
	}
}

// Guarantee 2 under the full pipeline: while the archive store (a real
// MinIO) is unreachable, a text is filtered but never reaches the carrier;
// once the store is back it is archived once and delivered once.
func TestArchiveStoreDownHoldsDelivery(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := wormConfig(t, dir)
	proxy := newCutProxy(t, cfg.Archive.S3.Endpoint)
	cfg.Archive.S3.Endpoint = proxy.addr()
	logs := &testenv.SyncBuffer{}
	g := start(t, cfg, logs)
	tok, _ := g.employee("jane.doe", bizNumber, "")

	proxy.setCut(true)
	body := "held back while the archive is down"
	m := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": body})
	id := m["id"].(string)
	// A positive signal first: the archive stage tried to write the text's
	// segment and failed (the read model shows a message only once it is
	// archived, so the API cannot say more here).
	eventually(t, "the archive stage to fail writing the segment", func() bool {
		return strings.Contains(logs.String(), "writing archive segment failed")
	})
	for _, s := range g.App.Sandbox.Submitted() {
		if strings.Contains(s.Text, "held back") {
			t.Fatalf("the carrier received the text while its archive record could not be written")
		}
	}
	if r := g.call("GET", "/v1/messages/"+id, tok, nil); r.Status != 404 {
		t.Fatalf("GET while the store is down = %d %s, want 404 (not archived yet)", r.Status, r.Body)
	}

	proxy.setCut(false)
	g.waitStatus(id, tok, "delivered")
	n := 0
	for _, s := range g.App.Sandbox.Submitted() {
		if strings.Contains(s.Text, "held back") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the carrier received the text %d times, want once", n)
	}
}

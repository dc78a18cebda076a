package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// ssrfTargets are webhook URLs that reach the gateway's own networks or a
// cloud metadata service, or carry a credential.
var ssrfTargets = []string{
	"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
	"http://metadata.google.internal/computeMetadata/v1/",
	"http://METADATA.google.internal./computeMetadata/v1/",
	"http://metadata/computeMetadata/v1/",
	"http://[::1]/hook",
	"http://[::1]:8080/hook",
	"http://0x7f000001/hook",
	"http://0x7f.0x0.0x0.0x1/hook",
	"http://2130706433/hook",
	"http://017700000001/hook",
	"http://127.1/hook",
	"http://127.0.0.01/hook",
	"http://127.0.0.1/hook",
	"http://127.255.255.254/hook",
	"http://10.0.0.1/hook",
	"http://172.16.5.4/hook",
	"http://192.168.1.1/hook",
	"http://100.64.0.1/hook",
	"http://100.100.100.200/latest/meta-data/", // Alibaba Cloud's metadata (CGNAT range)
	"http://0.0.0.0:8080/hook",
	"http://[::]/hook",
	"http://224.0.0.1/hook",
	"http://255.255.255.255/hook",
	"http://[::ffff:127.0.0.1]/hook",
	"http://[::ffff:a9fe:a9fe]/hook", // 169.254.169.254, IPv4-mapped
	"http://[64:ff9b::7f00:1]/hook",  // 127.0.0.1 through NAT64
	"http://[2002:7f00:1::1]/hook",   // 127.0.0.1 through 6to4
	"http://[fd00::1]/hook",
	"http://[fe80::1%25eth0]/hook",
	"http://[ff02::1]/hook",
	"http://user:s3cr3tpw@example.com/hook",
	"https://tok3nvalue@example.com/hook",
	"http://localhost/hook", // resolves to loopback
	"http://LocalHost:9/hook",
	"http://api.localhost/hook",
}

func TestGuardCheckRefusesSSRFTargets(t *testing.T) {
	g := NewGuard(nil)
	for _, target := range ssrfTargets {
		err := g.Check(context.Background(), target)
		if got := sms.CodeOf(err); got != CodeForbidden {
			t.Errorf("Check(%q) = %v (code %q), want %s", target, err, got, CodeForbidden)
			continue
		}
		if sms.KindOf(err) != sms.Invalid {
			t.Errorf("Check(%q): kind %v, want Invalid (HTTP 400)", target, sms.KindOf(err))
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "tok3n") {
			t.Errorf("Check(%q) error %q holds the credential", target, err)
		}
	}
}

func TestGuardCheckAccepts(t *testing.T) {
	g := NewGuard(nil)
	for _, target := range []string{
		"https://93.184.215.14/hook",
		"http://8.8.8.8:8080/hook?x=1",
		"https://[2606:4700:4700::1111]/hook",
		"https://[64:ff9b::808:808]/hook",   // 8.8.8.8 through NAT64 (IPv6-only hosts)
		"https://hooks.example.invalid/sms", // not resolvable (RFC 6761): checked again at connect time
	} {
		if err := g.Check(context.Background(), target); err != nil {
			t.Errorf("Check(%q) = %v, want nil", target, err)
		}
	}
	for _, target := range []string{"ftp://example.com/", "example.com/hook", "http:///hook", "mailto:a@example.com"} {
		if got := sms.CodeOf(g.Check(context.Background(), target)); got != "invalid_webhook_url" {
			t.Errorf("Check(%q) code = %q, want invalid_webhook_url", target, got)
		}
	}
}

func TestGuardAllowList(t *testing.T) {
	g := NewGuard([]string{"127.0.0.0/8", "10.1.0.0/16", "not a cidr"})
	for _, target := range []string{"http://127.0.0.1:8080/hook", "http://10.1.2.3/hook", "http://[::ffff:127.0.0.1]/hook"} {
		if err := g.Check(context.Background(), target); err != nil {
			t.Errorf("allow-listed Check(%q) = %v, want nil", target, err)
		}
	}
	// The allow-list opens addresses, not credentials, metadata names or
	// numeric tricks; and nothing beyond its networks.
	for _, target := range []string{"http://10.2.0.1/hook", "http://169.254.169.254/", "http://metadata.google.internal/", "http://u:p@127.0.0.1/",
		"http://2130706433/", "http://127.1/", "http://[::1]/"} {
		if got := sms.CodeOf(g.Check(context.Background(), target)); got != CodeForbidden {
			t.Errorf("allow-listed guard: Check(%q) code = %q, want %s", target, got, CodeForbidden)
		}
	}
}

// receiver is a webhook receiver on 127.0.0.1 that counts the requests
// it gets.
func receiver(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

var payload = Payload{Type: "message.inbound", ID: "01JTEST", Body: "hello"}

// TestPostRefusesLoopbackAtConnect: the strict client never reaches a
// receiver on loopback, however its address is written — the dialer
// checks the address it connects to (what a rebinding name resolves to).
func TestPostRefusesLoopbackAtConnect(t *testing.T) {
	srv, hits := receiver(t, nil)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	client := NewClient(5*time.Second, NewGuard(nil))
	for _, host := range []string{"127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0x7f000001", "2130706433", "127.1", "u:p@127.0.0.1"} {
		target := "http://" + host + ":" + port + "/hook"
		status, err := Post(context.Background(), client, target, "secret", payload)
		if err == nil || status != 0 {
			t.Errorf("Post(%q) = %d, %v; want status 0 and an error", target, status, err)
		}
		if err != nil && strings.Contains(err.Error(), "u:p") {
			t.Errorf("Post(%q) error %q holds the credential", target, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback receiver got %d requests, want 0", n)
	}
}

// TestPostAllowListed: an allow-listed network is reached (tests and
// internal receivers).
func TestPostAllowListed(t *testing.T) {
	srv, hits := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(SignatureHeader) == "" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	g := NewGuard([]string{"127.0.0.1/32"})
	if err := g.Check(context.Background(), srv.URL+"/hook"); err != nil {
		t.Fatalf("Check(%q) = %v", srv.URL, err)
	}
	status, err := Post(context.Background(), NewClient(5*time.Second, g), srv.URL+"/hook", "secret", payload)
	if err != nil || status != http.StatusOK || hits.Load() != 1 {
		t.Errorf("Post to the allow-listed receiver = %d, %v (%d hits); want 200, nil, 1", status, err, hits.Load())
	}
}

// TestPostFollowsNoRedirect: a 307 (which would re-POST the body) or a
// 302 is the receiver's answer; its Location is never requested.
func TestPostFollowsNoRedirect(t *testing.T) {
	inner, innerHits := receiver(t, nil)
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		outer, outerHits := receiver(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, inner.URL+"/internal", code)
		})
		client := NewClient(5*time.Second, NewGuard([]string{"127.0.0.0/8"}))
		status, err := Post(context.Background(), client, outer.URL+"/hook", "secret", payload)
		if status != code || err == nil {
			t.Errorf("Post answered %d: got %d, %v; want %d and an error", code, status, err, code)
		}
		if outerHits.Load() != 1 {
			t.Errorf("%d: the receiver got %d requests, want 1", code, outerHits.Load())
		}
	}
	if n := innerHits.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests, want 0", n)
	}
}

// TestNewClientIgnoresProxy: the connect-time check must see the real
// target, so no proxy from the environment is used.
func TestNewClientIgnoresProxy(t *testing.T) {
	tr := NewClient(time.Second, nil).Transport.(*http.Transport)
	if tr.Proxy != nil {
		u, _ := tr.Proxy(&http.Request{URL: &url.URL{Scheme: "http", Host: "example.com"}})
		t.Errorf("webhook client uses a proxy function (%v)", u)
	}
}

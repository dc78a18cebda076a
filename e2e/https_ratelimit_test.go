package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsgw/smsgw/config"
)

// selfSigned writes a certificate for 127.0.0.1 named cn and its key.
func selfSignedCert(t *testing.T, dir, cn string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// The API over HTTPS: TLS 1.2+, HTTP/2 negotiated, HSTS sent, plaintext
// refused on the TLS port; SIGHUP swaps in a renewed certificate.
func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	certFile, keyFile, pool := selfSignedCert(t, dir, "first")
	cfg.HTTP.TLSCertFile, cfg.HTTP.TLSKeyFile = certFile, keyFile
	g := start(t, cfg, nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := "https://" + g.App.HTTPAddr()
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		t.Fatalf("GET over HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Errorf("GET /healthz = %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q", h)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 || resp.TLS.PeerCertificates[0].Subject.CommonName != "first" {
		t.Errorf("TLS state %+v", resp.TLS)
	}
	// TLS 1.1 is refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}, Timeout: 5 * time.Second}
	if _, err := old.Get(url + "/healthz"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	// Plain HTTP on the TLS port gets no API answer.
	if resp, err := http.Get("http://" + g.App.HTTPAddr() + "/healthz"); err == nil {
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the TLS listener")
		}
		resp.Body.Close()
	}
	// A renewed certificate: replace the files, SIGHUP, and new connections
	// see it.
	c2, k2, pool2 := selfSignedCert(t, dir, "second")
	for src, dst := range map[string]string{c2: certFile, k2: keyFile} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	renewed := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool2}}, Timeout: 5 * time.Second}
	eventually(t, "the renewed certificate to be served", func() bool {
		resp, err := renewed.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].Subject.CommonName == "second"
	})
}

// Beyond loopback without TLS the node refuses to start, naming the keys;
// with http.behind_proxy it starts.
func TestPlaintextBeyondLoopbackRefused(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.HTTP.Addr = "0.0.0.0:0"
	errs := cfg.Validate()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "http.addr") || !strings.Contains(errs[0].Error(), "http.tls_cert_file") {
		t.Fatalf("Validate() = %v, want one http.addr error naming the TLS keys", errs)
	}
	cfg.HTTP.BehindProxy = true
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Errorf("behind a proxy: %v", errs)
	}
	cfg = testConfig(t.TempDir())
	cfg.HTTP.TLSCertFile = "x.crt"
	if errs := cfg.Validate(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "http.tls_key_file") {
		t.Errorf("cert without key: %v", errs)
	}
	_ = config.Defaults
}

// Rate limits answer 429 with Retry-After and a JSON code, per token, per
// employee (texts per minute, new recipients per day) and per address
// after failed authentications; other clients are not affected.
func TestRateLimits(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.HTTP.RateLimit = config.RateLimit{PerToken: 1, TokenBurst: 20, SendsPerMinute: 3, NewRecipientsPerDay: 2, FailedAuthPerMinute: 4}
	g := start(t, cfg, nil)
	jane, _ := g.employee("jane.doe", bizNumber, "")
	bob, _ := g.employee("bob.roe", "+14155550101", "")

	send := func(tok, to string) response {
		return g.call("POST", "/v1/messages", tok, map[string]string{"to": to, "body": "hello"})
	}
	// New recipients: two allowed, the third refused; an old one still fine.
	if r := send(jane, "+14155550199"); r.Status != 202 {
		t.Fatalf("first send = %d %s", r.Status, r.Body)
	}
	if r := send(jane, "+14155550198"); r.Status != 202 {
		t.Fatalf("second recipient = %d %s", r.Status, r.Body)
	}
	r := send(jane, "+14155550197")
	wantThrottled(t, r, "new_recipient_limit")
	// Texts per minute: the burst of 3 is spent (2 accepted + 1 refused
	// for a new recipient counted as an attempt), so the next is refused.
	wantThrottled(t, send(jane, "+14155550199"), "send_rate_limited")
	// Bob is not affected.
	if r := send(bob, "+14155550199"); r.Status != 202 {
		t.Errorf("another employee's send = %d %s", r.Status, r.Body)
	}
	// Per token: the bucket of 20 is gone after a few more reads.
	var last response
	for range 40 {
		if last = g.call("GET", "/v1/me", jane, nil); last.Status == 429 {
			break
		}
	}
	wantThrottled(t, last, "rate_limited")

	// Failed authentications: 4 answered 401, then 429 — even for a good
	// token from the same address, until the bucket refills.
	for i := range 4 {
		if r := g.call("GET", "/v1/me", fmt.Sprintf("smsgw_wrong%d", i), nil); r.Status != 401 {
			t.Fatalf("bad token %d = %d", i, r.Status)
		}
	}
	wantThrottled(t, g.call("GET", "/v1/me", "smsgw_wrong", nil), "too_many_failed_auth")
	if !strings.Contains(g.LogBuf.String(), "authentication failed") {
		t.Error("failed authentications were not logged")
	}
	if strings.Contains(g.LogBuf.String(), "smsgw_wrong") {
		t.Error("a presented token was logged")
	}
}

func wantThrottled(t *testing.T, r response, code string) {
	t.Helper()
	if r.Status != 429 {
		t.Fatalf("status %d %s, want 429 %s", r.Status, r.Body, code)
	}
	if got, _ := r.json(t)["error"].(map[string]any); got["code"] != code {
		t.Errorf("error %v, want code %s", got, code)
	}
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q", ra)
	}
}

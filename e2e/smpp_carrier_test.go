package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/gateway/smpp"
)

// carrierPeer is an SMSC that binds to our SMPP server in the carrier
// role: it answers our deliver_sm (MT) with its own message ids and can
// submit MO texts and receipts.
type carrierPeer struct {
	sess *smpp.Session
	mu   sync.Mutex
	got  []smpp.SM
	ch   chan smpp.SM
	n    int
}

func bindCarrier(t *testing.T, addr string) *carrierPeer {
	t.Helper()
	conn, err := dialTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &carrierPeer{ch: make(chan smpp.SM, 16)}
	p.sess = smpp.NewSession(conn, smpp.SessionConfig{Handle: func(ctx context.Context, req *smpp.PDU) *smpp.PDU {
		if req.ID != smpp.DeliverSM {
			return nil
		}
		sm, err := smpp.ParseSM(req.Body)
		if err != nil {
			return &smpp.PDU{ID: smpp.DeliverSMResp, Status: smpp.ESME_RSYSERR}
		}
		p.mu.Lock()
		p.n++
		id := "up-" + itoaE(p.n)
		p.got = append(p.got, sm)
		p.mu.Unlock()
		p.ch <- sm
		return &smpp.PDU{ID: smpp.DeliverSMResp, Body: smpp.MessageIDBody(id)}
	}})
	go func() { _ = p.sess.Run(context.Background()) }()
	t.Cleanup(func() { _ = p.sess.Close() })
	resp, err := p.sess.Request(ctxT(t), smpp.BindTransceiver, (&smpp.Bind{SystemID: "upstream", Password: "c4rrier", InterfaceVersion: 0x34}).Marshal())
	if err != nil || resp.Status != 0 {
		t.Fatalf("carrier bind: %+v %v", resp, err)
	}
	return p
}

func itoaE(n int) string { return strconv.Itoa(n) }

func (p *carrierPeer) request(t *testing.T, id uint32, sm smpp.SM) *smpp.PDU {
	t.Helper()
	body := sm.Marshal()
	if id == smpp.DataSM {
		body = sm.MarshalDataSM()
	}
	resp, err := p.sess.Request(ctxT(t), id, body)
	if err != nil {
		t.Fatalf("%s: %v", smpp.CommandName(id), err)
	}
	return resp
}

func (p *carrierPeer) next(t *testing.T) smpp.SM {
	t.Helper()
	select {
	case sm := <-p.ch:
		return sm
	case <-time.After(60 * time.Second):
		t.Fatal("carrier never got a deliver_sm")
		return smpp.SM{}
	}
}

// TestSMPPServerCarrierRole: an upstream SMSC binds to our SMPP server as
// a carrier. Its submit_sm is MO (redacted, archived, reaches the
// employee's inbox and the platform bound for that number), its receipts
// settle our MT, which it receives as deliver_sm. A platform submits with
// data_sm; cancel_sm, replace_sm and submit_multi get ESME_RINVCMDID.
func TestSMPPServerCarrierRole(t *testing.T) {
	carrierHash, _ := bcrypt.GenerateFromPassword([]byte("c4rrier"), bcrypt.MinCost)
	platHash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	cfg := testConfig(t.TempDir())
	cfg.SMPP.Accounts = []config.SMPPAccount{
		{SystemID: "upstream", PasswordHash: string(carrierHash), Role: "carrier", Window: 8},
		{SystemID: "ccplat", PasswordHash: string(platHash), Role: "platform", AllowedSources: []string{bizNumber}},
	}
	cfg.DefaultCarrier = "upstream"
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")

	plat := &platformHandler{got: make(chan *smpp.Deliver, 10)}
	pc := smpp.NewClient(smpp.ClientConfig{Name: "platform", Addr: g.App.SMPPAddr(), SystemID: "ccplat", Password: "s3cret"}, plat)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = pc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	eventually(t, "platform bound", pc.Bound)

	up := bindCarrier(t, g.App.SMPPAddr())

	// MO from the carrier, as two concatenated submit_sm parts.
	enc, err := smpp.EncodeText("my card is 4111 1111 1111 1111 "+strings.Repeat("please call back ", 10), 7)
	if err != nil || len(enc.Parts) != 2 {
		t.Fatalf("encoding: %v (%d parts)", err, len(enc.Parts))
	}
	var wg sync.WaitGroup
	ids := make([]string, 2)
	for i, part := range enc.Parts {
		wg.Go(func() {
			resp := up.request(t, smpp.SubmitSM, smpp.SM{SrcTON: 1, SrcNPI: 1, Src: customer[1:], DstTON: 1, DstNPI: 1, Dst: bizNumber[1:],
				ESMClass: smpp.ESMUDHI, DataCoding: enc.DataCoding, ShortMessage: part})
			if resp.Status != 0 {
				t.Errorf("carrier MO part %d: status %#x", i+1, resp.Status)
			}
			ids[i], _ = smpp.ParseMessageIDBody(resp.Body)
		})
	}
	wg.Wait()
	if ids[0] == "" || ids[0] != ids[1] {
		t.Fatalf("MO parts answered with ids %q, want our one message id", ids)
	}
	m := g.waitStatus(ids[0], tok, "delivered")
	if body, _ := m["body"].(string); !strings.HasPrefix(body, "my card is **** **** **** 1111 please call back") {
		t.Errorf("inbox body %q, want the joined text, redacted", body)
	}
	select {
	case d := <-plat.got:
		if d.IsReceipt || d.Src != customer[1:] || d.Dst != bizNumber[1:] || !strings.Contains(d.Text, "**** 1111 please") || strings.Contains(d.Text, "4111 1111") {
			t.Errorf("platform got %+v, want the redacted MO from the customer", d)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("platform never got the MO")
	}

	// MT routed to the carrier account goes out as deliver_sm; its receipt
	// (submit_sm with esm_class receipt) settles the message.
	sent := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "ssn 123-45-6789 noted"})
	id, _ := sent["id"].(string)
	sm := up.next(t)
	if string(sm.ShortMessage) == "" || strings.Contains(string(sm.ShortMessage), "123-45-6789") || sm.Src != bizNumber[1:] || sm.Dst != customer[1:] {
		t.Errorf("carrier got deliver_sm %q from %s to %s, want the redacted MT from the business number", sm.ShortMessage, sm.Src, sm.Dst)
	}
	g.waitStatus(id, tok, "sent")
	rcpt := smpp.FormatReceipt("up-1", "DELIVRD", "000", time.Now(), time.Now(), "")
	resp := up.request(t, smpp.SubmitSM, smpp.SM{SrcTON: 1, SrcNPI: 1, Src: customer[1:], DstTON: 1, DstNPI: 1, Dst: bizNumber[1:],
		ESMClass: smpp.ESMReceipt, ShortMessage: []byte(rcpt)})
	if resp.Status != 0 {
		t.Fatalf("carrier receipt: status %#x", resp.Status)
	}
	g.waitStatus(id, tok, "delivered")

	// A platform's data_sm is MT like submit_sm.
	ps, err := smpp.DialBind(ctxT(t), g.App.SMPPAddr(), smpp.BindTransmitter, "ccplat", "s3cret", nil, smpp.SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	dr, err := ps.Request(ctxT(t), smpp.DataSM, (&smpp.SM{SrcTON: 1, SrcNPI: 1, Src: bizNumber[1:], DstTON: 1, DstNPI: 1, Dst: customer[1:],
		ShortMessage: []byte("data_sm hello")}).MarshalDataSM())
	if err != nil || dr.Status != 0 || dr.ID != smpp.DataSMResp {
		t.Fatalf("data_sm: %+v %v", dr, err)
	}
	did, _ := smpp.ParseMessageIDBody(dr.Body)
	if sm := up.next(t); string(sm.ShortMessage) != "data_sm hello" {
		t.Errorf("carrier got %q for the data_sm, want its text", sm.ShortMessage)
	}
	g.waitStatus(did, g.Admin, "sent")
	for _, cmd := range []uint32{smpp.CancelSM, smpp.ReplaceSM, smpp.SubmitMulti} {
		r, err := ps.Request(ctxT(t), cmd, smpp.MessageIDBody(did))
		if err != nil || r.Status != smpp.ESME_RINVCMDID || r.ID != cmd|0x80000000 {
			t.Errorf("%s: %+v %v, want its response with ESME_RINVCMDID", smpp.CommandName(cmd), r, err)
		}
	}
	// A platform may not act as a carrier, and a carrier bind's deliver_sm
	// with an encoding we cannot decode is refused, not passed on.
	if r, _ := ps.Request(ctxT(t), smpp.DeliverSM, (&smpp.SM{Src: customer[1:], Dst: bizNumber[1:], ShortMessage: []byte("x")}).Marshal()); r == nil || r.Status != smpp.ESME_RINVCMDID {
		t.Errorf("deliver_sm from a platform: %+v, want ESME_RINVCMDID", r)
	}
	if r := up.request(t, smpp.SubmitSM, smpp.SM{Src: customer[1:], Dst: bizNumber[1:], DataCoding: 0x09, ShortMessage: []byte("x")}); r.Status != smpp.ESME_RINVDCS {
		t.Errorf("carrier MO in data_coding 9: status %#x, want ESME_RINVDCS", r.Status)
	}
}

// TestSMPPServerTLS: the same accounts bind over the TLS listener.
func TestSMPPServerTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	platHash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	cfg := testConfig(dir)
	cfg.SMPP.TLSAddr, cfg.SMPP.TLSCertFile, cfg.SMPP.TLSKeyFile = "127.0.0.1:0", certFile, keyFile
	cfg.SMPP.Accounts = []config.SMPPAccount{{SystemID: "ccplat", PasswordHash: string(platHash), Role: "platform", AllowedSources: []string{bizNumber}}}
	g := start(t, cfg, nil)
	g.employee("jane.doe", bizNumber, "")
	c := smpp.NewClient(smpp.ClientConfig{Name: "tls", Addr: g.App.SMPP.TLSAddr(), SystemID: "ccplat", Password: "s3cret",
		TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}, &platformHandler{got: make(chan *smpp.Deliver, 10)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	res, err := c.Submit(ctxT(t), smpp.Submit{Src: bizNumber[1:], Dst: customer[1:], Text: "over TLS"})
	if err != nil {
		t.Fatalf("submit over TLS: %v", err)
	}
	g.waitStatus(res.MessageIDs[0], g.Admin, "delivered")
	// Plain SMPP on the TLS port does not get a bind.
	if conn, err := net.DialTimeout("tcp", g.App.SMPP.TLSAddr(), 5*time.Second); err == nil {
		sess := smpp.NewSession(conn, smpp.SessionConfig{ResponseTimeout: 2 * time.Second})
		go sess.Run(context.Background())
		if r, err := sess.Request(ctxT(t), smpp.BindTransceiver, (&smpp.Bind{SystemID: "ccplat", Password: "s3cret"}).Marshal()); err == nil && r.Status == 0 {
			t.Error("a plaintext bind succeeded on the TLS listener")
		}
		sess.Close()
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smsgw test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certFile, keyFile, pool
}

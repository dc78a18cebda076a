package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/internal/bus"
)

type platformHandler struct{ got chan *smpp.Deliver }

func (h *platformHandler) HandleDeliver(ctx context.Context, d *smpp.Deliver) error {
	h.got <- d
	return nil
}

// TestSMPPServerPlatform: a contact-centre platform binds to our SMPP
// server, submits a text with a card number from a business number it may
// use; submit_sm_resp carries our message id; the carrier gets the
// redacted text; the platform receives the delivery receipt for that id.
func TestSMPPServerPlatform(t *testing.T) {
	cfg := platformConfig(t)
	logs := &testenvBuffer{}
	g := start(t, cfg, logs.buf())
	g.employee("jane.doe", bizNumber, "")

	c, h := bindPlatform(t, g)

	long := "card 4111 1111 1111 1111 " + strings.Repeat("and more text ", 15) // 2 parts
	res, err := c.Submit(ctxT(t), smpp.Submit{Src: "14155550100", Dst: "14155550199", Text: long, RegisteredDelivery: true})
	if err != nil {
		t.Fatalf("platform submit: %v", err)
	}
	if len(res.MessageIDs) != 2 || res.MessageIDs[0] != res.MessageIDs[1] || len(res.MessageIDs[0]) != 26 {
		t.Fatalf("submit_sm_resp ids = %v, want our one ULID for both parts", res.MessageIDs)
	}
	id := res.MessageIDs[0]
	subs, err := g.App.Sandbox.WaitSubmitted(ctxT(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if subs[0].Concat == nil || subs[1].Concat == nil {
		t.Fatalf("carrier parts lack concatenation headers: %+v", subs)
	}
	if subs[0].Concat.Seq > subs[1].Concat.Seq {
		subs[0], subs[1] = subs[1], subs[0]
	}
	joined := subs[0].Text + subs[1].Text
	if !strings.HasPrefix(joined, "card **** **** **** 1111 and more text") || strings.Contains(joined, "4111 1111 1111 1111") {
		t.Errorf("carrier got %q, want the reassembled text, redacted", joined)
	}
	select {
	case d := <-h.got:
		if !d.IsReceipt || d.Receipt.MessageID != id || d.Receipt.Stat != "DELIVRD" {
			t.Errorf("platform got %+v, want a DELIVRD receipt for %s", d.Receipt, id)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("platform never got its receipt")
	}
	admin := g.Admin
	if m := g.waitStatus(id, admin, "delivered"); m["employee_id"] != "jane.doe" {
		t.Errorf("message employee = %v, want the number's holder", m["employee_id"])
	}

	// query_sm answers from the message's status.
	if st := querySM(t, g.App.SMPPAddr(), id); st != 2 {
		t.Errorf("query_sm message_state = %d, want 2 (DELIVERED)", st)
	}

	// A source the account may not use, and bad binds.
	if _, err := c.Submit(ctxT(t), smpp.Submit{Src: "14155550999", Dst: "14155550199", Text: "x"}); err == nil || !strings.Contains(err.Error(), "0xa") {
		t.Errorf("submit from a foreign number: %v, want ESME_RINVSRCADR (0xa)", err)
	}
	for _, bad := range []struct {
		sys, pw string
		want    uint32
	}{{"ccplat", "Xq9zWr7", smpp.ESME_RBINDFAIL}, {"nobody", "Pw7kLm2", smpp.ESME_RBINDFAIL}} {
		// Unknown system_id and wrong password answer alike (no oracle).
		if st := rawBind(t, g.App.SMPPAddr(), bad.sys, bad.pw); st != bad.want {
			t.Errorf("bind %s: status %#x, want %#x", bad.sys, st, bad.want)
		}
	}
	for _, pw := range []string{"s3cret", "Xq9zWr7", "Pw7kLm2"} {
		if strings.Contains(logs.String(), pw) {
			t.Errorf("password %q reached the logs", pw)
		}
	}
	if !strings.Contains(logs.String(), "SMPP bind refused") {
		t.Errorf("refused binds were not logged")
	}
}

func rawBind(t *testing.T, addr, sys, pw string) uint32 {
	t.Helper()
	conn, err := dialTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	sess := smpp.NewSession(conn, smpp.SessionConfig{})
	go sess.Run(context.Background())
	defer sess.Close()
	resp, err := sess.Request(ctxT(t), smpp.BindTransceiver, (&smpp.Bind{SystemID: sys, Password: pw, InterfaceVersion: 0x34}).Marshal())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Status
}

func querySM(t *testing.T, addr, id string) byte {
	t.Helper()
	state, status := querySMStatus(t, addr, id)
	if status != 0 {
		t.Fatalf("query_sm: command_status %#x", status)
	}
	return state
}

// querySMStatus binds as ccplat and queries id: message_state, or the
// command_status of a refused query.
func querySMStatus(t *testing.T, addr, id string) (byte, uint32) {
	t.Helper()
	conn, err := dialTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	sess := smpp.NewSession(conn, smpp.SessionConfig{})
	go sess.Run(context.Background())
	defer sess.Close()
	if resp, err := sess.Request(ctxT(t), smpp.BindTransmitter, (&smpp.Bind{SystemID: "ccplat", Password: "s3cret", InterfaceVersion: 0x34}).Marshal()); err != nil || resp.Status != 0 {
		t.Fatalf("bind for query_sm: %+v %v", resp, err)
	}
	body := append(smpp.MessageIDBody(id), 1, 1)
	body = append(body, "14155550100\x00"...)
	resp, err := sess.Request(ctxT(t), smpp.QuerySM, body)
	if err != nil {
		t.Fatalf("query_sm: %v", err)
	}
	if resp.Status != 0 {
		return 0, resp.Status
	}
	// message_id, final_date, message_state, error_code
	parts := strings.SplitN(string(resp.Body), "\x00", 3)
	if len(parts) < 3 || parts[0] != id || len(parts[2]) < 2 {
		t.Fatalf("query_sm_resp body %q", resp.Body)
	}
	return parts[2][0], 0
}

// A multipart text whose parts were each answered OK but which is refused
// when they are joined (the recipient opted out) ends as failed — the
// platform gets a failure receipt for the id it holds and query_sm says
// undeliverable — and its raw parts are erased, not retried forever.
func TestSMPPServerMultipartRefusedAtJoin(t *testing.T) {
	cfg := platformConfig(t)
	g := start(t, cfg, nil)
	g.employee("jane.doe", bizNumber, "")
	g.textIn(customer, bizNumber, "STOP")
	eventually(t, "the opt-out to be recorded", func() bool {
		return g.call("GET", "/v1/optouts/"+customer, g.Admin, nil).Status == 200
	})

	c, h := bindPlatform(t, g)

	long := "we miss you, come back for 20% off " + strings.Repeat("and more text ", 15) // 2 parts
	res, err := c.Submit(ctxT(t), smpp.Submit{Src: "14155550100", Dst: "14155550199", Text: long, RegisteredDelivery: true})
	if err != nil {
		t.Fatalf("platform submit: %v (each part is answered once stored)", err)
	}
	if len(res.MessageIDs) != 2 || res.MessageIDs[0] != res.MessageIDs[1] {
		t.Fatalf("submit_sm_resp ids = %v", res.MessageIDs)
	}
	id := res.MessageIDs[0]
	select {
	case d := <-h.got:
		if !d.IsReceipt || d.Receipt.MessageID != id || (d.Receipt.Stat != "UNDELIV" && d.Receipt.Stat != "REJECTD") {
			t.Errorf("platform got %+v, want a failure receipt for %s", d.Receipt, id)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("platform never learned that its text was refused")
	}
	eventually(t, "query_sm to answer undeliverable", func() bool {
		state, status := querySMStatus(t, g.App.SMPPAddr(), id)
		return status == 0 && state == 5
	})
	eventually(t, "the raw parts erased", func() bool {
		keys, err := g.App.Bus.KV(bus.BucketSMPPParts).Keys(ctxT(t))
		return err == nil && len(keys) == 0
	})
	if n := countSubmits(g, and(from(bizNumber, customer), "come back")); n != 0 {
		t.Errorf("the carrier got %d parts of a text to an opted-out recipient", n)
	}
}

// platformConfig is a test config with the platform account ccplat
// (password s3cret) allowed to send from bizNumber.
func platformConfig(t *testing.T) config.Config {
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	cfg := testConfig(t.TempDir())
	cfg.SMPP.Accounts = []config.SMPPAccount{{SystemID: "ccplat", PasswordHash: string(hash), Role: "platform", AllowedSources: []string{bizNumber}}}
	return cfg
}

// bindPlatform binds ccplat to g's SMPP server (transceiver) until the
// test ends; what it receives arrives on the handler's channel.
func bindPlatform(t *testing.T, g *gateway) (*smpp.Client, *platformHandler) {
	h := &platformHandler{got: make(chan *smpp.Deliver, 10)}
	c := smpp.NewClient(smpp.ClientConfig{Name: "platform", Addr: g.App.SMPPAddr(), SystemID: "ccplat", Password: "s3cret"}, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return c, h
}

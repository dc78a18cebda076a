package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/gateway/smpp"
)

// A number two platforms may use, only one bound when a customer texts:
// the bound one gets the text once; the other gets it when it binds; the
// retry for the second never repeats it to the first (issue 14, 1).
func TestSMPPMOOncePerPlatform(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	cfg := testConfig(t.TempDir())
	cfg.SMPP.Accounts = []config.SMPPAccount{
		{SystemID: "ccplat", PasswordHash: string(hash), Role: "platform", AllowedSources: []string{bizNumber}},
		{SystemID: "ccplat2", PasswordHash: string(hash), Role: "platform", AllowedSources: []string{bizNumber}},
	}
	g := start(t, cfg, nil)
	g.employee("jane.doe", bizNumber, "")
	bind := func(sys string) *platformHandler {
		h := &platformHandler{got: make(chan *smpp.Deliver, 10)}
		c := smpp.NewClient(smpp.ClientConfig{Name: sys, Addr: g.App.SMPPAddr(), SystemID: sys, Password: "s3cret"}, h)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = c.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		eventually(t, sys+" to be bound", c.Bound)
		return h
	}
	if n := len(g.App.SMPP.PlatformsFor(bizNumber)); n != 2 {
		t.Fatalf("%d platforms may use the number, want 2", n)
	}
	first := bind("ccplat")
	g.textIn(customer, bizNumber, "hello from the customer, once please")
	wantText := func(h *platformHandler, who string) {
		t.Helper()
		select {
		case d := <-h.got:
			if !strings.Contains(d.Text, "once please") {
				t.Fatalf("%s got %q", who, d.Text)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("%s never got the text", who)
		}
	}
	wantText(first, "ccplat")
	// The second platform binds; the stage's retry reaches it — the
	// positive signal that the retry ran — and must not repeat the text to
	// the first.
	second := bind("ccplat2")
	wantText(second, "ccplat2")
	g.textIn(customer, bizNumber, "a second text, after the retry")
	for got := 0; got < 1; {
		select {
		case d := <-first.got:
			if strings.Contains(d.Text, "once please") {
				t.Fatalf("ccplat got the first text again")
			}
			got++
		case <-time.After(60 * time.Second):
			t.Fatalf("ccplat never got the second text")
		}
	}
}

package e2e

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/internal/bus"
)

// TestSMPPServerDurableParts: an ESME with a window of 1 sends the parts of
// a long text one after another. Each part is answered at once (stored
// durably), all with the same message id; the text is joined before it is
// filtered (a card number split across the parts is redacted), and the raw
// parts are erased afterwards. A part whose siblings never come is joined
// after smpp.part_timeout, flagged incomplete, never dropped.
func TestSMPPServerDurableParts(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	cfg := testConfig(t.TempDir())
	cfg.SMPP.PartTimeout = 2 * time.Second
	cfg.SMPP.Accounts = []config.SMPPAccount{{SystemID: "ccplat", PasswordHash: string(hash), Role: "platform", AllowedSources: []string{bizNumber}}}
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	s, err := smpp.DialBind(ctxT(t), g.App.SMPPAddr(), smpp.BindTransmitter, "ccplat", "s3cret", nil, smpp.SessionConfig{Window: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	submitPart := func(ref, total, seq byte, text string) string {
		t.Helper()
		udh := []byte{5, 0, 3, ref, total, seq}
		body := (&smpp.SM{SrcTON: 1, SrcNPI: 1, Src: bizNumber[1:], DstTON: 1, DstNPI: 1, Dst: customer[1:], ESMClass: smpp.ESMUDHI,
			ShortMessage: append(udh, text...)}).Marshal()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // far below the 10s a held part would take
		defer cancel()
		resp, err := s.Request(ctx, smpp.SubmitSM, body)
		if err != nil || resp.Status != 0 {
			t.Fatalf("part %d/%d: %+v %v (a part must be answered once stored, not held for its siblings)", seq, total, resp, err)
		}
		id, _ := smpp.ParseMessageIDBody(resp.Body)
		return id
	}
	// The card number is split across the two parts.
	id1 := submitPart(42, 2, 1, "please charge 4111 1111 ")
	id2 := submitPart(42, 2, 2, "1111 1111 today")
	if id1 == "" || id1 != id2 {
		t.Fatalf("parts answered with %q and %q, want one message id", id1, id2)
	}
	subs, err := g.App.Sandbox.WaitSubmitted(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if subs[0].Text != "please charge **** **** **** 1111 today" {
		t.Errorf("carrier got %q, want the joined text with the split card redacted", subs[0].Text)
	}
	g.waitStatus(id1, tok, "delivered")

	// Only one part of three ever comes.
	lone := submitPart(43, 3, 2, "the middle part")
	m := g.waitStatus(lone, tok, "delivered")
	if m["body"] != "the middle part" {
		t.Errorf("incomplete message body %q", m["body"])
	}
	found := false
	for _, f := range m["findings"].([]any) {
		found = found || f.(map[string]any)["type"] == "incomplete_multipart"
	}
	if !found {
		t.Errorf("incomplete message has findings %v, want incomplete_multipart", m["findings"])
	}
	// Nothing of the parts is left in the bucket.
	keys, err := g.App.Bus.KV(bus.BucketSMPPParts).Keys(ctxT(t))
	if err != nil || len(keys) != 0 {
		t.Errorf("smpp_parts still holds %v (%v) after the joins", keys, err)
	}
	if got := grepTree(t, cfg.DataDir, "4111 1111 ", "1111 1111 today"); len(got) > 0 {
		t.Errorf("raw part text left on disk: %v", got)
	}
}

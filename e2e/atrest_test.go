package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/filters"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// Guarantee 4 (no sensitive value at rest), read where the bytes are: the
// block files of the INGRESS stream. JetStream removes a block file once
// every message in it is gone, so a grep after the pipeline drained proves
// nothing; these tests keep the block alive with a message the filter
// cannot finish (an operator rule that always times out: the message is
// retried, fail closed, for as long as the test runs) and check that the
// grep does see an ordinary acked text in that same block.

// stallRule is an operator rule whose match takes exponential time on a
// run of x's without a y: every such text times out and is retried.
var stallRule = filters.Rule{Name: "stall", Pattern: `(x+x+)+y`, Action: sms.ActionFlag}

// ingressBlocks returns the contents of the INGRESS stream's block files.
func ingressBlocks(t *testing.T, dataDir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dataDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if !info.IsDir() && strings.HasSuffix(p, ".blk") && strings.Contains(filepath.ToSlash(p), "/streams/"+bus.StreamIngress+"/msgs/") {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[p] = data
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// randomCard is a Luhn-valid 16-digit Visa number nobody else uses in the
// test (its check digit computed here, not by the filters).
func randomCard(t *testing.T) string {
	t.Helper()
	d := []byte{'4'}
	for len(d) < 15 {
		n, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			t.Fatal(err)
		}
		d = append(d, byte('0'+n.Int64()))
	}
	sum := 0
	for i := 0; i < 15; i++ { // the check digit will be at the undoubled end
		v := int(d[14-i] - '0')
		if i%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return string(append(d, byte('0'+(10-sum%10)%10)))
}

func marker(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// waitIngress waits until INGRESS holds exactly n messages.
func waitIngress(t *testing.T, g *gateway, n uint64) {
	t.Helper()
	eventually(t, "INGRESS to hold only the stalled text", func() bool {
		got, err := g.App.Bus.StreamMsgs(context.Background(), bus.StreamIngress)
		return err == nil && got == n
	})
}

// TestIngressSecureEraseInBlockFile: a raw text with a card number is
// erased from INGRESS's block file once filtered — its bytes overwritten,
// not only marked deleted — while an acked text without findings in the
// same live block is still readable there (so the grep can see what an
// ack alone leaves behind).
func TestIngressSecureEraseInBlockFile(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Filters.Rules = append(cfg.Filters.Rules, stallRule)
	cfg.Pipeline.MaxDeliver = 100
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")

	keep := marker(t, "keepalive-")
	stalled := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": keep + " " + strings.Repeat("x", 64)})["id"].(string)

	pan := randomCard(t)
	spaced := pan[0:4] + " " + pan[4:8] + " " + pan[8:12] + " " + pan[12:16]
	secret := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "my card is " + spaced + " thanks"})["id"].(string)
	plain := marker(t, "control-")
	control := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": plain + " see you at noon"})["id"].(string)

	if m := g.waitStatus(secret, tok, "delivered"); m["body"] != "my card is **** **** **** "+pan[12:]+" thanks" {
		t.Fatalf("the secret's text as sent: %v", m["body"])
	}
	g.waitStatus(control, tok, "delivered")
	waitIngress(t, g, 1)
	// (Read with the compliance role: until it is archived the text is
	// nobody's in the read model.)
	if m := g.call("GET", "/v1/messages/"+stalled, g.Admin, nil).json(t); m["status"] != "accepted" {
		t.Fatalf("the stalled text is %v, want still accepted (retried by the filter)", m)
	}

	blocks := ingressBlocks(t, dir)
	alive := ""
	for p, data := range blocks {
		if bytes.Contains(data, []byte(keep)) && bytes.Contains(data, []byte(plain)) {
			alive = p
		}
		for _, needle := range []string{spaced, pan} {
			if bytes.Contains(data, []byte(needle)) {
				t.Errorf("the raw card number is in %s after it was filtered", p)
			}
		}
	}
	if alive == "" {
		t.Fatalf("no INGRESS block holds both the stalled text and the acked control text (%d blocks): the check cannot see what an ack leaves", len(blocks))
	}
}

// TestIngressKeySealsBodies: with pipeline.ingress_key the INGRESS block
// holds the message (its id is there) but not its text.
func TestIngressKeySealsBodies(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Filters.Rules = append(cfg.Filters.Rules, stallRule)
	cfg.Pipeline.MaxDeliver = 100
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.Pipeline.IngressKey = base64.StdEncoding.EncodeToString(key)
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")

	keep := marker(t, "keepalive-")
	stalled := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": keep + " " + strings.Repeat("x", 64)})["id"].(string)
	plain := marker(t, "control-")
	control := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": plain + " see you at noon"})["id"].(string)
	if m := g.waitStatus(control, tok, "delivered"); m["body"] != plain+" see you at noon" {
		t.Fatalf("the text as sent: %v", m["body"])
	}
	waitIngress(t, g, 1)

	found := false
	for p, data := range ingressBlocks(t, dir) {
		if bytes.Contains(data, []byte(stalled)) && bytes.Contains(data, []byte(control)) {
			found = true
		}
		for _, text := range []string{keep, plain, "see you at noon", strings.Repeat("x", 64)} {
			if bytes.Contains(data, []byte(text)) {
				t.Errorf("%s holds the text %q in the clear with pipeline.ingress_key set", p, text)
			}
		}
	}
	if !found {
		t.Fatalf("no INGRESS block holds both messages' records: nothing was checked")
	}
}

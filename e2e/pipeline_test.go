package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/webhook"
)

const (
	card       = "4111 1111 1111 1111"
	cardDigits = "4111111111111111"
	bizNumber  = "+14155550100"
	customer   = "+14155550199"
)

// TestOutboundRedactedArchivedOnceWORM is the core promise: an employee
// texts a card number; the carrier gets the redacted text, the archive (a
// real MinIO bucket with Object Lock) holds exactly one record for it, the
// segment version cannot be deleted or replaced, and the raw number is
// nowhere on disk once the pipeline has drained.
func TestOutboundRedactedArchivedOnceWORM(t *testing.T) {
	mc := testenv.StartMinIO(t)
	bucket := mc.NewLockedBucket(t)
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Archive.Backend = "s3"
	cfg.Archive.S3.Endpoint = mc.Endpoint
	cfg.Archive.S3.Bucket = bucket
	cfg.Archive.S3.AccessKeyID = mc.AccessKey
	cfg.Archive.S3.SecretAccessKey = mc.SecretKey
	cfg.Archive.S3.UseTLS = false
	cfg.Archive.SigningKeyFile = filepath.Join(dir, "archive.key")
	if _, err := archive.WriteKeyFile(cfg.Archive.SigningKeyFile, "smsgw-e2e"); err != nil {
		t.Fatal(err)
	}
	g := start(t, cfg, nil)

	tok, _ := g.employee("jane.doe", bizNumber, "")
	r := g.call("POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "my card is " + card})
	if r.Status != 202 {
		t.Fatalf("POST /v1/messages = %d %s, want 202", r.Status, r.Body)
	}
	res := r.json(t)
	id, _ := res["id"].(string)
	if res["status"] != "accepted" || len(id) != 26 {
		t.Fatalf("POST /v1/messages answered %v, want status accepted and a ULID id", res)
	}
	if res["from"] != bizNumber {
		t.Errorf("from = %v, want the employee's number %s", res["from"], bizNumber)
	}

	// The carrier receives the redacted text, once.
	subs, err := g.App.Sandbox.WaitSubmitted(ctxT(t), 1)
	if err != nil {
		t.Fatalf("sandbox never got the message: %v", err)
	}
	if got, want := subs[0].Text, "my card is **** **** **** 1111"; got != want {
		t.Errorf("carrier got %q, want %q", got, want)
	}
	if subs[0].Src != "14155550100" || subs[0].Dst != "14155550199" {
		t.Errorf("carrier got src %s dst %s, want 14155550100 -> 14155550199", subs[0].Src, subs[0].Dst)
	}

	// Status history goes all the way to delivered (the sandbox's receipt).
	m := g.waitStatus(id, tok, "delivered")
	if m["body"] != "my card is **** **** **** 1111" {
		t.Errorf("GET body = %v, want the redacted text", m["body"])
	}
	var seen []string
	for _, e := range m["events"].([]any) {
		seen = append(seen, e.(map[string]any)["status"].(string))
	}
	for _, want := range []string{"accepted", "filtered", "archived", "sent", "delivered"} {
		if !strings.Contains(strings.Join(seen, ","), want) {
			t.Errorf("status history %v lacks %q", seen, want)
		}
	}

	// Exactly one archive record for the message, redacted, in a locked segment.
	ctx := ctxT(t)
	var found int
	var segKey, segVersion string
	for obj := range mc.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: archive.SegmentPrefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("listing bucket: %v", obj.Err)
		}
		o, err := mc.Client.GetObject(ctx, bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(o)
		o.Close()
		if err != nil {
			t.Fatal(err)
		}
		seg, err := archive.DecodeSegment(data)
		if err != nil {
			t.Fatalf("segment %s does not decode: %v", obj.Key, err)
		}
		for _, rec := range seg.Records {
			if string(rec.ID) == id && rec.Kind == "message" {
				found++
				segKey = obj.Key
				if rec.Message == nil || rec.Message.Body != "my card is **** **** **** 1111" {
					t.Errorf("archived record body is not the redacted text: %+v", rec.Message)
				}
				if rec.Message != nil && rec.Message.EmployeeID != "jane.doe" {
					t.Errorf("archived record employee = %q, want jane.doe", rec.Message.EmployeeID)
				}
				if rec.Message != nil && (len(rec.Message.Findings) != 1 || rec.Message.Findings[0].Type != "card") {
					t.Errorf("archived findings = %+v, want one card finding", rec.Message.Findings)
				}
			}
		}
	}
	if found != 1 {
		t.Fatalf("archive holds %d records for %s, want exactly 1", found, id)
	}
	st, err := mc.Client.StatObject(ctx, bucket, segKey, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	segVersion = st.VersionID
	mode, until, err := mc.Client.GetObjectRetention(ctx, bucket, segKey, segVersion)
	if err != nil || mode == nil || *mode != minio.Compliance || until == nil || until.Before(time.Now().AddDate(6, 11, 0)) {
		t.Errorf("segment retention = %v until %v (err %v), want COMPLIANCE for ~7 years", mode, until, err)
	}
	// The store refuses to delete the locked version, even with governance bypass...
	if err := mc.Client.RemoveObject(ctx, bucket, segKey, minio.RemoveObjectOptions{VersionID: segVersion, GovernanceBypass: true}); err == nil {
		t.Errorf("deleting the locked segment version succeeded; want refusal")
	}
	// ...and an overwrite only adds a version: the original stays, unchanged.
	_, _ = mc.Client.PutObject(ctx, bucket, segKey, bytes.NewReader([]byte("tampered")), 8, minio.PutObjectOptions{})
	o, err := mc.Client.GetObject(ctx, bucket, segKey, minio.GetObjectOptions{VersionID: segVersion})
	if err != nil {
		t.Fatal(err)
	}
	orig, err := io.ReadAll(o)
	o.Close()
	if err != nil {
		t.Fatalf("reading the original version after an overwrite: %v", err)
	}
	if _, err := archive.DecodeSegment(orig); err != nil {
		t.Errorf("original segment version changed after an overwrite: %v", err)
	}

	// Drain and stop, then look for the raw number everywhere on disk.
	g.stop()
	needles := []string{cardDigits, card, "4111-1111-1111-1111"}
	for _, hit := range grepTree(t, dir, needles...) {
		t.Errorf("raw card number at rest: %s", hit)
	}
	for _, hit := range grepTree(t, mc.Dir, needles...) {
		t.Errorf("raw card number in the object store: %s", hit)
	}
	for _, n := range needles {
		if strings.Contains(g.LogBuf.String(), n) {
			t.Errorf("raw card number in the logs")
		}
	}
	if strings.Contains(g.LogBuf.String(), "14155550199") {
		t.Errorf("full customer phone number in the logs")
	}
}

// TestInboundToWebhook: a customer's text arrives from the carrier as
// deliver_sm, is redacted and archived, then reaches the employee's webhook
// with a valid signature, and is listed in their inbox.
func TestInboundToWebhook(t *testing.T) {
	type hit struct {
		body []byte
		sig  string
	}
	hits := make(chan hit, 10)
	var fail sync.Once
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		// The first attempt fails: the gateway must retry.
		first := false
		fail.Do(func() { first = true })
		if first {
			http.Error(w, "try later", 503)
			return
		}
		hits <- hit{b, r.Header.Get(webhook.SignatureHeader)}
	}))
	defer hook.Close()

	g := start(t, testConfig(t.TempDir()), nil)
	tok, secret := g.employee("sam.agent", bizNumber, hook.URL)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("webhook secret %q not returned at creation", secret)
	}
	if err := g.App.Sandbox.SendMO(ctxT(t), "14155550199", "14155550100", "hi, my ssn is 123-45-6789 thanks"); err != nil {
		t.Fatalf("sandbox MO: %v", err)
	}
	var h hit
	select {
	case h = <-hits:
	case <-time.After(60 * time.Second):
		t.Fatal("webhook never called")
	}
	// Verify the signature as a receiver would.
	var ts, v1 string
	for _, part := range strings.Split(h.sig, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s.%s", ts, h.body)
	if want := hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(v1), []byte(want)) {
		t.Errorf("webhook signature %q does not verify (want v1=%s)", h.sig, want)
	}
	var p webhook.Payload
	if err := json.Unmarshal(h.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Body != "hi, my ssn is ***-**-6789 thanks" || p.From != customer || p.To != bizNumber || p.Type != "message.inbound" {
		t.Errorf("webhook payload = %+v", p)
	}
	if strings.Contains(string(h.body), "123-45-6789") {
		t.Errorf("raw SSN reached the webhook")
	}
	g.waitStatus(string(p.ID), tok, "delivered")
	list := g.mustCall(200, "GET", "/v1/messages?direction=inbound", tok, nil)
	msgs, _ := list["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["id"] != string(p.ID) {
		t.Fatalf("inbound list = %v, want the one message %s", list, p.ID)
	}
	// Another employee cannot see it.
	other, _ := g.employee("other.agent", "+14155550101", "")
	if r := g.call("GET", "/v1/messages/"+string(p.ID), other, nil); r.Status != 404 {
		t.Errorf("another employee reading the message got %d, want 404", r.Status)
	}
	if got := g.mustCall(200, "GET", "/v1/messages?direction=inbound", other, nil)["messages"].([]any); len(got) != 0 {
		t.Errorf("another employee's inbox lists %d messages, want 0", len(got))
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/sms"
)

// s3Proxy stands between the gateway and MinIO. While down it answers
// every request 503 (an S3 outage); always, it reads the segments the
// gateway tries to write, so a test knows which records the archive
// stage was trying to store.
type s3Proxy struct {
	rp   *httputil.ReverseProxy
	down atomic.Bool

	mu      sync.Mutex
	tried   map[sms.MessageID]int // message record -> segment PUTs that carried it
	changed chan struct{}
}

func startS3Proxy(t *testing.T, endpoint string) (*s3Proxy, string) {
	t.Helper()
	target, err := url.Parse("http://" + endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &s3Proxy{rp: httputil.NewSingleHostReverseProxy(target), tried: map[sms.MessageID]int{}, changed: make(chan struct{})}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, strings.TrimPrefix(srv.URL, "http://")
}

func (p *s3Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/"+archive.SegmentPrefix) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.record(r.Header, body)
	}
	if p.down.Load() {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>test outage</Message><Resource>`+r.URL.Path+`</Resource><RequestId>e2e</RequestId></Error>`)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// record notes the message records of a segment PUT.
func (p *s3Proxy) record(h http.Header, body []byte) {
	if strings.HasPrefix(h.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		var err error
		if body, err = unchunk(body); err != nil {
			return
		}
	}
	seg, err := archive.DecodeSegment(body)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rec := range seg.Records {
		if rec.Kind == archive.KindMessage {
			p.tried[rec.ID]++
		}
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// unchunk decodes an aws-chunked body (what minio-go sends over plain
// HTTP): "<hex size>;chunk-signature=...\r\n<data>\r\n", ending with a
// chunk of size 0.
func unchunk(b []byte) ([]byte, error) {
	var out []byte
	for {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return nil, errors.New("aws-chunked: no chunk header")
		}
		size, err := strconv.ParseInt(strings.SplitN(string(b[:i]), ";", 2)[0], 16, 64)
		if err != nil {
			return nil, err
		}
		b = b[i+2:]
		if size == 0 {
			return out, nil
		}
		if int64(len(b)) < size+2 {
			return nil, errors.New("aws-chunked: short chunk")
		}
		out, b = append(out, b[:size]...), b[size+2:]
	}
}

// waitTried waits until a segment PUT carried message id.
func (p *s3Proxy) waitTried(t *testing.T, id string, what string) {
	t.Helper()
	ctx := ctxT(t)
	for {
		p.mu.Lock()
		n, ch := p.tried[sms.MessageID(id)], p.changed
		p.mu.Unlock()
		if n > 0 {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestArchiveBeforeDeliverWhileStoreDown (guarantee 2 under the whole
// pipeline): while the object store refuses writes, a text is filtered
// and the archive stage keeps trying to write it, but nothing is announced
// on ARCHIVED and the carrier gets nothing; once the store is back it is
// archived once and delivered once.
func TestArchiveBeforeDeliverWhileStoreDown(t *testing.T) {
	mc := testenv.StartMinIO(t)
	bucket := mc.NewLockedBucket(t)
	proxy, endpoint := startS3Proxy(t, mc.Endpoint)
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Archive.Backend = "s3"
	cfg.Archive.S3.Endpoint, cfg.Archive.S3.Bucket = endpoint, bucket
	cfg.Archive.S3.AccessKeyID, cfg.Archive.S3.SecretAccessKey = mc.AccessKey, mc.SecretKey
	cfg.Archive.S3.UseTLS = false
	cfg.Archive.SigningKeyFile = filepath.Join(dir, "archive.key")
	if _, err := archive.WriteKeyFile(cfg.Archive.SigningKeyFile, "smsgw-e2e"); err != nil {
		t.Fatal(err)
	}
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	ctx := ctxT(t)

	// The path works: a first text is archived and delivered.
	warm := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "warm-up text"})["id"].(string)
	g.waitStatus(warm, tok, "delivered")
	announced, err := g.App.Bus.StreamMsgs(ctx, bus.StreamArchived)
	if err != nil {
		t.Fatal(err)
	}

	proxy.down.Store(true)
	bodyA := marker(t, "outage-a-") + " your order ships tomorrow"
	a := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": bodyA})["id"].(string)
	proxy.waitTried(t, a, "the archive stage to try to write the first text's segment")
	// A second text is handled by the archive stage only when it is done
	// with the batch that holds the first: once its segment is tried, the
	// stage has settled the first one.
	bodyB := marker(t, "outage-b-") + " see you at noon"
	b := g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": bodyB})["id"].(string)
	proxy.waitTried(t, b, "the archive stage to move on to the second text")

	if n, err := g.App.Bus.StreamMsgs(ctx, bus.StreamArchived); err != nil || n != announced {
		t.Logf("first text %s, second %s, warm-up %s; ARCHIVED holds:", a, b, warm)
		dumpArchived(t, g)
		t.Fatalf("ARCHIVED holds %d messages (err %v), %d before the outage: a text the store refused was announced for delivery", n, err, announced)
	}
	for _, s := range g.App.Sandbox.Submitted() {
		if strings.Contains(s.Text, bodyA) || strings.Contains(s.Text, bodyB) {
			t.Fatalf("the carrier got %q while the archive store was down", s.Text)
		}
	}
	// (Read with the compliance role: until it is archived the text is
	// nobody's in the read model.)
	if m := g.call("GET", "/v1/messages/"+a, g.Admin, nil).json(t); m["status"] != "filtered" {
		t.Errorf("during the outage the first text is %v, want filtered", m["status"])
	}

	// The node says it cannot carry texts through (the load balancer takes
	// it out), while it is alive.
	eventually(t, "/readyz to report the archive store down", func() bool {
		r := g.call("GET", "/readyz", "", nil)
		checks, _ := r.json(t)["checks"].(map[string]any)
		return r.Status == 503 && checks["archive"] != nil && checks["archive"] != "ok"
	})
	if r := g.call("GET", "/healthz", "", nil); r.Status != 200 {
		t.Errorf("/healthz during the outage = %d, want 200 (alive)", r.Status)
	}

	proxy.down.Store(false)
	eventually(t, "/readyz to report ready again", func() bool { return g.call("GET", "/readyz", "", nil).Status == 200 })
	for _, id := range []string{a, b} {
		g.waitStatus(id, tok, "delivered")
	}
	for _, body := range []string{bodyA, bodyB} {
		n := 0
		for _, s := range g.App.Sandbox.Submitted() {
			if s.Text == body {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the carrier got %q %d times, want once", body, n)
		}
	}
	records := map[sms.MessageID]int{}
	for obj := range mc.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: archive.SegmentPrefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
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
			t.Fatalf("segment %s: %v", obj.Key, err)
		}
		for _, r := range seg.Records {
			if r.Kind == archive.KindMessage {
				records[r.ID]++
			}
		}
	}
	for _, id := range []string{warm, a, b} {
		if records[sms.MessageID(id)] != 1 {
			t.Errorf("the archive holds %d records of %s, want 1", records[sms.MessageID(id)], id)
		}
	}

}

// dumpArchived logs what ARCHIVED holds (subject and message), for a
// failure report.
func dumpArchived(t *testing.T, g *gateway) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = g.App.Bus.Consume(ctx, bus.StageConfig{Stream: bus.StreamArchived, Durable: "e2e-dump", MaxDeliver: -1, Batch: 100, MaxWait: 20 * time.Millisecond, DeliverAll: true},
		func(ctx context.Context, batch []*bus.Msg) {
			for _, m := range batch {
				t.Logf("ARCHIVED seq %d subject %s: %.300s", m.StreamSeq, m.Subject, m.Data)
				_ = m.Ack()
			}
		})
}

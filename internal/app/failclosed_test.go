package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/pipeline"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// TestFilterFailureFailsClosed: a raw message the filter stage cannot
// process (here: sealed with a key this node does not have) is retried,
// then archived as blocked with its body withheld, reported in DEAD and as
// a dead_letter event, and never reaches the carrier.
func TestFilterFailureFailsClosed(t *testing.T) {
	a, ctx := startApp(t)
	other := make([]byte, 32)
	other[0] = 1
	foreign, err := pipeline.NewCodec(base64.StdEncoding.EncodeToString(other))
	if err != nil {
		t.Fatal(err)
	}
	m := &sms.Message{ID: sms.NewMessageID(), Direction: sms.Outbound, From: "+14155550100", To: "+14155550199",
		Body: "card 4111 1111 1111 1111", Source: sms.SourceHTTP, AcceptedAt: time.Now()}
	data, err := foreign.EncodeIngress(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Bus.Publish(ctx, bus.Out{Subject: bus.SubjIngressOutbound, MsgID: string(m.ID), Data: data}); err != nil {
		t.Fatal(err)
	}

	v := waitView(t, a, m.ID, func(v readmodel.View) bool { return v.Archived && v.Status == sms.StatusDeadLetter })
	if v.Verdict != sms.VerdictBlocked || v.Body != pipeline.WithheldBody {
		t.Fatalf("message = %+v, want archived, blocked, body withheld", v)
	}
	if len(v.Findings) != 1 || v.Findings[0].Type != "filter_error" {
		t.Errorf("findings = %+v, want filter_error", v.Findings)
	}
	n, err := a.Bus.StreamMsgs(ctx, bus.StreamDead)
	if err != nil || n != 1 {
		t.Fatalf("DEAD holds %d (err %v), want 1", n, err)
	}
	if n, _ := a.Bus.StreamMsgs(ctx, bus.StreamIngress); n != 0 {
		t.Errorf("INGRESS still holds %d messages", n)
	}
	time.Sleep(300 * time.Millisecond)
	for _, s := range a.Sandbox.Submitted() {
		t.Errorf("carrier received %q: a message that could not be filtered was sent", s.Text)
	}
	// The dead letter carries no body.
	dl := readDead(t, a)
	if strings.Contains(dl, "4111 1111") || strings.Contains(dl, "card 4111") || !strings.Contains(dl, string(m.ID)) || !strings.Contains(dl, "filter_error") {
		t.Errorf("dead letter = %s", dl)
	}
}

// TestIncompleteTextIsFlagged: a joined text with missing parts is
// filtered as a whole and archived with an incomplete_multipart finding.
func TestIncompleteTextIsFlagged(t *testing.T) {
	a, ctx := startApp(t)
	m := &sms.Message{Direction: sms.Inbound, From: "+14155550199", To: "+14155550100", Body: "first half 4111 1111 1111 1111",
		Source: sms.SourceCarrier, Incomplete: true}
	if err := a.Ingress.Accept(ctx, m); err != nil {
		t.Fatal(err)
	}
	v := waitView(t, a, m.ID, func(v readmodel.View) bool { return v.Archived })
	if v.Body != "first half **** **** **** 1111" {
		t.Errorf("body = %q", v.Body)
	}
	var types []string
	for _, f := range v.Findings {
		types = append(types, f.Type)
	}
	if strings.Join(types, ",") != "card,incomplete_multipart" {
		t.Errorf("findings = %v, want card and incomplete_multipart", types)
	}
}

func waitView(t *testing.T, a *App, id sms.MessageID, ok func(readmodel.View) bool) readmodel.View {
	t.Helper()
	var v readmodel.View
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		v, err = a.Index.Get(context.Background(), id)
		if err == nil && ok(v) {
			return v
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("message %s never reached the expected state: %+v (%v)", id, v, err)
	return v
}

// startApp runs a node on embedded defaults in a temp dir, with an
// all-zero ingress key and two filter attempts.
func startApp(t *testing.T) (*App, context.Context) {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Node = "t"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.SMPP.Addr = "127.0.0.1:0"
	cfg.Pipeline.MaxDeliver = 2
	cfg.Archive.SegmentMaxAge = 20 * time.Millisecond
	cfg.Pipeline.IngressKey = base64.StdEncoding.EncodeToString(make([]byte, 32)) // all-zero key
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return a, context.Background()
}

func readDead(t *testing.T, a *App) string {
	t.Helper()
	got := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Bus.Consume(ctx, bus.StageConfig{Stream: bus.StreamDead, Durable: "test-reader"}, func(ctx context.Context, batch []*bus.Msg) {
		for _, m := range batch {
			var d pipeline.DeadLetter
			_ = json.Unmarshal(m.Data, &d)
			_ = m.Ack()
			select {
			case got <- string(m.Data):
			default:
			}
		}
	})
	select {
	case s := <-got:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no dead letter read")
		return ""
	}
}

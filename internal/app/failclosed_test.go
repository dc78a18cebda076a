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

	"github.com/smsgw/smsgw/archive/index"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// TestFilterFailureFailsClosed: a raw message the filter stage cannot
// process (here: sealed with a key this node does not have) is retried,
// then archived as blocked with its body withheld, reported in DEAD and as
// a dead_letter event, and never reaches the carrier.
func TestFilterFailureFailsClosed(t *testing.T) {
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Node = "t"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.SMPP.Addr = "127.0.0.1:0"
	cfg.Pipeline.MaxDeliver = 2
	cfg.Archive.SegmentMaxAge = 20 * time.Millisecond
	cfg.Pipeline.IngressKey = base64.StdEncoding.EncodeToString(make([]byte, 32)) // all-zero key
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	other := make([]byte, 32)
	other[0] = 1
	foreign, err := newCodec(base64.StdEncoding.EncodeToString(other))
	if err != nil {
		t.Fatal(err)
	}
	m := &sms.Message{ID: sms.NewMessageID(), Direction: sms.Outbound, From: "+14155550100", To: "+14155550199",
		Body: "card 4111 1111 1111 1111", Source: sms.SourceHTTP, AcceptedAt: time.Now()}
	data, err := foreign.encodeIngress(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Bus.Publish(ctx, bus.Out{Subject: bus.SubjIngressOutbound, MsgID: string(m.ID), Data: data}); err != nil {
		t.Fatal(err)
	}

	var v index.View
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		v, err = a.Index.Get(ctx, m.ID)
		if err == nil && v.Archived && v.Status == sms.StatusDeadLetter {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !v.Archived || v.Verdict != sms.VerdictBlocked || v.Body != withheldBody {
		t.Fatalf("message = %+v (%v), want archived, blocked, body withheld", v, err)
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
	if strings.Contains(dl, "4111") || !strings.Contains(dl, string(m.ID)) || !strings.Contains(dl, "filter_error") {
		t.Errorf("dead letter = %s", dl)
	}
}

func readDead(t *testing.T, a *App) string {
	t.Helper()
	got := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Bus.Consume(ctx, bus.StageConfig{Stream: bus.StreamDead, Durable: "test-reader"}, func(ctx context.Context, batch []*bus.Msg) {
		for _, m := range batch {
			var d deadLetter
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

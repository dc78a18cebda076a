package pipeline

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/webhook"
)

// moStage consumes ARCHIVED inbound messages and hands them to the
// employee holding the number: their webhook (signed, retried with
// backoff) or, without a webhook, their inbox (GET /v1/messages).
type moStage struct {
	dir         *directory.Directory
	client      *http.Client
	maxAttempts int
	log         *slog.Logger
}

func (s *moStage) stage() Stage {
	return Stage{Name: bus.ConsumerDeliverMO, Stream: bus.StreamArchived, Filter: []string{bus.SubjArchivedIn},
		Outputs: []string{bus.StreamEvents}, Handle: s.handle, Batch: 128, MaxAckPending: 2048}
}

func (s *moStage) handle(ctx context.Context, batch []*bus.Msg) []Result {
	res := make([]Result, len(batch))
	var wg sync.WaitGroup
	for i, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil {
			res[i] = Result{Outcome: Dead, Code: "undecodable"}
			continue
		}
		wg.Go(func() { res[i] = s.deliver(ctx, in, m) })
	}
	wg.Wait()
	return res
}

func (s *moStage) deliver(ctx context.Context, in *bus.Msg, m *sms.Message) Result {
	if m.Verdict == sms.VerdictBlocked {
		return Result{ID: m.ID}
	}
	r, err := s.dir.RecipientOf(ctx, m)
	if err != nil {
		return Result{Outcome: Retry, ID: m.ID}
	}
	if r.Reason != "" {
		// Nobody to hand it to (yet): held for admins, waiting in a queue,
		// answered by the menu, or an opt-out keyword. The text is in the
		// archive and in its conversation; an agent who takes a queued
		// conversation gets its waiting texts then (handoverStage).
		return Result{ID: m.ID, Events: []sms.Event{Event(m.ID, sms.StatusUndelivered, r.Reason)}}
	}
	return deliveryResult(m.ID, s.toEmployee(ctx, r.Employee, m, r.Route, in.Deliveries))
}

// toEmployee delivers m to e: their webhook, or without one their inbox.
// It returns the delivered event, the failed event once the webhook has
// failed attempt times (s.maxAttempts in all), or nil to retry later.
func (s *moStage) toEmployee(ctx context.Context, e directory.Employee, m *sms.Message, route string, attempt uint64) *sms.Event {
	if e.WebhookURL == "" {
		ev := Event(m.ID, sms.StatusDelivered, "inbox")
		return &ev
	}
	status, err := webhook.Post(ctx, s.client, e.WebhookURL, e.WebhookSecret, webhook.Payload{
		Type: "message.inbound", ID: m.ID, From: m.From.E164(), To: m.To.E164(), Body: m.Body,
		Verdict: m.Verdict, Findings: m.Findings, At: m.AcceptedAt,
		Conversation: directory.ConversationKey(m.BusinessNumber(), m.CustomerNumber()), Route: route, Queue: m.Queue,
	})
	if err == nil {
		ev := Event(m.ID, sms.StatusDelivered, "webhook")
		return &ev
	}
	if code := sms.CodeOf(err); code == webhook.CodeForbidden || code == "invalid_webhook_url" {
		// The target can never be posted to (stored before the guard, or
		// it resolves to a forbidden address now): no point retrying.
		s.log.Warn("webhook target refused; message stays in the inbox", "id", m.ID, "employee", e.ID, "code", code)
		ev := Event(m.ID, sms.StatusFailed, "webhook_forbidden")
		return &ev
	}
	if attempt < uint64(s.maxAttempts) {
		s.log.Warn("webhook failed; will retry", "id", m.ID, "employee", e.ID, "attempt", attempt, "status", status, "err", err)
		return nil
	}
	s.log.Warn("webhook failed for good; message stays in the inbox", "id", m.ID, "employee", e.ID, "status", status)
	ev := Event(m.ID, sms.StatusFailed, "webhook")
	return &ev
}

// deliveryResult: done with ev when set, retried with backoff otherwise.
func deliveryResult(id sms.MessageID, ev *sms.Event) Result {
	if ev == nil {
		return Result{Outcome: Retry, ID: id}
	}
	return Result{ID: id, Events: []sms.Event{*ev}}
}

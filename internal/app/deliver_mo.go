package app

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/pipeline"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/webhook"
)

// moStage consumes ARCHIVED inbound messages and hands them to the
// employee holding the number: their webhook (signed, retried with
// backoff) or, without a webhook, their inbox (GET /v1/messages).
type moStage struct {
	bus         *bus.Bus
	dir         *directory.Directory
	client      *http.Client
	maxAttempts int
	log         *slog.Logger
}

func (s *moStage) stage() pipeline.Stage {
	return pipeline.Stage{Name: bus.ConsumerDeliverMO, Stream: bus.StreamArchived, Filter: []string{bus.SubjArchivedIn},
		Outputs: []string{bus.StreamEvents}, Handle: s.handle, Batch: 128, MaxAckPending: 2048}
}

func (s *moStage) handle(ctx context.Context, batch []*bus.Msg) []pipeline.Result {
	res := make([]pipeline.Result, len(batch))
	var wg sync.WaitGroup
	for i, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil {
			res[i] = pipeline.Result{Outcome: pipeline.Dead, Code: "undecodable"}
			continue
		}
		wg.Go(func() { res[i] = s.deliver(ctx, in, m) })
	}
	wg.Wait()
	return res
}

func (s *moStage) deliver(ctx context.Context, in *bus.Msg, m *sms.Message) pipeline.Result {
	done := func(st sms.Status, detail string) pipeline.Result {
		return pipeline.Result{ID: m.ID, Events: []sms.Event{pipeline.Event(m.ID, st, detail)}}
	}
	if m.Verdict == sms.VerdictBlocked {
		return pipeline.Result{ID: m.ID}
	}
	if m.EmployeeID == "" {
		if m.Route == directory.RouteQueued {
			// An agent may have taken the conversation since the text
			// was routed: then it is theirs.
			if e, ok := s.agentNow(ctx, m); ok {
				return deliveryResult(m.ID, s.toEmployee(ctx, e, m, directory.RouteAgent, in.Deliveries))
			}
		}
		// Routed to nobody (yet): held for admins, waiting in a queue,
		// answered by the menu, or an opt-out keyword. The text is in the
		// archive and in its conversation; an agent who takes a queued
		// conversation gets its waiting texts then (handoverStage).
		detail := "no_holder"
		if m.Route != "" {
			detail = m.Route
		}
		return done(sms.StatusUndelivered, detail)
	}
	e, _, err := s.dir.Employee(ctx, m.EmployeeID)
	if err == nil && e.State == directory.EmployeeOffboarded {
		// Offboarded after the text was accepted: whoever has the
		// conversation now (the successor) gets it. The archive keeps the
		// employee who held the number when it arrived.
		if e, err = s.successor(ctx, m); err != nil && sms.KindOf(err) == sms.NotFound {
			return done(sms.StatusUndelivered, "offboarded")
		}
	}
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			return done(sms.StatusUndelivered, "no_employee")
		}
		return pipeline.Result{Outcome: pipeline.Retry, ID: m.ID}
	}
	return deliveryResult(m.ID, s.toEmployee(ctx, e, m, m.Route, in.Deliveries))
}

// toEmployee delivers m to e: their webhook, or without one their inbox.
// It returns the delivered event, the failed event once the webhook has
// failed attempt times (s.maxAttempts in all), or nil to retry later.
func (s *moStage) toEmployee(ctx context.Context, e directory.Employee, m *sms.Message, route string, attempt uint64) *sms.Event {
	if e.WebhookURL == "" {
		ev := pipeline.Event(m.ID, sms.StatusDelivered, "inbox")
		return &ev
	}
	status, err := webhook.Post(ctx, s.client, e.WebhookURL, e.WebhookSecret, webhook.Payload{
		Type: "message.inbound", ID: m.ID, From: m.From.E164(), To: m.To.E164(), Body: m.Body,
		Verdict: m.Verdict, Findings: m.Findings, At: m.AcceptedAt,
		Conversation: directory.ConversationKey(m.BusinessNumber(), m.CustomerNumber()), Route: route, Queue: m.Queue,
	})
	if err == nil {
		ev := pipeline.Event(m.ID, sms.StatusDelivered, "webhook")
		return &ev
	}
	if attempt < uint64(s.maxAttempts) {
		s.log.Warn("webhook failed; will retry", "id", m.ID, "employee", e.ID, "attempt", attempt, "status", status, "err", err)
		return nil
	}
	s.log.Warn("webhook failed for good; message stays in the inbox", "id", m.ID, "employee", e.ID, "status", status)
	ev := pipeline.Event(m.ID, sms.StatusFailed, "webhook")
	return &ev
}

// deliveryResult: done with ev when set, retried with backoff otherwise.
func deliveryResult(id sms.MessageID, ev *sms.Event) pipeline.Result {
	if ev == nil {
		return pipeline.Result{Outcome: pipeline.Retry, ID: id}
	}
	return pipeline.Result{ID: id, Events: []sms.Event{*ev}}
}

// agentNow is the agent m's queue conversation is open with now, if any.
func (s *moStage) agentNow(ctx context.Context, m *sms.Message) (directory.Employee, bool) {
	c, err := s.dir.Conversation(ctx, directory.ConversationKey(m.BusinessNumber(), m.CustomerNumber()))
	if err != nil || c.State != directory.ConvOpen || c.Agent == "" {
		return directory.Employee{}, false
	}
	e, _, err := s.dir.Employee(ctx, c.Agent)
	return e, err == nil
}

// successor is who owns m's conversation now, for a text whose recipient
// was offboarded meanwhile; NotFound when nobody does.
func (s *moStage) successor(ctx context.Context, m *sms.Message) (directory.Employee, error) {
	c, err := s.dir.Conversation(ctx, directory.ConversationKey(m.BusinessNumber(), m.CustomerNumber()))
	if err != nil && sms.KindOf(err) != sms.NotFound {
		return directory.Employee{}, err
	}
	if err != nil {
		c = directory.Conversation{Business: m.BusinessNumber(), Customer: m.CustomerNumber()}
	}
	owner, err := s.dir.Owner(ctx, c)
	if err != nil {
		return directory.Employee{}, err
	}
	if owner == "" || owner == m.EmployeeID {
		return directory.Employee{}, sms.Errorf(sms.NotFound, "no_owner", "nobody owns the conversation")
	}
	e, _, err := s.dir.Employee(ctx, owner)
	return e, err
}

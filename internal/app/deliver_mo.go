package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// SignatureHeader carries the webhook signature: "t=<unix>,v1=<hex>",
// where v1 = HMAC-SHA256(secret, "<unix>.<body>"). Receivers should
// recompute it, compare in constant time and reject old timestamps.
const SignatureHeader = "Smsgw-Signature"

// Sign returns the SignatureHeader value for body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// WebhookPayload is what an employee's webhook receives for an MO text.
type WebhookPayload struct {
	Type     string        `json:"type"` // "message.inbound"
	ID       sms.MessageID `json:"id"`
	From     string        `json:"from"`
	To       string        `json:"to"`
	Body     string        `json:"body"` // redacted
	Verdict  sms.Verdict   `json:"verdict"`
	Findings []sms.Finding `json:"findings,omitempty"`
	At       time.Time     `json:"accepted_at"`
	// Conversation is the id to answer through
	// (POST /v1/conversations/{id}/messages); Route says how the text
	// reached this employee (holder, agent, opt_out, help) and Queue the
	// queue of an agent's conversation.
	Conversation string `json:"conversation"`
	Route        string `json:"route,omitempty"`
	Queue        string `json:"queue,omitempty"`
}

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

func (s *moStage) config() bus.StageConfig {
	return bus.StageConfig{
		Stream: bus.StreamArchived, Durable: bus.ConsumerDeliverMO, Filter: []string{bus.SubjArchivedIn},
		MaxDeliver: -1, Batch: 128, MaxAckPending: 2048,
	}
}

func (s *moStage) handle(ctx context.Context, batch []*bus.Msg) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var evs []sms.Event
	for _, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil {
			_ = in.Term()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ev := s.deliver(ctx, in, m); ev != nil {
				mu.Lock()
				evs = append(evs, *ev)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	emit(ctx, s.bus, evs...)
}

func (s *moStage) deliver(ctx context.Context, in *bus.Msg, m *sms.Message) *sms.Event {
	if m.Verdict == sms.VerdictBlocked {
		_ = in.Ack()
		return nil
	}
	if m.EmployeeID == "" {
		if m.Route == directory.RouteQueued {
			// An agent may have taken the conversation since the text
			// was routed: then it is theirs.
			if e, ok := s.agentNow(ctx, m); ok {
				return settleDelivery(in, s.toEmployee(ctx, e, m, directory.RouteAgent, in.Deliveries))
			}
		}
		// Routed to nobody (yet): held for admins, waiting in a queue,
		// answered by the menu, or an opt-out keyword. The text is in the
		// archive and in its conversation; an agent who takes a queued
		// conversation gets its waiting texts then (handoverStage).
		_ = in.Ack()
		detail := "no_holder"
		if m.Route != "" {
			detail = m.Route
		}
		ev := event(m.ID, sms.StatusUndelivered, detail)
		return &ev
	}
	e, _, err := s.dir.Employee(ctx, m.EmployeeID)
	if err == nil && e.State == directory.EmployeeOffboarded {
		// Offboarded after the text was accepted: whoever has the
		// conversation now (the successor) gets it. The archive keeps the
		// employee who held the number when it arrived.
		if e, err = s.successor(ctx, m); err != nil && sms.KindOf(err) == sms.NotFound {
			_ = in.Ack()
			ev := event(m.ID, sms.StatusUndelivered, "offboarded")
			return &ev
		}
	}
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			_ = in.Ack()
			ev := event(m.ID, sms.StatusUndelivered, "no_employee")
			return &ev
		}
		_ = in.Nak(backoff(in.Deliveries))
		return nil
	}
	return settleDelivery(in, s.toEmployee(ctx, e, m, m.Route, in.Deliveries))
}

// toEmployee delivers m to e: their webhook, or without one their inbox.
// It returns the delivered event, the failed event once the webhook has
// failed attempt times (s.maxAttempts in all), or nil to retry later.
func (s *moStage) toEmployee(ctx context.Context, e directory.Employee, m *sms.Message, route string, attempt uint64) *sms.Event {
	if e.WebhookURL == "" {
		ev := event(m.ID, sms.StatusDelivered, "inbox")
		return &ev
	}
	status, err := s.post(ctx, e, m, route)
	if err == nil {
		ev := event(m.ID, sms.StatusDelivered, "webhook")
		return &ev
	}
	if attempt < uint64(s.maxAttempts) {
		s.log.Warn("webhook failed; will retry", "id", m.ID, "employee", e.ID, "attempt", attempt, "status", status, "err", err)
		return nil
	}
	s.log.Warn("webhook failed for good; message stays in the inbox", "id", m.ID, "employee", e.ID, "status", status)
	ev := event(m.ID, sms.StatusFailed, "webhook")
	return &ev
}

// settleDelivery acks in when ev is set and naks it for a retry otherwise.
func settleDelivery(in *bus.Msg, ev *sms.Event) *sms.Event {
	if ev == nil {
		_ = in.Nak(backoff(in.Deliveries))
	} else {
		_ = in.Ack()
	}
	return ev
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

func (s *moStage) post(ctx context.Context, e directory.Employee, m *sms.Message, route string) (int, error) {
	body, _ := json.Marshal(WebhookPayload{
		Type: "message.inbound", ID: m.ID, From: m.From.E164(), To: m.To.E164(), Body: m.Body,
		Verdict: m.Verdict, Findings: m.Findings, At: m.AcceptedAt,
		Conversation: directory.ConversationKey(m.BusinessNumber(), m.CustomerNumber()), Route: route, Queue: m.Queue,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("building webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "smsgw-webhook/1")
	req.Header.Set("Smsgw-Message-Id", string(m.ID))
	req.Header.Set(SignatureHeader, Sign(e.WebhookSecret, time.Now(), body))
	resp, err := s.client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which may carry a credential: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("posting webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// Conversation states.
const (
	ConvMenu   = "menu"   // a main number's menu was sent; waiting for a choice
	ConvQueued = "queued" // in a queue, no agent yet
	ConvOpen   = "open"   // with an agent (Agent set) or with the number's holder
	ConvHeld   = "held"   // reached nobody: kept for admins and the next holder
	ConvClosed = "closed"
)

// MaxPrompts bounds the menus sent in a row without a valid choice.
const MaxPrompts = 4

// MaxConversationMessages bounds the message ids a conversation keeps.
const MaxConversationMessages = 500

// Conversation is everything between one business number and one
// customer. Its key is "<business digits>.<customer digits>".
type Conversation struct {
	ID       string     `json:"id"`
	Business sms.Number `json:"business"`
	Customer sms.Number `json:"customer"`
	State    string     `json:"state"`
	Queue    string     `json:"queue,omitempty"`
	// Agent is the employee a queue conversation is with. Empty for a
	// conversation on an employee's own number: its owner is whoever holds
	// the number now (so a successor inherits it).
	Agent        string    `json:"agent,omitempty"`
	OpenedAt     time.Time `json:"opened_at"`
	LastActivity time.Time `json:"last_activity"`
	ClosedAt     time.Time `json:"closed_at,omitzero"`
	ClosedBy     string    `json:"closed_by,omitempty"`
	CloseReason  string    `json:"close_reason,omitempty"`
	AutoReplied  bool      `json:"auto_replied,omitempty"` // the number's auto-reply was sent
	WaitSent     bool      `json:"wait_sent,omitempty"`    // the queue's wait message was sent
	// Prompts counts menus sent since the customer last picked an option:
	// after MaxPrompts the menu stops answering (no loop with another
	// auto-responder) until the conversation times out.
	Prompts int `json:"prompts,omitempty"`
	// Messages are the ids of its (archived) messages, oldest first.
	Messages []sms.MessageID `json:"messages"`
}

// ConversationKey is the key of the conversation between business and
// customer.
func ConversationKey(business, customer sms.Number) string {
	return business.Digits() + "." + customer.Digits()
}

// ParseConversationKey checks a key from a URL.
func ParseConversationKey(key string) (sms.Number, sms.Number, error) {
	b, c, ok := strings.Cut(key, ".")
	if ok {
		bn, err1 := sms.ParseNumber("+" + b)
		cn, err2 := sms.ParseNumber("+" + c)
		if err1 == nil && err2 == nil && bn.Digits() == b && cn.Digits() == c {
			return bn, cn, nil
		}
	}
	return "", "", sms.Errorf(sms.NotFound, "conversation_not_found", "no such conversation")
}

func (d *Directory) conversation(ctx context.Context, key string) (Conversation, uint64, error) {
	e, err := d.conversations.Get(ctx, key)
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			return Conversation{}, 0, sms.Errorf(sms.NotFound, "conversation_not_found", "no such conversation")
		}
		return Conversation{}, 0, err
	}
	var c Conversation
	if err := json.Unmarshal(e.Value, &c); err != nil {
		return Conversation{}, 0, fmt.Errorf("decoding conversation: %w", err)
	}
	return c, e.Revision, nil
}

// Conversation returns a conversation by key.
func (d *Directory) Conversation(ctx context.Context, key string) (Conversation, error) {
	if _, _, err := ParseConversationKey(key); err != nil {
		return Conversation{}, err
	}
	c, _, err := d.conversation(ctx, key)
	return c, err
}

// changeConversation applies f to the conversation (a zero one with the
// key's numbers when it does not exist: exists is false) and writes it
// with a revision check, retrying on a concurrent change.
func (d *Directory) changeConversation(ctx context.Context, key string, f func(c *Conversation, exists bool) (bool, error)) (Conversation, error) {
	for range 10 {
		c, rev, err := d.conversation(ctx, key)
		exists := err == nil
		if err != nil && sms.KindOf(err) != sms.NotFound {
			return Conversation{}, err
		}
		if !exists {
			b, cu, perr := ParseConversationKey(key)
			if perr != nil {
				return Conversation{}, perr
			}
			c = Conversation{ID: key, Business: b, Customer: cu, Messages: []sms.MessageID{}}
		}
		write, err := f(&c, exists)
		if err != nil || !write {
			return c, err
		}
		data, _ := json.Marshal(c)
		if exists {
			_, err = d.conversations.Update(ctx, key, data, rev)
		} else {
			_, err = d.conversations.Create(ctx, key, data)
		}
		if sms.KindOf(err) == sms.Conflict {
			continue
		}
		if err != nil {
			return Conversation{}, fmt.Errorf("updating conversation: %w", err)
		}
		return c, nil
	}
	return Conversation{}, sms.Errorf(sms.Conflict, "concurrent_change", "conversation changed concurrently; retry")
}

// RecordMessage adds an archived message to its conversation: its id, the
// time of last activity, and (for a conversation on an employee's own
// number) reopens it. The conversations stage calls it for every archived
// message; calling it twice for one message changes nothing.
func (d *Directory) RecordMessage(ctx context.Context, m *sms.Message) error {
	return d.RecordMessages(ctx, []*sms.Message{m})
}

// RecordMessages is RecordMessage for messages of one conversation, in one
// write.
func (d *Directory) RecordMessages(ctx context.Context, ms []*sms.Message) error {
	if len(ms) == 0 {
		return nil
	}
	key := ConversationKey(ms[0].BusinessNumber(), ms[0].CustomerNumber())
	_, err := d.changeConversation(ctx, key, func(c *Conversation, exists bool) (bool, error) {
		changed := false
		for _, m := range ms {
			if slices.Contains(c.Messages, m.ID) {
				continue
			}
			changed = true
			at := m.AcceptedAt
			if at.IsZero() {
				at = time.Now().UTC()
			}
			if !exists && c.State == "" {
				c.State, c.OpenedAt = ConvOpen, at
			}
			// A direct conversation comes back to life with a new message;
			// a held one is now with whoever got this message.
			if c.Agent == "" && c.Queue == "" && (c.State == ConvClosed && at.After(c.ClosedAt) || c.State == ConvHeld && m.EmployeeID != "") {
				c.State, c.OpenedAt, c.ClosedAt, c.ClosedBy, c.CloseReason = ConvOpen, at, time.Time{}, "", ""
			}
			c.Messages = append(c.Messages, m.ID)
			if at.After(c.LastActivity) {
				c.LastActivity = at
			}
		}
		if !changed {
			return false, nil
		}
		// Ids are ULIDs: sorting keeps the history in acceptance order
		// whatever order the archive announced them in.
		slices.Sort(c.Messages)
		if len(c.Messages) > MaxConversationMessages {
			c.Messages = c.Messages[len(c.Messages)-MaxConversationMessages:]
		}
		return true, nil
	})
	return err
}

// Owner is who may read and answer a conversation now: its agent, or for
// a conversation on an employee's own number the number's holder.
func (d *Directory) Owner(ctx context.Context, c Conversation) (string, error) {
	if c.Agent != "" {
		return c.Agent, nil
	}
	n, _, err := d.Number(ctx, c.Business)
	if sms.KindOf(err) == sms.NotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if n.State == StateAssigned {
		return n.EmployeeID, nil
	}
	return "", nil
}

// IsOpen reports whether a conversation is open now: not closed and, for
// one without an agent, not idle for longer than the inactivity time.
func (d *Directory) IsOpen(c Conversation, now time.Time) bool {
	if c.State == ConvClosed {
		return false
	}
	if c.Agent == "" && c.State == ConvOpen && now.Sub(c.LastActivity) > d.cfg.Inactivity {
		return false
	}
	return true
}

// ConversationQuery selects conversations. Zero fields match everything.
type ConversationQuery struct {
	Owner    string     // the employee who may read them now
	Business sms.Number // one business number
	Queue    string
	State    string // menu, queued, open, held, closed
	OpenOnly bool
}

// Conversations lists conversations, most recent activity first. It reads
// every key of the bucket: fine for thousands of conversations; a large
// deployment wants a per-owner index (see ARCHITECTURE.md).
func (d *Directory) Conversations(ctx context.Context, q ConversationQuery) ([]Conversation, error) {
	keys, err := d.conversations.Keys(ctx)
	if err != nil {
		return nil, err
	}
	var held map[string]bool // business digits the owner holds
	if q.Owner != "" {
		ns, err := d.NumbersOf(ctx, q.Owner)
		if err != nil {
			return nil, err
		}
		held = map[string]bool{}
		for _, n := range ns {
			held[n.Number.Digits()] = true
		}
	}
	var agentOpen map[string]bool // queue conversations the owner has
	if q.Owner != "" {
		a, _, err := d.Agent(ctx, q.Owner)
		if err != nil {
			return nil, err
		}
		agentOpen = map[string]bool{}
		for _, k := range a.Open {
			agentOpen[k] = true
		}
	}
	now := time.Now()
	out := []Conversation{}
	for _, k := range keys {
		biz, _, _ := strings.Cut(k, ".")
		if q.Business != "" && biz != q.Business.Digits() {
			continue
		}
		if q.Owner != "" && !held[biz] && !agentOpen[k] {
			continue // neither on a number they hold nor one of their queue conversations
		}
		c, _, err := d.conversation(ctx, k)
		if sms.KindOf(err) == sms.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if q.Owner != "" && c.Agent != q.Owner && !(c.Agent == "" && held[biz]) {
			continue
		}
		if q.Queue != "" && c.Queue != q.Queue {
			continue
		}
		if q.State != "" && c.State != q.State {
			continue
		}
		if q.OpenOnly && !d.IsOpen(c, now) {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastActivity.After(out[j].LastActivity) })
	return out, nil
}

// CloseConversation closes a conversation (by its agent, an admin, or the
// inactivity timer), frees the agent and hands the queue's next waiting
// conversation on.
func (d *Directory) CloseConversation(ctx context.Context, key, by, reason string) (Conversation, error) {
	var agent, queue string
	closed := false
	c, err := d.changeConversation(ctx, key, func(c *Conversation, exists bool) (bool, error) {
		if !exists {
			return false, sms.Errorf(sms.NotFound, "conversation_not_found", "no such conversation")
		}
		if c.State == ConvClosed {
			return false, nil
		}
		agent, queue, closed = c.Agent, c.Queue, true
		c.State, c.ClosedAt, c.ClosedBy, c.CloseReason = ConvClosed, time.Now().UTC(), by, reason
		c.Agent, c.WaitSent, c.AutoReplied = "", false, false
		return true, nil
	})
	if err != nil || !closed {
		return c, err
	}
	d.afterClose(ctx, key, agent, queue)
	attrs := map[string]string{"conversation": key, "reason": reason}
	if agent != "" {
		attrs["employee_id"] = agent
	}
	if queue != "" {
		attrs["queue"] = queue
	}
	d.ev.emit(ctx, sms.StatusConversationClosed, by, reason, attrs)
	return c, nil
}

// afterClose frees what a conversation held in a queue.
func (d *Directory) afterClose(ctx context.Context, key, agent, queue string) {
	d.unreserveAgent(ctx, agent, key)
	if queue != "" {
		_ = d.dequeue(ctx, queue, key)
		d.Dispatch(ctx, queue)
	}
}

// Sweep closes queue conversations idle for longer than their queue's
// inactivity time and dispatches every queue. The app runs it
// periodically; it returns how many conversations it closed.
func (d *Directory) Sweep(ctx context.Context, now time.Time) (int, error) {
	qs, err := d.Queues(ctx)
	if err != nil {
		return 0, err
	}
	keys := map[string]bool{}
	for _, q := range qs {
		for _, k := range q.Waiting {
			keys[k] = true
		}
		for id := range q.Members {
			a, _, err := d.Agent(ctx, id)
			if err != nil {
				return 0, err
			}
			for _, k := range a.Open {
				keys[k] = true
			}
		}
	}
	byID := map[string]Queue{}
	for _, q := range qs {
		byID[q.ID] = q
	}
	closed := 0
	for k := range keys {
		c, _, err := d.conversation(ctx, k)
		if err != nil {
			continue
		}
		q, ok := byID[c.Queue]
		idle := d.cfg.Inactivity
		if ok {
			idle = d.inactivity(q)
		}
		if c.State != ConvClosed && now.Sub(c.LastActivity) > idle {
			if _, err := d.CloseConversation(ctx, k, ActorSystem, "inactivity"); err == nil {
				closed++
			}
		}
	}
	for _, q := range qs {
		d.Dispatch(ctx, q.ID)
	}
	return closed, nil
}

// leaveQueues ends an employee's queue memberships and hands the queue
// conversations they had open to successor (when set) or back to their
// queue. It returns how many conversations moved.
func (d *Directory) leaveQueues(ctx context.Context, id, successor, by string) (int, error) {
	qs, err := d.Queues(ctx)
	if err != nil {
		return 0, err
	}
	for _, q := range qs {
		if _, ok := q.Members[id]; ok {
			if _, err := d.changeQueue(ctx, q.ID, func(q *Queue) (bool, error) {
				delete(q.Members, id)
				return true, nil
			}); err != nil {
				return 0, err
			}
		}
	}
	a, err := d.changeAgent(ctx, id, func(a *Agent, created bool) bool {
		if created {
			return false
		}
		a.Available = false
		return true
	})
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, key := range a.Open {
		var queue string
		if _, err := d.changeConversation(ctx, key, func(c *Conversation, exists bool) (bool, error) {
			if !exists || c.Agent != id || c.State == ConvClosed {
				return false, nil
			}
			queue = c.Queue
			if successor != "" {
				c.Agent = successor
			} else {
				c.Agent, c.State, c.WaitSent = "", ConvQueued, true
			}
			return true, nil
		}); err != nil {
			return moved, err
		}
		d.unreserveAgent(ctx, id, key)
		if successor != "" {
			if _, err := d.changeAgent(ctx, successor, func(a *Agent, created bool) bool {
				if slices.Contains(a.Open, key) {
					return created
				}
				a.Open = append(a.Open, key)
				return true
			}); err != nil {
				return moved, err
			}
			d.ev.emit(ctx, sms.StatusConversationAssigned, by, "offboard", map[string]string{"conversation": key, "employee_id": successor, "previous_employee_id": id})
		} else if queue != "" {
			if err := d.enqueue(ctx, queue, key); err != nil {
				return moved, err
			}
			d.ev.emit(ctx, sms.StatusConversationQueued, by, "offboard", map[string]string{"conversation": key, "queue": queue, "previous_employee_id": id})
			d.Dispatch(ctx, queue)
		}
		moved++
	}
	return moved, nil
}

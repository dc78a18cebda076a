package directory

import (
	"cmp"
	"context"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// Routes of an inbound text (sms.Message.Route).
const (
	RouteHolder = "holder"  // the employee holding the number
	RouteAgent  = "agent"   // the agent of the customer's queue conversation
	RouteQueued = "queued"  // in a queue, waiting for an agent
	RouteMenu   = "menu"    // answered with the main number's menu
	RouteHeld   = "held"    // reached nobody: archived and shown to admins
	RouteOptOut = "opt_out" // STOP and friends
	RouteOptIn  = "opt_in"  // START after an opt-out
	RouteHelp   = "help"    // HELP
)

// Reply kinds.
const (
	ReplyGreeting  = "greeting"
	ReplyReprompt  = "reprompt"
	ReplyWait      = "wait"
	ReplyAutoReply = "auto_reply"
	ReplyOptOut    = "opt_out"
	ReplyOptIn     = "opt_in"
	ReplyHelp      = "help"
)

// Reply is an auto-reply to send from the business number. Replies are MT
// messages sent through the normal pipeline.
type Reply struct {
	From, To sms.Number
	Carrier  string
	Body     string
	Kind     string
	// Always means the reply goes out even to an opted-out customer: the
	// opt-out confirmation and HELP. Other replies are skipped for them.
	Always bool
}

// Decision is where an inbound text goes.
type Decision struct {
	EmployeeID string // who receives it ("" when nobody does yet)
	Route      string
	Queue      string
	Replies    []Reply
}

// RouteInbound decides where an inbound text goes and what is answered,
// and records the conversation state that decision implies. It never
// refuses a text: a number in any state, or no number at all, yields a
// decision (held at worst). Errors are the state store's (retryable).
func (d *Directory) RouteInbound(ctx context.Context, m *sms.Message) (Decision, error) {
	biz, cust := m.To, m.From
	n, _, err := d.Number(ctx, biz)
	if err != nil && sms.KindOf(err) != sms.NotFound {
		return Decision{}, err
	}
	known := err == nil
	if !known {
		n = Number{Number: biz, State: StateAvailable}
	}
	reply := func(kind, body string, always bool) Reply {
		return Reply{From: biz, To: cust, Carrier: n.Carrier, Body: body, Kind: kind, Always: always}
	}
	key := ConversationKey(biz, cust)

	kw, word := ClassifyKeyword(m.Body)
	switch kw {
	case KeywordOptOut, KeywordOptOutAll:
		all := kw == KeywordOptOutAll || d.cfg.OptOutScope == ScopeCompany
		changed, err := d.AddOptOut(ctx, cust, biz, all, word, ActorSystem)
		if err != nil {
			return Decision{}, err
		}
		dec := d.peek(ctx, n, key)
		dec.Route = RouteOptOut
		if changed {
			dec.Replies = append(dec.Replies, reply(ReplyOptOut, d.cfg.OptOutReply, true))
		}
		// A customer who opted out is not waiting for an agent any more.
		if c, _, err := d.conversation(ctx, key); err == nil && (c.State == ConvQueued || c.State == ConvMenu || c.Agent != "") {
			_, _ = d.CloseConversation(ctx, key, ActorSystem, "opt_out")
		}
		return dec, nil
	case KeywordOptIn:
		out, err := d.OptedOut(ctx, cust, biz)
		if err != nil {
			return Decision{}, err
		}
		if out {
			if _, err := d.RemoveOptOut(ctx, cust, biz, word, ActorSystem); err != nil {
				return Decision{}, err
			}
			dec := d.peek(ctx, n, key)
			dec.Route = RouteOptIn
			dec.Replies = append(dec.Replies, reply(ReplyOptIn, d.cfg.OptInReply, true))
			return dec, nil
		}
		// Not opted out: "yes" is an ordinary reply.
	case KeywordHelp:
		dec := d.peek(ctx, n, key)
		dec.Route = RouteHelp
		dec.Replies = append(dec.Replies, reply(ReplyHelp, d.cfg.HelpReply, true))
		return dec, nil
	}

	if n.State == StateAssigned && n.EmployeeID != "" {
		return Decision{EmployeeID: n.EmployeeID, Route: RouteHolder}, nil
	}
	if n.Kind == KindMain {
		menu, err := d.Menu(ctx, biz)
		if err == nil {
			return d.menuFlow(ctx, n, menu, key, m.Body, reply)
		}
		if sms.KindOf(err) != sms.NotFound {
			return Decision{}, err
		}
	}
	if n.Queue != "" {
		return d.queueFlow(ctx, n, key, reply)
	}
	return d.heldFlow(ctx, n, key, reply)
}

// peek is where a keyword text goes, without changing anything: the
// holder, else the agent of an open queue conversation, else nobody.
func (d *Directory) peek(ctx context.Context, n Number, key string) Decision {
	if n.State == StateAssigned && n.EmployeeID != "" {
		return Decision{EmployeeID: n.EmployeeID}
	}
	if c, _, err := d.conversation(ctx, key); err == nil && c.State == ConvOpen && c.Agent != "" {
		return Decision{EmployeeID: c.Agent, Queue: c.Queue}
	}
	return Decision{}
}

type replyFunc func(kind, body string, always bool) Reply

// active reports whether a routed conversation is still going on.
func (d *Directory) activeRouted(c Conversation, exists bool, now time.Time) bool {
	if !exists {
		return false
	}
	switch {
	case c.State == ConvMenu:
		return now.Sub(c.LastActivity) <= d.cfg.Inactivity
	case c.State == ConvQueued, c.State == ConvOpen && c.Agent != "":
		return true
	}
	return false
}

func (d *Directory) menuFlow(ctx context.Context, n Number, menu Menu, key, body string, reply replyFunc) (Decision, error) {
	opt, matched := menu.Match(body)
	back := menu.IsBack(body)
	reprompt := menu.Reprompt
	if reprompt == "" {
		reprompt = d.cfg.Reprompt
	}
	c, _, err := d.conversation(ctx, key)
	exists := err == nil
	if err != nil && sms.KindOf(err) != sms.NotFound {
		return Decision{}, err
	}
	active := d.activeRouted(c, exists, time.Now())
	switch {
	case (!active || c.State == ConvMenu) && matched:
		return d.enterQueue(ctx, n, key, opt.Queue, reply)
	case !active, c.State == ConvMenu && back:
		return d.toMenu(ctx, key, menu.Text(), ReplyGreeting, reply)
	case c.State == ConvMenu:
		return d.toMenu(ctx, key, reprompt+" "+menu.Text(), ReplyReprompt, reply)
	case back:
		if _, err := d.CloseConversation(ctx, key, ActorSystem, "back_to_menu"); err != nil {
			return Decision{}, err
		}
		return d.toMenu(ctx, key, menu.Text(), ReplyGreeting, reply)
	default:
		return d.inConversation(ctx, n, key, c, reply)
	}
}

// toMenu puts the conversation in menu state and answers with text
// (unless MaxPrompts menus went unanswered already).
func (d *Directory) toMenu(ctx context.Context, key, text, kind string, reply replyFunc) (Decision, error) {
	now := time.Now().UTC()
	entered, send := false, true
	_, err := d.changeConversation(ctx, key, func(c *Conversation, exists bool) (bool, error) {
		entered = c.State != ConvMenu
		if entered {
			c.OpenedAt, c.Prompts = now, 0
		}
		c.Prompts++
		send = c.Prompts <= MaxPrompts
		c.State, c.Agent, c.ClosedAt, c.ClosedBy, c.CloseReason, c.WaitSent = ConvMenu, "", time.Time{}, "", "", false
		c.LastActivity = now
		return true, nil
	})
	if err != nil {
		return Decision{}, err
	}
	if entered {
		d.ev.emit(ctx, sms.StatusConversationMenu, ActorSystem, "", map[string]string{"conversation": key})
	}
	dec := Decision{Route: RouteMenu}
	if send {
		dec.Replies = []Reply{reply(kind, text, false)}
	}
	return dec, nil
}

// inConversation routes a text of a queued or open queue conversation.
func (d *Directory) inConversation(ctx context.Context, n Number, key string, c Conversation, reply replyFunc) (Decision, error) {
	now := time.Now().UTC()
	if c.State == ConvOpen && c.Agent != "" {
		if _, err := d.changeConversation(ctx, key, func(c *Conversation, exists bool) (bool, error) {
			c.LastActivity = now
			return true, nil
		}); err != nil {
			return Decision{}, err
		}
		return Decision{EmployeeID: c.Agent, Route: RouteAgent, Queue: c.Queue}, nil
	}
	// Queued: maybe an agent is free now.
	return d.enterQueue(ctx, n, key, c.Queue, reply)
}

// queueFlow routes a text to a department number (or a number released to
// a queue): no menu, straight into the queue.
func (d *Directory) queueFlow(ctx context.Context, n Number, key string, reply replyFunc) (Decision, error) {
	c, _, err := d.conversation(ctx, key)
	exists := err == nil
	if err != nil && sms.KindOf(err) != sms.NotFound {
		return Decision{}, err
	}
	if d.activeRouted(c, exists, time.Now()) && c.State != ConvMenu && c.Queue == n.Queue {
		return d.inConversation(ctx, n, key, c, reply)
	}
	return d.enterQueue(ctx, n, key, n.Queue, reply)
}

// enterQueue puts the conversation in queue (or keeps it there) and gives
// it an agent if one is free; otherwise the customer gets the wait
// message, once.
func (d *Directory) enterQueue(ctx context.Context, n Number, key, queue string, reply replyFunc) (Decision, error) {
	q, _, err := d.Queue(ctx, queue)
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			// A menu or number naming a deleted queue: do not lose the text.
			d.log.Warn("queue of a routed text does not exist; text held", "queue", queue)
			return d.heldFlow(ctx, n, key, reply)
		}
		return Decision{}, err
	}
	now := time.Now().UTC()
	agent, err := d.reserveAgent(ctx, queue, key)
	if err != nil {
		return Decision{}, err
	}
	var before Conversation
	var sendWait, sendAuto bool
	c, err := d.changeConversation(ctx, key, func(c *Conversation, exists bool) (bool, error) {
		before = *c
		sendWait, sendAuto = false, false
		if c.State == ConvOpen && c.Agent != "" && c.Queue == queue {
			return true, nil // someone else gave it an agent meanwhile
		}
		if c.State != ConvQueued || c.Queue != queue {
			c.OpenedAt, c.WaitSent = now, false
			c.ClosedAt, c.ClosedBy, c.CloseReason = time.Time{}, "", ""
		}
		c.Queue, c.LastActivity = queue, now
		if agent != "" {
			c.State, c.Agent = ConvOpen, agent
		} else {
			c.State, c.Agent = ConvQueued, ""
			if !c.WaitSent {
				c.WaitSent, sendWait = true, true
			}
		}
		if n.AutoReply != "" && !c.AutoReplied {
			c.AutoReplied, sendAuto = true, true
		}
		return true, nil
	})
	if err != nil {
		d.unreserveAgent(ctx, agent, key)
		return Decision{}, err
	}
	if c.Agent != agent {
		d.unreserveAgent(ctx, agent, key)
	}
	if before.Agent != "" && before.Agent != c.Agent {
		d.unreserveAgent(ctx, before.Agent, key) // it moved to another queue
	}
	if before.Queue != "" && before.Queue != queue {
		_ = d.dequeue(ctx, before.Queue, key)
	}
	dec := Decision{Queue: queue}
	var replies []Reply
	if sendAuto {
		replies = append(replies, reply(ReplyAutoReply, n.AutoReply, false))
	}
	if c.Agent != "" {
		dec.EmployeeID, dec.Route = c.Agent, RouteAgent
		_ = d.dequeue(ctx, queue, key)
		if before.Agent != c.Agent {
			d.ev.emit(ctx, sms.StatusConversationAssigned, ActorSystem, "route", map[string]string{"conversation": key, "queue": queue, "employee_id": c.Agent})
		}
	} else {
		dec.Route = RouteQueued
		if err := d.enqueue(ctx, queue, key); err != nil {
			return Decision{}, err
		}
		if before.State != ConvQueued || before.Queue != queue {
			d.ev.emit(ctx, sms.StatusConversationQueued, ActorSystem, "no_agent", map[string]string{"conversation": key, "queue": queue})
		}
		if sendWait {
			w := q.WaitMessage
			if w == "" {
				w = d.cfg.WaitMessage
			}
			replies = append(replies, reply(ReplyWait, w, false))
		}
	}
	dec.Replies = replies
	return dec, nil
}

// heldFlow keeps a text that reaches nobody: the conversation is held for
// admins (and the number's next holder); the number's auto-reply, if any,
// is sent once per conversation.
func (d *Directory) heldFlow(ctx context.Context, n Number, key string, reply replyFunc) (Decision, error) {
	now := time.Now().UTC()
	var entered, sendAuto bool
	_, err := d.changeConversation(ctx, key, func(c *Conversation, exists bool) (bool, error) {
		entered, sendAuto = false, false
		if c.State != ConvHeld {
			entered = true
			c.State, c.Agent, c.OpenedAt = ConvHeld, "", now
			c.ClosedAt, c.ClosedBy, c.CloseReason, c.AutoReplied = time.Time{}, "", "", false
		}
		c.LastActivity = now
		if n.AutoReply != "" && !c.AutoReplied {
			c.AutoReplied, sendAuto = true, true
		}
		return true, nil
	})
	if err != nil {
		return Decision{}, err
	}
	if entered {
		d.ev.emit(ctx, sms.StatusConversationHeld, ActorSystem, n.State, map[string]string{"conversation": key, "number": n.Number.E164(), "state": n.State})
	}
	dec := Decision{Route: RouteHeld}
	if sendAuto {
		dec.Replies = []Reply{reply(ReplyAutoReply, n.AutoReply, false)}
	}
	return dec, nil
}

// Recipient is who receives an archived inbound text now, and how it
// reached them. It is the one answer to "who gets this text": the routing
// decision made when the text arrived (m.EmployeeID, m.Route), brought up
// to date —
//   - a text waiting in a queue goes to the agent who has taken its
//     conversation since (route agent);
//   - a text for an employee offboarded since goes to whoever owns the
//     conversation now (the successor);
//   - a text routed to nobody (held, menu, opt-out keyword, still queued)
//     has no recipient: Reason says why (the route, or no_holder).
//
// A text with no recipient is kept in the archive and its conversation;
// the handover stage gives queued ones to the agent who takes them.
type Recipient struct {
	Employee Employee
	Route    string
	// Reason is set when there is no recipient: the text's route
	// (held, menu, opt_out, queued, ...), "no_holder", "offboarded" or
	// "no_employee".
	Reason string
}

// RecipientOf decides who receives archived inbound text m now (see
// Recipient). Errors are passing (the directory could not be read).
func (d *Directory) RecipientOf(ctx context.Context, m *sms.Message) (Recipient, error) {
	if m.EmployeeID == "" {
		if m.Route == RouteQueued {
			c, err := d.Conversation(ctx, ConversationKey(m.BusinessNumber(), m.CustomerNumber()))
			if err == nil && c.State == ConvOpen && c.Agent != "" {
				if e, _, err := d.Employee(ctx, c.Agent); err == nil {
					return Recipient{Employee: e, Route: RouteAgent}, nil
				}
			}
		}
		return Recipient{Reason: cmp.Or(m.Route, "no_holder")}, nil
	}
	e, _, err := d.Employee(ctx, m.EmployeeID)
	if err == nil && e.State == EmployeeOffboarded {
		// Offboarded after the text was accepted: whoever has the
		// conversation now gets it. The archive keeps the employee who
		// held the number when it arrived.
		if e, err = d.successor(ctx, m); sms.KindOf(err) == sms.NotFound {
			return Recipient{Reason: "offboarded"}, nil
		}
	}
	if sms.KindOf(err) == sms.NotFound {
		return Recipient{Reason: "no_employee"}, nil
	}
	if err != nil {
		return Recipient{}, err
	}
	return Recipient{Employee: e, Route: m.Route}, nil
}

// successor is who owns m's conversation now, for a text whose recipient
// was offboarded meanwhile; NotFound when nobody does.
func (d *Directory) successor(ctx context.Context, m *sms.Message) (Employee, error) {
	c, err := d.Conversation(ctx, ConversationKey(m.BusinessNumber(), m.CustomerNumber()))
	if err != nil && sms.KindOf(err) != sms.NotFound {
		return Employee{}, err
	}
	if err != nil {
		c = Conversation{Business: m.BusinessNumber(), Customer: m.CustomerNumber()}
	}
	owner, err := d.Owner(ctx, c)
	if err != nil {
		return Employee{}, err
	}
	if owner == "" || owner == m.EmployeeID {
		return Employee{}, sms.Errorf(sms.NotFound, "no_owner", "nobody owns the conversation")
	}
	e, _, err := d.Employee(ctx, owner)
	return e, err
}

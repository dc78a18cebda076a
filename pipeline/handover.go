package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// ConsumerHandover is the durable consumer of conversation_assigned
// events that hands an agent the texts that waited in the queue.
const ConsumerHandover = "handover"

// handoverMaxLag is how many times an assignment is retried while this
// node's index has not yet caught up with one of the conversation's texts.
const handoverMaxLag = 10

// handoverStage: when a queue conversation gets an agent, every inbound
// text of it that reached nobody because it was waiting in the queue
// (undelivered, "queued") goes to that agent's webhook, as a text routed
// to them would, and is marked delivered (an agent without a webhook reads
// them in the conversation, now theirs: delivered, "conversation"). Without it an
// agent's integration would learn of a conversation handed to it only
// when the customer wrote again.
type handoverStage struct {
	mo  *moStage
	idx *readmodel.Index
	log *slog.Logger

	mu     sync.Mutex
	handed map[sms.MessageID]time.Time // posted by this node, until the delivered event is indexed
}

func (s *handoverStage) stage() Stage {
	return Stage{Name: ConsumerHandover, Stream: bus.StreamEvents, Outputs: []string{bus.StreamEvents},
		Filter: []string{bus.SubjEvents + string(sms.StatusConversationAssigned)},
		Handle: s.handle, Batch: 16, MaxAckPending: 256}
}

func (s *handoverStage) handle(ctx context.Context, batch []*bus.Msg) []Result {
	res := make([]Result, len(batch))
	for i, in := range batch {
		var ev sms.Event
		if err := json.Unmarshal(in.Data, &ev); err != nil {
			res[i] = Result{Outcome: Dead, Code: "undecodable"}
			continue
		}
		evs, done := s.handover(ctx, ev, in.Deliveries)
		res[i].Events = evs
		if !done {
			res[i].Outcome = Retry
		}
	}
	return res
}

// handover delivers the waiting texts of the assigned conversation; done
// is false when some should be tried again.
func (s *handoverStage) handover(ctx context.Context, ev sms.Event, attempt uint64) (evs []sms.Event, done bool) {
	key, agent := ev.Attrs["conversation"], ev.Attrs["employee_id"]
	c, err := s.mo.dir.Conversation(ctx, key)
	if err != nil {
		return nil, sms.KindOf(err) == sms.NotFound
	}
	if c.State != directory.ConvOpen || c.Agent != agent {
		return nil, true // moved on since: the next assignment hands over
	}
	e, _, err := s.mo.dir.Employee(ctx, agent)
	if err != nil {
		return nil, sms.KindOf(err) == sms.NotFound
	}
	done = true
	for _, id := range c.Messages {
		v, err := s.idx.Get(ctx, id)
		if err != nil {
			// Not indexed here yet (or the index failed): try again a
			// few times; the text stays in the conversation's history.
			if attempt < handoverMaxLag {
				done = false
			} else {
				s.log.Warn("text of an assigned conversation not in the index; left in its history", "id", id, "conversation", key)
			}
			continue
		}
		if v.Direction != sms.Inbound {
			continue
		}
		if !v.Status.Final() {
			// Still on its way through deliver-mo, which may mark it
			// undelivered (queued) after reading the conversation before
			// the assignment: look again shortly.
			if attempt < handoverMaxLag {
				done = false
			}
			continue
		}
		if v.Status != sms.StatusUndelivered || !waitedInQueue(v.Events) || s.wasHanded(id) {
			continue
		}
		if e.WebhookURL == "" {
			// An inbox is the texts routed to the employee; these were
			// routed to nobody. The agent reads them in the conversation,
			// which is theirs now.
			evs = append(evs, Event(id, sms.StatusDelivered, "conversation"))
			continue
		}
		m := v.Message
		m.Queue = c.Queue
		out := s.mo.toEmployee(ctx, e, &m, directory.RouteAgent, attempt)
		if out == nil {
			done = false
			continue
		}
		s.markHanded(id)
		evs = append(evs, *out)
	}
	return evs, done
}

// wasHanded reports whether this node already posted id to an agent: a
// retried assignment (another text failed) must not post it again while
// its delivered event is still on the way to the readmodel.
func (s *handoverStage) wasHanded(id sms.MessageID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.handed[id]
	return ok
}

func (s *handoverStage) markHanded(id sms.MessageID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handed == nil {
		s.handed = map[sms.MessageID]time.Time{}
	}
	now := time.Now()
	for k, at := range s.handed {
		if now.Sub(at) > time.Hour {
			delete(s.handed, k)
		}
	}
	s.handed[id] = now
}

// waitedInQueue reports whether a text's undelivered event says it waited
// in a queue (rather than held, answered by a menu, or an opt-out).
func waitedInQueue(evs []sms.Event) bool {
	for _, e := range evs {
		if e.Status == sms.StatusUndelivered && e.Detail == directory.RouteQueued {
			return true
		}
	}
	return false
}

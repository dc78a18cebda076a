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

// Queue holds conversations of a main or department number until an agent
// takes them. Agents are members with a capacity: how many conversations
// they handle at once.
type Queue struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// WaitMessage is sent when a conversation joins the queue and no agent
	// is free (default: the configured numbers.wait_message).
	WaitMessage string `json:"wait_message,omitempty"`
	// InactivitySeconds closes the queue's conversations after that long
	// without a message (0: the configured numbers.inactivity).
	InactivitySeconds int               `json:"inactivity_seconds,omitempty"`
	Members           map[string]Member `json:"members"`
	// Waiting are the conversations without an agent, oldest first.
	Waiting   []string  `json:"waiting"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// Member is an agent's membership of a queue.
type Member struct {
	Capacity int `json:"capacity"`
}

// Agent is an employee's state as an agent, across queues.
type Agent struct {
	EmployeeID string `json:"employee_id"`
	Available  bool   `json:"available"`
	// Open are the conversations the agent holds.
	Open         []string  `json:"open"`
	LastAssigned time.Time `json:"last_assigned,omitzero"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func queueKey(id string) string { return "q." + id }
func agentKey(id string) string { return "a." + id }

// validID: the id rule, and a usable KV key token sequence.
func validID(id string) bool {
	return employeeIDRe.MatchString(id) && !strings.Contains(id, "..") && !strings.HasSuffix(id, ".")
}

func (d *Directory) inactivity(q Queue) time.Duration {
	if q.InactivitySeconds > 0 {
		return time.Duration(q.InactivitySeconds) * time.Second
	}
	return d.cfg.Inactivity
}

// Queue returns a queue and its revision.
func (d *Directory) Queue(ctx context.Context, id string) (Queue, uint64, error) {
	if !validID(id) {
		return Queue{}, 0, sms.Errorf(sms.NotFound, "queue_not_found", "no queue with that id")
	}
	e, err := d.queues.Get(ctx, queueKey(id))
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			return Queue{}, 0, sms.Errorf(sms.NotFound, "queue_not_found", "no queue with id %s", id)
		}
		return Queue{}, 0, err
	}
	var q Queue
	if err := json.Unmarshal(e.Value, &q); err != nil {
		return Queue{}, 0, fmt.Errorf("decoding queue: %w", err)
	}
	if q.Members == nil {
		q.Members = map[string]Member{}
	}
	return q, e.Revision, nil
}

// Queues lists every queue, sorted by id.
func (d *Directory) Queues(ctx context.Context) ([]Queue, error) {
	keys, err := d.queues.Keys(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	out := []Queue{}
	for _, k := range keys {
		id, ok := strings.CutPrefix(k, "q.")
		if !ok {
			continue
		}
		q, _, err := d.Queue(ctx, id)
		if sms.KindOf(err) == sms.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

func checkQueueFields(q *Queue) error {
	q.Name = strings.TrimSpace(q.Name)
	if q.Name == "" {
		q.Name = q.ID
	}
	if len(q.Name) > 100 {
		return invalid("name", "invalid_name", "name has at most 100 characters")
	}
	if len(q.WaitMessage) > 640 {
		return invalid("wait_message", "wait_message_too_long", "wait_message has at most 640 characters")
	}
	if q.InactivitySeconds < 0 || q.InactivitySeconds > 90*24*3600 {
		return invalid("inactivity_seconds", "invalid_inactivity", "inactivity_seconds must be 0-7776000")
	}
	return nil
}

// CreateQueue adds a queue.
func (d *Directory) CreateQueue(ctx context.Context, q Queue, by string) (Queue, error) {
	q.ID = strings.TrimSpace(q.ID)
	if !validID(q.ID) {
		return Queue{}, invalid("id", "invalid_queue_id", "id must be 1-64 lower-case letters, digits, '.', '_' or '-'")
	}
	if err := checkQueueFields(&q); err != nil {
		return Queue{}, err
	}
	q.Members, q.Waiting = map[string]Member{}, []string{}
	q.UpdatedAt, q.UpdatedBy = time.Now().UTC(), by
	data, _ := json.Marshal(q)
	if _, err := d.queues.Create(ctx, queueKey(q.ID), data); err != nil {
		if sms.KindOf(err) == sms.Conflict {
			return Queue{}, &fieldErr{Err: sms.Errorf(sms.Conflict, "queue_exists", "a queue with id %s exists", q.ID), Field: "id"}
		}
		return Queue{}, fmt.Errorf("creating queue: %w", err)
	}
	d.ev.emit(ctx, sms.StatusQueueUpdated, by, "created", map[string]string{"queue": q.ID, "name": q.Name})
	return q, nil
}

// changeQueue is change for queues.
func (d *Directory) changeQueue(ctx context.Context, id string, f func(q *Queue) (bool, error)) (Queue, error) {
	for range 10 {
		q, rev, err := d.Queue(ctx, id)
		if err != nil {
			return Queue{}, err
		}
		write, err := f(&q)
		if err != nil || !write {
			return q, err
		}
		data, _ := json.Marshal(q)
		if _, err := d.queues.Update(ctx, queueKey(id), data, rev); err != nil {
			if sms.KindOf(err) == sms.Conflict {
				continue
			}
			return Queue{}, fmt.Errorf("updating queue %s: %w", id, err)
		}
		return q, nil
	}
	return Queue{}, sms.Errorf(sms.Conflict, "concurrent_change", "queue changed concurrently; retry")
}

// QueuePatch changes a queue's settings; nil fields stay.
type QueuePatch struct {
	Name              *string
	WaitMessage       *string
	InactivitySeconds *int
}

// UpdateQueue changes a queue's settings.
func (d *Directory) UpdateQueue(ctx context.Context, id string, p QueuePatch, by string) (Queue, error) {
	q, err := d.changeQueue(ctx, id, func(q *Queue) (bool, error) {
		if p.Name != nil {
			q.Name = *p.Name
		}
		if p.WaitMessage != nil {
			q.WaitMessage = *p.WaitMessage
		}
		if p.InactivitySeconds != nil {
			q.InactivitySeconds = *p.InactivitySeconds
		}
		if err := checkQueueFields(q); err != nil {
			return false, err
		}
		q.UpdatedAt, q.UpdatedBy = time.Now().UTC(), by
		return true, nil
	})
	if err == nil {
		d.ev.emit(ctx, sms.StatusQueueUpdated, by, "updated", map[string]string{"queue": id})
	}
	return q, err
}

// SetMember adds an employee to a queue with a capacity, changes the
// capacity, or (capacity 0) removes them.
func (d *Directory) SetMember(ctx context.Context, queue, employeeID string, capacity int, by string) (Queue, error) {
	if capacity < 0 || capacity > 100 {
		return Queue{}, invalid("capacity", "invalid_capacity", "capacity must be 0-100 (0 removes the agent)")
	}
	if capacity > 0 {
		if err := d.checkActive(ctx, employeeID, "employee_id"); err != nil {
			return Queue{}, err
		}
		if _, err := d.changeAgent(ctx, employeeID, func(a *Agent, created bool) bool { return created }); err != nil {
			return Queue{}, err
		}
	}
	q, err := d.changeQueue(ctx, queue, func(q *Queue) (bool, error) {
		m, ok := q.Members[employeeID]
		switch {
		case capacity == 0 && !ok:
			return false, nil
		case capacity == 0:
			delete(q.Members, employeeID)
		case ok && m.Capacity == capacity:
			return false, nil
		default:
			q.Members[employeeID] = Member{Capacity: capacity}
		}
		q.UpdatedAt, q.UpdatedBy = time.Now().UTC(), by
		return true, nil
	})
	if err != nil {
		return Queue{}, err
	}
	d.ev.emit(ctx, sms.StatusAgentUpdated, by, "membership", map[string]string{"queue": queue, "employee_id": employeeID, "capacity": itoa(capacity)})
	d.Dispatch(ctx, queue)
	return q, nil
}

// Agent returns an employee's agent state (not an error when they have
// never been an agent: unavailable with nothing open).
func (d *Directory) Agent(ctx context.Context, employeeID string) (Agent, uint64, error) {
	if !validID(employeeID) {
		return Agent{}, 0, sms.Errorf(sms.NotFound, "employee_not_found", "no employee with that id")
	}
	e, err := d.queues.Get(ctx, agentKey(employeeID))
	if sms.KindOf(err) == sms.NotFound {
		return Agent{EmployeeID: employeeID, Open: []string{}}, 0, nil
	}
	if err != nil {
		return Agent{}, 0, err
	}
	var a Agent
	if err := json.Unmarshal(e.Value, &a); err != nil {
		return Agent{}, 0, fmt.Errorf("decoding agent: %w", err)
	}
	if a.Open == nil {
		a.Open = []string{}
	}
	return a, e.Revision, nil
}

// changeAgent applies f to an agent record, creating it (available) when
// missing; f's created argument says so. f returns whether to write.
func (d *Directory) changeAgent(ctx context.Context, id string, f func(a *Agent, created bool) bool) (Agent, error) {
	for range 10 {
		a, rev, err := d.Agent(ctx, id)
		if err != nil {
			return Agent{}, err
		}
		created := rev == 0
		if created {
			a.Available = true
		}
		if !f(&a, created) {
			return a, nil
		}
		a.UpdatedAt = time.Now().UTC()
		data, _ := json.Marshal(a)
		if created {
			_, err = d.queues.Create(ctx, agentKey(id), data)
		} else {
			_, err = d.queues.Update(ctx, agentKey(id), data, rev)
		}
		if sms.KindOf(err) == sms.Conflict {
			continue
		}
		if err != nil {
			return Agent{}, fmt.Errorf("updating agent %s: %w", id, err)
		}
		return a, nil
	}
	return Agent{}, sms.Errorf(sms.Conflict, "concurrent_change", "agent changed concurrently; retry")
}

// SetAvailability sets whether an agent takes new conversations. Becoming
// available hands them waiting conversations of their queues.
func (d *Directory) SetAvailability(ctx context.Context, employeeID string, available bool, by string) (Agent, error) {
	if err := d.checkActive(ctx, employeeID, "employee_id"); err != nil && available {
		return Agent{}, err
	}
	a, err := d.changeAgent(ctx, employeeID, func(a *Agent, created bool) bool {
		if a.Available == available && !created {
			return false
		}
		a.Available = available
		return true
	})
	if err != nil {
		return Agent{}, err
	}
	d.ev.emit(ctx, sms.StatusAgentUpdated, by, "availability", map[string]string{"employee_id": employeeID, "available": fmt.Sprint(available)})
	if available {
		d.dispatchFor(ctx, employeeID)
	}
	return a, nil
}

// dispatchFor dispatches every queue the employee is a member of.
func (d *Directory) dispatchFor(ctx context.Context, employeeID string) {
	qs, err := d.Queues(ctx)
	if err != nil {
		return
	}
	for _, q := range qs {
		if _, ok := q.Members[employeeID]; ok {
			d.Dispatch(ctx, q.ID)
		}
	}
}

// Candidate is an agent as routing sees them.
type Candidate struct {
	EmployeeID   string
	Capacity     int
	Available    bool
	Active       bool // the employee is active
	Open         int
	LastAssigned time.Time
}

// PickAgent returns the next agent to get a conversation: available,
// active, with spare capacity; the least busy first, then the one who has
// waited longest since their last conversation, then by id.
func PickAgent(cs []Candidate) (string, bool) {
	var best *Candidate
	for i := range cs {
		c := &cs[i]
		if !c.Available || !c.Active || c.Open >= c.Capacity {
			continue
		}
		if best == nil || c.Open < best.Open ||
			(c.Open == best.Open && (c.LastAssigned.Before(best.LastAssigned) ||
				(c.LastAssigned.Equal(best.LastAssigned) && c.EmployeeID < best.EmployeeID))) {
			best = c
		}
	}
	if best == nil {
		return "", false
	}
	return best.EmployeeID, true
}

// reserveAgent picks an agent of queue for conversation key and records
// the conversation as theirs (revision-checked against the agent's
// capacity). It returns "" when no agent is free.
func (d *Directory) reserveAgent(ctx context.Context, queue, key string) (string, error) {
	q, _, err := d.Queue(ctx, queue)
	if err != nil {
		return "", err
	}
	for range 5 {
		cs := make([]Candidate, 0, len(q.Members))
		for id, m := range q.Members {
			a, _, err := d.Agent(ctx, id)
			if err != nil {
				return "", err
			}
			e, _, err := d.Employee(ctx, id)
			active := err == nil && e.State == EmployeeActive
			cs = append(cs, Candidate{EmployeeID: id, Capacity: m.Capacity, Available: a.Available, Active: active, Open: len(a.Open), LastAssigned: a.LastAssigned})
		}
		id, ok := PickAgent(cs)
		if !ok {
			return "", nil
		}
		capacity := q.Members[id].Capacity
		won := false
		if _, err := d.changeAgent(ctx, id, func(a *Agent, created bool) bool {
			if slices.Contains(a.Open, key) {
				won = true
				return false
			}
			if !a.Available || len(a.Open) >= capacity {
				return false
			}
			a.Open = append(a.Open, key)
			a.LastAssigned = time.Now().UTC()
			won = true
			return true
		}); err != nil {
			return "", err
		}
		if won {
			return id, nil
		}
		// Someone else took the last slot meanwhile: pick again.
	}
	return "", nil
}

// unreserveAgent removes conversation key from the agent's open list.
func (d *Directory) unreserveAgent(ctx context.Context, agent, key string) {
	if agent == "" {
		return
	}
	if _, err := d.changeAgent(ctx, agent, func(a *Agent, created bool) bool {
		i := slices.Index(a.Open, key)
		if i < 0 {
			return false
		}
		a.Open = slices.Delete(a.Open, i, i+1)
		return true
	}); err != nil {
		d.log.Warn("releasing an agent's conversation failed", "agent", agent, "err", err)
	}
}

// enqueue appends conversation key to queue's waiting list.
func (d *Directory) enqueue(ctx context.Context, queue, key string) error {
	_, err := d.changeQueue(ctx, queue, func(q *Queue) (bool, error) {
		if slices.Contains(q.Waiting, key) {
			return false, nil
		}
		q.Waiting = append(q.Waiting, key)
		return true, nil
	})
	return err
}

// dequeue removes conversation key from queue's waiting list.
func (d *Directory) dequeue(ctx context.Context, queue, key string) error {
	if queue == "" {
		return nil
	}
	_, err := d.changeQueue(ctx, queue, func(q *Queue) (bool, error) {
		i := slices.Index(q.Waiting, key)
		if i < 0 {
			return false, nil
		}
		q.Waiting = slices.Delete(q.Waiting, i, i+1)
		return true, nil
	})
	if sms.KindOf(err) == sms.NotFound {
		return nil
	}
	return err
}

// Dispatch hands waiting conversations of a queue to free agents, oldest
// first, until no agent is free or none waits.
func (d *Directory) Dispatch(ctx context.Context, queue string) {
	for range 1000 {
		q, _, err := d.Queue(ctx, queue)
		if err != nil || len(q.Waiting) == 0 {
			return
		}
		key := q.Waiting[0]
		c, _, err := d.conversation(ctx, key)
		if err != nil || c.State != ConvQueued || c.Queue != queue {
			// Stale entry: the conversation closed or moved on.
			if err == nil || sms.KindOf(err) == sms.NotFound {
				_ = d.dequeue(ctx, queue, key)
				continue
			}
			return
		}
		agent, err := d.reserveAgent(ctx, queue, key)
		if err != nil || agent == "" {
			return
		}
		assigned := false
		_, err = d.changeConversation(ctx, key, func(c *Conversation, exists bool) (bool, error) {
			if !exists || c.State != ConvQueued || c.Queue != queue {
				return false, nil
			}
			c.State, c.Agent, assigned = ConvOpen, agent, true
			return true, nil
		})
		if err != nil || !assigned {
			d.unreserveAgent(ctx, agent, key)
			if err != nil {
				return
			}
		}
		_ = d.dequeue(ctx, queue, key)
		if assigned {
			d.ev.emit(ctx, sms.StatusConversationAssigned, ActorSystem, "dispatch", map[string]string{"conversation": key, "queue": queue, "employee_id": agent})
		}
	}
}

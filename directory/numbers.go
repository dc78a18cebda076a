package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/kv"
	"github.com/smsgw/smsgw/sms"
)

// Kind of business number.
const (
	KindEmployee   = "employee"   // held by one employee
	KindMain       = "main"       // a company's shared number with a menu
	KindDepartment = "department" // a shared number answered by a queue
)

// State of a business number.
const (
	StateAvailable   = "available"   // nobody holds it; may be assigned
	StateAssigned    = "assigned"    // an employee holds it
	StateQuarantined = "quarantined" // released; not reusable until QuarantinedUntil
	StateRetired     = "retired"     // out of service; never assigned
)

// Capabilities a number may have.
var capabilities = []string{"sms", "mms", "voice"}

// Number is a company-owned business number.
type Number struct {
	Number       sms.Number `json:"number"`
	Carrier      string     `json:"carrier,omitempty"` // route; empty = default carrier
	Kind         string     `json:"kind"`
	State        string     `json:"state"`
	EmployeeID   string     `json:"employee_id,omitempty"`
	Capabilities []string   `json:"capabilities,omitempty"`
	// Queue answers texts that reach no holder: the queue of a department
	// number, or the fallback of a number released to a queue.
	Queue string `json:"queue,omitempty"`
	// AutoReply, when set, is sent (once per conversation) to a customer
	// whose text reached nobody: held or queued.
	AutoReply        string    `json:"auto_reply,omitempty"`
	Label            string    `json:"label,omitempty"`
	QuarantinedUntil time.Time `json:"quarantined_until,omitzero"`
	// History lists who held the number when, oldest first.
	History   []Period  `json:"history,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// Period is one employee's holding of a number. To is zero while it lasts.
type Period struct {
	EmployeeID string    `json:"employee_id"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to,omitzero"`
	AssignedBy string    `json:"assigned_by,omitempty"`
	ReleasedBy string    `json:"released_by,omitempty"`
	// Reason of the end: release, reassign, offboard, quarantine, retire.
	Reason string `json:"reason,omitempty"`
}

// HolderAt returns who held the number at t ("" when nobody did).
func (n Number) HolderAt(t time.Time) string {
	for i := len(n.History) - 1; i >= 0; i-- {
		p := n.History[i]
		if !t.Before(p.From) && (p.To.IsZero() || t.Before(p.To)) {
			return p.EmployeeID
		}
	}
	return ""
}

// Directory reads and changes numbers, employees, queues, menus,
// conversations and opt-outs. Every change is a KV write guarded by the
// entry's revision and is followed by an event.
type Directory struct {
	cfg           Config
	numbers       kv.Bucket
	employees     kv.Bucket
	queues        kv.Bucket
	conversations kv.Bucket
	optouts       kv.Bucket
	ev            *emitter
	log           *slog.Logger
	carriers      []string // known carrier routes; nil: not checked
}

// New returns a Directory on the bus's buckets with the default Config.
func New(st Stores) *Directory {
	d, err := Open(st, DefaultConfig(), nil)
	if err != nil {
		panic(err) // the default config is valid
	}
	return d
}

// Stores are the buckets the directory keeps its records in and where
// its change events go (JetStream KV and EVENTS in a node).
type Stores struct {
	Numbers, Employees, Queues, Conversations, OptOuts kv.Bucket
	Events                                             EventSink
}

// EventSink publishes a directory event durably (a node publishes it on
// EVENTS, which the archive writes into the Merkle log).
type EventSink interface {
	Emit(ctx context.Context, e sms.Event) error
}

// Open returns a Directory on st. log may be nil.
func Open(st Stores, cfg Config, log *slog.Logger) (*Directory, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Directory{
		cfg:     cfg,
		numbers: st.Numbers, employees: st.Employees,
		queues: st.Queues, conversations: st.Conversations, optouts: st.OptOuts,
		ev: &emitter{sink: st.Events, log: log}, log: log,
	}, nil
}

// SetCarriers sets the carrier routes numbers may name; numbers naming
// another route are refused (unknown_carrier).
func (d *Directory) SetCarriers(names []string) { d.carriers = slices.Clone(names) }

// Config returns the routing configuration.
func (d *Directory) Config() Config { return d.cfg }

func numKey(n sms.Number) string { return n.Digits() }

// fieldErr is an error that names the request or CSV field at fault.
type fieldErr struct {
	Err   *sms.Error
	Field string
}

func (e *fieldErr) Error() string { return e.Err.Error() }
func (e *fieldErr) Unwrap() error { return e.Err }

// FieldOf returns the field an error names ("" if none).
func FieldOf(err error) string {
	for err != nil {
		if fe, ok := err.(*fieldErr); ok {
			return fe.Field
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return ""
		}
		err = u.Unwrap()
	}
	return ""
}

func invalid(field, code, format string, args ...any) error {
	return &fieldErr{Err: sms.Errorf(sms.Invalid, code, format, args...), Field: field}
}

// normalize checks a number's attributes and fills defaults. It does not
// look at state or holder.
func (d *Directory) normalize(n *Number) error {
	if n.Kind == "" {
		n.Kind = KindEmployee
	}
	switch n.Kind {
	case KindEmployee, KindMain, KindDepartment:
	default:
		return invalid("kind", "invalid_kind", "kind must be employee, main or department")
	}
	n.Carrier = strings.TrimSpace(n.Carrier)
	if n.Carrier != "" && d.carriers != nil && !slices.Contains(d.carriers, n.Carrier) {
		return invalid("carrier", "unknown_carrier", "carrier %q is not a configured route (%s)", n.Carrier, strings.Join(d.carriers, ", "))
	}
	if len(n.Capabilities) == 0 {
		n.Capabilities = []string{"sms"}
	}
	caps := make([]string, 0, len(n.Capabilities))
	for _, c := range n.Capabilities {
		c = strings.ToLower(strings.TrimSpace(c))
		if !slices.Contains(capabilities, c) {
			return invalid("capabilities", "invalid_capability", "capability %q is not one of sms, mms, voice", c)
		}
		if !slices.Contains(caps, c) {
			caps = append(caps, c)
		}
	}
	slices.Sort(caps)
	n.Capabilities = caps
	n.Queue = strings.TrimSpace(n.Queue)
	if n.Queue != "" && !queueIDRe.MatchString(n.Queue) {
		return invalid("queue", "invalid_queue_id", "queue must be 1-64 lower-case letters, digits, '.', '_' or '-'")
	}
	if n.Kind == KindDepartment && n.Queue == "" {
		return invalid("queue", "queue_required", "a department number needs the queue that answers it")
	}
	if len(n.AutoReply) > 640 {
		return invalid("auto_reply", "auto_reply_too_long", "auto_reply has at most 640 characters")
	}
	if len(n.Label) > 200 {
		return invalid("label", "label_too_long", "label has at most 200 characters")
	}
	return nil
}

// checkQueue reports whether queue exists (no queue is fine).
func (d *Directory) checkQueue(ctx context.Context, queue string) error {
	if queue == "" {
		return nil
	}
	if _, _, err := d.Queue(ctx, queue); err != nil {
		if sms.KindOf(err) == sms.NotFound {
			return &fieldErr{Err: sms.Errorf(sms.Invalid, "unknown_queue", "queue %s does not exist", queue), Field: "queue"}
		}
		return err
	}
	return nil
}

// AddNumber adds a business number in state available (or assigned, when
// EmployeeID is set and the employee is active). Adding an existing number
// is a Conflict (number_exists).
func (d *Directory) AddNumber(ctx context.Context, n Number, by string) (Number, error) {
	if err := d.normalize(&n); err != nil {
		return Number{}, err
	}
	if err := d.checkQueue(ctx, n.Queue); err != nil {
		return Number{}, err
	}
	now := time.Now().UTC()
	n.State, n.History, n.QuarantinedUntil = StateAvailable, nil, time.Time{}
	if n.EmployeeID != "" {
		if err := d.checkActive(ctx, n.EmployeeID, "employee_id"); err != nil {
			return Number{}, err
		}
		n.State = StateAssigned
		n.History = []Period{{EmployeeID: n.EmployeeID, From: now, AssignedBy: by}}
	}
	n.UpdatedAt, n.UpdatedBy = now, by
	data, _ := json.Marshal(n)
	if _, err := d.numbers.Create(ctx, numKey(n.Number), data); err != nil {
		if sms.KindOf(err) == sms.Conflict {
			return Number{}, &fieldErr{Err: sms.Errorf(sms.Conflict, "number_exists", "number is already in the inventory"), Field: "number"}
		}
		return Number{}, fmt.Errorf("adding number %s: %w", n.Number.Redacted(), err)
	}
	d.ev.emit(ctx, sms.StatusNumberAdded, by, "", numberAttrs(n, nil))
	if n.EmployeeID != "" {
		d.ev.emit(ctx, sms.StatusNumberAssigned, by, "", map[string]string{"number": n.Number.E164(), "employee_id": n.EmployeeID, "effective_at": now.Format(time.RFC3339Nano)})
	}
	return n, nil
}

func numberAttrs(n Number, extra map[string]string) map[string]string {
	a := map[string]string{"number": n.Number.E164(), "kind": n.Kind, "state": n.State}
	if n.Carrier != "" {
		a["carrier"] = n.Carrier
	}
	if n.Queue != "" {
		a["queue"] = n.Queue
	}
	if n.EmployeeID != "" {
		a["employee_id"] = n.EmployeeID
	}
	if len(n.Capabilities) > 0 {
		a["capabilities"] = strings.Join(n.Capabilities, ",")
	}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

func (d *Directory) checkActive(ctx context.Context, id, field string) error {
	e, _, err := d.Employee(ctx, id)
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			return &fieldErr{Err: sms.Errorf(sms.NotFound, "employee_not_found", "no employee with id %s", id), Field: field}
		}
		return err
	}
	if e.State != EmployeeActive {
		return &fieldErr{Err: sms.Errorf(sms.Conflict, "employee_inactive", "employee %s is not active", id), Field: field}
	}
	return nil
}

// Number returns a business number and its KV revision.
func (d *Directory) Number(ctx context.Context, n sms.Number) (Number, uint64, error) {
	e, err := d.numbers.Get(ctx, numKey(n))
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			return Number{}, 0, sms.Errorf(sms.NotFound, "number_not_found", "number is not in the inventory")
		}
		return Number{}, 0, err
	}
	var out Number
	if err := json.Unmarshal(e.Value, &out); err != nil {
		return Number{}, 0, fmt.Errorf("decoding number: %w", err)
	}
	return out, e.Revision, nil
}

// Numbers lists every business number, sorted.
func (d *Directory) Numbers(ctx context.Context) ([]Number, error) {
	keys, err := d.numbers.Keys(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	out := make([]Number, 0, len(keys))
	for _, k := range keys {
		n, _, err := d.Number(ctx, sms.Number("+"+k))
		if sms.KindOf(err) == sms.NotFound {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// NumbersOf lists the numbers an employee holds.
func (d *Directory) NumbersOf(ctx context.Context, employeeID string) ([]Number, error) {
	all, err := d.Numbers(ctx)
	if err != nil {
		return nil, err
	}
	var out []Number
	for _, n := range all {
		if n.State == StateAssigned && n.EmployeeID == employeeID {
			out = append(out, n)
		}
	}
	return out, nil
}

// change reads a number, applies f and writes it back if the revision is
// unchanged. f returns false when there is nothing to write. A concurrent
// write makes f run again on the new value (up to three times), so f must
// check the state it needs; after that the caller gets Conflict
// (concurrent_change).
func (d *Directory) change(ctx context.Context, num sms.Number, f func(n *Number) (bool, error)) (Number, Number, error) {
	for range 3 {
		n, rev, err := d.Number(ctx, num)
		if err != nil {
			return Number{}, Number{}, err
		}
		old := n
		old.History = slices.Clone(n.History)
		n.History = slices.Clone(n.History)
		write, err := f(&n)
		if err != nil || !write {
			return old, n, err
		}
		data, _ := json.Marshal(n)
		if _, err := d.numbers.Update(ctx, numKey(n.Number), data, rev); err != nil {
			if sms.KindOf(err) == sms.Conflict {
				continue
			}
			return Number{}, Number{}, fmt.Errorf("updating number %s: %w", n.Number.Redacted(), err)
		}
		return old, n, nil
	}
	return Number{}, Number{}, sms.Errorf(sms.Conflict, "concurrent_change", "number was changed by someone else meanwhile; retry")
}

// endPeriod closes the open holding period, if any.
func endPeriod(n *Number, at time.Time, by, reason string) {
	if k := len(n.History); k > 0 && n.History[k-1].To.IsZero() {
		n.History[k-1].To, n.History[k-1].ReleasedBy, n.History[k-1].Reason = at, by, reason
	}
}

func assignable(n Number, now time.Time) error {
	switch n.State {
	case StateRetired:
		return sms.Errorf(sms.Conflict, "number_retired", "number is retired; restore it first")
	case StateQuarantined:
		if now.Before(n.QuarantinedUntil) {
			return sms.Errorf(sms.Conflict, "number_quarantined", "number is quarantined until %s", n.QuarantinedUntil.Format(time.RFC3339))
		}
	}
	return nil
}

// Assign gives num to employeeID. It fails with Conflict (number_assigned)
// when someone else holds the number: exactly one of two concurrent
// assignments wins (KV revision check); the loser re-reads and finds the
// number taken. A quarantined number whose quarantine has passed may be
// assigned; a retired one may not.
func (d *Directory) Assign(ctx context.Context, num sms.Number, employeeID, by string) (Number, error) {
	if err := d.checkActive(ctx, employeeID, "employee_id"); err != nil {
		return Number{}, err
	}
	now := time.Now().UTC()
	old, n, err := d.change(ctx, num, func(n *Number) (bool, error) {
		if n.State == StateAssigned {
			if n.EmployeeID == employeeID {
				return false, nil
			}
			return false, sms.Errorf(sms.Conflict, "number_assigned", "number is assigned to another employee; release or reassign it")
		}
		if err := assignable(*n, now); err != nil {
			return false, err
		}
		n.State, n.EmployeeID, n.QuarantinedUntil = StateAssigned, employeeID, time.Time{}
		n.History = append(n.History, Period{EmployeeID: employeeID, From: now, AssignedBy: by})
		n.UpdatedAt, n.UpdatedBy = now, by
		return true, nil
	})
	if err != nil {
		return Number{}, err
	}
	if old.State != StateAssigned {
		d.ev.emit(ctx, sms.StatusNumberAssigned, by, "", map[string]string{"number": num.E164(), "employee_id": employeeID,
			"from_state": old.State, "effective_at": now.Format(time.RFC3339Nano)})
	}
	return n, nil
}

// Reassign moves num from its holder (if any) to employeeID in one write:
// there is no moment in which the number is held by nobody.
func (d *Directory) Reassign(ctx context.Context, num sms.Number, employeeID, by string) (Number, error) {
	return d.reassign(ctx, num, employeeID, by, "reassign")
}

func (d *Directory) reassign(ctx context.Context, num sms.Number, employeeID, by, reason string) (Number, error) {
	if err := d.checkActive(ctx, employeeID, "employee_id"); err != nil {
		return Number{}, err
	}
	now := time.Now().UTC()
	old, n, err := d.change(ctx, num, func(n *Number) (bool, error) {
		if n.State == StateAssigned && n.EmployeeID == employeeID {
			return false, nil
		}
		if n.State != StateAssigned {
			if err := assignable(*n, now); err != nil {
				return false, err
			}
		}
		endPeriod(n, now, by, reason)
		n.State, n.EmployeeID, n.QuarantinedUntil = StateAssigned, employeeID, time.Time{}
		n.History = append(n.History, Period{EmployeeID: employeeID, From: now, AssignedBy: by})
		n.UpdatedAt, n.UpdatedBy = now, by
		return true, nil
	})
	if err != nil {
		return Number{}, err
	}
	if old.State != StateAssigned || old.EmployeeID != employeeID {
		d.ev.emit(ctx, sms.StatusNumberReassigned, by, reason, map[string]string{"number": num.E164(), "employee_id": employeeID,
			"previous_employee_id": old.EmployeeID, "from_state": old.State, "effective_at": now.Format(time.RFC3339Nano)})
	}
	return n, nil
}

// ReleaseOptions say what becomes of a released number.
type ReleaseOptions struct {
	// QuarantineDays > 0 quarantines the number for that many days.
	QuarantineDays int
	// Queue, when set, answers texts to the number from now on.
	Queue string
	// AutoReply, when set, replaces the number's auto-reply.
	AutoReply string
	Reason    string // release (default), offboard
}

// Release makes a number available again (or quarantined, or routed to a
// queue, per opts).
func (d *Directory) Release(ctx context.Context, num sms.Number, by string) (Number, error) {
	return d.ReleaseWith(ctx, num, ReleaseOptions{}, by)
}

// ReleaseWith releases a number per opts.
func (d *Directory) ReleaseWith(ctx context.Context, num sms.Number, opts ReleaseOptions, by string) (Number, error) {
	if opts.QuarantineDays < 0 || opts.QuarantineDays > 3650 {
		return Number{}, invalid("quarantine_days", "invalid_quarantine_days", "quarantine_days must be 0-3650")
	}
	if err := d.checkQueue(ctx, opts.Queue); err != nil {
		return Number{}, err
	}
	if opts.Reason == "" {
		opts.Reason = "release"
	}
	now := time.Now().UTC()
	old, n, err := d.change(ctx, num, func(n *Number) (bool, error) {
		if n.State == StateRetired {
			return false, sms.Errorf(sms.Conflict, "number_retired", "number is retired")
		}
		if n.State == StateAvailable && opts.QuarantineDays == 0 && opts.Queue == "" && opts.AutoReply == "" {
			return false, nil
		}
		endPeriod(n, now, by, opts.Reason)
		n.State, n.EmployeeID = StateAvailable, ""
		if opts.QuarantineDays > 0 {
			n.State, n.QuarantinedUntil = StateQuarantined, now.Add(time.Duration(opts.QuarantineDays)*24*time.Hour)
		}
		if opts.Queue != "" {
			n.Queue = opts.Queue
		}
		if opts.AutoReply != "" {
			n.AutoReply = opts.AutoReply
		}
		n.UpdatedAt, n.UpdatedBy = now, by
		return true, nil
	})
	if err != nil || (old.State == n.State && old.Queue == n.Queue && old.AutoReply == n.AutoReply) {
		return n, err
	}
	attrs := map[string]string{"number": num.E164(), "previous_employee_id": old.EmployeeID, "from_state": old.State, "state": n.State,
		"effective_at": now.Format(time.RFC3339Nano)}
	if n.Queue != "" {
		attrs["queue"] = n.Queue
	}
	st := sms.StatusNumberReleased
	if n.State == StateQuarantined {
		st = sms.StatusNumberQuarantined
		attrs["quarantined_until"] = n.QuarantinedUntil.Format(time.RFC3339)
	}
	d.ev.emit(ctx, st, by, opts.Reason, attrs)
	return n, nil
}

// Retire takes a number out of service (released first if held). Texts
// to it are still accepted, archived and shown to admins.
func (d *Directory) Retire(ctx context.Context, num sms.Number, by string) (Number, error) {
	now := time.Now().UTC()
	old, n, err := d.change(ctx, num, func(n *Number) (bool, error) {
		if n.State == StateRetired {
			return false, nil
		}
		endPeriod(n, now, by, "retire")
		n.State, n.EmployeeID, n.QuarantinedUntil = StateRetired, "", time.Time{}
		n.UpdatedAt, n.UpdatedBy = now, by
		return true, nil
	})
	if err == nil && old.State != StateRetired {
		d.ev.emit(ctx, sms.StatusNumberRetired, by, "", map[string]string{"number": num.E164(), "previous_employee_id": old.EmployeeID, "from_state": old.State})
	}
	return n, err
}

// Restore makes a retired or quarantined number available now.
func (d *Directory) Restore(ctx context.Context, num sms.Number, by string) (Number, error) {
	now := time.Now().UTC()
	old, n, err := d.change(ctx, num, func(n *Number) (bool, error) {
		switch n.State {
		case StateRetired, StateQuarantined:
		case StateAvailable:
			return false, nil
		default:
			return false, sms.Errorf(sms.Conflict, "number_assigned", "number is assigned; release it instead")
		}
		n.State, n.QuarantinedUntil = StateAvailable, time.Time{}
		n.UpdatedAt, n.UpdatedBy = now, by
		return true, nil
	})
	if err == nil && old.State != n.State {
		d.ev.emit(ctx, sms.StatusNumberRestored, by, "", map[string]string{"number": num.E164(), "from_state": old.State})
	}
	return n, err
}

// NumberPatch changes a number's attributes; nil fields stay.
type NumberPatch struct {
	Carrier      *string
	Kind         *string
	Capabilities []string
	Queue        *string
	AutoReply    *string
	Label        *string
}

// UpdateNumber changes a number's attributes (not its holder or state).
func (d *Directory) UpdateNumber(ctx context.Context, num sms.Number, p NumberPatch, by string) (Number, error) {
	if p.Queue != nil {
		if err := d.checkQueue(ctx, strings.TrimSpace(*p.Queue)); err != nil {
			return Number{}, err
		}
	}
	old, n, err := d.change(ctx, num, func(n *Number) (bool, error) {
		before, _ := json.Marshal(n)
		if p.Carrier != nil {
			n.Carrier = *p.Carrier
		}
		if p.Kind != nil {
			n.Kind = *p.Kind
		}
		if p.Capabilities != nil {
			n.Capabilities = p.Capabilities
		}
		if p.Queue != nil {
			n.Queue = *p.Queue
		}
		if p.AutoReply != nil {
			n.AutoReply = *p.AutoReply
		}
		if p.Label != nil {
			n.Label = *p.Label
		}
		if err := d.normalize(n); err != nil {
			return false, err
		}
		after, _ := json.Marshal(n)
		if string(before) == string(after) {
			return false, nil
		}
		n.UpdatedAt, n.UpdatedBy = time.Now().UTC(), by
		return true, nil
	})
	if err == nil && !old.UpdatedAt.Equal(n.UpdatedAt) {
		d.ev.emit(ctx, sms.StatusNumberUpdated, by, "", numberAttrs(n, nil))
	}
	return n, err
}

// Assignment is one holding period of one number, for history queries.
type Assignment struct {
	Number sms.Number `json:"number"`
	Period
}

// HistoryQuery selects assignment periods. Zero fields match everything.
type HistoryQuery struct {
	Number     sms.Number
	EmployeeID string
	At         time.Time // periods that include this instant
}

// History returns the assignment periods matching q, oldest first.
func (d *Directory) History(ctx context.Context, q HistoryQuery) ([]Assignment, error) {
	var ns []Number
	if q.Number != "" {
		n, _, err := d.Number(ctx, q.Number)
		if err != nil {
			return nil, err
		}
		ns = []Number{n}
	} else {
		var err error
		if ns, err = d.Numbers(ctx); err != nil {
			return nil, err
		}
	}
	out := []Assignment{}
	for _, n := range ns {
		for _, p := range n.History {
			if q.EmployeeID != "" && p.EmployeeID != q.EmployeeID {
				continue
			}
			if !q.At.IsZero() && (q.At.Before(p.From) || (!p.To.IsZero() && !q.At.Before(p.To))) {
				continue
			}
			out = append(out, Assignment{Number: n.Number, Period: p})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out, nil
}

var employeeIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// queueIDRe: queue ids follow the employee id rule.
var queueIDRe = employeeIDRe

func itoa(n int) string { return strconv.Itoa(n) }

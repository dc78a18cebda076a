package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// Employee states.
const (
	EmployeeActive     = "active"
	EmployeeOffboarded = "offboarded"
)

// Employee is a person who texts customers from a business number.
type Employee struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email,omitempty"`
	Department string `json:"department,omitempty"`
	Manager    string `json:"manager,omitempty"` // employee id; the default successor
	State      string `json:"state"`             // active | offboarded
	WebhookURL string `json:"webhook_url,omitempty"`
	// WebhookSecret signs MO webhooks (HMAC-SHA256). It is a shared secret,
	// returned only when it is set and never logged.
	WebhookSecret string    `json:"webhook_secret,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`
	OffboardedAt  time.Time `json:"offboarded_at,omitzero"`
}

func employeeAttrs(e Employee) map[string]string {
	a := map[string]string{"employee_id": e.ID, "state": e.State}
	if e.Department != "" {
		a["department"] = e.Department
	}
	if e.Manager != "" {
		a["manager"] = e.Manager
	}
	return a
}

// checkEmployee validates an employee's own fields (not the manager's
// existence).
func checkEmployee(e *Employee) error {
	e.ID = strings.TrimSpace(e.ID)
	if !validID(e.ID) {
		return invalid("id", "invalid_employee_id", "id must be 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	e.Name = strings.TrimSpace(e.Name)
	if e.Name == "" {
		return invalid("name", "invalid_name", "name is required")
	}
	if len(e.Name) > 200 {
		return invalid("name", "invalid_name", "name has at most 200 characters")
	}
	e.Email = strings.TrimSpace(e.Email)
	if e.Email != "" {
		a, err := mail.ParseAddress(e.Email)
		if err != nil || a.Address != e.Email || !strings.Contains(e.Email, "@") {
			return invalid("email", "invalid_email", "email must be a plain address like jane@example.com")
		}
	}
	e.Department = strings.TrimSpace(e.Department)
	if len(e.Department) > 100 {
		return invalid("department", "invalid_department", "department has at most 100 characters")
	}
	e.Manager = strings.TrimSpace(e.Manager)
	if e.Manager != "" {
		if !employeeIDRe.MatchString(e.Manager) {
			return invalid("manager", "invalid_manager", "manager must be an employee id")
		}
		if e.Manager == e.ID {
			return invalid("manager", "invalid_manager", "an employee cannot be their own manager")
		}
	}
	return nil
}

// CreateEmployee adds an employee. ID is required (lower-case letters,
// digits, '.', '_' and '-', e.g. "jane.doe"); a manager must exist.
func (d *Directory) CreateEmployee(ctx context.Context, e Employee) (Employee, error) {
	return d.createEmployee(ctx, e, "")
}

func (d *Directory) createEmployee(ctx context.Context, e Employee, by string) (Employee, error) {
	if err := checkEmployee(&e); err != nil {
		return Employee{}, err
	}
	if e.Manager != "" {
		if _, _, err := d.Employee(ctx, e.Manager); err != nil {
			if sms.KindOf(err) == sms.NotFound {
				return Employee{}, invalid("manager", "unknown_manager", "manager %s is not an employee", e.Manager)
			}
			return Employee{}, err
		}
	}
	if e.WebhookURL != "" {
		if err := CheckWebhookURL(e.WebhookURL); err != nil {
			return Employee{}, &fieldErr{Err: err.(*sms.Error), Field: "webhook_url"}
		}
		if e.WebhookSecret == "" {
			e.WebhookSecret = NewSecret()
		}
	}
	e.State, e.CreatedAt = EmployeeActive, time.Now().UTC()
	data, _ := json.Marshal(e)
	if _, err := d.employees.Create(ctx, e.ID, data); err != nil {
		if sms.KindOf(err) == sms.Conflict {
			return Employee{}, &fieldErr{Err: sms.Errorf(sms.Conflict, "employee_exists", "an employee with id %s exists", e.ID), Field: "id"}
		}
		return Employee{}, fmt.Errorf("creating employee %s: %w", e.ID, err)
	}
	d.ev.emit(ctx, sms.StatusEmployeeCreated, by, "", employeeAttrs(e))
	return e, nil
}

// CreateEmployeeBy is CreateEmployee recording who did it.
func (d *Directory) CreateEmployeeBy(ctx context.Context, e Employee, by string) (Employee, error) {
	return d.createEmployee(ctx, e, by)
}

// Employee returns an employee and its revision.
func (d *Directory) Employee(ctx context.Context, id string) (Employee, uint64, error) {
	if !employeeIDRe.MatchString(id) {
		return Employee{}, 0, sms.Errorf(sms.NotFound, "employee_not_found", "no employee with that id")
	}
	ent, err := d.employees.Get(ctx, id)
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			return Employee{}, 0, sms.Errorf(sms.NotFound, "employee_not_found", "no employee with id %s", id)
		}
		return Employee{}, 0, err
	}
	var e Employee
	if err := json.Unmarshal(ent.Value, &e); err != nil {
		return Employee{}, 0, fmt.Errorf("decoding employee: %w", err)
	}
	return e, ent.Revision, nil
}

// Employees lists every employee, sorted by id.
func (d *Directory) Employees(ctx context.Context) ([]Employee, error) {
	keys, err := d.employees.Keys(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	var out []Employee
	for _, k := range keys {
		e, _, err := d.Employee(ctx, k)
		if sms.KindOf(err) == sms.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// changeEmployee is change for employees.
func (d *Directory) changeEmployee(ctx context.Context, id string, f func(e *Employee) (bool, error)) (Employee, Employee, error) {
	for range 5 {
		e, rev, err := d.Employee(ctx, id)
		if err != nil {
			return Employee{}, Employee{}, err
		}
		old := e
		write, err := f(&e)
		if err != nil || !write {
			return old, e, err
		}
		e.UpdatedAt = time.Now().UTC()
		data, _ := json.Marshal(e)
		if _, err := d.employees.Update(ctx, id, data, rev); err != nil {
			if sms.KindOf(err) == sms.Conflict {
				continue
			}
			return Employee{}, Employee{}, fmt.Errorf("updating employee %s: %w", id, err)
		}
		return old, e, nil
	}
	return Employee{}, Employee{}, sms.Errorf(sms.Conflict, "concurrent_change", "employee was changed concurrently; retry")
}

// EmployeePatch changes an employee's details; nil fields stay.
type EmployeePatch struct {
	Name, Email, Department, Manager *string
}

// UpdateEmployee changes an employee's details.
func (d *Directory) UpdateEmployee(ctx context.Context, id string, p EmployeePatch, by string) (Employee, error) {
	if p.Manager != nil && *p.Manager != "" && *p.Manager != id {
		if _, _, err := d.Employee(ctx, *p.Manager); err != nil {
			if sms.KindOf(err) == sms.NotFound {
				return Employee{}, invalid("manager", "unknown_manager", "manager %s is not an employee", *p.Manager)
			}
			return Employee{}, err
		}
	}
	old, e, err := d.changeEmployee(ctx, id, func(e *Employee) (bool, error) {
		before := *e
		if p.Name != nil {
			e.Name = *p.Name
		}
		if p.Email != nil {
			e.Email = *p.Email
		}
		if p.Department != nil {
			e.Department = *p.Department
		}
		if p.Manager != nil {
			e.Manager = *p.Manager
		}
		if err := checkEmployee(e); err != nil {
			return false, err
		}
		return before.Name != e.Name || before.Email != e.Email || before.Department != e.Department || before.Manager != e.Manager, nil
	})
	if err == nil && !old.UpdatedAt.Equal(e.UpdatedAt) {
		d.ev.emit(ctx, sms.StatusEmployeeUpdated, by, "", employeeAttrs(e))
	}
	return e, err
}

// SetWebhook sets (or clears, with url "") an employee's MO webhook. A new
// signing secret is generated whenever the URL is set.
func (d *Directory) SetWebhook(ctx context.Context, id, url string) (Employee, error) {
	if url != "" {
		if err := CheckWebhookURL(url); err != nil {
			return Employee{}, err
		}
	}
	_, e, err := d.changeEmployee(ctx, id, func(e *Employee) (bool, error) {
		e.WebhookURL, e.WebhookSecret = url, ""
		if url != "" {
			e.WebhookSecret = NewSecret()
		}
		return true, nil
	})
	if err == nil {
		// In full: where this employee's texts will be posted is what an
		// auditor needs to know (URLs with credentials are refused).
		d.ev.emit(ctx, sms.StatusEmployeeUpdated, "", "webhook", map[string]string{"employee_id": id, "webhook": fmt.Sprint(url != ""), "webhook_url": url})
	}
	return e, err
}

// Offboarding policies.
const (
	PolicySuccessor  = "successor"  // numbers go to a named successor (default: the manager)
	PolicyQueue      = "queue"      // numbers are released to a department queue
	PolicyQuarantine = "quarantine" // numbers are quarantined for N days
)

// OffboardPolicy says what happens to a departing employee's numbers.
type OffboardPolicy struct {
	Policy         string `json:"policy"`
	Successor      string `json:"successor,omitempty"`
	Queue          string `json:"queue,omitempty"`
	QuarantineDays int    `json:"quarantine_days,omitempty"`
	// AutoReply, when set, is what customers texting a number that now
	// reaches nobody (queue or quarantine) receive.
	AutoReply string `json:"auto_reply,omitempty"`
}

// OffboardResult reports what offboarding did.
type OffboardResult struct {
	Employee      Employee `json:"employee"`
	Policy        string   `json:"policy"`
	Successor     string   `json:"successor,omitempty"`
	Numbers       []Number `json:"numbers"`
	Conversations int      `json:"conversations_transferred"`
}

// Offboard marks an employee offboarded and hands their numbers on per
// policy: reassigned to the successor (default the manager), released to
// a queue, or quarantined. Their queue memberships end and the queue
// conversations they had open go to the successor or back to their queue.
// The employee's tokens are not touched here (the caller revokes them).
func (d *Directory) Offboard(ctx context.Context, id string, p OffboardPolicy, by string) (OffboardResult, error) {
	e, _, err := d.Employee(ctx, id)
	if err != nil {
		return OffboardResult{}, err
	}
	if p.Policy == "" {
		p.Policy = PolicySuccessor
	}
	switch p.Policy {
	case PolicySuccessor:
		if p.Successor == "" {
			p.Successor = e.Manager
		}
		if p.Successor == "" {
			return OffboardResult{}, invalid("successor", "successor_required", "employee %s has no manager: name a successor", id)
		}
		if p.Successor == id {
			return OffboardResult{}, invalid("successor", "invalid_successor", "an employee cannot succeed themselves")
		}
		if err := d.checkActive(ctx, p.Successor, "successor"); err != nil {
			return OffboardResult{}, err
		}
	case PolicyQueue:
		if p.Queue == "" {
			return OffboardResult{}, invalid("queue", "queue_required", "policy queue needs a queue")
		}
		if err := d.checkQueue(ctx, p.Queue); err != nil {
			return OffboardResult{}, err
		}
	case PolicyQuarantine:
		if p.QuarantineDays <= 0 || p.QuarantineDays > 3650 {
			return OffboardResult{}, invalid("quarantine_days", "invalid_quarantine_days", "policy quarantine needs quarantine_days between 1 and 3650")
		}
	default:
		return OffboardResult{}, invalid("policy", "invalid_policy", "policy must be successor, queue or quarantine")
	}
	// Mark the employee offboarded first: from now on nothing new is
	// assigned to them, and inbound routing stops treating them as an agent.
	_, e, err = d.changeEmployee(ctx, id, func(e *Employee) (bool, error) {
		if e.State == EmployeeOffboarded {
			return false, nil
		}
		e.State, e.OffboardedAt = EmployeeOffboarded, time.Now().UTC()
		return true, nil
	})
	if err != nil {
		return OffboardResult{}, err
	}
	res := OffboardResult{Employee: e, Policy: p.Policy, Successor: p.Successor, Numbers: []Number{}}
	held, err := d.NumbersOf(ctx, id)
	if err != nil {
		return res, err
	}
	for _, n := range held {
		var out Number
		switch p.Policy {
		case PolicySuccessor:
			out, err = d.reassign(ctx, n.Number, p.Successor, by, "offboard")
		case PolicyQueue:
			out, err = d.ReleaseWith(ctx, n.Number, ReleaseOptions{Queue: p.Queue, AutoReply: p.AutoReply, Reason: "offboard"}, by)
		case PolicyQuarantine:
			out, err = d.ReleaseWith(ctx, n.Number, ReleaseOptions{QuarantineDays: p.QuarantineDays, AutoReply: p.AutoReply, Reason: "offboard"}, by)
		}
		if err != nil {
			return res, fmt.Errorf("handing on number %s: %w", n.Number.Redacted(), err)
		}
		res.Numbers = append(res.Numbers, out)
	}
	moved, err := d.leaveQueues(ctx, id, p.Successor, by)
	res.Conversations = moved
	if err != nil {
		return res, err
	}
	nums := make([]string, len(res.Numbers))
	for i, n := range res.Numbers {
		nums[i] = n.Number.E164()
	}
	attrs := employeeAttrs(e)
	attrs["policy"], attrs["numbers"] = p.Policy, strings.Join(nums, ",")
	if p.Successor != "" {
		attrs["successor"] = p.Successor
	}
	if p.Queue != "" {
		attrs["queue"] = p.Queue
	}
	if p.QuarantineDays > 0 {
		attrs["quarantine_days"] = itoa(p.QuarantineDays)
	}
	d.ev.emit(ctx, sms.StatusEmployeeOffboarded, by, p.Policy, attrs)
	return res, nil
}

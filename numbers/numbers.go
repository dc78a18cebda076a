package numbers

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// Kind of business number.
const (
	KindEmployee   = "employee"
	KindMain       = "main"
	KindDepartment = "department"
)

// State of a business number.
const (
	StateAvailable = "available"
	StateAssigned  = "assigned"
)

// Number is a company-owned business number.
type Number struct {
	Number     sms.Number `json:"number"`
	Carrier    string     `json:"carrier,omitempty"` // route; empty = default carrier
	Kind       string     `json:"kind"`
	State      string     `json:"state"`
	EmployeeID string     `json:"employee_id,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
	UpdatedBy  string     `json:"updated_by,omitempty"`
}

// Employee is a person who texts customers from a business number.
type Employee struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email,omitempty"`
	State      string `json:"state"` // active | offboarded
	WebhookURL string `json:"webhook_url,omitempty"`
	// WebhookSecret signs MO webhooks (HMAC-SHA256). It is a shared secret,
	// returned only when it is set and never logged.
	WebhookSecret string    `json:"webhook_secret,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

// Directory reads and changes numbers and employees.
type Directory struct {
	numbers   *bus.KV
	employees *bus.KV
}

// New returns a Directory on the bus's buckets.
func New(b *bus.Bus) *Directory {
	return &Directory{numbers: b.KV(bus.BucketNumbers), employees: b.KV(bus.BucketEmployees)}
}

func numKey(n sms.Number) string { return n.Digits() }

// AddNumber adds a business number in state available (or assigned, when
// EmployeeID is set and the employee exists). Adding an existing number is
// a Conflict.
func (d *Directory) AddNumber(ctx context.Context, n Number, by string) (Number, error) {
	if n.Kind == "" {
		n.Kind = KindEmployee
	}
	switch n.Kind {
	case KindEmployee, KindMain, KindDepartment:
	default:
		return Number{}, sms.Errorf(sms.Invalid, "invalid_kind", "kind must be employee, main or department")
	}
	n.State = StateAvailable
	if n.EmployeeID != "" {
		if _, _, err := d.Employee(ctx, n.EmployeeID); err != nil {
			return Number{}, err
		}
		n.State = StateAssigned
	}
	n.UpdatedAt, n.UpdatedBy = time.Now().UTC(), by
	data, _ := json.Marshal(n)
	if _, err := d.numbers.Create(ctx, numKey(n.Number), data); err != nil {
		if sms.KindOf(err) == sms.Conflict {
			return Number{}, sms.Errorf(sms.Conflict, "number_exists", "number is already in the inventory")
		}
		return Number{}, fmt.Errorf("adding number %s: %w", n.Number.Redacted(), err)
	}
	return n, nil
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

// Assign gives number to employeeID. It fails with Conflict
// (code number_assigned) when someone else holds the number, and with
// Conflict (code concurrent_change) when another admin changed the number
// between our read and our write: exactly one of two concurrent
// assignments wins.
func (d *Directory) Assign(ctx context.Context, num sms.Number, employeeID, by string) (Number, error) {
	e, _, err := d.Employee(ctx, employeeID)
	if err != nil {
		return Number{}, err
	}
	if e.State != "active" {
		return Number{}, sms.Errorf(sms.Conflict, "employee_inactive", "employee %s is not active", employeeID)
	}
	n, rev, err := d.Number(ctx, num)
	if err != nil {
		return Number{}, err
	}
	if n.State == StateAssigned {
		if n.EmployeeID == employeeID {
			return n, nil
		}
		return Number{}, sms.Errorf(sms.Conflict, "number_assigned", "number is assigned to another employee; release it first")
	}
	n.State, n.EmployeeID = StateAssigned, employeeID
	n.UpdatedAt, n.UpdatedBy = time.Now().UTC(), by
	return n, d.update(ctx, n, rev)
}

// Release makes a number available again.
func (d *Directory) Release(ctx context.Context, num sms.Number, by string) (Number, error) {
	n, rev, err := d.Number(ctx, num)
	if err != nil {
		return Number{}, err
	}
	if n.State == StateAvailable {
		return n, nil
	}
	n.State, n.EmployeeID = StateAvailable, ""
	n.UpdatedAt, n.UpdatedBy = time.Now().UTC(), by
	return n, d.update(ctx, n, rev)
}

func (d *Directory) update(ctx context.Context, n Number, rev uint64) error {
	data, _ := json.Marshal(n)
	if _, err := d.numbers.Update(ctx, numKey(n.Number), data, rev); err != nil {
		if sms.KindOf(err) == sms.Conflict {
			return sms.Errorf(sms.Conflict, "concurrent_change", "number was changed by someone else meanwhile; retry")
		}
		return fmt.Errorf("updating number %s: %w", n.Number.Redacted(), err)
	}
	return nil
}

var employeeIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// CreateEmployee adds an employee. ID is required (lower-case letters,
// digits, '.', '_' and '-', e.g. "jane.doe").
func (d *Directory) CreateEmployee(ctx context.Context, e Employee) (Employee, error) {
	e.ID = strings.TrimSpace(e.ID)
	if !employeeIDRe.MatchString(e.ID) {
		return Employee{}, sms.Errorf(sms.Invalid, "invalid_employee_id", "id must be 1-64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if strings.TrimSpace(e.Name) == "" {
		return Employee{}, sms.Errorf(sms.Invalid, "invalid_name", "name is required")
	}
	if e.WebhookURL != "" {
		if err := CheckWebhookURL(e.WebhookURL); err != nil {
			return Employee{}, err
		}
		if e.WebhookSecret == "" {
			e.WebhookSecret = NewSecret()
		}
	}
	e.State, e.CreatedAt = "active", time.Now().UTC()
	data, _ := json.Marshal(e)
	if _, err := d.employees.Create(ctx, e.ID, data); err != nil {
		if sms.KindOf(err) == sms.Conflict {
			return Employee{}, sms.Errorf(sms.Conflict, "employee_exists", "an employee with id %s exists", e.ID)
		}
		return Employee{}, fmt.Errorf("creating employee %s: %w", e.ID, err)
	}
	return e, nil
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

// SetWebhook sets (or clears, with url "") an employee's MO webhook. A new
// signing secret is generated whenever the URL is set.
func (d *Directory) SetWebhook(ctx context.Context, id, url string) (Employee, error) {
	if url != "" {
		if err := CheckWebhookURL(url); err != nil {
			return Employee{}, err
		}
	}
	for range 5 {
		e, rev, err := d.Employee(ctx, id)
		if err != nil {
			return Employee{}, err
		}
		e.WebhookURL, e.WebhookSecret = url, ""
		if url != "" {
			e.WebhookSecret = NewSecret()
		}
		data, _ := json.Marshal(e)
		if _, err := d.employees.Update(ctx, id, data, rev); err != nil {
			if sms.KindOf(err) == sms.Conflict {
				continue
			}
			return Employee{}, err
		}
		return e, nil
	}
	return Employee{}, sms.Errorf(sms.Conflict, "concurrent_change", "employee was changed concurrently; retry")
}

package directory

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// MaxImportRows bounds one CSV import.
const MaxImportRows = 100000

// RowError is one problem in an imported CSV: the line (1 is the header),
// the column and what is wrong.
type RowError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ImportError is a CSV that was not imported. Rows lists every bad line;
// nothing of the file was written.
type ImportError struct {
	Err  *sms.Error
	Rows []RowError
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("%s (%d problems)", e.Err.Message, len(e.Rows))
}
func (e *ImportError) Unwrap() error { return e.Err }

// ImportResult counts what an import did.
type ImportResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// table is a parsed CSV with a header.
type table struct {
	cols map[string]int
	rows [][]string
	line []int
}

func (t *table) get(row int, col string) string {
	i, ok := t.cols[col]
	if !ok || i >= len(t.rows[row]) {
		return ""
	}
	return strings.TrimSpace(t.rows[row][i])
}

func (t *table) has(col string) bool { _, ok := t.cols[col]; return ok }

// readTable reads a CSV whose first line names the columns. Every column
// must be known and required ones present.
func readTable(r io.Reader, known, required []string) (*table, []RowError) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []RowError{{Line: 1, Code: "empty_csv", Message: "the file is empty: the first line must name the columns"}}
		}
		return nil, []RowError{{Line: 1, Code: "malformed_csv", Message: "the header line is not valid CSV"}}
	}
	t := &table{cols: map[string]int{}}
	var errs []RowError
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(known, h) {
			errs = append(errs, RowError{Line: 1, Field: h, Code: "unknown_column", Message: fmt.Sprintf("unknown column %q (known: %s)", h, strings.Join(known, ", "))})
			continue
		}
		if _, dup := t.cols[h]; dup {
			errs = append(errs, RowError{Line: 1, Field: h, Code: "duplicate_column", Message: fmt.Sprintf("column %q appears twice", h)})
			continue
		}
		t.cols[h] = i
	}
	for _, c := range required {
		if !t.has(c) {
			errs = append(errs, RowError{Line: 1, Field: c, Code: "missing_column", Message: fmt.Sprintf("required column %q is missing", c)})
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			errs = append(errs, RowError{Line: line, Code: "malformed_csv", Message: "the line is not valid CSV (check quotes)"})
			if len(errs) > 1000 {
				break
			}
			continue
		}
		if len(rec) != len(header) {
			errs = append(errs, RowError{Line: line, Code: "wrong_field_count", Message: fmt.Sprintf("the line has %d fields; the header has %d", len(rec), len(header))})
			continue
		}
		if len(t.rows) >= MaxImportRows {
			errs = append(errs, RowError{Line: line, Code: "too_many_rows", Message: fmt.Sprintf("an import has at most %d rows", MaxImportRows)})
			break
		}
		t.rows, t.line = append(t.rows, rec), append(t.line, line)
	}
	return t, errs
}

func rowErr(line int, err error) RowError {
	return RowError{Line: line, Field: FieldOf(err), Code: sms.CodeOf(err), Message: sms.PublicMessage(err)}
}

func importFailed(errs []RowError, what string) error {
	slices.SortStableFunc(errs, func(a, b RowError) int { return a.Line - b.Line })
	return &ImportError{Err: sms.Errorf(sms.Invalid, "invalid_csv", "the %s CSV has errors; nothing was imported", what), Rows: errs}
}

// write is one planned KV write of an import, with what to restore.
type write struct {
	key    string
	data   []byte
	rev    uint64 // 0: create
	before []byte // restore on rollback (nil: delete)
	events []func(ctx context.Context)
}

// apply performs planned writes; if one fails, those done are undone and
// nothing of the import remains.
func applyWrites(ctx context.Context, kv interface {
	Create(context.Context, string, []byte) (uint64, error)
	Update(context.Context, string, []byte, uint64) (uint64, error)
	Delete(context.Context, string) error
}, ws []write) error {
	type done struct {
		w   write
		rev uint64
	}
	var applied []done
	for _, w := range ws {
		var rev uint64
		var err error
		if w.rev == 0 {
			rev, err = kv.Create(ctx, w.key, w.data)
		} else {
			rev, err = kv.Update(ctx, w.key, w.data, w.rev)
		}
		if err != nil {
			for i := len(applied) - 1; i >= 0; i-- {
				a := applied[i]
				if a.w.before == nil {
					_ = kv.Delete(ctx, a.w.key)
				} else {
					_, _ = kv.Update(ctx, a.w.key, a.w.before, a.rev)
				}
			}
			if sms.KindOf(err) == sms.Conflict {
				return sms.Wrap(sms.Conflict, "concurrent_change", "the directory changed during the import; nothing was imported, retry", err)
			}
			return sms.Wrap(sms.Unavailable, "import_failed", "the import could not be written; nothing was imported, retry", err)
		}
		applied = append(applied, done{w, rev})
	}
	return nil
}

var numberColumns = []string{"number", "kind", "carrier", "capabilities", "employee_id", "queue", "state", "label", "auto_reply"}

// ImportNumbers imports business numbers from CSV (header: number, and any
// of kind, carrier, capabilities — separated by ';' or '|' —, employee_id,
// queue, state, label, auto_reply). The file is checked whole first: with
// any error nothing is written and every bad line is reported. Importing
// the same file again changes nothing. An employee_id assigns the number
// (an error when someone else holds it); state may be available, assigned
// or retired; empty cells keep the current value.
func (d *Directory) ImportNumbers(ctx context.Context, r io.Reader, by string) (ImportResult, error) {
	t, errs := readTable(r, numberColumns, []string{"number"})
	if t == nil {
		return ImportResult{}, importFailed(errs, "numbers")
	}
	empState := map[string]string{} // employee id -> state ("" unknown)
	queueOK := map[string]error{}
	seen := map[string]int{}
	now := time.Now().UTC()
	var ws []write
	var res ImportResult
	for i := range t.rows {
		line := t.line[i]
		bad := func(err error) { errs = append(errs, rowErr(line, err)) }
		num, err := sms.ParseNumber(t.get(i, "number"))
		if err != nil {
			bad(&fieldErr{Err: err.(*sms.Error), Field: "number"})
			continue
		}
		if first, dup := seen[num.Digits()]; dup {
			bad(invalid("number", "duplicate_number", "number appears twice in the file (first on line %d)", first))
			continue
		}
		seen[num.Digits()] = line
		cur, rev, err := d.Number(ctx, num)
		exists := err == nil
		if err != nil && sms.KindOf(err) != sms.NotFound {
			return ImportResult{}, err
		}
		n := cur
		if !exists {
			n = Number{Number: num, State: StateAvailable}
		}
		n.History = slices.Clone(cur.History)
		if v := t.get(i, "kind"); v != "" {
			n.Kind = strings.ToLower(v)
		}
		if t.has("carrier") && t.get(i, "carrier") != "" {
			n.Carrier = t.get(i, "carrier")
		}
		if v := t.get(i, "capabilities"); v != "" {
			n.Capabilities = strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' || r == ' ' || r == ',' })
		}
		if v := t.get(i, "queue"); v != "" {
			n.Queue = v
		}
		if v := t.get(i, "label"); v != "" {
			n.Label = v
		}
		if v := t.get(i, "auto_reply"); v != "" {
			n.AutoReply = v
		}
		if err := d.normalize(&n); err != nil {
			bad(err)
			continue
		}
		if n.Queue != "" {
			qe, ok := queueOK[n.Queue]
			if !ok {
				qe = d.checkQueue(ctx, n.Queue)
				queueOK[n.Queue] = qe
			}
			if qe != nil {
				if sms.KindOf(qe) == sms.Unavailable {
					return ImportResult{}, qe
				}
				bad(qe)
				continue
			}
		}
		emp := t.get(i, "employee_id")
		state := strings.ToLower(t.get(i, "state"))
		switch state {
		case "", StateAvailable, StateAssigned, StateRetired:
		case StateQuarantined:
			bad(invalid("state", "invalid_state", "state quarantined cannot be imported: release the number with quarantine_days"))
			continue
		default:
			bad(invalid("state", "invalid_state", "state must be available, assigned or retired"))
			continue
		}
		if state == StateAssigned && emp == "" {
			bad(invalid("employee_id", "employee_id_required", "state assigned needs an employee_id"))
			continue
		}
		if emp != "" && (state == StateAvailable || state == StateRetired) {
			bad(invalid("state", "invalid_state", "a number with an employee_id is assigned, not %s", state))
			continue
		}
		var assignEv, retireEv bool
		if emp != "" {
			st, ok := empState[emp]
			if !ok {
				e, _, err := d.Employee(ctx, emp)
				switch {
				case err == nil:
					st = e.State
				case sms.KindOf(err) == sms.NotFound:
					st = ""
				default:
					return ImportResult{}, err
				}
				empState[emp] = st
			}
			switch {
			case n.State == StateAssigned && n.EmployeeID == emp:
			case st == "":
				bad(invalid("employee_id", "employee_not_found", "no employee with id %s", emp))
				continue
			case st != EmployeeActive:
				bad(invalid("employee_id", "employee_inactive", "employee %s is not active", emp))
				continue
			case n.State == StateAssigned:
				bad(invalid("employee_id", "number_assigned", "number is held by %s: release or reassign it first", n.EmployeeID))
				continue
			default:
				if err := assignable(n, now); err != nil {
					bad(&fieldErr{Err: err.(*sms.Error), Field: "state"})
					continue
				}
				n.State, n.EmployeeID, n.QuarantinedUntil = StateAssigned, emp, time.Time{}
				n.History = append(n.History, Period{EmployeeID: emp, From: now, AssignedBy: by})
				assignEv = true
			}
		}
		switch {
		case state == StateAvailable && n.State == StateAssigned:
			bad(invalid("state", "number_assigned", "number is held by %s: release it instead of importing it as available", n.EmployeeID))
			continue
		case state == StateRetired && n.State != StateRetired:
			endPeriod(&n, now, by, "retire")
			n.State, n.EmployeeID, n.QuarantinedUntil = StateRetired, "", time.Time{}
			retireEv = true
		case state == StateAvailable && n.State == StateRetired:
			n.State = StateAvailable
		}
		if exists {
			a, _ := json.Marshal(cur)
			cmp := n
			cmp.UpdatedAt, cmp.UpdatedBy = cur.UpdatedAt, cur.UpdatedBy
			b, _ := json.Marshal(cmp)
			if string(a) == string(b) {
				res.Unchanged++
				continue
			}
		}
		n.UpdatedAt, n.UpdatedBy = now, by
		data, _ := json.Marshal(n)
		w := write{key: numKey(num), data: data}
		snap := n
		if exists {
			w.rev, w.before = rev, mustJSON(cur)
			res.Updated++
			w.events = append(w.events, func(ctx context.Context) {
				d.ev.emit(ctx, sms.StatusNumberUpdated, by, "import", numberAttrs(snap, nil))
			})
		} else {
			res.Created++
			w.events = append(w.events, func(ctx context.Context) { d.ev.emit(ctx, sms.StatusNumberAdded, by, "import", numberAttrs(snap, nil)) })
		}
		if assignEv {
			w.events = append(w.events, func(ctx context.Context) {
				d.ev.emit(ctx, sms.StatusNumberAssigned, by, "import", map[string]string{"number": snap.Number.E164(), "employee_id": snap.EmployeeID, "effective_at": now.Format(time.RFC3339Nano)})
			})
		}
		if retireEv {
			w.events = append(w.events, func(ctx context.Context) {
				d.ev.emit(ctx, sms.StatusNumberRetired, by, "import", map[string]string{"number": snap.Number.E164(), "previous_employee_id": cur.EmployeeID})
			})
		}
		ws = append(ws, w)
	}
	if len(errs) > 0 {
		return ImportResult{}, importFailed(errs, "numbers")
	}
	if err := applyWrites(ctx, d.numbers, ws); err != nil {
		return ImportResult{}, err
	}
	for _, w := range ws {
		for _, f := range w.events {
			f(ctx)
		}
	}
	d.ev.emit(ctx, sms.StatusNumbersImported, by, "", map[string]string{"created": itoa(res.Created), "updated": itoa(res.Updated), "unchanged": itoa(res.Unchanged)})
	return res, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

var employeeColumns = []string{"id", "name", "email", "department", "manager", "state"}

// ImportEmployees imports employees from CSV (header: id, name, and any of
// email, department, manager, state). A manager may be in the file or the
// directory. All or nothing, every bad line reported, idempotent — like
// ImportNumbers. Offboarding is not done by import (it hands numbers on):
// state offboarded is accepted only for someone already offboarded.
func (d *Directory) ImportEmployees(ctx context.Context, r io.Reader, by string) (ImportResult, error) {
	t, errs := readTable(r, employeeColumns, []string{"id", "name"})
	if t == nil {
		return ImportResult{}, importFailed(errs, "employees")
	}
	inFile := map[string]int{}
	for i := range t.rows {
		id := strings.TrimSpace(t.get(i, "id"))
		if _, dup := inFile[id]; !dup && id != "" {
			inFile[id] = t.line[i]
		}
	}
	now := time.Now().UTC()
	var ws []write
	var res ImportResult
	seen := map[string]int{}
	for i := range t.rows {
		line := t.line[i]
		bad := func(err error) { errs = append(errs, rowErr(line, err)) }
		e := Employee{ID: t.get(i, "id"), Name: t.get(i, "name"), Email: t.get(i, "email"), Department: t.get(i, "department"), Manager: t.get(i, "manager")}
		if err := checkEmployee(&e); err != nil {
			bad(err)
			continue
		}
		if first, dup := seen[e.ID]; dup {
			bad(invalid("id", "duplicate_employee", "id appears twice in the file (first on line %d)", first))
			continue
		}
		seen[e.ID] = line
		if e.Manager != "" {
			if _, ok := inFile[e.Manager]; !ok {
				if _, _, err := d.Employee(ctx, e.Manager); err != nil {
					if sms.KindOf(err) != sms.NotFound {
						return ImportResult{}, err
					}
					bad(invalid("manager", "unknown_manager", "manager %s is neither in the file nor an employee", e.Manager))
					continue
				}
			}
		}
		state := strings.ToLower(t.get(i, "state"))
		if state != "" && state != EmployeeActive && state != EmployeeOffboarded {
			bad(invalid("state", "invalid_state", "state must be active or offboarded"))
			continue
		}
		cur, rev, err := d.Employee(ctx, e.ID)
		exists := err == nil
		if err != nil && sms.KindOf(err) != sms.NotFound {
			return ImportResult{}, err
		}
		if state == EmployeeOffboarded && (!exists || cur.State != EmployeeOffboarded) {
			bad(invalid("state", "offboard_required", "offboarding hands numbers on: use employees offboard, not an import"))
			continue
		}
		if state == EmployeeActive && exists && cur.State == EmployeeOffboarded {
			bad(invalid("state", "employee_offboarded", "employee %s was offboarded and cannot be made active by import", e.ID))
			continue
		}
		var n Employee
		if exists {
			n = cur
			n.Name, n.Email, n.Department, n.Manager = e.Name, e.Email, e.Department, e.Manager
			if !t.has("email") {
				n.Email = cur.Email
			}
			if !t.has("department") {
				n.Department = cur.Department
			}
			if !t.has("manager") {
				n.Manager = cur.Manager
			}
			if n.Name == cur.Name && n.Email == cur.Email && n.Department == cur.Department && n.Manager == cur.Manager {
				res.Unchanged++
				continue
			}
			n.UpdatedAt = now
			res.Updated++
		} else {
			n = e
			n.State, n.CreatedAt = EmployeeActive, now
			res.Created++
		}
		snap := n
		w := write{key: n.ID, data: mustJSON(n)}
		if exists {
			w.rev, w.before = rev, mustJSON(cur)
			w.events = append(w.events, func(ctx context.Context) {
				d.ev.emit(ctx, sms.StatusEmployeeUpdated, by, "import", employeeAttrs(snap))
			})
		} else {
			w.events = append(w.events, func(ctx context.Context) {
				d.ev.emit(ctx, sms.StatusEmployeeCreated, by, "import", employeeAttrs(snap))
			})
		}
		ws = append(ws, w)
	}
	if len(errs) > 0 {
		return ImportResult{}, importFailed(errs, "employees")
	}
	if err := applyWrites(ctx, d.employees, ws); err != nil {
		return ImportResult{}, err
	}
	for _, w := range ws {
		for _, f := range w.events {
			f(ctx)
		}
	}
	d.ev.emit(ctx, sms.StatusEmployeesImported, by, "", map[string]string{"created": itoa(res.Created), "updated": itoa(res.Updated), "unchanged": itoa(res.Unchanged)})
	return res, nil
}

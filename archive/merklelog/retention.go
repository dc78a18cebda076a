package merklelog

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/sms"
)

// RetentionPolicy decides how long each archived record is locked: a
// message takes the longest of the retention classes matching its
// employee, the employee's department or its business number, else the
// default; records that are not messages (events, audit entries) and
// everything the log writes for itself (void segments, checkpoints) take
// the longest configured retention, since they may concern any message.
type RetentionPolicy struct {
	def, longest time.Duration
	classes      []RetentionClass
	// department looks an employee's department up (numbers.Directory).
	department func(ctx context.Context, employeeID string) (string, error)

	mu    sync.Mutex
	cache map[string]deptEntry
}

type deptEntry struct {
	dept string
	exp  time.Time
}

// RetentionClass is a named retention policy and the records it covers
// (config key archive.retention_classes).
type RetentionClass struct {
	Name        string   `mapstructure:"name" json:"name"`
	Days        int      `mapstructure:"days" json:"days"`
	Departments []string `mapstructure:"departments" json:"departments"`
	Employees   []string `mapstructure:"employees" json:"employees"`
	Numbers     []string `mapstructure:"numbers" json:"numbers"` // business numbers, E.164
}

// NewRetentionPolicy keeps records defaultDays unless a class says longer.
func NewRetentionPolicy(defaultDays int, classes []RetentionClass, department func(context.Context, string) (string, error)) *RetentionPolicy {
	p := &RetentionPolicy{def: days(defaultDays), classes: classes, department: department, cache: map[string]deptEntry{}}
	p.longest = p.def
	for _, c := range classes {
		p.longest = max(p.longest, days(c.Days))
	}
	return p
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func (p *RetentionPolicy) dept(ctx context.Context, employeeID string) string {
	if employeeID == "" || p.department == nil {
		return ""
	}
	p.mu.Lock()
	e, ok := p.cache[employeeID]
	p.mu.Unlock()
	if ok && time.Now().Before(e.exp) {
		return e.dept
	}
	d, err := p.department(ctx, employeeID)
	if err != nil && sms.KindOf(err) != sms.NotFound {
		// Unknown for now: the caller falls back to the longest retention.
		return "\x00unknown"
	}
	p.mu.Lock()
	p.cache[employeeID] = deptEntry{dept: d, exp: time.Now().Add(time.Minute)}
	p.mu.Unlock()
	return d
}

// classify returns the classes a message falls in (comma-separated, "" for
// the default) and its retention.
func (p *RetentionPolicy) classify(ctx context.Context, m *sms.Message) (string, time.Duration) {
	if len(p.classes) == 0 {
		return "", p.def
	}
	biz := m.From
	if m.Direction == sms.Inbound {
		biz = m.To
	}
	dept := ""
	needDept := false
	for _, c := range p.classes {
		needDept = needDept || len(c.Departments) > 0
	}
	if needDept {
		dept = p.dept(ctx, m.EmployeeID)
		if dept == "\x00unknown" {
			return "unresolved", p.longest // fail safe: keep it as long as anything
		}
	}
	var names []string
	var ret time.Duration
	for _, c := range p.classes {
		match := slices.Contains(c.Employees, m.EmployeeID) && m.EmployeeID != "" ||
			slices.ContainsFunc(c.Departments, func(d string) bool { return dept != "" && strings.EqualFold(d, dept) }) ||
			slices.ContainsFunc(c.Numbers, func(n string) bool { return n == biz.E164() })
		if match {
			names = append(names, c.Name)
			ret = max(ret, days(c.Days))
		}
	}
	if len(names) == 0 {
		return "", p.def
	}
	return strings.Join(names, ","), ret
}

// of sets each message record's class and returns how long a segment of
// recs must be locked: as long as its longest-kept record.
func (p *RetentionPolicy) of(ctx context.Context, recs []archive.Record) time.Duration {
	var d time.Duration
	for i := range recs {
		r := &recs[i]
		if r.Kind == archive.KindMessage && r.Message != nil {
			name, ret := p.classify(ctx, r.Message)
			r.Retention = name
			d = max(d, ret)
			continue
		}
		d = max(d, p.longest)
	}
	if d == 0 {
		d = p.longest
	}
	return d
}

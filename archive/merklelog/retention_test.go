package merklelog

import (
	"context"
	"errors"
	"testing"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/sms"
)

func TestRetentionClasses(t *testing.T) {
	classes := []RetentionClass{
		{Name: "sec17a4", Days: 2192, Departments: []string{"Trading"}},
		{Name: "mifid", Days: 3650, Numbers: []string{"+442071838750"}},
		{Name: "exec", Days: 4000, Employees: []string{"ceo"}},
	}
	depts := map[string]string{"tom": "trading", "ceo": "board", "ann": "support"}
	lookups := 0
	p := NewRetentionPolicy(2557, classes, func(ctx context.Context, id string) (string, error) {
		lookups++
		if id == "broken" {
			return "", errors.New("directory down")
		}
		d, ok := depts[id]
		if !ok {
			return "", sms.Errorf(sms.NotFound, "employee_not_found", "no such employee")
		}
		return d, nil
	})
	ctx := context.Background()
	out := func(emp string, from sms.Number) *sms.Message {
		return &sms.Message{Direction: sms.Outbound, From: from, To: "+14155550199", EmployeeID: emp}
	}
	cases := []struct {
		m     *sms.Message
		class string
		days  int
	}{
		{out("ann", "+14155550100"), "", 2557},                                                           // no class: the default
		{out("tom", "+14155550100"), "sec17a4", 2192},                                                    // department, case-insensitive
		{out("tom", "+442071838750"), "sec17a4,mifid", 3650},                                             // longest of the matching classes
		{out("ceo", "+14155550100"), "exec", 4000},                                                       // by employee
		{out("", "+14155550100"), "", 2557},                                                              // no employee
		{out("broken", "+14155550100"), "unresolved", 4000},                                              // unknown department: keep longest
		{&sms.Message{Direction: sms.Inbound, From: "+14155550199", To: "+442071838750"}, "mifid", 3650}, // inbound: business number is To
	}
	for _, c := range cases {
		class, ret := p.classify(ctx, c.m)
		if class != c.class || ret != days(c.days) {
			t.Errorf("%s from %s: class %q %v, want %q %d days", c.m.EmployeeID, c.m.From, class, ret, c.class, c.days)
		}
	}
	before := lookups
	p.classify(ctx, out("tom", "+14155550100"))
	if lookups != before {
		t.Errorf("department looked up again within the cache time")
	}
	// A segment is locked as long as its longest-kept record; records that
	// are not messages take the longest configured retention.
	recs := []archive.Record{{Kind: archive.KindMessage, Message: out("ann", "+14155550100")}, {Kind: archive.KindMessage, Message: out("tom", "+14155550100")}}
	if d := p.of(ctx, recs); d != days(2557) || recs[1].Retention != "sec17a4" {
		t.Errorf("message segment retention %v (classes %q %q)", d, recs[0].Retention, recs[1].Retention)
	}
	if d := p.of(ctx, []archive.Record{{Kind: archive.KindEvent, Event: &sms.Event{}}}); d != days(4000) {
		t.Errorf("event segment retention %v, want the longest (4000 days)", d)
	}
}

package directory

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/sms"
)

func importErrors(t *testing.T, err error) []RowError {
	t.Helper()
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an *ImportError", err)
	}
	if sms.KindOf(err) != sms.Invalid || sms.CodeOf(err) != "invalid_csv" {
		t.Errorf("import error kind %v code %s, want invalid/invalid_csv", sms.KindOf(err), sms.CodeOf(err))
	}
	return ie.Rows
}

// A CSV with errors imports nothing and reports every bad line, naming
// the column.
func TestImportNumbersReportsEveryBadLine(t *testing.T) {
	d := newDir(t)
	ctx := context.Background()
	if _, err := d.CreateEmployee(ctx, Employee{ID: "jo", Name: "Jo"}); err != nil {
		t.Fatal(err)
	}
	csv := strings.Join([]string{
		"number,kind,carrier,capabilities,employee_id,queue,state",
		"+14155550100,employee,,sms;mms,jo,,",      // 2 ok
		"4155550101,employee,,,,,",                 // 3 no +
		"+14155550102,vanity,,,,,",                 // 4 bad kind
		"+14155550100,employee,,,,,",               // 5 duplicate of line 2
		"+14155550103,employee,,sms;fax,,,",        // 6 bad capability
		"+14155550104,employee,,,ghost,,",          // 7 unknown employee
		"+14155550105,department,,,,,",             // 8 department without queue
		"+14155550106,employee,,,,nosuchqueue,",    // 9 unknown queue
		"+14155550107,employee,,,,,quarantined",    // 10 state not importable
		"+14155550108,employee,,,,,assigned",       // 11 assigned without employee
		"+14155550109,employee,,,\"unterminated,,", // 12.. malformed quotes
	}, "\n")
	_, err := d.ImportNumbers(ctx, strings.NewReader(csv), "admin")
	rows := importErrors(t, err)
	want := map[int]string{3: "invalid_number", 4: "invalid_kind", 5: "duplicate_number", 6: "invalid_capability",
		7: "employee_not_found", 8: "queue_required", 9: "unknown_queue", 10: "invalid_state", 11: "employee_id_required", 12: "malformed_csv"}
	got := map[int]string{}
	for _, r := range rows {
		got[r.Line] = r.Code
		if r.Message == "" {
			t.Errorf("line %d: empty message", r.Line)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors by line = %v\nwant %v\n(rows %+v)", got, want, rows)
	}
	for _, r := range rows {
		if r.Line == 6 && r.Field != "capabilities" || r.Line == 3 && r.Field != "number" || r.Line == 7 && r.Field != "employee_id" {
			t.Errorf("line %d names field %q", r.Line, r.Field)
		}
	}
	ns, _ := d.Numbers(ctx)
	if len(ns) != 0 {
		t.Errorf("a failed import wrote %d numbers, want none", len(ns))
	}
}

func TestImportNumbersHeaderErrors(t *testing.T) {
	d := newDir(t)
	ctx := context.Background()
	for _, c := range []struct{ csv, code, field string }{
		{"", "empty_csv", ""},
		{"kind,carrier\nemployee,x\n", "missing_column", "number"},
		{"number,colour\n+14155550100,red\n", "unknown_column", "colour"},
		{"number,number\n+14155550100,+14155550100\n", "duplicate_column", "number"},
		{"number,kind\n+14155550100\n", "wrong_field_count", ""},
	} {
		_, err := d.ImportNumbers(ctx, strings.NewReader(c.csv), "admin")
		var ie *ImportError
		if !errors.As(err, &ie) || len(ie.Rows) == 0 || ie.Rows[0].Code != c.code || ie.Rows[0].Field != c.field {
			t.Errorf("import %q = %v, want first error %s on field %q", c.csv, err, c.code, c.field)
		}
	}
}

// Importing the same file twice changes nothing the second time; changed
// attributes update; a different holder is refused.
func TestImportNumbersIdempotent(t *testing.T) {
	d := newDir(t)
	ctx := context.Background()
	for _, id := range []string{"jo", "al"} {
		if _, err := d.CreateEmployee(ctx, Employee{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.CreateQueue(ctx, Queue{ID: "support"}, "admin"); err != nil {
		t.Fatal(err)
	}
	csv := "\ufeffNumber,Kind,Capabilities,Employee_ID,Queue\n+1 (415) 555-0100,employee,sms|mms,jo,\n+14155550101,department,,,support\n+14155550102,main,,,\n"
	res, err := d.ImportNumbers(ctx, strings.NewReader(csv), "admin")
	if err != nil || res != (ImportResult{Created: 3}) {
		t.Fatalf("first import = %+v, %v; want 3 created", res, err)
	}
	res, err = d.ImportNumbers(ctx, strings.NewReader(csv), "admin")
	if err != nil || res != (ImportResult{Unchanged: 3}) {
		t.Fatalf("re-import = %+v, %v; want 3 unchanged", res, err)
	}
	n, _, err := d.Number(ctx, "+14155550100")
	if err != nil || n.State != StateAssigned || n.EmployeeID != "jo" || len(n.History) != 1 || !reflect.DeepEqual(n.Capabilities, []string{"mms", "sms"}) {
		t.Errorf("imported number = %+v, %v", n, err)
	}
	res, err = d.ImportNumbers(ctx, strings.NewReader("number,carrier\n+14155550102,sandbox\n"), "admin")
	if err != nil || res != (ImportResult{Updated: 1}) {
		t.Errorf("attribute change = %+v, %v; want 1 updated", res, err)
	}
	_, err = d.ImportNumbers(ctx, strings.NewReader("number,employee_id\n+14155550100,al\n+14155550101,al\n"), "admin")
	rows := importErrors(t, err)
	if len(rows) != 1 || rows[0].Line != 2 || rows[0].Code != "number_assigned" {
		t.Errorf("reassignment by import: %+v, want number_assigned on line 2", rows)
	}
	if n, _, _ := d.Number(ctx, "+14155550101"); n.EmployeeID != "" {
		t.Errorf("line 3 was written although line 2 failed: %+v", n)
	}
}

func TestImportEmployees(t *testing.T) {
	d := newDir(t)
	ctx := context.Background()
	csv := "id,name,email,department,manager\nboss,The Boss,boss@example.com,sales,\njo,Jo,jo@example.com,sales,boss\n"
	res, err := d.ImportEmployees(ctx, strings.NewReader(csv), "admin")
	if err != nil || res != (ImportResult{Created: 2}) {
		t.Fatalf("import = %+v, %v", res, err)
	}
	if res, err := d.ImportEmployees(ctx, strings.NewReader(csv), "admin"); err != nil || res != (ImportResult{Unchanged: 2}) {
		t.Fatalf("re-import = %+v, %v", res, err)
	}
	bad := "id,name,email,manager,state\nOK NO,x,,,\nann,,,,\nbob,Bob,not-an-email,,\ncid,Cid,,ghost,\ndan,Dan,,dan,\njo,Jo,,,offboarded\neve,Eve,,,retired\nfay,Fay,,,\nfay,Fay,,,\n"
	_, err = d.ImportEmployees(ctx, strings.NewReader(bad), "admin")
	rows := importErrors(t, err)
	want := map[int]string{2: "invalid_employee_id", 3: "invalid_name", 4: "invalid_email", 5: "unknown_manager", 6: "invalid_manager",
		7: "offboard_required", 8: "invalid_state", 10: "duplicate_employee"}
	got := map[int]string{}
	for _, r := range rows {
		got[r.Line] = r.Code
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors = %v, want %v", got, want)
	}
	if _, _, err := d.Employee(ctx, "fay"); sms.KindOf(err) != sms.NotFound {
		t.Errorf("a good line of a failed import was written: %v", err)
	}
}

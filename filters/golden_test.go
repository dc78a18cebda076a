package filters

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/sms"
)

var update = flag.Bool("update", false, "rewrite the out, verdict and findings lines of testdata/*.golden from the current output")

// goldenCase is one case of a golden file:
//
//	# comment
//	in: my card is 4111 1111 1111 1111
//	out: my card is **** **** **** 1111
//	verdict: redacted
//	findings: card 11:30 redact
//
// A value that starts with a double quote is a Go string literal (for
// invisible characters). Cases are separated by blank lines.
type goldenCase struct {
	line     int
	comment  []string
	in, out  string
	verdict  string
	findings string
}

func parseGolden(t *testing.T, path string) []goldenCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	var c *goldenCase
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			c = nil
			continue
		}
		if c == nil {
			cases = append(cases, goldenCase{line: i + 1})
			c = &cases[len(cases)-1]
		}
		if strings.HasPrefix(line, "#") {
			c.comment = append(c.comment, line)
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s:%d: want key: value, got %q", path, i+1, line)
		}
		val = strings.TrimPrefix(val, " ")
		if strings.HasPrefix(val, `"`) {
			if val, err = strconv.Unquote(val); err != nil {
				t.Fatalf("%s:%d: %v", path, i+1, err)
			}
		}
		switch key {
		case "in":
			c.in = val
		case "out":
			c.out = val
		case "verdict":
			c.verdict = val
		case "findings":
			c.findings = val
		default:
			t.Fatalf("%s:%d: unknown key %q", path, i+1, key)
		}
	}
	return cases
}

func quoteIfNeeded(s string) string {
	if q := strconv.Quote(s); q[1:len(q)-1] != s || strings.HasPrefix(s, `"`) || strings.HasSuffix(s, " ") {
		return q
	}
	return s
}

func formatFindings(fs []sms.Finding) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%s %d:%d %s", f.Type, f.Start, f.End, f.Action)
	}
	return strings.Join(parts, "; ")
}

func writeGolden(t *testing.T, path string, cases []goldenCase) {
	var b strings.Builder
	for i, c := range cases {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, l := range c.comment {
			b.WriteString(l + "\n")
		}
		fmt.Fprintf(&b, "in: %s\nout: %s\nverdict: %s\n", quoteIfNeeded(c.in), quoteIfNeeded(c.out), c.verdict)
		if c.findings != "" {
			fmt.Fprintf(&b, "findings: %s\n", c.findings)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGolden runs every testdata/*.golden file through the default chain.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.golden")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	c := mustChain(t, DefaultConfig())
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cases := parseGolden(t, path)
			for i := range cases {
				gc := &cases[i]
				got := c.Apply(gc.in)
				checkInvariants(t, gc.in, got)
				gotFindings := formatFindings(got.Findings)
				if *update {
					gc.out, gc.verdict, gc.findings = got.Text, string(got.Verdict), gotFindings
					continue
				}
				if got.Text != gc.out {
					t.Errorf("%s:%d: Apply(%q).Text =\n\t%q\nwant\n\t%q", path, gc.line, gc.in, got.Text, gc.out)
				}
				if string(got.Verdict) != gc.verdict {
					t.Errorf("%s:%d: Apply(%q).Verdict = %s, want %s", path, gc.line, gc.in, got.Verdict, gc.verdict)
				}
				if gotFindings != gc.findings {
					t.Errorf("%s:%d: Apply(%q).Findings = %q, want %q", path, gc.line, gc.in, gotFindings, gc.findings)
				}
			}
			if *update {
				writeGolden(t, path, cases)
			}
		})
	}
}

// checkInvariants checks what must hold for every Outcome: the text keeps
// its length; findings lie inside the input, sorted and not overlapping;
// the text changes only inside masked findings (redact or block), where
// characters only turn into stars; in each masked finding something is
// masked, and at most keepLast ASCII digits and letters stay.
func checkInvariants(t *testing.T, in string, out Outcome) {
	t.Helper()
	if len(out.Text) != len(in) {
		t.Errorf("Apply(%q): output length %d, want %d", in, len(out.Text), len(in))
		return
	}
	masked := make([]bool, len(in))
	prevEnd := 0
	for _, f := range out.Findings {
		if f.Start < prevEnd || f.End > len(in) || f.Start >= f.End || f.Type == "" || !f.Action.Valid() {
			t.Errorf("Apply(%q): bad or overlapping finding %+v", in, f)
			return
		}
		prevEnd = f.End
		if f.Action == sms.ActionFlag || f.Type == "blocked_phrase" {
			continue
		}
		changed := false
		for i := f.Start; i < f.End; i++ {
			masked[i] = true
			changed = changed || out.Text[i] != in[i]
		}
		_, kept := units(in, out.Text, f.Start, f.End, f.Type == TypePassword)
		if !changed && strings.Trim(in[f.Start:f.End], "* ") != "" {
			t.Errorf("Apply(%q): nothing masked in finding %+v", in, f)
		}
		if kept > keepLast {
			t.Errorf("Apply(%q) = %q: %d characters of finding %+v left", in, out.Text, kept, f)
		}
	}
	for i := 0; i < len(in); i++ {
		if out.Text[i] == in[i] {
			continue
		}
		if !masked[i] {
			t.Errorf("Apply(%q).Text = %q: byte %d changed outside a masked finding", in, out.Text, i)
			return
		}
		if c := out.Text[i]; c != '*' && strings.IndexByte(star2+star3, c) < 0 {
			t.Errorf("Apply(%q).Text = %q: byte %d is %q, want a star", in, out.Text, i, c)
			return
		}
	}
}

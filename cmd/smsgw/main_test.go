package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := root()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestConfigCheckListsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("http:\n  addr: nonsense\nlog:\n  level: loud\narchive:\n  backend: tape\n"), 0o600)
	out, err := run(t, "", "config", "check", "--config", path)
	if err == nil || exitCode(err) != 2 {
		t.Fatalf("config check of a bad file: err %v (exit %d), want exit 2", err, exitCode(err))
	}
	for _, key := range []string{"http.addr:", "log.level:", "archive.backend:"} {
		if !strings.Contains(out, key) {
			t.Errorf("output lacks %s:\n%s", key, out)
		}
	}
	good := filepath.Join(t.TempDir(), "good.yaml")
	os.WriteFile(good, []byte("http:\n  addr: 127.0.0.1:9999\n"), 0o600)
	if out, err := run(t, "", "config", "check", "--config", good); err != nil || !strings.Contains(out, "configuration OK") {
		t.Errorf("config check of a good file: %v\n%s", err, out)
	}
}

func TestRedactJSONLines(t *testing.T) {
	in := `{"id": 1, "text": "card 4111 1111 1111 1111 ok", "extra": true}
not json
{"id": "b"}
{"id": "c", "text": "nothing here"}
`
	out, err := run(t, in, "redact")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d output lines, want 4 (one per input):\n%s", len(lines), out)
	}
	if !strings.Contains(lines[0], `"id":1`) || !strings.Contains(lines[0], `**** **** **** 1111`) || !strings.Contains(lines[0], `"verdict":"redacted"`) {
		t.Errorf("line 1 = %s", lines[0])
	}
	if strings.Contains(out, "4111 1111 1111 1111") {
		t.Errorf("raw card number in output")
	}
	if !strings.Contains(lines[1], `"line":2`) || !strings.Contains(lines[2], `"line":3`) {
		t.Errorf("malformed lines not reported with their line numbers:\n%s", out)
	}
	if !strings.Contains(lines[3], `"verdict":"pass"`) || !strings.Contains(lines[3], `"text":"nothing here"`) {
		t.Errorf("line 4 = %s", lines[3])
	}
	plain, err := run(t, "ssn 123-45-6789\nhello\n", "redact", "--plain")
	if err != nil || plain != "ssn ***-**-6789\nhello\n" {
		t.Errorf("plain mode = %q, %v", plain, err)
	}
}

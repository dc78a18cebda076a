package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedactStream(t *testing.T) {
	in := strings.Join([]string{
		`{"id": 1, "text": "card 4111 1111 1111 1111 exp 09/27", "extra": {"x": [1, 2]}}`,
		`{"text": "no id here, ssn 123-45-6789"}`,
		`{"id": "x", "text": 42}`,
		`[1, 2]`,
		`{"id": {"nested": true}, "text": "mail a@example.com"}`,
		``,
		`{"id": 5, "text": "pin 1234", "direction": "sideways"}`,
		`{"id": 6, "text": "card 4111 1111", "conversation": "c1"}`,
		`{"id": 7, "text": "1111 1111 thanks", "conversation": "c1"}`,
		`{"id": 8, "text": "${not json`,
		`{"id": 9, "text": "٤١١١١١١١١١١١١١١١"}`,
	}, "\n")
	out, err := run(t, in, "redact")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{
		`{"id":1,"text":"card **** **** **** 1111 exp **/**","verdict":"redacted","findings":[{"type":"card","start":5,"end":24,"action":"redact"},{"type":"expiry","start":29,"end":34,"action":"redact"}]}`,
		`{"text":"no id here, ssn ***-**-6789","verdict":"redacted","findings":[{"type":"ssn","start":16,"end":27,"action":"redact"}]}`,
		`{"line":3,"error":"malformed JSON: \"text\" must be a string"}`,
		`{"line":4,"error":"malformed JSON: want an object"}`,
		`{"id":{"nested":true},"text":"mail a@example.com","verdict":"pass","findings":[{"type":"email","start":5,"end":18,"action":"flag"}]}`,
		`{"id":5,"line":7,"error":"\"direction\" must be inbound or outbound"}`,
		`{"id":6,"text":"card 4111 1111","verdict":"pass","findings":[]}`,
		`{"id":7,"text":"**** **** thanks","verdict":"redacted","findings":[{"type":"card_split","start":0,"end":9,"action":"redact"}]}`,
		`{"line":10,"error":"malformed JSON at byte 29"}`,
		`{"id":9,"text":"٭٭٭٭٭٭٭٭٭٭٭٭١١١١","verdict":"redacted","findings":[{"type":"card","start":0,"end":32,"action":"redact"}]}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], want[i])
		}
	}
	for _, secret := range []string{"4111 1111 1111 1111", "123-45-6789", "09/27"} {
		if strings.Contains(out, secret) {
			t.Errorf("output holds %q", secret)
		}
	}
}

func TestRedactLongLine(t *testing.T) {
	in := `{"id":1,"text":"` + strings.Repeat("x", maxRedactLine) + `"}` + "\n" + `{"id":2,"text":"ssn 123-45-6789"}` + "\n"
	out, err := run(t, in, "redact")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"line":1`) || !strings.Contains(lines[1], `***-**-6789`) {
		t.Errorf("long line: %.300s", out)
	}
}

func TestRedactPolicyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "smsgw.yaml")
	os.WriteFile(path, []byte(`
http:
  addr: 127.0.0.1:9999
filters:
  policy:
    card: block
  inbound:
    email: redact
  rules:
    - name: employee_id
      pattern: 'EMP-\d{6}'
      action: redact
  lexicon:
    - name: promises
      phrases: ["guaranteed returns"]
      action: flag
`), 0o600)
	in := `{"id":1,"text":"card 4111111111111111"}
{"id":2,"text":"badge EMP-123456, guaranteed returns"}
{"id":3,"text":"a@example.com","direction":"inbound"}
`
	out, err := run(t, in, "redact", "--policy", path)
	if err != nil {
		t.Fatal(err)
	}
	var got []redactOut
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var o redactOut
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, o)
	}
	if len(got) != 3 || got[0].Verdict != "blocked" || got[1].Text != "badge ***-**3456, guaranteed returns" ||
		len(got[1].Findings) != 2 || got[2].Text == "a@example.com" {
		t.Errorf("with the policy file:\n%s", out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("filters:\n  policy:\n    card: redcat\n  rules:\n    - name: x\n      pattern: '('\n      action: flag\n"), 0o600)
	out, err = run(t, "", "redact", "--policy", bad)
	if err == nil || exitCode(err) != 2 || !strings.Contains(out, "filters.policy.card") || !strings.Contains(out, "filters.rules[0].pattern") {
		t.Errorf("bad policy: %v\n%s", err, out)
	}
}

func TestRedactPlain(t *testing.T) {
	out, err := run(t, "card 4111 1111 1111 1111\nhello\n\nssn 123-45-6789", "redact", "--plain", "--direction", "outbound")
	if err != nil || out != "card **** **** **** 1111\nhello\n\nssn ***-**-6789\n" {
		t.Errorf("plain = %q, %v", out, err)
	}
	if _, err := run(t, "", "redact", "--direction", "up"); err == nil || exitCode(err) != 2 {
		t.Errorf("bad --direction: %v", err)
	}
}

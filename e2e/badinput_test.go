package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestBadInput: every malformed request gets its status and JSON error
// code, and messages in flight meanwhile are unaffected.
func TestBadInput(t *testing.T) {
	g := start(t, testConfig(t.TempDir()), nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")

	// Good traffic in parallel with the bad.
	const good = 20
	var wg sync.WaitGroup
	goodIDs := make([]string, good)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range good {
			r := g.call("POST", "/v1/messages", tok, map[string]string{"to": customer, "body": fmt.Sprintf("good %d", i)})
			if r.Status != 202 {
				t.Errorf("good message %d: %d %s", i, r.Status, r.Body)
				continue
			}
			goodIDs[i], _ = r.json(t)["id"].(string)
		}
	}()

	long := strings.Repeat("a", 1601)
	huge := `{"to":"` + customer + `","body":"` + strings.Repeat("b", 70<<10) + `"}`
	cases := []struct {
		name       string
		token      string
		body       any
		hdr        []string
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"no token", "", map[string]string{"to": customer, "body": "x"}, nil, 401, "unauthorized", ""},
		{"bad token", "smsgw_nope", map[string]string{"to": customer, "body": "x"}, nil, 401, "unauthorized", ""},
		{"admin is not an employee", g.Admin, map[string]string{"to": customer, "body": "x"}, nil, 403, "forbidden", ""},
		{"wrong content type", tok, map[string]string{"to": customer, "body": "x"}, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
		{"malformed json", tok, `{"to": "+1415`, nil, 400, "malformed_json", ""},
		{"two objects", tok, `{"to":"+14155550199","body":"a"}{}`, nil, 400, "malformed_json", ""},
		{"unknown field", tok, map[string]string{"to": customer, "body": "x", "bodyy": "y"}, nil, 400, "unknown_field", "bodyy"},
		{"wrong type", tok, `{"to": 14155550199, "body": "x"}`, nil, 400, "invalid_type", "to"},
		{"no plus", tok, map[string]string{"to": "14155550199", "body": "x"}, nil, 400, "invalid_number", "to"},
		{"too short", tok, map[string]string{"to": "+1415", "body": "x"}, nil, 400, "invalid_number", "to"},
		{"letters", tok, map[string]string{"to": "+1415555abcd", "body": "x"}, nil, 400, "invalid_number", "to"},
		{"empty body", tok, map[string]string{"to": customer, "body": ""}, nil, 400, "empty_body", "body"},
		{"blank body", tok, map[string]string{"to": customer, "body": "  \n "}, nil, 400, "empty_body", "body"},
		{"body too long", tok, map[string]string{"to": customer, "body": long}, nil, 400, "body_too_long", "body"},
		{"payload too large", tok, huge, nil, 413, "payload_too_large", ""},
		{"unknown sender", tok, map[string]string{"to": customer, "from": "+14155550999", "body": "x"}, nil, 403, "unknown_sender", "from"},
		{"bad from", tok, map[string]string{"to": customer, "from": "nope", "body": "x"}, nil, 400, "invalid_number", "from"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := c.hdr
			r := g.call("POST", "/v1/messages", c.token, c.body, hdr...)
			if r.Status != c.wantStatus {
				t.Fatalf("status = %d %s, want %d", r.Status, r.Body, c.wantStatus)
			}
			m := r.json(t)
			e, _ := m["error"].(map[string]any)
			if e == nil || e["code"] != c.wantCode || e["message"] == "" {
				t.Fatalf("error = %v, want code %q with a message", m, c.wantCode)
			}
			if c.wantField != "" && e["field"] != c.wantField {
				t.Errorf("error field = %v, want %q", e["field"], c.wantField)
			}
			if strings.Contains(string(r.Body), "14155550199") && c.wantCode != "invalid_number" {
				t.Errorf("error echoes the phone number: %s", r.Body)
			}
		})
	}

	t.Run("idempotency", func(t *testing.T) {
		req := map[string]string{"to": customer, "body": "pay with 4111 1111 1111 1111"}
		r1 := g.call("POST", "/v1/messages", tok, req, "Idempotency-Key", "order-42")
		r2 := g.call("POST", "/v1/messages", tok, req, "Idempotency-Key", "order-42")
		if r1.Status != 202 || r2.Status != 202 {
			t.Fatalf("statuses %d, %d; want 202 twice", r1.Status, r2.Status)
		}
		id1, id2 := r1.json(t)["id"], r2.json(t)["id"]
		if id1 != id2 {
			t.Fatalf("same Idempotency-Key gave ids %v and %v", id1, id2)
		}
		if r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay not marked with Idempotent-Replayed")
		}
		r3 := g.call("POST", "/v1/messages", tok, map[string]string{"to": customer, "body": "something else"}, "Idempotency-Key", "order-42")
		if r3.Status != 409 || r3.errorCode(t) != "idempotency_key_reused" {
			t.Errorf("reused key with another body = %d %s, want 409 idempotency_key_reused", r3.Status, r3.Body)
		}
		g.waitStatus(id1.(string), tok, "delivered")
		n := 0
		for _, s := range g.App.Sandbox.Submitted() {
			if s.Text == "pay with **** **** **** 1111" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("carrier got the idempotent message %d times, want 1", n)
		}
	})

	t.Run("reads", func(t *testing.T) {
		if r := g.call("GET", "/v1/messages/not-an-id", tok, nil); r.Status != 400 || r.errorCode(t) != "invalid_id" {
			t.Errorf("bad id = %d %s", r.Status, r.Body)
		}
		if r := g.call("GET", "/v1/messages/01ARZ3NDEKTSV4RRFFQ69G5FAV", tok, nil); r.Status != 404 || r.errorCode(t) != "message_not_found" {
			t.Errorf("unknown id = %d %s", r.Status, r.Body)
		}
		if r := g.call("GET", "/v1/messages?direction=sideways", tok, nil); r.Status != 400 || r.errorCode(t) != "invalid_direction" {
			t.Errorf("bad direction = %d %s", r.Status, r.Body)
		}
		if r := g.call("GET", "/v1/nope", tok, nil); r.Status != 404 || r.errorCode(t) != "not_found" {
			t.Errorf("unknown endpoint = %d %s", r.Status, r.Body)
		}
	})

	t.Run("admin", func(t *testing.T) {
		if r := g.call("POST", "/v1/numbers", g.Admin, map[string]string{"number": bizNumber}); r.Status != 409 || r.errorCode(t) != "number_exists" {
			t.Errorf("duplicate number = %d %s", r.Status, r.Body)
		}
		if r := g.call("POST", "/v1/numbers", tok, map[string]string{"number": "+14155550111"}); r.Status != 403 {
			t.Errorf("employee adding a number = %d, want 403", r.Status)
		}
		if r := g.call("POST", "/v1/employees", g.Admin, map[string]string{"id": "Bad ID!", "name": "x"}); r.Status != 400 || r.errorCode(t) != "invalid_employee_id" {
			t.Errorf("bad employee id = %d %s", r.Status, r.Body)
		}
		g.mustCall(201, "POST", "/v1/employees", g.Admin, map[string]string{"id": "bob", "name": "Bob"})
		if r := g.call("POST", "/v1/numbers/"+bizNumber+"/assign", g.Admin, map[string]string{"employee_id": "bob"}); r.Status != 409 || r.errorCode(t) != "number_assigned" {
			t.Errorf("assigning a held number = %d %s", r.Status, r.Body)
		}
	})

	wg.Wait()
	for i, id := range goodIDs {
		if id == "" {
			continue
		}
		if m := g.waitStatus(id, tok, "delivered"); m["body"] != fmt.Sprintf("good %d", i) {
			t.Errorf("good message %d body = %v", i, m["body"])
		}
	}
}

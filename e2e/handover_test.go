package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/webhook"
)

// Texts a customer sends while their conversation waits in a queue reach
// the agent who takes it: pushed to the agent's webhook (redacted, route
// "agent", the queue named) and marked delivered — not left "undelivered"
// for an integration that only learns of texts by webhook.
func TestQueuedTextsHandedToAgent(t *testing.T) {
	hits := make(chan webhook.Payload, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p webhook.Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, "bad payload", 400)
			return
		}
		hits <- p
	}))
	defer hook.Close()
	g := start(t, testConfig(t.TempDir()), nil)
	const desk = "+14155550310"
	g.mustCall(201, "POST", "/v1/queues", g.Admin, map[string]any{"id": "desk", "name": "Desk", "wait_message": "Please hold."})
	g.mustCall(201, "POST", "/v1/employees", g.Admin, map[string]string{"id": "ann", "name": "Ann", "webhook_url": hook.URL})
	g.mustCall(200, "PUT", "/v1/queues/desk/agents/ann", g.Admin, map[string]int{"capacity": 1})
	g.mustCall(200, "PUT", "/v1/agents/ann/availability", g.Admin, map[string]bool{"available": false})
	g.mustCall(201, "POST", "/v1/numbers", g.Admin, map[string]string{"number": desk})
	g.mustCall(200, "POST", "/v1/numbers/"+desk+"/release", g.Admin, map[string]any{"queue": "desk"})

	g.textIn(customerA, desk, "Hello, anyone there?")
	waitSubmit(t, g, "the wait message", and(from(desk, customerA), "Please hold"))
	g.textIn(customerA, desk, "my card 4111 1111 1111 1111 was charged twice")
	id := convID(desk, customerA)
	statuses := func() map[string]string {
		c := g.mustCall(200, "GET", "/v1/conversations/"+id, g.Admin, nil)
		out := map[string]string{}
		ms, _ := c["messages"].([]any)
		for _, m := range ms {
			m := m.(map[string]any)
			body, _ := m["body"].(string)
			if m["direction"] == "inbound" && body != "" {
				out[body], _ = m["status"].(string)
			}
		}
		return out
	}
	const redacted = "my card **** **** **** 1111 was charged twice"
	eventually(t, "both texts waiting, undelivered", func() bool {
		s := statuses()
		return s["Hello, anyone there?"] == "undelivered" && s[redacted] == "undelivered"
	})
	select {
	case p := <-hits:
		t.Fatalf("webhook called before an agent took the conversation: %+v", p)
	default:
	}

	// ann becomes available: the conversation is hers, with both texts.
	g.mustCall(200, "PUT", "/v1/agents/ann/availability", g.Admin, map[string]bool{"available": true})
	got := map[string]webhook.Payload{}
	deadline := time.After(60 * time.Second)
	for len(got) < 2 {
		select {
		case p := <-hits:
			got[p.Body] = p
		case <-deadline:
			t.Fatalf("webhook got %d of 2 waiting texts: %+v", len(got), got)
		}
	}
	for _, body := range []string{"Hello, anyone there?", redacted} {
		p, ok := got[body]
		if !ok {
			t.Errorf("waiting text %q not handed over; got %+v", body, got)
			continue
		}
		if p.Route != "agent" || p.Queue != "desk" || p.Conversation != id || p.From != customerA || p.To != desk {
			t.Errorf("handed-over text %q = %+v", body, p)
		}
	}
	for body := range got {
		if strings.Contains(body, "4111 1111") {
			t.Errorf("unredacted card handed over: %q", body)
		}
	}
	eventually(t, "the handed-over texts delivered", func() bool {
		s := statuses()
		return s["Hello, anyone there?"] == "delivered" && s[redacted] == "delivered"
	})
	// Handed over once: a later text goes straight to ann, nothing repeats.
	g.textIn(customerA, desk, "thanks")
	select {
	case p := <-hits:
		if p.Body != "thanks" {
			t.Errorf("after the handover the webhook got %q, want only the new text", p.Body)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the next text did not reach ann's webhook")
	}
}

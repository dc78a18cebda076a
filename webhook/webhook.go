package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// SignatureHeader carries the webhook signature: "t=<unix>,v1=<hex>",
// where v1 = HMAC-SHA256(secret, "<unix>.<body>"). Receivers should
// recompute it, compare in constant time and reject old timestamps.
const SignatureHeader = "Smsgw-Signature"

// Sign returns the SignatureHeader value for body at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Payload is what an employee's webhook receives for an MO text.
type Payload struct {
	Type     string        `json:"type"` // "message.inbound"
	ID       sms.MessageID `json:"id"`
	From     string        `json:"from"`
	To       string        `json:"to"`
	Body     string        `json:"body"` // redacted
	Verdict  sms.Verdict   `json:"verdict"`
	Findings []sms.Finding `json:"findings,omitempty"`
	At       time.Time     `json:"accepted_at"`
	// Conversation is the id to answer through
	// (POST /v1/conversations/{id}/messages); Route says how the text
	// reached this employee (holder, agent, opt_out, help) and Queue the
	// queue of an agent's conversation.
	Conversation string `json:"conversation"`
	Route        string `json:"route,omitempty"`
	Queue        string `json:"queue,omitempty"`
}

// Post signs p with secret and posts it to target. It returns the
// receiver's HTTP status (0 when none came) and an error unless it was 2xx.
// A target the guard refuses whatever its address (credentials, metadata
// names, numeric tricks) is not posted to; client should come from
// NewClient, whose dialer refuses forbidden addresses.
func Post(ctx context.Context, client *http.Client, target, secret string, p Payload) (int, error) {
	if _, err := parseTarget(target); err != nil {
		return 0, fmt.Errorf("checking webhook URL: %w", err)
	}
	body, _ := json.Marshal(p)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("building webhook request: invalid webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "smsgw-webhook/1")
	req.Header.Set("Smsgw-Message-Id", string(p.ID))
	req.Header.Set(SignatureHeader, Sign(secret, time.Now(), body))
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error quotes the URL, which may carry a credential: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("posting webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

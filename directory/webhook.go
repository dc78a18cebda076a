package directory

import (
	"crypto/rand"
	"encoding/base64"
	"net/url"

	"github.com/smsgw/smsgw/sms"
)

// CheckWebhookURL accepts absolute http(s) URLs.
func CheckWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return sms.Errorf(sms.Invalid, "invalid_webhook_url", "webhook_url must be an absolute http or https URL")
	}
	return nil
}

// NewSecret returns a random 32-byte secret, base64url without padding,
// prefixed "whsec_".
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// Package webhook signs and posts inbound texts to an employee's webhook:
// the payload, the Smsgw-Signature header (HMAC-SHA256 over "<unix>.<body>")
// and one POST that reports the receiver's status without ever putting the
// URL (which may hold a credential) or the body in an error. Its Guard keeps
// webhooks off the gateway's own networks (SSRF): public addresses only
// unless allow-listed, checked when a URL is set and again at connect time;
// no credentials in URLs, no redirects.
package webhook

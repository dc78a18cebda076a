// Package webhook signs and posts inbound texts to an employee's webhook:
// the payload, the Smsgw-Signature header (HMAC-SHA256 over "<unix>.<body>")
// and one POST that reports the receiver's status without ever putting the
// URL (which may hold a credential) or the body in an error.
package webhook

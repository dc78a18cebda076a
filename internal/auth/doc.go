// Package auth issues and checks API bearer tokens. Only the SHA-256 of a
// token is stored (JetStream KV bucket "tokens"); the token itself is shown
// once, when it is issued. A token carries roles: admin (numbers,
// employees, tokens), compliance (read any message) and employee (send and
// read their own messages).
package auth

// Package e2e holds whole-system tests: a real gateway (internal/app) on
// embedded NATS JetStream, a real MinIO with Object Lock, and the SMSC
// simulator speaking SMPP over loopback. The tests drive it only through
// its public edges (HTTP API, SMPP) and inspect the archive and the disk.
package e2e

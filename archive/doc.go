// Package archive is smsgw's immutable record of every message: records
// (redacted messages and status events) batched into compressed segment
// objects, each record carrying its RFC 6962 leaf hash and each segment
// the root over its records, written put-if-absent to a Store: S3 with
// Object Lock in COMPLIANCE mode (production) or a local directory
// (development only: not WORM).
package archive

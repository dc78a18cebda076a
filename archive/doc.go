// Package archive is smsgw's immutable record of every message, status
// event and audit entry: records batched into compressed segment objects,
// each record carrying its RFC 6962 leaf hash and each segment its
// position in one append-only Merkle log (Tree) and the root over its
// records; signed checkpoints of the log (Checkpoint, Signer: Ed25519 in
// the C2SP signed-note format) as objects of their own; Verify, which
// proves the archive complete and unchanged; and the Object Lock
// conformance suite (S3Store.CheckConformance). Everything is written
// put-if-absent to a Store: S3 with Object Lock in COMPLIANCE mode
// (production) or a local directory (development only: not WORM).
package archive

// Package compliance holds the archive's services for compliance officers
// that act on the store: legal holds per matter (S3 legal holds switched
// by reference counting, so one matter's release never frees another's)
// and evidence bundles (signed manifests, audited). Reads go through the
// read model; every action is an audit entry through a Journal.
package compliance

package archive

import "time"

// Audit entry types.
const (
	AuditAction     = "audit"      // a compliance or admin action: search, view, export, review, hold, ...
	AuditAssignment = "assignment" // a number assignment change
)

// AuditEntry is an audit-trail or number-assignment record appended to the
// archive log by other components (through app.Journal). Like every
// record it must never hold a message body or a secret; parameters are
// the query or change, results are summarised by count and hash.
type AuditEntry struct {
	ID     string            `json:"id"`   // ULID naming the entry; unique (the journal assigns one when empty)
	Type   string            `json:"type"` // AuditAction or AuditAssignment
	At     time.Time         `json:"at"`
	Actor  string            `json:"actor"`            // who: token name, user, employee id or "system"
	Action string            `json:"action"`           // what: "search", "export", "legal_hold.place", "number.assign", ...
	Params map[string]string `json:"params,omitempty"` // the query or the change (numbers in full are allowed, bodies never)
	// ResultCount and ResultHash (hex SHA-256) summarise what the action
	// returned (searches, views, exports).
	ResultCount int    `json:"result_count,omitempty"`
	ResultHash  string `json:"result_hash,omitempty"`
}

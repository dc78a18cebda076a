package sms

import "time"

// Direction says which way a message travels relative to the company.
type Direction string

const (
	// Outbound is mobile-terminated (MT): an employee texts a customer.
	Outbound Direction = "outbound"
	// Inbound is mobile-originated (MO): a customer texts a business number.
	Inbound Direction = "inbound"
)

// Valid reports whether d is one of the known directions.
func (d Direction) Valid() bool { return d == Outbound || d == Inbound }

// Source says through which edge a message entered the gateway.
type Source string

const (
	SourceHTTP    Source = "http"    // POST /v1/messages
	SourceSMPP    Source = "smpp"    // submit_sm on our SMPP server
	SourceCarrier Source = "carrier" // deliver_sm from a carrier SMSC we are bound to
	SourceAuto    Source = "auto"    // an auto-reply the gateway sends from a business number (menu, wait, opt-out, HELP)
)

// Message is one SMS (after multipart reassembly) as it travels the
// pipeline. Body is the raw text on INGRESS and the redacted text from the
// filter stage on; nothing downstream of the filter ever sees the raw text.
type Message struct {
	ID        MessageID `json:"id"`
	Direction Direction `json:"direction"`
	From      Number    `json:"from"`
	To        Number    `json:"to"`
	Body      string    `json:"body"`

	// EmployeeID is the employee holding the business number when the
	// message was accepted (the sender for outbound, the recipient for
	// inbound); empty when nobody holds it.
	EmployeeID string `json:"employee_id,omitempty"`
	// Carrier is the name of the carrier route (outbound: where it goes;
	// inbound: where it came from).
	Carrier string `json:"carrier,omitempty"`
	Source  Source `json:"source"`
	// AcceptedAt is when the gateway persisted the message at ingress.
	AcceptedAt time.Time `json:"accepted_at"`
	// Incomplete marks a concatenated text some of whose parts never
	// arrived: it is filtered and archived as far as it got.
	Incomplete bool `json:"incomplete,omitempty"`
	// Route says how an inbound text was routed at ingress: "holder",
	// "agent", "queued", "menu", "held", "opt_out", "opt_in", "help"; for
	// an auto-reply (Source auto), which one: "greeting", "reprompt",
	// "wait", "auto_reply", "opt_out", "opt_in", "help". Queue names the
	// queue of a conversation routed to one.
	Route string `json:"route,omitempty"`
	Queue string `json:"queue,omitempty"`

	// Set by the filter stage.
	Verdict  Verdict   `json:"verdict,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
	// Set by the archive stage.
	ArchivedAt time.Time `json:"archived_at,omitzero"`
	Segment    string    `json:"segment,omitempty"`
}

// BusinessNumber is the company's side of the conversation.
func (m *Message) BusinessNumber() Number {
	if m.Direction == Inbound {
		return m.To
	}
	return m.From
}

// CustomerNumber is the other party.
func (m *Message) CustomerNumber() Number {
	if m.Direction == Inbound {
		return m.From
	}
	return m.To
}

// Action is what policy does with a finding.
type Action string

const (
	ActionRedact Action = "redact" // replace the value, keep at most the last four characters
	ActionBlock  Action = "block"  // the whole message is not delivered
	ActionFlag   Action = "flag"   // record the finding, leave the text alone
)

// Valid reports whether a is a known action.
func (a Action) Valid() bool { return a == ActionRedact || a == ActionBlock || a == ActionFlag }

// Verdict is the filter stage's decision for a whole message.
type Verdict string

const (
	VerdictPass     Verdict = "pass"
	VerdictRedacted Verdict = "redacted"
	VerdictBlocked  Verdict = "blocked"
)

// Finding records that a detector matched. It never carries the matched
// value: only what it was and where (byte offsets into the text the filter
// was given).
type Finding struct {
	Type   string `json:"type"` // e.g. "card", "ssn"
	Start  int    `json:"start"`
	End    int    `json:"end"`
	Action Action `json:"action"`
}

// Status is a step in a message's life.
type Status string

const (
	StatusAccepted    Status = "accepted"    // persisted at ingress
	StatusFiltered    Status = "filtered"    // passed the filter (possibly redacted)
	StatusBlocked     Status = "blocked"     // policy blocked it; it will not be delivered
	StatusArchived    Status = "archived"    // committed to the archive
	StatusSent        Status = "sent"        // carrier accepted it (submit_sm_resp OK) / MO handed to the employee
	StatusDelivered   Status = "delivered"   // delivery receipt DELIVRD / webhook 2xx
	StatusFailed      Status = "failed"      // carrier or receipt reported failure
	StatusDeadLetter  Status = "dead_letter" // parked after repeated errors; never delivered raw
	StatusUndelivered Status = "undelivered" // inbound with no employee to deliver to (kept in archive)
	StatusRefused     Status = "refused"     // not accepted: the recipient opted out (Detail recipient_opted_out)
	// StatusUnconfirmed: the submit_sm was written to the carrier but never
	// answered (bind lost, no response in time; Detail says which). The
	// carrier may have the text; it is not sent again.
	StatusUnconfirmed Status = "unconfirmed"
	// StatusResubmitted: the gateway crashed while this text's submit_sm
	// may have been on the wire; it was submitted once more after the
	// restart, so the customer may have received it twice.
	StatusResubmitted Status = "resubmitted_after_crash"
)

// Directory and routing changes are events too (on EVENTS, archived as the
// audit trail). Their MessageID is a fresh ULID naming the change, Actor
// says who made it and Attrs what changed.
const (
	StatusNumberAdded          Status = "number_added"
	StatusNumberUpdated        Status = "number_updated"
	StatusNumberAssigned       Status = "number_assigned"
	StatusNumberReleased       Status = "number_released"
	StatusNumberReassigned     Status = "number_reassigned"
	StatusNumberQuarantined    Status = "number_quarantined"
	StatusNumberRetired        Status = "number_retired"
	StatusNumberRestored       Status = "number_restored"
	StatusNumbersImported      Status = "numbers_imported"
	StatusEmployeeCreated      Status = "employee_created"
	StatusEmployeeUpdated      Status = "employee_updated"
	StatusEmployeeOffboarded   Status = "employee_offboarded"
	StatusEmployeesImported    Status = "employees_imported"
	StatusOptedOut             Status = "opted_out"
	StatusOptedIn              Status = "opted_in"
	StatusQueueUpdated         Status = "queue_updated"
	StatusQueueDeleted         Status = "queue_deleted"
	StatusMenuUpdated          Status = "menu_updated"
	StatusAgentUpdated         Status = "agent_updated"
	StatusConversationQueued   Status = "conversation_queued"
	StatusConversationAssigned Status = "conversation_assigned"
	StatusConversationClosed   Status = "conversation_closed"
	StatusConversationHeld     Status = "conversation_held"
	StatusConversationMenu     Status = "conversation_menu"
	StatusConversationReturned Status = "conversation_returned"
	// StatusReviewed shares a supervisory review (reviewer in Actor,
	// action in Detail, comment in Attrs["comment"]) with every node's
	// index; it is not a status of the message.
	StatusReviewed Status = "reviewed"
)

// Final reports whether no later status is expected.
func (s Status) Final() bool {
	switch s {
	case StatusBlocked, StatusDelivered, StatusFailed, StatusDeadLetter, StatusUndelivered, StatusUnconfirmed:
		return true
	}
	return false
}

// Event is a status change of a message, or a directory or routing change
// (see Actor and Attrs). It never carries a body; only directory events'
// Attrs may name numbers in full.
type Event struct {
	// ID names the event: the same event published or archived twice is
	// one event (archive verify checks that each id is archived once). It
	// is set when the event is published: message id, status and detail
	// for status events.
	ID        string    `json:"id,omitempty"`
	MessageID MessageID `json:"message_id"`
	Status    Status    `json:"status"`
	At        time.Time `json:"at"`
	// Detail is a short machine-readable reason (error code, receipt stat).
	Detail string `json:"detail,omitempty"`
	// CarrierIDs are the carrier's message IDs, one per SMS part (sent).
	CarrierIDs []string `json:"carrier_ids,omitempty"`
	// Actor is who made a directory or routing change: a token name, an
	// employee id, or "system".
	Actor string `json:"actor,omitempty"`
	// Attrs describe a directory or routing change (number, employee_id,
	// from/to state, queue, policy, ...). They may hold business numbers
	// and, for opt-outs, the customer's number in full: these events are
	// the audit trail kept in the archive. They are never logged.
	Attrs map[string]string `json:"attrs,omitempty"`
}

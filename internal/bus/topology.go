package bus

import "time"

// Streams. The flow (see ARCHITECTURE.md):
//
//	INGRESS (work queue, raw) -> filter -> FILTERED (work queue, redacted) -> archive
//	-> ARCHIVED (limits, redacted) -> deliver-mt / deliver-mo / index
//	EVENTS (status events) -> index;  RECEIPTS (work queue) -> receipts -> EVENTS
//	DEAD (dead letters: metadata only, never a body)
const (
	StreamIngress  = "INGRESS"
	StreamFiltered = "FILTERED"
	StreamArchived = "ARCHIVED"
	StreamEvents   = "EVENTS"
	StreamReceipts = "RECEIPTS"
	StreamDead     = "DEAD"
)

// Subjects. The last token of ingress/filtered/archived subjects is the
// direction ("outbound" or "inbound"); of events, the status.
const (
	SubjIngress         = "smsgw.ingress."
	SubjIngressOutbound = "smsgw.ingress.outbound"
	SubjIngressInbound  = "smsgw.ingress.inbound"
	SubjFiltered        = "smsgw.filtered."
	SubjArchived        = "smsgw.archived."
	SubjArchivedOut     = "smsgw.archived.outbound"
	SubjArchivedIn      = "smsgw.archived.inbound"
	SubjEvents          = "smsgw.events."
	SubjReceipts        = "smsgw.receipts"
	SubjDead            = "smsgw.dead."
)

// Durable consumer names.
const (
	ConsumerFilter    = "filter"
	ConsumerArchive   = "archive"
	ConsumerDeliverMT = "deliver-mt"
	ConsumerDeliverMO = "deliver-mo"
	ConsumerReceipts  = "receipts"
	ConsumerSMPPDLR   = "smpp-receipts"
	ConsumerSMPPMO    = "smpp-mo"
	// ConsumerIndexPrefix + node name: each node keeps its own read model.
	ConsumerIndexPrefix = "index-"
)

// KV buckets.
const (
	BucketNumbers     = "numbers"       // business number (digits) -> numbers.Number
	BucketEmployees   = "employees"     // employee id -> numbers.Employee
	BucketTokens      = "tokens"        // sha256(token) hex -> auth.Token
	BucketIdempotency = "idempotency"   // employee.sha256(key) -> message id + request hash
	BucketCarrierIDs  = "carrier_ids"   // carrier.normalised id -> message id, part
	BucketArchiveIDs  = "archive_ids"   // message id -> segment key holding its record
	BucketSMPPReceipt = "smpp_receipts" // message id -> SMPP account awaiting its receipt; mo.<id>.<system_id> -> MO delivered to that platform
	BucketSMPPParts   = "smpp_parts"    // group -> smppserver.PartGroup; group.seq -> part text (sealed with the ingress key)
	BucketLegalHolds  = "legal_holds"   // m.<matter> -> archive.Matter; s.<hash of segment key> -> matters holding it
	// Business numbers (issue 6).
	BucketOptOuts       = "optouts"       // customer digits -> numbers.OptOut
	BucketQueues        = "queues"        // q.<id> -> Queue, a.<employee> -> Agent, m.<number digits> -> Menu
	BucketConversations = "conversations" // <business digits>.<customer digits> -> numbers.Conversation
)

// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id. It must
// exceed the longest time between a publish and its retry (AckWait times
// MaxDeliver backoff of the stage that republishes).
const DuplicateWindow = 30 * time.Minute

type streamSpec struct {
	name      string
	subjects  []string
	workQueue bool
	maxAge    time.Duration
}

var streams = []streamSpec{
	{StreamIngress, []string{SubjIngress + ">"}, true, 0},
	{StreamFiltered, []string{SubjFiltered + ">"}, true, 0},
	{StreamArchived, []string{SubjArchived + ">"}, false, 7 * 24 * time.Hour},
	{StreamEvents, []string{SubjEvents + ">"}, false, 30 * 24 * time.Hour},
	{StreamReceipts, []string{SubjReceipts}, true, 0},
	{StreamDead, []string{SubjDead + ">"}, false, 90 * 24 * time.Hour},
	{StreamJournal, []string{SubjJournal + ">"}, true, 0},
}

// erasableBuckets hold raw text for a while; their entries are erased
// with SecureDelete (on the bucket's stream, KV_<name>) once used.
var erasableBuckets = map[string]bool{BucketSMPPParts: true}

type bucketSpec struct {
	name string
	ttl  time.Duration
	hist uint8
}

var buckets = []bucketSpec{
	{BucketNumbers, 0, 10},
	{BucketEmployees, 0, 10},
	{BucketTokens, 0, 1},
	{BucketIdempotency, 24 * time.Hour, 1},
	{BucketCarrierIDs, 7 * 24 * time.Hour, 1},
	{BucketArchiveIDs, 30 * 24 * time.Hour, 1}, // must outlive any redelivery of FILTERED
	{BucketArchiveLog, 0, 1},
	{BucketSMPPReceipt, 7 * 24 * time.Hour, 1},
	{BucketSMPPParts, 7 * 24 * time.Hour, 1},
	{BucketLegalHolds, 0, 5},
	{BucketOptOuts, 0, 10},
	{BucketQueues, 0, 5},
	{BucketConversations, 0, 1},
}

// The archive's Merkle log: every record (messages from FILTERED, events
// from EVENTS, audit entries from JOURNAL) gets a log index; segments are
// consecutive ranges of the log.
const (
	StreamJournal          = "JOURNAL"         // audit and number-assignment entries waiting for the archive (work queue)
	SubjJournal            = "smsgw.journal."  // + entry type ("audit", "assignment")
	ConsumerArchiveEvents  = "archive-events"  // EVENTS -> event segments
	ConsumerArchiveJournal = "archive-journal" // JOURNAL -> audit segments
	// BucketArchiveLog holds "head" (next free log index and the segments
	// not yet folded into the tree, with their state) and "tree" (the
	// tree over every written segment and the last signed checkpoint).
	BucketArchiveLog = "archive_log"
)

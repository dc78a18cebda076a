package pipeline

import (
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/archive/merklelog"
	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/filters"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/webhook"
)

// Deps is what the stages of a node need; internal/app fills it in.
type Deps struct {
	Bus    *bus.Bus
	Codec  *Codec // seals and opens INGRESS bodies
	Chain  *filters.Chain
	Log    *merklelog.Log // the archive's Merkle log
	Dir    *directory.Directory
	Index  *readmodel.Index
	Logger *slog.Logger

	Carriers       map[string]Carrier // MT routes by name
	DefaultCarrier string
	SMPP           PlatformServer // nil: no SMPP server, no smpp-* stages

	Node              string // names this node's read-model consumers
	MaxDeliver        int    // filter and MT attempts before failing closed / failing
	SegmentMaxRecords int
	SegmentMaxAge     time.Duration
	ReceiptWait       time.Duration // how long a receipt may wait for its submit's record
	WebhookTimeout    time.Duration
	WebhookAttempts   int
	WebhookAllow      []string // networks (CIDRs) webhooks may reach besides public addresses
}

// Flow is the node's message flow: every stage, its input stream and
// durable consumer, its handler and where its outputs go — in the order a
// message travels (ARCHITECTURE.md draws the same table). Each stage only
// returns results; Settle publishes outputs, erases, acks, naks and
// dead-letters for all of them.
//
//	stage            input (filter)                 outputs            handler
//	filter           INGRESS                        FILTERED, EVENTS   filterStage: redact / block / flag (fail closed)
//	archive          FILTERED                       ARCHIVED, EVENTS   archiveStage: segment + Merkle log, then forward
//	deliver-mt       ARCHIVED (outbound)            EVENTS, DEAD       mtStage: submit_sm to the carrier (intent first)
//	deliver-mo       ARCHIVED (inbound)             EVENTS             moStage: webhook or inbox of the text's recipient
//	smpp-mo          ARCHIVED (inbound)             -                  smppMOStage: deliver_sm to platform binds
//	conversations    ARCHIVED                       -                  convStage: file into the conversation
//	index-<node>-*   ARCHIVED, EVENTS               -                  indexer: this node's read model
//	receipts         RECEIPTS                       EVENTS             receiptStage: carrier receipts -> delivered/failed
//	smpp-receipts    EVENTS (final statuses)        -                  smppReceiptStage: receipts to platform binds
//	handover         EVENTS (conversation_assigned) EVENTS             handoverStage: queued texts to the agent
//	archive-events   EVENTS                         -                  recordStage: events into the Merkle log
//	archive-journal  JOURNAL                        -                  recordStage: audit entries into the Merkle log
func Flow(d Deps) []Stage {
	log := d.Logger
	fs := &filterStage{codec: d.Codec, chain: d.Chain, maxDeliver: d.MaxDeliver, log: log.With("stage", bus.ConsumerFilter)}
	as := &archiveStage{alog: d.Log, maxRecords: d.SegmentMaxRecords, maxAge: d.SegmentMaxAge, log: log.With("stage", bus.ConsumerArchive)}
	mt := &mtStage{carriers: d.Carriers, defaultCarrier: d.DefaultCarrier, ids: d.Bus.KV(bus.BucketCarrierIDs), maxDeliver: d.MaxDeliver, log: log.With("stage", bus.ConsumerDeliverMT)}
	mo := &moStage{dir: d.Dir, client: webhook.NewClient(d.WebhookTimeout, webhook.NewGuard(d.WebhookAllow)), maxAttempts: d.WebhookAttempts, log: log.With("stage", bus.ConsumerDeliverMO)}
	rs := &receiptStage{ids: d.Bus.KV(bus.BucketCarrierIDs), receiptWait: d.ReceiptWait, log: log.With("stage", bus.ConsumerReceipts)}
	ix := &indexer{idx: d.Index, node: d.Node, log: log.With("stage", "index")}
	cs := &convStage{dir: d.Dir, log: log.With("stage", ConsumerConversations)}
	hs := &handoverStage{mo: mo, idx: d.Index, log: log.With("stage", ConsumerHandover)}

	stages := []Stage{fs.stage(), as.stage(), mt.stage(), mo.stage()}
	if d.SMPP != nil {
		stages = append(stages, (&smppMOStage{srv: d.SMPP, done: d.Bus.KV(bus.BucketSMPPReceipt), log: log.With("stage", bus.ConsumerSMPPMO)}).stage())
	}
	stages = append(stages, cs.stage(), ix.messagesStage(), ix.eventsStage(), rs.stage())
	if d.SMPP != nil {
		stages = append(stages, (&smppReceiptStage{srv: d.SMPP, pending: d.Bus.KV(bus.BucketSMPPReceipt), log: log.With("stage", bus.ConsumerSMPPDLR)}).stage())
	}
	stages = append(stages, hs.stage())
	return append(stages, eventArchiveStage(d).stage(), journalArchiveStage(d).stage())
}

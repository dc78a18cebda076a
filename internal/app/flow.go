package app

import (
	"net/http"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/pipeline"
)

// flow is the node's message flow: every stage, its input stream and
// durable consumer, its handler and where its outputs go — in the order a
// message travels (ARCHITECTURE.md draws the same table). Each stage only
// returns results; pipeline.Settle publishes outputs, erases, acks, naks
// and dead-letters for all of them.
//
//	stage            input (filter)                 outputs            handler
//	filter           INGRESS                        FILTERED, EVENTS   filterStage: redact / block / flag (fail closed)
//	archive          FILTERED                       ARCHIVED, EVENTS   archiveStage: segment + Merkle log, then forward
//	deliver-mt       ARCHIVED (outbound)            EVENTS, DEAD       mtStage: submit_sm to the carrier (intent first)
//	deliver-mo       ARCHIVED (inbound)             EVENTS             moStage: webhook or inbox of who the router chose
//	smpp-mo          ARCHIVED (inbound)             -                  smppMOStage: deliver_sm to platform binds
//	conversations    ARCHIVED                       -                  convStage: file into the conversation
//	index-<node>-*   ARCHIVED, EVENTS               -                  indexer: this node's read model
//	receipts         RECEIPTS                       EVENTS             receiptStage: carrier receipts -> delivered/failed
//	smpp-receipts    EVENTS (final statuses)        -                  smppReceiptStage: receipts to platform binds
//	handover         EVENTS (conversation_assigned) EVENTS             handoverStage: queued texts to the agent
//	archive-events   EVENTS                         -                  recordStage: events into the Merkle log
//	archive-journal  JOURNAL                        -                  recordStage: audit entries into the Merkle log
func (a *App) flow(carriers map[string]Carrier) []pipeline.Stage {
	fs := &filterStage{bus: a.Bus, codec: a.Ingress.codec, chain: a.Chain, maxDeliver: a.cfg.Pipeline.MaxDeliver, log: a.log.With("stage", bus.ConsumerFilter)}
	as := &archiveStage{bus: a.Bus, alog: a.alog, maxRecords: a.cfg.Archive.SegmentMaxRecords, maxAge: a.cfg.Archive.SegmentMaxAge, log: a.log.With("stage", bus.ConsumerArchive)}
	mt := &mtStage{bus: a.Bus, carriers: carriers, defaultCarrier: a.defaultCarrier(), ids: a.Bus.KV(bus.BucketCarrierIDs), maxDeliver: a.cfg.Pipeline.MaxDeliver, log: a.log.With("stage", bus.ConsumerDeliverMT)}
	mo := &moStage{bus: a.Bus, dir: a.Directory, client: &http.Client{Timeout: a.cfg.Webhook.Timeout}, maxAttempts: a.cfg.Webhook.MaxAttempts, log: a.log.With("stage", bus.ConsumerDeliverMO)}
	rs := &receiptStage{bus: a.Bus, ids: a.Bus.KV(bus.BucketCarrierIDs), receiptWait: a.cfg.Pipeline.ReceiptWait, log: a.log.With("stage", bus.ConsumerReceipts)}
	ix := &indexer{idx: a.Index, node: a.cfg.Node, log: a.log.With("stage", "index")}
	cs := &convStage{dir: a.Directory, log: a.log.With("stage", ConsumerConversations)}
	hs := &handoverStage{mo: mo, idx: a.Index, log: a.log.With("stage", ConsumerHandover)}

	stages := []pipeline.Stage{fs.stage(), as.stage(), mt.stage(), mo.stage()}
	if a.SMPP != nil {
		stages = append(stages, (&smppMOStage{srv: a.SMPP, log: a.log.With("stage", bus.ConsumerSMPPMO)}).stage())
	}
	stages = append(stages, cs.stage(), ix.messagesStage(), ix.eventsStage(), rs.stage())
	if a.SMPP != nil {
		stages = append(stages, (&smppReceiptStage{srv: a.SMPP, pending: a.Bus.KV(bus.BucketSMPPReceipt), log: a.log.With("stage", bus.ConsumerSMPPDLR)}).stage())
	}
	stages = append(stages, hs.stage())
	return append(stages, a.archiveStages()...)
}

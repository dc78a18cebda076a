// Package pipeline is the message flow of a gateway node: one table of
// stages (input stream -> durable consumer -> handler -> outputs, see
// flow.go in internal/app and ARCHITECTURE.md) and the one mechanism that
// settles what the stages handled.
//
// A stage's handler never acks, naks or terms a message. It returns one
// Result per input — what to publish (outputs, status events), whether the
// input's raw bytes are erased, and an Outcome (done, retry, dead) — and
// Settle does the rest in one order that every stage shares:
//
//  1. publish every output, status event and dead letter of the batch and
//     wait until JetStream has persisted them (Nats-Msg-Id makes a retry
//     publish them once);
//  2. an input whose outputs did not all persist is retried;
//  3. erase (overwrite in the stream's files) the inputs that asked for it;
//  4. ack the done inputs, term the dead ones, nak the retried ones with
//     their delay; the last ack of a batch waits for the server's
//     confirmation, so when Settle returns no done input can come back.
//
// Consume (in internal/bus) keeps every fetched message "in progress" on
// the server until Settle has run, so a slow handler (an archive PUT, a
// carrier window) never has its messages redelivered behind its back.
package pipeline

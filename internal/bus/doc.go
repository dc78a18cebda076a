// Package bus is the only package that imports nats.go. It runs the
// embedded NATS JetStream server, declares the pipeline's streams and KV
// buckets (topology.go: every stream and subject name is a constant there),
// and gives the stages two primitives: a batch consumer with explicit
// ack/nak/term, and a batch publisher that waits for JetStream's PubAck and
// sets Nats-Msg-Id so retries are de-duplicated.
package bus

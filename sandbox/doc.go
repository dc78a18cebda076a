// Package smsc is the built-in sandbox carrier: an SMSC simulator speaking
// real SMPP 3.4 over TCP, built on the gateway's own session layer. It
// accepts binds, acks submit_sm with a message_id, returns delivery
// receipts when asked, and can deliver MO texts to a bound ESME. `smsgw
// serve` runs it on loopback so the gateway works end to end with no
// carrier; the tests use it as their carrier.
package sandbox

// Command smsgw is the gateway's one binary: `smsgw serve` runs a node;
// the other commands manage numbers, employees and tokens through the
// HTTP API, check configuration, redact text and benchmark a gateway.
package main

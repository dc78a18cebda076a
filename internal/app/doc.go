// Package app wires smsgw together and runs it: the bus, the directory,
// the pipeline stages (filter, archive, deliver-mt, deliver-mo, receipts),
// the read model, the carrier binds, the sandbox SMSC and the HTTP API,
// all under one errgroup with a written-down shutdown order (app.go).
package app

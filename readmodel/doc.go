// Package index is a node's read model of the archive: a SQLite database
// (pure Go, modernc.org/sqlite) fed from the ARCHIVED and EVENTS streams,
// answering "show me this message and its status history" and "list my
// inbound messages". It holds only redacted bodies and can always be
// rebuilt from the archive, so losing it loses nothing.
package readmodel

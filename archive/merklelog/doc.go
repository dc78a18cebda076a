// Package merklelog is the archive's write protocol: how every node puts
// records (messages, events, audit entries) into the one global Merkle
// log — reserve positions by compare-and-set on the log head, PUT the
// segment put-if-absent, seal abandoned reservations void, fold written
// segments into the tree and sign checkpoints — and how long each segment
// is locked (retention classes). Its state lives in two key-value buckets
// (kv.Bucket); it imports no node wiring and no bus.
package merklelog

// Package sms is the vocabulary of smsgw: phone numbers, message IDs,
// directions, messages, findings, status events and error kinds.
//
// It has no dependencies on the rest of the project and no I/O. Every other
// package speaks in these types, so a Number is always E.164, a MessageID is
// always a ULID, and an error always carries a Kind that maps to one HTTP
// status and one SMPP command_status (see errors.go).
package sms

// Package filters is smsgw's redaction engine: pure detection and policy,
// no I/O.
//
// New compiles a Config (the policy: an action per finding type, and the
// detectors switched off) into a Chain once, at startup. Chain.Apply(text)
// returns an Outcome: the redacted text, a verdict (pass, redacted or
// blocked) and the findings — type, byte offsets into the input, action —
// never the sensitive value itself. ApplySafe turns a detector panic into
// an error so the filter stage fails closed.
//
// Detectors implement the Detector interface and are listed in one table
// of built-ins (registry.go); the chain knows nothing about any of them, so
// a new detector (IBAN, CVV, operator rules) is a new file and one table
// row. The built-in detectors are hand-written scanners, not regular
// expressions: one digit-run scanner (scan.go) that joins digit groups
// across the separators people type (spaces, no-break and zero-width
// spaces, dashes, dots, slashes, commas, line breaks), and validators on
// top of it:
//
//   - card (card.go): payment card numbers, Luhn (luhn.go) and issuer
//     prefix and length; sub-windows of a run that swallowed a neighbouring
//     number; digits glued to letters;
//   - ssn (ssn.go): US Social Security numbers, formatted, or bare with a
//     context word before them.
//
// Masking (redact.go) replaces each digit and letter of a value with '*'
// except the last four, keeping separators, so "4111 1111 1111 1111"
// becomes "**** **** **** 1111" and offsets and UTF-8 stay valid.
//
// Scanning a text that holds nothing sensitive allocates nothing.
package filters

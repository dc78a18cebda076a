// Package filters is smsgw's redaction engine: pure detection and policy,
// no I/O. filters.New compiles a Config into a Chain once; Chain.Apply(text)
// returns the redacted text, a verdict (pass, redacted, blocked) and the
// findings (type, byte offsets into the input, action) — never the
// sensitive value itself.
//
// Built-in detectors are hand-written scanners (a digit-run scanner plus
// validators), not regular expressions: they are an order of magnitude
// faster and allocate nothing when nothing is found. New detectors plug in
// through the Detector interface without touching the pipeline.
package filters

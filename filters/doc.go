// Package filters is smsgw's redaction engine: pure detection and policy,
// no I/O.
//
// New compiles a Config (an action per finding type and per direction,
// the types switched off, operator rules and lexicon) into a Chain once,
// at startup. Chain.For(direction) picks the inbound or outbound policy;
// Chain.Apply(text) returns an Outcome: the masked text, a verdict (pass,
// redacted or blocked) and the findings — type, byte offsets into the
// input, action — never the sensitive value itself. ApplySafe turns a
// detector panic or an operator rule that timed out into an error so the
// filter stage fails closed; Apply itself fails closed (blocked, all
// masked).
//
// The built-in detectors (DetectorNames; one table in chain.go) are
// hand-written scanners, not regular expressions. They run over a view of
// the text (normalize.go) in which digits of every script are ASCII and
// digit words mixed with numerals ("4539 1488 zero three ...") are
// digits, with a map back to the input. One digit-run scanner (scan.go)
// joins digit groups across the separators people type (spaces, no-break
// and zero-width spaces, dashes, dots, slashes, commas, line breaks), and
// validators sit on top of it:
//
//   - card (card.go, cardextra.go): payment card numbers, Luhn (luhn.go)
//     and brand prefix and length, sub-windows of a run that swallowed a
//     neighbouring number, digits glued to letters or to the expiry date;
//     then magnetic-stripe track data, or the expiry date and security
//     code written next to the card;
//   - nine-digit (ssn.go): US SSNs and ITINs, Canadian SINs with context;
//   - iban (iban.go), uk_nin (nino.go);
//   - context (context.go, dob.go): values only a keyword before them makes
//     sensitive — CVV, PIN, expiry, bank account, routing number,
//     passport, driver's licence, date of birth, password;
//   - phone and email (contact.go), flagged by default.
//
// Operator rules (rules.go) are regexp2 patterns with a match timeout and
// lexicon phrases. Conversations (conversation.go) catches a card number
// split across two consecutive messages of a conversation.
//
// Masking (redact.go) replaces each character of a value with '*' —
// keeping the last four of a long identifier, none of a code, a date or a
// credential — so "4111 1111 1111 1111" becomes "**** **** **** 1111";
// the masked text has the length of the input.
//
// Scanning a text that holds nothing sensitive allocates nothing. The
// labelled corpus of internal/corpus measures what leaks and what is
// altered, per entity (corpus_test.go).
package filters

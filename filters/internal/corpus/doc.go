// Package corpus generates a labelled corpus of SMS texts for measuring
// the redaction engine: texts holding secrets of every entity the default
// policy redacts, written in every format and trap people produce
// (separators, glued words, URLs, digits of other scripts, spelled
// digits), values that must only be flagged (email addresses, phone
// numbers), and look-alikes that must be left alone (tracking numbers,
// order numbers, one-time codes, amounts, dates, IMEI, ICCID, ISBN,
// timestamps, masked numbers).
//
// Every message carries the byte spans of what it holds, with a kind and
// a format, so a test can score per entity what leaked and what was
// altered. The generator is deterministic for a seed and independent of
// package filters: it has its own Luhn, brand table, IBAN, ABA and SIN
// arithmetic.
package corpus

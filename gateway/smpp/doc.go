// Package smpp is smsgw's SMPP 3.4 layer: a PDU codec for the operations
// we speak, one Session (framing, sequence numbers, responses matched by
// command_id AND sequence number, a window of outstanding requests,
// enquire_link, generic_nack, unbind) used by both our ESME client and our
// servers, the GSM 03.38 / UCS-2 / Latin-1 text codecs with concatenation,
// and delivery-receipt parsing.
package smpp

package smpp

import (
	"strings"
)

// ParseDataSM decodes a data_sm body (SMPP 3.4 §4.7.1) into an SM: data_sm
// has no short_message, its text travels in the message_payload TLV, which
// is moved into ShortMessage so callers treat both alike.
func ParseDataSM(body []byte) (SM, error) {
	r := &reader{b: body}
	var m SM
	m.ServiceType = r.cstring(6)
	m.SrcTON, m.SrcNPI = r.byte1(), r.byte1()
	m.Src = r.cstring(65)
	m.DstTON, m.DstNPI = r.byte1(), r.byte1()
	m.Dst = r.cstring(65)
	m.ESMClass, m.RegisteredDelivery, m.DataCoding = r.byte1(), r.byte1(), r.byte1()
	m.TLVs = r.tlvs()
	if r.err != nil {
		return SM{}, r.err
	}
	if p, ok := m.TLV(TagMessagePayload); ok {
		m.ShortMessage = p
	}
	return m, nil
}

// MarshalDataSM encodes m as a data_sm body; ShortMessage, if any, goes
// into a message_payload TLV.
func (m *SM) MarshalDataSM() []byte {
	out := appendCString(nil, m.ServiceType)
	out = append(out, m.SrcTON, m.SrcNPI)
	out = appendCString(out, m.Src)
	out = append(out, m.DstTON, m.DstNPI)
	out = appendCString(out, m.Dst)
	out = append(out, m.ESMClass, m.RegisteredDelivery, m.DataCoding)
	if len(m.ShortMessage) > 0 {
		out = appendTLV(out, TLV{Tag: TagMessagePayload, Value: m.ShortMessage})
	}
	for _, t := range m.TLVs {
		if t.Tag != TagMessagePayload {
			out = appendTLV(out, t)
		}
	}
	return out
}

// DecodeSM turns a parsed submit_sm, deliver_sm or data_sm into what it
// carries: a delivery receipt, or a text (one part of it when part is not
// nil). A non-zero status is the command_status to refuse it with; the
// text is never passed on undecoded.
func DecodeSM(sm *SM) (d *Deliver, part *Concat, status uint32) {
	if payload, ok := sm.TLV(TagMessagePayload); ok && len(sm.ShortMessage) == 0 {
		sm.ShortMessage = payload
	}
	d = &Deliver{Src: digits(sm.Src), Dst: digits(sm.Dst), DataCoding: sm.DataCoding, Parts: 1}
	if sm.ESMClass&ESMReceipt != 0 {
		text, err := DecodeText(sm.DataCoding, sm.ShortMessage)
		if err != nil {
			text = string(sm.ShortMessage) // receipts are ASCII in practice
		}
		r, err := ParseReceipt(text)
		if err != nil {
			r = &Receipt{}
		}
		if id, ok := sm.TLV(TagReceiptedMessageID); ok {
			r.MessageID = strings.TrimRight(string(id), "\x00")
		}
		if st, ok := sm.TLV(TagMessageState); ok && len(st) == 1 {
			r.MessageState = st[0]
		}
		if r.MessageID == "" {
			return nil, nil, ESME_RSYSERR
		}
		d.IsReceipt, d.Receipt = true, r
		return d, nil, ESME_ROK
	}
	payload := sm.ShortMessage
	if sm.ESMClass&ESMUDHI != 0 {
		var err error
		if payload, part, err = SplitUDH(sm.ShortMessage); err != nil {
			return nil, nil, ESME_RINVMSGLEN
		}
	} else if ref, ok := sm.TLV(TagSarMsgRefNum); ok && len(ref) == 2 {
		tot, _ := sm.TLV(TagSarTotalSegments)
		seq, _ := sm.TLV(TagSarSegmentSeqnum)
		if len(tot) == 1 && len(seq) == 1 && tot[0] > 0 && seq[0] > 0 && seq[0] <= tot[0] {
			part = &Concat{Ref: uint16(ref[0])<<8 | uint16(ref[1]), Total: tot[0], Seq: seq[0]}
		}
	}
	text, err := DecodeText(sm.DataCoding, payload)
	if err != nil {
		return nil, nil, ESME_RINVDCS
	}
	d.Text = text
	if part != nil && part.Total == 1 {
		part = nil
	}
	return d, part, ESME_ROK
}

// TextPDUs encodes m as the bodies of one submit_sm or deliver_sm per part
// (cheapest encoding, UDH concatenation with reference ref when long).
func TextPDUs(m Submit, ref byte) ([][]byte, error) {
	enc, err := EncodeText(m.Text, ref)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(enc.Parts))
	for i, part := range enc.Parts {
		sm := SM{SrcTON: 1, SrcNPI: 1, Src: m.Src, DstTON: 1, DstNPI: 1, Dst: m.Dst, DataCoding: enc.DataCoding, ShortMessage: part}
		if enc.UDHI {
			sm.ESMClass |= ESMUDHI
		}
		if m.RegisteredDelivery {
			sm.RegisteredDelivery = 1
		}
		out[i] = sm.Marshal()
	}
	return out, nil
}

package smpp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Command IDs (SMPP 3.4 §5.1.2.1).
const (
	GenericNack         uint32 = 0x80000000
	BindReceiver        uint32 = 0x00000001
	BindReceiverResp    uint32 = 0x80000001
	BindTransmitter     uint32 = 0x00000002
	BindTransmitterResp uint32 = 0x80000002
	QuerySM             uint32 = 0x00000003
	QuerySMResp         uint32 = 0x80000003
	SubmitSM            uint32 = 0x00000004
	SubmitSMResp        uint32 = 0x80000004
	DeliverSM           uint32 = 0x00000005
	DeliverSMResp       uint32 = 0x80000005
	Unbind              uint32 = 0x00000006
	UnbindResp          uint32 = 0x80000006
	ReplaceSM           uint32 = 0x00000007
	ReplaceSMResp       uint32 = 0x80000007
	CancelSM            uint32 = 0x00000008
	CancelSMResp        uint32 = 0x80000008
	BindTransceiver     uint32 = 0x00000009
	BindTransceiverResp uint32 = 0x80000009
	Outbind             uint32 = 0x0000000B
	EnquireLink         uint32 = 0x00000015
	EnquireLinkResp     uint32 = 0x80000015
	SubmitMulti         uint32 = 0x00000021
	SubmitMultiResp     uint32 = 0x80000021
	DataSM              uint32 = 0x00000103
	DataSMResp          uint32 = 0x80000103
)

// Command statuses (SMPP 3.4 §5.1.3) we use by name.
const (
	ESME_ROK          uint32 = 0x00000000
	ESME_RINVMSGLEN   uint32 = 0x00000001
	ESME_RINVCMDLEN   uint32 = 0x00000002
	ESME_RINVCMDID    uint32 = 0x00000003
	ESME_RINVBNDSTS   uint32 = 0x00000004
	ESME_RALYBND      uint32 = 0x00000005
	ESME_RSYSERR      uint32 = 0x00000008
	ESME_RINVSRCADR   uint32 = 0x0000000A
	ESME_RINVESMCLASS uint32 = 0x00000043
	ESME_RINVDSTADR   uint32 = 0x0000000B
	ESME_RBINDFAIL    uint32 = 0x0000000D
	ESME_RINVPASWD    uint32 = 0x0000000E
	ESME_RINVSYSID    uint32 = 0x0000000F
	ESME_RMSGQFUL     uint32 = 0x00000014
	ESME_RTHROTTLED   uint32 = 0x00000058
	ESME_RX_T_APPN    uint32 = 0x00000064
	ESME_RQUERYFAIL   uint32 = 0x00000067
	// ESME_RINVDCS (SMPP 5.0; widely understood by 3.4 peers): a data_coding we cannot decode.
	ESME_RINVDCS       uint32 = 0x00000104
	ESME_RDELIVERYFAIL uint32 = 0x000000FE
	ESME_RUNKNOWNERR   uint32 = 0x000000FF
)

// Optional parameter tags we read or write.
const (
	TagReceiptedMessageID uint16 = 0x001E
	TagMessageState       uint16 = 0x0427
	TagSarMsgRefNum       uint16 = 0x020C
	TagSarTotalSegments   uint16 = 0x020E
	TagSarSegmentSeqnum   uint16 = 0x020F
	TagMessagePayload     uint16 = 0x0424
)

// ESM class bits.
const (
	ESMReceipt byte = 0x04 // deliver_sm carries a delivery receipt
	ESMUDHI    byte = 0x40 // short_message starts with a user data header
)

// HeaderLen is the fixed PDU header size.
const HeaderLen = 16

// DefaultMaxPDU bounds a PDU's command_length; a larger one closes the session.
const DefaultMaxPDU = 64 << 10

// PDU is one SMPP protocol data unit: header fields and the raw body.
type PDU struct {
	ID     uint32
	Status uint32
	Seq    uint32
	Body   []byte
}

// IsResponse reports whether the command ID has the response bit.
func (p *PDU) IsResponse() bool { return p.ID&0x80000000 != 0 }

// Marshal encodes the PDU with its header.
func (p *PDU) Marshal() []byte {
	b := make([]byte, HeaderLen+len(p.Body))
	binary.BigEndian.PutUint32(b[0:], uint32(len(b)))
	binary.BigEndian.PutUint32(b[4:], p.ID)
	binary.BigEndian.PutUint32(b[8:], p.Status)
	binary.BigEndian.PutUint32(b[12:], p.Seq)
	copy(b[HeaderLen:], p.Body)
	return b
}

// ErrMalformed marks a body that does not parse.
var ErrMalformed = errors.New("malformed PDU body")

// reader walks a PDU body.
type reader struct {
	b   []byte
	err error
}

func (r *reader) cstring(max int) string {
	if r.err != nil {
		return ""
	}
	for i, c := range r.b {
		if c == 0 {
			if i > max {
				r.err = fmt.Errorf("%w: C-string longer than %d", ErrMalformed, max)
				return ""
			}
			s := string(r.b[:i])
			r.b = r.b[i+1:]
			return s
		}
	}
	r.err = fmt.Errorf("%w: unterminated C-string", ErrMalformed)
	return ""
}

func (r *reader) byte1() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.err = fmt.Errorf("%w: truncated", ErrMalformed)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = fmt.Errorf("%w: truncated", ErrMalformed)
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// TLV is an optional parameter.
type TLV struct {
	Tag   uint16
	Value []byte
}

func (r *reader) tlvs() []TLV {
	var out []TLV
	for r.err == nil && len(r.b) > 0 {
		if len(r.b) < 4 {
			r.err = fmt.Errorf("%w: truncated TLV", ErrMalformed)
			return nil
		}
		tag := binary.BigEndian.Uint16(r.b)
		n := int(binary.BigEndian.Uint16(r.b[2:]))
		r.b = r.b[4:]
		v := r.bytes(n)
		out = append(out, TLV{Tag: tag, Value: v})
	}
	return out
}

func appendCString(b []byte, s string) []byte { return append(append(b, s...), 0) }

func appendTLV(b []byte, t TLV) []byte {
	b = binary.BigEndian.AppendUint16(b, t.Tag)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.Value)))
	return append(b, t.Value...)
}

// Bind is the body of bind_transmitter, bind_receiver and bind_transceiver.
type Bind struct {
	SystemID, Password, SystemType string
	InterfaceVersion               byte
	AddrTON, AddrNPI               byte
	AddressRange                   string
}

// Marshal encodes the bind body.
func (b *Bind) Marshal() []byte {
	out := appendCString(nil, b.SystemID)
	out = appendCString(out, b.Password)
	out = appendCString(out, b.SystemType)
	out = append(out, b.InterfaceVersion, b.AddrTON, b.AddrNPI)
	return appendCString(out, b.AddressRange)
}

// ParseBind decodes a bind body.
func ParseBind(body []byte) (Bind, error) {
	r := &reader{b: body}
	b := Bind{SystemID: r.cstring(15), Password: r.cstring(8), SystemType: r.cstring(12)}
	b.InterfaceVersion, b.AddrTON, b.AddrNPI = r.byte1(), r.byte1(), r.byte1()
	b.AddressRange = r.cstring(40)
	return b, r.err
}

// SM is the body of submit_sm and deliver_sm (same layout).
type SM struct {
	ServiceType          string
	SrcTON, SrcNPI       byte
	Src                  string
	DstTON, DstNPI       byte
	Dst                  string
	ESMClass, ProtocolID byte
	Priority             byte
	ScheduleDelivery     string
	ValidityPeriod       string
	RegisteredDelivery   byte
	ReplaceIfPresent     byte
	DataCoding           byte
	DefaultMsgID         byte
	ShortMessage         []byte
	TLVs                 []TLV
}

// Marshal encodes the body.
func (m *SM) Marshal() []byte {
	out := make([]byte, 0, 64+len(m.Src)+len(m.Dst)+len(m.ShortMessage))
	out = appendCString(out, m.ServiceType)
	out = append(out, m.SrcTON, m.SrcNPI)
	out = appendCString(out, m.Src)
	out = append(out, m.DstTON, m.DstNPI)
	out = appendCString(out, m.Dst)
	out = append(out, m.ESMClass, m.ProtocolID, m.Priority)
	out = appendCString(out, m.ScheduleDelivery)
	out = appendCString(out, m.ValidityPeriod)
	out = append(out, m.RegisteredDelivery, m.ReplaceIfPresent, m.DataCoding, m.DefaultMsgID, byte(len(m.ShortMessage)))
	out = append(out, m.ShortMessage...)
	for _, t := range m.TLVs {
		out = appendTLV(out, t)
	}
	return out
}

// ParseSM decodes a submit_sm or deliver_sm body.
func ParseSM(body []byte) (SM, error) {
	r := &reader{b: body}
	var m SM
	m.ServiceType = r.cstring(5)
	m.SrcTON, m.SrcNPI = r.byte1(), r.byte1()
	m.Src = r.cstring(64)
	m.DstTON, m.DstNPI = r.byte1(), r.byte1()
	m.Dst = r.cstring(64)
	m.ESMClass, m.ProtocolID, m.Priority = r.byte1(), r.byte1(), r.byte1()
	m.ScheduleDelivery = r.cstring(16)
	m.ValidityPeriod = r.cstring(16)
	m.RegisteredDelivery, m.ReplaceIfPresent, m.DataCoding, m.DefaultMsgID = r.byte1(), r.byte1(), r.byte1(), r.byte1()
	n := int(r.byte1())
	m.ShortMessage = r.bytes(n)
	m.TLVs = r.tlvs()
	if r.err != nil {
		return SM{}, r.err
	}
	return m, nil
}

// TLV returns the value of the first TLV with tag.
func (m *SM) TLV(tag uint16) ([]byte, bool) {
	for _, t := range m.TLVs {
		if t.Tag == tag {
			return t.Value, true
		}
	}
	return nil, false
}

// MessageIDBody encodes a body that is just a message_id (submit_sm_resp).
func MessageIDBody(id string) []byte { return appendCString(nil, id) }

// ParseMessageIDBody decodes submit_sm_resp's message_id. An error
// response may have an empty body.
func ParseMessageIDBody(body []byte) (string, error) {
	if len(body) == 0 {
		return "", nil
	}
	r := &reader{b: body}
	id := r.cstring(64)
	return id, r.err
}

// CommandName names a command ID for logs.
func CommandName(id uint32) string {
	switch id {
	case GenericNack:
		return "generic_nack"
	case BindReceiver:
		return "bind_receiver"
	case BindReceiverResp:
		return "bind_receiver_resp"
	case BindTransmitter:
		return "bind_transmitter"
	case BindTransmitterResp:
		return "bind_transmitter_resp"
	case BindTransceiver:
		return "bind_transceiver"
	case BindTransceiverResp:
		return "bind_transceiver_resp"
	case SubmitSM:
		return "submit_sm"
	case SubmitSMResp:
		return "submit_sm_resp"
	case DeliverSM:
		return "deliver_sm"
	case DeliverSMResp:
		return "deliver_sm_resp"
	case EnquireLink:
		return "enquire_link"
	case EnquireLinkResp:
		return "enquire_link_resp"
	case Unbind:
		return "unbind"
	case UnbindResp:
		return "unbind_resp"
	case QuerySM:
		return "query_sm"
	case DataSM:
		return "data_sm"
	case CancelSM:
		return "cancel_sm"
	case ReplaceSM:
		return "replace_sm"
	}
	return fmt.Sprintf("command_%#08x", id)
}

// StatusError is a non-zero command_status from the peer.
type StatusError uint32

func (e StatusError) Error() string { return fmt.Sprintf("SMPP command_status %#08x", uint32(e)) }

package smpp

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/smsgw/smsgw/sms"
)

// Data codings (SMPP 3.4 §5.2.19) we produce or accept.
const (
	CodingGSM7   byte = 0x00 // SMSC default alphabet: GSM 03.38, one septet per octet
	CodingIA5    byte = 0x01 // IA5 / ASCII
	CodingLatin1 byte = 0x03 // ISO-8859-1
	CodingUCS2   byte = 0x08 // UCS-2 (we send and accept UTF-16BE, surrogate pairs intact)
)

// gsmBasic is the GSM 03.38 default alphabet, indexed by septet.
var gsmBasic = [128]rune{
	'@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',
	'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', 0x1B, 'Æ', 'æ', 'ß', 'É',
	' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',
	'¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
	'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',
	'¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',
}

// gsmExt is the extension table reached with the escape septet 0x1B.
var gsmExt = map[byte]rune{
	0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\', 0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€',
}

var (
	gsmBasicRev = map[rune]byte{}
	gsmExtRev   = map[rune]byte{}
)

func init() {
	for i, r := range gsmBasic {
		if r != 0x1B {
			gsmBasicRev[r] = byte(i)
		}
	}
	for k, r := range gsmExt {
		gsmExtRev[r] = k
	}
}

// gsmSeptets returns the unpacked septets of text, or false if a rune is
// not in the GSM 03.38 alphabet.
func gsmSeptets(text string) ([]byte, bool) {
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if b, ok := gsmBasicRev[r]; ok {
			out = append(out, b)
			continue
		}
		if b, ok := gsmExtRev[r]; ok {
			out = append(out, 0x1B, b)
			continue
		}
		return nil, false
	}
	return out, true
}

// DecodeGSM7 decodes unpacked GSM 03.38 septets (one per octet).
func DecodeGSM7(b []byte) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c > 0x7F {
			return "", sms.Errorf(sms.Unsupported, "invalid_encoding", "octet %#02x is not a GSM 03.38 septet", c)
		}
		if c == 0x1B {
			if i+1 < len(b) {
				if r, ok := gsmExt[b[i+1]]; ok {
					sb.WriteRune(r)
					i++
					continue
				}
				// Unknown extension: 03.38 says show the basic character.
				i++
				if b[i] <= 0x7F && b[i] != 0x1B {
					sb.WriteRune(gsmBasic[b[i]])
				}
				continue
			}
			sb.WriteRune(' ') // a trailing escape reads as a space
			continue
		}
		sb.WriteRune(gsmBasic[c])
	}
	return sb.String(), nil
}

// PackGSM7 packs septets 8-into-7 octets (as used inside SMS TPDUs and by
// some SMSCs); UnpackGSM7 reverses it given the septet count.
func PackGSM7(septets []byte) []byte {
	out := make([]byte, (len(septets)*7+7)/8)
	for i, s := range septets {
		bit := i * 7
		out[bit/8] |= (s & 0x7F) << (bit % 8)
		if bit%8 > 1 {
			out[bit/8+1] |= (s & 0x7F) >> (8 - bit%8)
		}
	}
	return out
}

// UnpackGSM7 unpacks n septets from packed octets.
func UnpackGSM7(packed []byte, n int) []byte {
	out := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		bit := i * 7
		if bit/8 >= len(packed) {
			break
		}
		v := packed[bit/8] >> (bit % 8)
		if bit%8 > 1 && bit/8+1 < len(packed) {
			v |= packed[bit/8+1] << (8 - bit%8)
		}
		out = append(out, v&0x7F)
	}
	return out
}

// DecodeText decodes a short message payload by its data_coding. Codings we
// do not understand are an error, never bytes passed off as text.
func DecodeText(dc byte, b []byte) (string, error) {
	switch {
	case dc == CodingGSM7:
		return DecodeGSM7(b)
	case dc == CodingIA5:
		gsm := false
		for _, c := range b {
			if c > 0x7F {
				return "", sms.Errorf(sms.Unsupported, "invalid_encoding", "IA5 text contains octet %#02x", c)
			}
			// NUL and ESC never occur in IA5 text, but are '@' and the
			// extension escape in GSM 03.38: several ESMEs (the npm smpp
			// package among them) label unpacked GSM text data_coding 1.
			gsm = gsm || c == 0x00 || c == 0x1B
		}
		if gsm {
			return DecodeGSM7(b)
		}
		return string(b), nil
	case dc == CodingLatin1:
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		return string(rs), nil
	case dc == CodingUCS2:
		if len(b)%2 != 0 {
			return "", sms.Errorf(sms.Unsupported, "invalid_encoding", "UCS-2 text has an odd number of octets")
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(b[2*i:])
		}
		return string(utf16.Decode(u)), nil
	case dc&0xF0 == 0xF0 && dc&0x04 == 0: // message class, default alphabet
		return DecodeGSM7(b)
	}
	return "", sms.Errorf(sms.Unsupported, "unsupported_coding", "data_coding %#02x is not a text encoding we accept", dc)
}

// Encoded is a text ready for submit_sm: its data coding and one payload
// per part (with the concatenation UDH when there are several).
type Encoded struct {
	DataCoding byte
	Parts      [][]byte
	UDHI       bool
}

// Text limits (SMPP short_message is octets; GSM unpacked is one septet per octet).
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// EncodeText picks the cheapest encoding (GSM 03.38 when every character
// is in it, else UCS-2) and splits a long text into concatenated parts
// with an 8-bit reference UDH, never inside an escape sequence or a
// surrogate pair.
func EncodeText(text string, ref byte) (Encoded, error) {
	if !utf8.ValidString(text) {
		return Encoded{}, sms.Errorf(sms.Invalid, "invalid_encoding", "text is not valid UTF-8")
	}
	if sept, ok := gsmSeptets(text); ok {
		if len(sept) <= gsmSingle {
			return Encoded{DataCoding: CodingGSM7, Parts: [][]byte{sept}}, nil
		}
		var chunks [][]byte
		for len(sept) > 0 {
			n := min(gsmPart, len(sept))
			if n < len(sept) && sept[n-1] == 0x1B && !escapedAt(sept, n-1) {
				n-- // do not split an escape pair
			}
			chunks = append(chunks, sept[:n])
			sept = sept[n:]
		}
		return concat(CodingGSM7, chunks, ref)
	}
	u := utf16.Encode([]rune(text))
	enc := func(u []uint16) []byte {
		b := make([]byte, 2*len(u))
		for i, v := range u {
			binary.BigEndian.PutUint16(b[2*i:], v)
		}
		return b
	}
	if len(u) <= ucs2Single {
		return Encoded{DataCoding: CodingUCS2, Parts: [][]byte{enc(u)}}, nil
	}
	var chunks [][]byte
	for len(u) > 0 {
		n := min(ucs2Part, len(u))
		if n < len(u) && utf16.IsSurrogate(rune(u[n-1])) && u[n-1] < 0xDC00 {
			n-- // do not split a surrogate pair
		}
		chunks = append(chunks, enc(u[:n]))
		u = u[n:]
	}
	return concat(CodingUCS2, chunks, ref)
}

// escapedAt reports whether the 0x1B at i is itself the second septet of
// an escape pair (i.e. preceded by an odd run of escapes).
func escapedAt(s []byte, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == 0x1B; j-- {
		n++
	}
	return n%2 == 1
}

func concat(dc byte, chunks [][]byte, ref byte) (Encoded, error) {
	if len(chunks) > 255 {
		return Encoded{}, sms.Errorf(sms.TooLarge, "body_too_long", "text needs %d parts; at most 255", len(chunks))
	}
	e := Encoded{DataCoding: dc, UDHI: true}
	for i, c := range chunks {
		p := make([]byte, 0, 6+len(c))
		p = append(p, 0x05, 0x00, 0x03, ref, byte(len(chunks)), byte(i+1))
		e.Parts = append(e.Parts, append(p, c...))
	}
	return e, nil
}

// Concat says which part of a concatenated message a PDU carries.
type Concat struct {
	Ref   uint16
	Total uint8
	Seq   uint8
}

// SplitUDH separates a user data header from the payload and returns its
// concatenation information (8- or 16-bit reference), if any.
func SplitUDH(sm []byte) (payload []byte, c *Concat, err error) {
	if len(sm) < 1 || int(sm[0])+1 > len(sm) {
		return nil, nil, fmt.Errorf("%w: UDH length exceeds short_message", ErrMalformed)
	}
	udh := sm[1 : 1+int(sm[0])]
	payload = sm[1+int(sm[0]):]
	for len(udh) >= 2 {
		iei, n := udh[0], int(udh[1])
		if 2+n > len(udh) {
			return nil, nil, fmt.Errorf("%w: UDH element overruns header", ErrMalformed)
		}
		v := udh[2 : 2+n]
		switch {
		case iei == 0x00 && n == 3:
			c = &Concat{Ref: uint16(v[0]), Total: v[1], Seq: v[2]}
		case iei == 0x08 && n == 4:
			c = &Concat{Ref: binary.BigEndian.Uint16(v), Total: v[2], Seq: v[3]}
		}
		udh = udh[2+n:]
	}
	if c != nil && (c.Total == 0 || c.Seq == 0 || c.Seq > c.Total) {
		return nil, nil, fmt.Errorf("%w: concatenation part %d of %d", ErrMalformed, c.Seq, c.Total)
	}
	return payload, c, nil
}

package smpp

import (
	"strings"
	"testing"
	"unicode/utf16"
)

func TestGSM7Table(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []byte
	}{
		{"@", []byte{0x00}},
		{"@@", []byte{0x00, 0x00}},
		{"Hello", []byte{0x48, 0x65, 0x6C, 0x6C, 0x6F}},
		{"€", []byte{0x1B, 0x65}},
		{"{}[]~|^\\", []byte{0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x3C, 0x1B, 0x3E, 0x1B, 0x3D, 0x1B, 0x40, 0x1B, 0x14, 0x1B, 0x2F}},
		{"£$¥èéùìòÇ", []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09}},
		{"ΔΦΓΛΩΠΨΣΘΞ", []byte{0x10, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A}},
		{"ÄÖÑÜ§¿äöñüà", []byte{0x5B, 0x5C, 0x5D, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F}},
	} {
		got, ok := gsmSeptets(c.in)
		if !ok || string(got) != string(c.want) {
			t.Errorf("gsmSeptets(%q) = % x, %v; want % x", c.in, got, ok, c.want)
		}
		back, err := DecodeGSM7(got)
		if err != nil || back != c.in {
			t.Errorf("DecodeGSM7(% x) = %q, %v; want %q", got, back, err, c.in)
		}
	}
	if _, ok := gsmSeptets("emoji 😀"); ok {
		t.Error("an emoji was taken as GSM 03.38")
	}
}

func TestPackedGSM7(t *testing.T) {
	// "@" packed must survive: 0x00 septets are data, not padding.
	for _, s := range []string{"@", "@@@@@@@@", "hello@world", "12345678", "a€b"} {
		sept, _ := gsmSeptets(s)
		packed := PackGSM7(sept)
		if got := UnpackGSM7(packed, len(sept)); string(got) != string(sept) {
			t.Errorf("pack/unpack %q: % x -> % x -> % x", s, sept, packed, got)
		}
	}
	// Known vector: "hellohello" packs to e8 32 9b fd 46 97 d9 ec 37.
	sept, _ := gsmSeptets("hellohello")
	if got := PackGSM7(sept); string(got) != "\xe8\x32\x9b\xfd\x46\x97\xd9\xec\x37" {
		t.Errorf("PackGSM7(hellohello) = % x", got)
	}
}

func TestEncodeTextChoosesAndSplits(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		coding byte
		parts  int
	}{
		{"short gsm", "Hi @ 10€ {ok}", CodingGSM7, 1},
		{"160 septets", strings.Repeat("a", 160), CodingGSM7, 1},
		{"161 septets", strings.Repeat("a", 161), CodingGSM7, 2},
		{"escapes count double", strings.Repeat("€", 80), CodingGSM7, 1},
		{"escapes over", strings.Repeat("€", 81), CodingGSM7, 2},
		{"long gsm 3 parts", strings.Repeat("abcdefghij", 40), CodingGSM7, 3},
		{"ucs2", "Grüße 😀 مرحبا", CodingUCS2, 1},
		{"70 units", strings.Repeat("ж", 70), CodingUCS2, 1},
		{"71 units", strings.Repeat("ж", 71), CodingUCS2, 2},
		{"emoji long", strings.Repeat("😀", 50), CodingUCS2, 2},
	}
	for _, c := range cases {
		e, err := EncodeText(c.in, 7)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if e.DataCoding != c.coding || len(e.Parts) != c.parts || e.UDHI != (c.parts > 1) {
			t.Errorf("%s: coding %#x parts %d udhi %v; want %#x %d", c.name, e.DataCoding, len(e.Parts), e.UDHI, c.coding, c.parts)
			continue
		}
		var sb strings.Builder
		for i, p := range e.Parts {
			payload := p
			if e.UDHI {
				var cc *Concat
				payload, cc, err = SplitUDH(p)
				if err != nil || cc.Ref != 7 || int(cc.Total) != c.parts || int(cc.Seq) != i+1 {
					t.Fatalf("%s part %d: UDH %+v %v", c.name, i, cc, err)
				}
			}
			if c.coding == CodingGSM7 && len(payload) > 153 && c.parts > 1 || len(p) > 160 {
				t.Errorf("%s part %d too long: %d octets", c.name, i, len(p))
			}
			s, err := DecodeText(e.DataCoding, payload)
			if err != nil {
				t.Fatalf("%s part %d does not decode alone (split inside a pair?): %v", c.name, i, err)
			}
			if strings.ContainsRune(s, '\uFFFD') {
				t.Errorf("%s part %d holds a broken surrogate pair", c.name, i)
			}
			sb.WriteString(s)
		}
		if sb.String() != c.in {
			t.Errorf("%s: parts join to %q, want the input", c.name, sb.String())
		}
	}
}

func TestEncodeNeverSplitsPairs(t *testing.T) {
	for n := 140; n < 170; n++ {
		in := strings.Repeat("a", n) + strings.Repeat("€", 20)
		e, _ := EncodeText(in, 1)
		for _, p := range e.Parts {
			payload, _, _ := SplitUDH(p)
			if payload[len(payload)-1] == 0x1B && !escapedAt(payload, len(payload)-1) {
				t.Fatalf("n=%d: part ends inside an escape pair", n)
			}
		}
		in = strings.Repeat("b", n%67) + strings.Repeat("😀", 40)
		e, _ = EncodeText(in, 1)
		for _, p := range e.Parts {
			payload, _, _ := SplitUDH(p)
			last := uint16(payload[len(payload)-2])<<8 | uint16(payload[len(payload)-1])
			if utf16.IsSurrogate(rune(last)) && last < 0xDC00 {
				t.Fatalf("n=%d: part ends with a high surrogate", n)
			}
		}
	}
}

func TestDecodeTextCodings(t *testing.T) {
	if s, err := DecodeText(CodingLatin1, []byte{0x63, 0x61, 0x66, 0xE9}); err != nil || s != "café" {
		t.Errorf("latin-1: %q %v", s, err)
	}
	if s, err := DecodeText(CodingIA5, []byte("plain")); err != nil || s != "plain" {
		t.Errorf("ia5: %q %v", s, err)
	}
	// Unpacked GSM 03.38 labelled IA5 (as the npm smpp package sends it):
	// NUL is '@' and ESC starts an extension character.
	if s, err := DecodeText(CodingIA5, []byte("a\x00b \x1b(x\x1b)")); err != nil || s != "a@b {x}" {
		t.Errorf("GSM labelled ia5: %q %v", s, err)
	}
	for _, dc := range []byte{0x02, 0x04, 0xF4} {
		if _, err := DecodeText(dc, []byte{1, 2, 3}); err == nil {
			t.Errorf("binary data_coding %#x decoded as text", dc)
		}
	}
	if _, err := DecodeText(CodingUCS2, []byte{0, 0x41, 0}); err == nil {
		t.Error("odd-length UCS-2 accepted")
	}
	if _, err := DecodeText(CodingGSM7, []byte{0x80}); err == nil {
		t.Error("octet > 0x7F accepted as a GSM septet")
	}
}

func TestSplitUDH16Bit(t *testing.T) {
	p, c, err := SplitUDH([]byte{0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x02, 'h', 'i'})
	if err != nil || string(p) != "hi" || c == nil || c.Ref != 0x1234 || c.Total != 3 || c.Seq != 2 {
		t.Errorf("16-bit concat: %q %+v %v", p, c, err)
	}
	for _, bad := range [][]byte{{}, {0x09, 0x00}, {0x05, 0x00, 0x03, 1, 2, 3}, {0x05, 0x00, 0x03, 1, 2, 0}} {
		if _, _, err := SplitUDH(bad); err == nil {
			t.Errorf("SplitUDH(% x) accepted", bad)
		}
	}
}

func TestParseReceipt(t *testing.T) {
	r, err := ParseReceipt("id:0A1B2C sub:001 dlvrd:001 submit date:2611231015 done date:2611231016 stat:DELIVRD err:000 text:hello there")
	if err != nil || r.MessageID != "0A1B2C" || r.Stat != "DELIVRD" || r.Err != "000" || r.DoneDate.Minute() != 16 {
		t.Errorf("ParseReceipt = %+v, %v", r, err)
	}
	r, err = ParseReceipt("ID:77 Stat:undeliv Err:012")
	if err != nil || r.MessageID != "77" || r.Stat != "UNDELIV" {
		t.Errorf("ParseReceipt (odd case) = %+v, %v", r, err)
	}
	if _, err := ParseReceipt("hello world"); err == nil {
		t.Error("a text without id/stat parsed as a receipt")
	}
}

func FuzzGSM7(f *testing.F) {
	f.Add("@€{} hello")
	f.Add("😀")
	f.Fuzz(func(t *testing.T, s string) {
		sept, ok := gsmSeptets(s)
		if !ok {
			return
		}
		back, err := DecodeGSM7(sept)
		if err != nil || back != s {
			t.Fatalf("round trip %q -> %q (%v)", s, back, err)
		}
		if got := UnpackGSM7(PackGSM7(sept), len(sept)); string(got) != string(sept) {
			t.Fatalf("pack round trip failed for %q", s)
		}
	})
}

func FuzzParsePDUBodies(f *testing.F) {
	sm := SM{Src: "14155550100", Dst: "14155550199", ShortMessage: []byte("hi"), TLVs: []TLV{{Tag: 0x1E, Value: []byte("id\x00")}}}
	f.Add(sm.Marshal())
	f.Add((&Bind{SystemID: "a", Password: "b"}).Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseSM(b); err == nil {
			if again, err := ParseSM(m.Marshal()); err != nil || string(again.ShortMessage) != string(m.ShortMessage) {
				t.Fatalf("re-marshalled SM does not parse the same: %v", err)
			}
		}
		_, _ = ParseBind(b)
		_, _ = ParseMessageIDBody(b)
		_, _, _ = SplitUDH(b)
		_, _ = ParseReceipt(string(b))
	})
}

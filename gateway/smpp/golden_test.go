package smpp

import (
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// hexdump renders PDUs 16 bytes a line, one PDU per block, so a diff of a
// golden file shows which field changed.
func hexdump(pdus []*PDU) string {
	var sb strings.Builder
	for _, p := range pdus {
		sb.WriteString("# " + CommandName(p.ID) + "\n")
		b := p.Marshal()
		for i := 0; i < len(b); i += 16 {
			sb.WriteString(hex.EncodeToString(b[i:min(i+16, len(b))]) + "\n")
		}
	}
	return sb.String()
}

func submitPDUs(t *testing.T, text string) []*PDU {
	t.Helper()
	enc, err := EncodeText(text, 0x42)
	if err != nil {
		t.Fatal(err)
	}
	var out []*PDU
	for i, part := range enc.Parts {
		sm := SM{SrcTON: 1, SrcNPI: 1, Src: "14155550100", DstTON: 1, DstNPI: 1, Dst: "14155550199", DataCoding: enc.DataCoding, ShortMessage: part, RegisteredDelivery: 1}
		if enc.UDHI {
			sm.ESMClass = ESMUDHI
		}
		out = append(out, &PDU{ID: SubmitSM, Seq: uint32(i + 2), Body: sm.Marshal()})
	}
	return out
}

// TestGoldenPDUTraces pins the exact bytes we put on the wire for a bind,
// submits (short, long GSM, long UCS-2, emoji) and a receipt. Run with
// -update after an intended change and review the diff.
func TestGoldenPDUTraces(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)
	receipt := SM{SrcTON: 1, SrcNPI: 1, Src: "14155550199", DstTON: 1, DstNPI: 1, Dst: "14155550100", ESMClass: ESMReceipt,
		ShortMessage: []byte(FormatReceipt("a1b2c3", "DELIVRD", "000", at, at.Add(time.Minute), "hello")),
		TLVs:         []TLV{{Tag: TagReceiptedMessageID, Value: []byte("a1b2c3\x00")}, {Tag: TagMessageState, Value: []byte{2}}}}
	traces := map[string][]*PDU{
		"bind.hex": {
			{ID: BindTransceiver, Seq: 1, Body: (&Bind{SystemID: "smsgw", Password: "secret", InterfaceVersion: 0x34, AddrTON: 1, AddrNPI: 1}).Marshal()},
			{ID: BindTransceiverResp, Seq: 1, Body: []byte("smsc\x00")},
		},
		"submit_short_gsm.hex":   submitPDUs(t, "Hi @ 10€ {ok}"),
		"submit_long_gsm.hex":    submitPDUs(t, strings.Repeat("0123456789", 20)),
		"submit_long_ucs2.hex":   submitPDUs(t, strings.Repeat("Привет ", 12)),
		"submit_emoji.hex":       submitPDUs(t, "ok 😀👍"),
		"receipt_deliver_sm.hex": {{ID: DeliverSM, Seq: 7, Body: receipt.Marshal()}, {ID: DeliverSMResp, Seq: 7, Body: []byte{0}}},
	}
	for name, pdus := range traces {
		path := filepath.Join("testdata", "pdu", name)
		got := hexdump(pdus)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run go test -run Golden -update)", name, err)
		}
		if got != string(want) {
			t.Errorf("%s changed:\n--- got\n%s--- want\n%s", name, got, want)
		}
		// Every traced PDU also decodes back to what was encoded.
		for _, p := range pdus {
			if p.ID == SubmitSM || p.ID == DeliverSM {
				sm, err := ParseSM(p.Body)
				if err != nil || string(sm.Marshal()) != string(p.Body) {
					t.Errorf("%s: %s does not round-trip (%v)", name, CommandName(p.ID), err)
				}
			}
		}
	}
}

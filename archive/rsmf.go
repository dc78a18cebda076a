package archive

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// RSMF (Relativity Short Message Format) 2.0.0: one file per conversation,
// conversations/<business>_<customer>.rsmf, next to the EML. Each is an
// RFC 5322 message (7-bit: quoted-printable text, base64 attachment) with
// the X-RSMF-* headers, a plain-text preview (participants and every text)
// and exactly one attachment, rsmf.zip, holding rsmf_manifest.json. Field
// names and values follow Relativity's rsmf_schema_2_0_0.json.
//
// Participants: the customer, and the business number once per employee
// who held it during the conversation (the number alone for texts sent or
// received while nobody held it), labelled as in the EML. Events are the
// texts by acceptance time (then ID); direction is relative to the
// business side: outbound "outgoing", inbound "incoming". Bodies are the
// archived (redacted, or withheld) text exactly as in messages.jsonl. The
// output depends on the messages only (fixed boundary, zip time taken from
// the last text, entries stored), so a bundle's file hashes are
// reproducible.

// Constants of the RSMF files.
const (
	RSMFVersion      = "2.0.0"
	RSMFManifestName = "rsmf_manifest.json"
	RSMFZipName      = "rsmf.zip"
	rsmfGenerator    = "smsgw"
	rsmfApplication  = "SMS"
	rsmfPlatform     = "sms"
	// "=_" cannot occur in quoted-printable ('=' is always an escape
	// followed by hex digits or a line break) nor in base64, so the
	// boundary never collides with a part's content, whatever the texts say.
	rsmfBoundary = "=_smsgw-rsmf_="
	// rsmfTime is ISO 8601 / RFC 3339 in UTC with milliseconds.
	rsmfTime = "2006-01-02T15:04:05.000Z"
)

// Custom event fields (name/value pairs shown when hovering an event).
const (
	RSMFCustomMessageID = "smsgw message ID"
	RSMFCustomVerdict   = "Verdict"
	RSMFCustomFindings  = "Findings" // finding types, ";"-separated as in messages.csv
)

type rsmfManifest struct {
	Version           string             `json:"version"`
	Participants      []rsmfParticipant  `json:"participants"`
	Conversations     []rsmfConversation `json:"conversations"`
	Events            []rsmfEvent        `json:"events"`
	EventCollectionID string             `json:"eventcollectionid,omitempty"`
}

// rsmfCustom is a name/value pair; the schema requires both non-empty.
type rsmfCustom struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type rsmfParticipant struct {
	ID        string       `json:"id"`
	Display   string       `json:"display,omitempty"`
	AccountID string       `json:"account_id,omitempty"`
	Custom    []rsmfCustom `json:"custom,omitempty"`
}

type rsmfConversation struct {
	ID           string       `json:"id"`
	Display      string       `json:"display,omitempty"`
	Platform     string       `json:"platform"`
	Type         string       `json:"type,omitempty"`
	Participants []string     `json:"participants"`
	Custodian    string       `json:"custodian,omitempty"`
	Custom       []rsmfCustom `json:"custom,omitempty"`
}

type rsmfEvent struct {
	ID           string       `json:"id,omitempty"`
	Type         string       `json:"type"`
	Participant  string       `json:"participant,omitempty"`
	Conversation string       `json:"conversation,omitempty"`
	Timestamp    string       `json:"timestamp,omitempty"`
	Body         string       `json:"body"`
	Direction    string       `json:"direction,omitempty"`
	Custom       []rsmfCustom `json:"custom,omitempty"`
}

// Participant IDs: unique within a manifest, even if a customer's number
// were also the business number.
func rsmfCustomerID(n sms.Number) string { return "customer:" + n.E164() }

func rsmfBusinessID(n sms.Number, employee string) string {
	if employee == "" {
		return "business:" + n.E164()
	}
	return "business:" + n.E164() + ":" + employee
}

// conversationsRSMF renders one RSMF file per conversation (the EML's
// grouping), keyed by bundle file name.
func conversationsRSMF(msgs []sms.Message, v1 bool) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, c := range groupConversations(msgs) {
		data, err := c.rsmf(v1)
		if err != nil {
			return nil, fmt.Errorf("RSMF for conversation %s: %w", c.key, err)
		}
		out[BundleConvDir+c.key+".rsmf"] = data
	}
	return out, nil
}

// rsmf renders the conversation as an RSMF file (v1: as BundleFormatV1 did).
func (c *conversation) rsmf(v1 bool) ([]byte, error) {
	// Events in time order; the preview text follows the same order.
	sorted := &conversation{key: c.key, business: c.business, party: c.party, msgs: append([]sms.Message(nil), c.msgs...)}
	sort.SliceStable(sorted.msgs, func(i, j int) bool {
		a, b := sorted.msgs[i], sorted.msgs[j]
		if !a.AcceptedAt.Equal(b.AcceptedAt) {
			return a.AcceptedAt.Before(b.AcceptedAt)
		}
		return a.ID < b.ID
	})
	msgs := sorted.msgs
	first, last := msgs[0], msgs[len(msgs)-1]

	// Participants: the customer, then the business number per employee
	// (sorted; "" = nobody held it).
	customer := rsmfParticipant{ID: rsmfCustomerID(c.party), Display: c.party.E164(), AccountID: c.party.E164(),
		Custom: []rsmfCustom{{"Role", "customer"}}}
	employees := map[string]bool{}
	for _, m := range msgs {
		employees[m.EmployeeID] = true
	}
	var emps []string
	for e := range employees {
		emps = append(emps, e)
	}
	sort.Strings(emps)
	parts := []rsmfParticipant{customer}
	for _, e := range emps {
		p := rsmfParticipant{ID: rsmfBusinessID(c.business, e), Display: businessLabel(c.business, e), AccountID: c.business.E164(),
			Custom: []rsmfCustom{{"Role", "business number"}}}
		if e != "" {
			p.Custom = append(p.Custom, rsmfCustom{"Employee", e})
		}
		parts = append(parts, p)
	}
	conv := rsmfConversation{ID: c.key, Display: "SMS " + c.business.E164() + " / " + c.party.E164(), Platform: rsmfPlatform, Type: "direct"}
	for _, p := range parts {
		conv.Participants = append(conv.Participants, p.ID)
	}
	// The custodian is the business side; named only when one participant
	// stands for it (the number was not reassigned during the conversation).
	custodian := c.business.E164()
	if len(emps) == 1 {
		conv.Custodian = parts[1].ID
		custodian = parts[1].Display
	}

	man := rsmfManifest{Version: RSMFVersion, Participants: parts, Conversations: []rsmfConversation{conv}, EventCollectionID: c.key}
	for _, m := range msgs {
		ev := rsmfEvent{ID: string(m.ID), Type: "message", Conversation: conv.ID, Timestamp: m.AcceptedAt.UTC().Format(rsmfTime), Body: m.Body,
			Custom: []rsmfCustom{{RSMFCustomMessageID, string(m.ID)}}}
		if m.Direction == sms.Outbound {
			ev.Participant, ev.Direction = rsmfBusinessID(c.business, m.EmployeeID), "outgoing"
		} else {
			ev.Participant, ev.Direction = rsmfCustomerID(c.party), "incoming"
		}
		if m.Verdict != "" {
			ev.Custom = append(ev.Custom, rsmfCustom{RSMFCustomVerdict, string(m.Verdict)})
		}
		if ft := findingTypes(m.Findings); ft != "" {
			ev.Custom = append(ev.Custom, rsmfCustom{RSMFCustomFindings, ft})
		}
		man.Events = append(man.Events, ev)
	}
	manifest, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, err
	}

	// rsmf.zip: the manifest alone at its root, stored (no compressor
	// whose output could change between Go releases) with CRC and sizes in
	// the local header (no data descriptor), dated by the last text.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	zh := &zip.FileHeader{Name: RSMFManifestName, Method: zip.Store,
		CRC32: crc32.ChecksumIEEE(manifest), CompressedSize64: uint64(len(manifest)), UncompressedSize64: uint64(len(manifest))}
	zh.ModifiedDate, zh.ModifiedTime = msDosTime(last.AcceptedAt)
	zf, err := zw.CreateRaw(zh)
	if err != nil {
		return nil, err
	}
	if _, err := zf.Write(manifest); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}

	// The message.
	var b bytes.Buffer
	hdr := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	var displays, to []string
	for _, p := range parts {
		displays = append(displays, p.Display)
		to = append(to, (&mail.Address{Name: p.Display, Address: numberDigits(p.AccountID) + "@sms.invalid"}).String())
	}
	hdr("From", (&mail.Address{Name: custodian, Address: c.business.Digits() + "@sms.invalid"}).String())
	hdr("To", strings.Join(to, ",\r\n "))
	hdr("Date", first.AcceptedAt.UTC().Format(time.RFC1123Z))
	hdr("Subject", c.subject())
	hdr("Message-ID", "<"+string(first.ID)+".rsmf@smsgw.invalid>")
	hdr("MIME-Version", "1.0")
	hdr("X-RSMF-Version", RSMFVersion)
	hdr("X-RSMF-Generator", rsmfGenerator)
	hdr("X-RSMF-Application", rsmfApplication)
	hdr("X-RSMF-BeginDate", man.Events[0].Timestamp)
	hdr("X-RSMF-EndDate", man.Events[len(man.Events)-1].Timestamp)
	hdr("X-RSMF-EventCount", strconv.Itoa(len(man.Events)))
	hdr("X-RSMF-AttachmentCount", "0")
	hdr("X-RSMF-Custodian", mime.QEncoding.Encode("utf-8", custodian))
	var enc []string
	for _, d := range displays {
		enc = append(enc, mime.QEncoding.Encode("utf-8", d))
	}
	hdr("X-RSMF-Participants", strings.Join(enc, ",\r\n "))
	hdr("X-RSMF-EventCollectionID", man.EventCollectionID)
	hdr("X-Smsgw-Conversation", c.business.E164()+" "+c.party.E164())
	hdr("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": rsmfBoundary}))
	b.WriteString("\r\n")

	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary(rsmfBoundary); err != nil {
		return nil, err
	}
	// The preview: what processing extracts as the document's text.
	var text bytes.Buffer
	fmt.Fprintf(&text, "SMS conversation %s / %s, %d messages, %s to %s\r\n\r\nParticipants:\r\n", c.business.E164(), c.party.E164(), len(msgs),
		man.Events[0].Timestamp, man.Events[len(man.Events)-1].Timestamp)
	for _, p := range parts {
		fmt.Fprintf(&text, "  %s (%s)\r\n", p.Display, p.Custom[0].Value)
	}
	text.WriteString("\r\n")
	sorted.writeTranscript(&text, v1)
	tw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return nil, err
	}
	qp := quotedprintable.NewWriter(tw)
	if _, err := qp.Write(text.Bytes()); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	aw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {`application/octet-stream; name="` + RSMFZipName + `"`},
		"Content-Disposition":       {`attachment; filename="` + RSMFZipName + `"`},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return nil, err
	}
	z := base64.StdEncoding.EncodeToString(zb.Bytes())
	for len(z) > 76 {
		_, _ = aw.Write([]byte(z[:76] + "\r\n"))
		z = z[76:]
	}
	_, _ = aw.Write([]byte(z + "\r\n"))
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// numberDigits is an E.164 number without its "+".
func numberDigits(e164 string) string { return strings.TrimPrefix(e164, "+") }

// msDosTime is t (UTC) as a zip entry's MS-DOS date and time (2-second
// resolution); CreateRaw does not derive them from FileHeader.Modified.
func msDosTime(t time.Time) (date, tm uint16) {
	t = t.UTC()
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9), uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
}

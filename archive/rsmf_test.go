package archive

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// The property names rsmf_schema_2_0_0.json (Relativity's
// rsmf-validator-samples) allows, per object.
var rsmfSchemaKeys = map[string][]string{
	"manifest":      {"version", "participants", "conversations", "events", "eventcollectionid"},
	"participants":  {"id", "display", "email", "avatar", "account_id", "custom"},
	"conversations": {"id", "display", "platform", "type", "participants", "custodian", "custom", "icon"},
	"events": {"id", "type", "parent", "body", "participant", "conversation", "timestamp", "deleted", "importance",
		"reactions", "attachments", "edits", "custom", "direction", "read_receipts"},
	"custom": {"name", "value"},
}

type tCustom struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type tManifest struct {
	Version      string `json:"version"`
	Participants []struct {
		ID        string    `json:"id"`
		Display   string    `json:"display"`
		AccountID string    `json:"account_id"`
		Custom    []tCustom `json:"custom"`
	} `json:"participants"`
	Conversations []struct {
		ID           string    `json:"id"`
		Display      string    `json:"display"`
		Platform     string    `json:"platform"`
		Type         string    `json:"type"`
		Participants []string  `json:"participants"`
		Custodian    string    `json:"custodian"`
		Custom       []tCustom `json:"custom"`
	} `json:"conversations"`
	Events []struct {
		ID           string    `json:"id"`
		Type         string    `json:"type"`
		Participant  string    `json:"participant"`
		Conversation string    `json:"conversation"`
		Timestamp    string    `json:"timestamp"`
		Body         *string   `json:"body"`
		Direction    string    `json:"direction"`
		Custom       []tCustom `json:"custom"`
	} `json:"events"`
	EventCollectionID string `json:"eventcollectionid"`
}

func customValue(cs []tCustom, name string) (string, int) {
	v, n := "", 0
	for _, c := range cs {
		if c.Name == name {
			v, n = c.Value, n+1
		}
	}
	return v, n
}

type parsedRSMF struct {
	header   mail.Header
	text     string // the decoded plain-text part
	manifest tManifest
}

// parseRSMF reads an RSMF file the way a review platform would: RFC 5322
// message, multipart/mixed, exactly one base64 attachment rsmf.zip holding
// rsmf_manifest.json. It checks the structural rules on the way.
func parseRSMF(t *testing.T, name string, data []byte) parsedRSMF {
	t.Helper()
	// 7-bit, CRLF line ends, lines of at most 998 characters (RFC 5322).
	for i, c := range data {
		if c >= 0x80 || c == 0 {
			t.Fatalf("%s: byte %d is %#x: not 7-bit", name, i, c)
		}
		if c == '\n' && (i == 0 || data[i-1] != '\r') {
			t.Fatalf("%s: bare LF at byte %d", name, i)
		}
	}
	for i, line := range bytes.Split(data, []byte("\r\n")) {
		if len(line) > 998 {
			t.Fatalf("%s: line %d has %d characters", name, i+1, len(line))
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: not an RFC 5322 message: %v", name, err)
	}
	p := parsedRSMF{header: msg.Header}
	if v := msg.Header.Get("X-RSMF-Version"); v == "" {
		t.Fatalf("%s: no X-RSMF-Version header", name)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		t.Fatalf("%s: Content-Type %q: %v", name, msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var attachments, texts int
	var zipData []byte
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: multipart: %v", name, err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("%s: multipart: %v", name, err)
		}
		cte := strings.ToLower(part.Header.Get("Content-Transfer-Encoding"))
		disp, dparams, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if disp == "attachment" {
			attachments++
			if dparams["filename"] != "rsmf.zip" || cte != "base64" {
				t.Errorf("%s: attachment %q with Content-Transfer-Encoding %q", name, dparams["filename"], cte)
			}
			if zipData, err = base64.StdEncoding.DecodeString(string(body)); err != nil {
				t.Fatalf("%s: rsmf.zip is not base64: %v", name, err)
			}
			continue
		}
		ct, cparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if ct != "text/plain" || cte != "quoted-printable" || strings.ToLower(cparams["charset"]) != "utf-8" {
			t.Errorf("%s: body part %q, %q", name, part.Header.Get("Content-Type"), cte)
		}
		texts++
		dec, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if err != nil {
			t.Fatalf("%s: text part: %v", name, err)
		}
		p.text = string(dec)
	}
	if attachments != 1 || texts != 1 {
		t.Fatalf("%s: %d attachments and %d text parts, want exactly one of each", name, attachments, texts)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		t.Fatalf("%s: rsmf.zip: %v", name, err)
	}
	var manifest []byte
	for _, f := range zr.File {
		if f.Name != "rsmf_manifest.json" {
			t.Errorf("%s: rsmf.zip holds %q, which the manifest does not reference", name, f.Name)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		manifest, _ = io.ReadAll(rc)
		rc.Close()
	}
	if manifest == nil {
		t.Fatalf("%s: rsmf.zip has no rsmf_manifest.json", name)
	}
	// Every property name is one the schema defines.
	var raw map[string]any
	if err := json.Unmarshal(manifest, &raw); err != nil {
		t.Fatalf("%s: rsmf_manifest.json: %v", name, err)
	}
	checkKeys(t, name, "manifest", raw)
	dec := json.NewDecoder(bytes.NewReader(manifest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.manifest); err != nil {
		t.Fatalf("%s: rsmf_manifest.json: %v", name, err)
	}
	return p
}

func checkKeys(t *testing.T, file, obj string, v map[string]any) {
	t.Helper()
	allowed := map[string]bool{}
	for _, k := range rsmfSchemaKeys[obj] {
		allowed[k] = true
	}
	for k, x := range v {
		if !allowed[k] {
			t.Errorf("%s: %s has property %q, not in the RSMF 2.0.0 schema", file, obj, k)
		}
		if arr, ok := x.([]any); ok && rsmfSchemaKeys[k] != nil {
			for _, el := range arr {
				if m, ok := el.(map[string]any); ok {
					checkKeys(t, file, k, m)
				}
			}
		}
	}
}

// rsmfTestLog archives two conversations (one business number reassigned
// from jane to bob mid-conversation; one text nobody held) plus a text
// that is not exported, and returns the store, the signer (checkpoints and
// bundle manifests) and the exported messages.
func rsmfTestLog(t *testing.T) (Store, *Signer, []sms.Message, sms.MessageID) {
	t.Helper()
	st, err := NewLocalStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := newTestLog(t, st)
	t0 := time.Date(2026, 3, 4, 15, 6, 7, 123456789, time.UTC)
	const biz, biz2, cust = sms.Number("+14155550100"), sms.Number("+14155550101"), sms.Number("+14155550199")
	id := func(d time.Duration) sms.MessageID { return sms.MessageID(sms.NewULID(t0.Add(d))) }
	long := strings.Repeat("lorem ipsum dolor sit amet ", 40)
	msgs := []sms.Message{
		{ID: id(0), Direction: sms.Outbound, From: biz, To: cust, EmployeeID: "jane", AcceptedAt: t0,
			Body: "Hi, this is Jane from the bank.", Verdict: sms.VerdictPass},
		// Its ID is later than the next text's, its acceptance earlier.
		{ID: id(5 * time.Second), Direction: sms.Inbound, From: cust, To: biz, EmployeeID: "jane", AcceptedAt: t0.Add(1500 * time.Millisecond),
			Body: "thanks!\nmy card is card **** **** **** 1111 = fine", Verdict: sms.VerdictRedacted,
			Findings: []sms.Finding{{Type: "card", Start: 24, End: 43, Action: sms.ActionRedact}, {Type: "email", Action: sms.ActionFlag}}},
		{ID: id(2 * time.Second), Direction: sms.Outbound, From: biz, To: cust, EmployeeID: "bob", AcceptedAt: t0.Add(2 * time.Second),
			Body: "Bob here — ünïcödé, <tags> & \"quotes\"\n--" + rsmfBoundary + "\n--" + rsmfBoundary + "--\n" + long, Verdict: sms.VerdictPass},
		{ID: id(3 * time.Second), Direction: sms.Outbound, From: biz, To: cust, EmployeeID: "bob", AcceptedAt: t0.Add(3 * time.Second),
			Body: "[withheld: the filter could not process this message]", Verdict: sms.VerdictBlocked,
			Findings: []sms.Finding{{Type: "filter_error", Action: sms.ActionBlock}}},
		// Another business number, nobody holding it; an empty text.
		{ID: id(4 * time.Second), Direction: sms.Inbound, From: cust, To: biz2, AcceptedAt: t0.Add(4 * time.Second), Body: "", Verdict: sms.VerdictPass},
	}
	unexported := sms.Message{ID: id(6 * time.Second), Direction: sms.Outbound, From: biz, To: cust, EmployeeID: "bob",
		AcceptedAt: t0.Add(6 * time.Second), Body: "not part of the export", Verdict: sms.VerdictPass}
	var recs []Record
	for _, m := range append(append([]sms.Message(nil), msgs...), unexported) {
		recs = append(recs, Record{Kind: KindMessage, ID: m.ID, Message: &m, ArchivedAt: m.AcceptedAt.Add(time.Second)})
		recs = append(recs, Record{Kind: KindEvent, ID: m.ID, Event: &sms.Event{MessageID: m.ID, Status: sms.StatusArchived, At: m.AcceptedAt.Add(time.Second)},
			ArchivedAt: m.AcceptedAt.Add(time.Second)})
	}
	l.segment(recs[:5])
	l.segment(recs[5:])
	l.checkpoint()
	return st, l.signer, msgs, unexported.ID
}

func exportBundle(t *testing.T, st Store, signer *Signer, msgs []sms.Message) ([]byte, Manifest) {
	t.Helper()
	vkey := signer.VerifierKey()
	vs, err := Verifiers(vkey)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[sms.MessageID]bool{}
	for _, m := range msgs {
		ids[m.ID] = true
	}
	var buf bytes.Buffer
	man, err := Export(context.Background(), st, ExportRequest{MessageIDs: ids, Selection: map[string]string{"party": "+14155550199"},
		CreatedBy: "test", Verifiers: vs, VerifierKey: vkey, Signer: signer}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), man
}

func bundleFiles(t *testing.T, bundle []byte) (map[string][]byte, []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var order []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
		order = append(order, f.Name)
	}
	return files, order
}

func TestExportRSMF(t *testing.T) {
	st, signer, msgs, unexported := rsmfTestLog(t)
	bundle, man := exportBundle(t, st, signer, msgs)
	files, _ := bundleFiles(t, bundle)

	// Bodies as archived: messages.jsonl is the reference.
	jsonlBody := map[sms.MessageID]string{}
	sc := bufio.NewScanner(bytes.NewReader(files[BundleMessagesJ]))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m sms.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		jsonlBody[m.ID] = m.Body
	}
	if len(jsonlBody) != len(msgs) {
		t.Fatalf("messages.jsonl holds %d messages, want %d", len(jsonlBody), len(msgs))
	}

	// The expected conversations, by file name.
	want := map[string][]sms.Message{}
	for _, m := range msgs {
		name := BundleConvDir + m.BusinessNumber().Digits() + "_" + m.CustomerNumber().Digits() + ".rsmf"
		want[name] = append(want[name], m)
	}
	var got []string
	for name := range files {
		if strings.HasSuffix(name, ".rsmf") {
			got = append(got, name)
		}
	}
	sort.Strings(got)
	if len(got) != len(want) {
		t.Fatalf("bundle has RSMF files %v, want one for each of %d conversations", got, len(want))
	}
	for name, convMsgs := range want {
		data, ok := files[name]
		if !ok {
			t.Fatalf("bundle lacks %s (has %v)", name, got)
		}
		if man.Files[name] == "" {
			t.Errorf("%s is not in the manifest", name)
		}
		if _, ok := files[strings.TrimSuffix(name, ".rsmf")+".eml"]; !ok {
			t.Errorf("%s has no EML next to it", name)
		}
		checkRSMF(t, name, data, convMsgs, jsonlBody, unexported)
	}
}

func checkRSMF(t *testing.T, name string, data []byte, msgs []sms.Message, jsonlBody map[sms.MessageID]string, unexported sms.MessageID) {
	t.Helper()
	p := parseRSMF(t, name, data)
	h, man := p.header, p.manifest
	if v := h.Get("X-RSMF-Version"); v != "2.0.0" || man.Version != v {
		t.Errorf("%s: X-RSMF-Version %q, manifest version %q, want 2.0.0", name, v, man.Version)
	}
	biz, cust := msgs[0].BusinessNumber(), msgs[0].CustomerNumber()

	// Participants: unique ids, required fields, labels as in the EML.
	parts := map[string]int{}
	for i, pt := range man.Participants {
		if pt.ID == "" {
			t.Errorf("%s: participant %d has no id", name, i)
		}
		if _, dup := parts[pt.ID]; dup {
			t.Errorf("%s: participant id %q declared twice", name, pt.ID)
		}
		parts[pt.ID] = i
		for _, c := range pt.Custom {
			if c.Name == "" || c.Value == "" {
				t.Errorf("%s: participant %s has an empty custom field %+v", name, pt.ID, c)
			}
		}
	}
	label := func(m sms.Message) (display, role string) {
		if m.Direction == sms.Inbound {
			return cust.E164(), "customer"
		}
		if m.EmployeeID == "" {
			return biz.E164(), "business number"
		}
		return biz.E164() + " (" + m.EmployeeID + ")", "business number"
	}
	// Conversations: one, required fields, participants declared.
	if len(man.Conversations) != 1 {
		t.Fatalf("%s: %d conversations, want 1", name, len(man.Conversations))
	}
	conv := man.Conversations[0]
	if conv.ID == "" || conv.Platform != "sms" || conv.Type != "direct" || len(conv.Participants) == 0 {
		t.Errorf("%s: conversation %+v", name, conv)
	}
	inConv := map[string]bool{}
	for _, id := range conv.Participants {
		if _, ok := parts[id]; !ok {
			t.Errorf("%s: conversation participant %q is not declared", name, id)
		}
		inConv[id] = true
	}
	if len(inConv) != len(parts) {
		t.Errorf("%s: the conversation lists %d participants, the manifest declares %d", name, len(inConv), len(parts))
	}
	employees := map[string]bool{}
	for _, m := range msgs {
		employees[m.EmployeeID] = true
	}
	if len(employees) == 1 {
		if pi, ok := parts[conv.Custodian]; !ok || !inConv[conv.Custodian] || man.Participants[pi].Display != businessLabel(biz, msgs[0].EmployeeID) {
			t.Errorf("%s: custodian %q, want the business number's participant", name, conv.Custodian)
		}
	} else if conv.Custodian != "" {
		t.Errorf("%s: custodian %q although the number changed hands", name, conv.Custodian)
	}
	if man.EventCollectionID == "" || h.Get("X-RSMF-EventCollectionID") != man.EventCollectionID {
		t.Errorf("%s: eventcollectionid %q, header %q", name, man.EventCollectionID, h.Get("X-RSMF-EventCollectionID"))
	}

	// Events: every text once, from the right participant, in time order.
	byID := map[string]sms.Message{}
	for _, m := range msgs {
		byID[string(m.ID)] = m
	}
	seen := map[string]bool{}
	var prev time.Time
	for i, ev := range man.Events {
		if ev.Type != "message" {
			t.Errorf("%s: event %d type %q", name, i, ev.Type)
		}
		if ev.Conversation != conv.ID {
			t.Errorf("%s: event %d in conversation %q, declared is %q", name, i, ev.Conversation, conv.ID)
		}
		pi, ok := parts[ev.Participant]
		if !ok {
			t.Errorf("%s: event %d participant %q is not declared", name, i, ev.Participant)
			continue
		}
		if ev.ID == string(unexported) {
			t.Errorf("%s: a message that was not selected is an event", name)
		}
		m, ok := byID[ev.ID]
		if !ok {
			t.Errorf("%s: event %d has id %q, not a message of the conversation", name, i, ev.ID)
			continue
		}
		if seen[ev.ID] {
			t.Errorf("%s: message %s appears twice", name, ev.ID)
		}
		seen[ev.ID] = true
		display, role := label(m)
		if pt := man.Participants[pi]; pt.Display != display {
			t.Errorf("%s: message %s from %q, want %q", name, m.ID, pt.Display, display)
		} else if r, n := customValue(pt.Custom, "Role"); n != 1 || r != role {
			t.Errorf("%s: participant %q has role %q, want %q", name, pt.Display, r, role)
		}
		wantDir := map[sms.Direction]string{sms.Outbound: "outgoing", sms.Inbound: "incoming"}[m.Direction]
		if ev.Direction != wantDir {
			t.Errorf("%s: message %s direction %q, want %q", name, m.ID, ev.Direction, wantDir)
		}
		ts, err := time.Parse(time.RFC3339Nano, ev.Timestamp)
		if err != nil || !strings.HasSuffix(ev.Timestamp, "Z") || !ts.Equal(m.AcceptedAt.Truncate(time.Millisecond)) {
			t.Errorf("%s: message %s timestamp %q (%v), want %s", name, m.ID, ev.Timestamp, err, m.AcceptedAt.Format(time.RFC3339Nano))
		}
		if ts.Before(prev) {
			t.Errorf("%s: events not in time order at %d", name, i)
		}
		prev = ts
		if ev.Body == nil || *ev.Body != m.Body || *ev.Body != jsonlBody[m.ID] {
			t.Errorf("%s: message %s body %v, want %q as in messages.jsonl", name, m.ID, ev.Body, m.Body)
		}
		for _, c := range ev.Custom {
			if c.Name == "" || c.Value == "" {
				t.Errorf("%s: message %s has an empty custom field %+v", name, m.ID, c)
			}
		}
		if v, n := customValue(ev.Custom, RSMFCustomMessageID); n != 1 || v != string(m.ID) {
			t.Errorf("%s: message %s custom message id %q (%d)", name, m.ID, v, n)
		}
		if v, n := customValue(ev.Custom, RSMFCustomVerdict); n != 1 || v != string(m.Verdict) {
			t.Errorf("%s: message %s custom verdict %q (%d), want %s", name, m.ID, v, n, m.Verdict)
		}
		var types []string
		for _, f := range m.Findings {
			types = append(types, f.Type)
		}
		if v, n := customValue(ev.Custom, RSMFCustomFindings); v != strings.Join(types, ";") || n != min(len(types), 1) {
			t.Errorf("%s: message %s custom findings %q (%d), want %v", name, m.ID, v, n, types)
		}
	}
	if len(seen) != len(msgs) {
		t.Errorf("%s: %d of %d messages are events", name, len(seen), len(msgs))
	}

	// Headers agree with the manifest.
	if n, err := strconv.Atoi(h.Get("X-RSMF-EventCount")); err != nil || n != len(man.Events) {
		t.Errorf("%s: X-RSMF-EventCount %q, manifest has %d events", name, h.Get("X-RSMF-EventCount"), len(man.Events))
	}
	if len(man.Events) > 0 {
		first, last := man.Events[0].Timestamp, man.Events[len(man.Events)-1].Timestamp
		minT, maxT := msgs[0].AcceptedAt, msgs[0].AcceptedAt
		for _, m := range msgs {
			if m.AcceptedAt.Before(minT) {
				minT = m.AcceptedAt
			}
			if m.AcceptedAt.After(maxT) {
				maxT = m.AcceptedAt
			}
		}
		b, errB := time.Parse(time.RFC3339Nano, h.Get("X-RSMF-BeginDate"))
		e, errE := time.Parse(time.RFC3339Nano, h.Get("X-RSMF-EndDate"))
		if h.Get("X-RSMF-BeginDate") != first || errB != nil || !b.Equal(minT.Truncate(time.Millisecond)) {
			t.Errorf("%s: X-RSMF-BeginDate %q, first event %q, earliest text %s", name, h.Get("X-RSMF-BeginDate"), first, minT)
		}
		if h.Get("X-RSMF-EndDate") != last || errE != nil || !e.Equal(maxT.Truncate(time.Millisecond)) {
			t.Errorf("%s: X-RSMF-EndDate %q, last event %q, latest text %s", name, h.Get("X-RSMF-EndDate"), last, maxT)
		}
	}
	if h.Get("X-RSMF-AttachmentCount") != "0" || h.Get("X-RSMF-Application") != "SMS" || h.Get("X-RSMF-Generator") == "" {
		t.Errorf("%s: headers %v", name, h)
	}
	wd := new(mime.WordDecoder)
	pl, err := wd.DecodeHeader(h.Get("X-RSMF-Participants"))
	if err != nil {
		t.Errorf("%s: X-RSMF-Participants: %v", name, err)
	}
	for _, pt := range man.Participants {
		if !strings.Contains(pl, pt.Display) {
			t.Errorf("%s: X-RSMF-Participants %q lacks %q", name, pl, pt.Display)
		}
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != len(man.Participants) {
		t.Errorf("%s: To %q: %v", name, h.Get("To"), err)
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 {
		t.Errorf("%s: From %q: %v", name, h.Get("From"), err)
	}
	// The preview names every participant and holds every text.
	for _, pt := range man.Participants {
		if !strings.Contains(p.text, pt.Display) {
			t.Errorf("%s: preview lacks participant %q", name, pt.Display)
		}
	}
	for _, m := range msgs {
		if !strings.Contains(p.text, transcriptBody(m.Body)) || !strings.Contains(p.text, string(m.ID)) {
			t.Errorf("%s: preview lacks message %s %q:\n%s", name, m.ID, m.Body, p.text)
		}
	}
}

// TestExportRSMFDeterministic: the same messages give the same RSMF (and
// EML) bytes, whenever exported.
func TestExportRSMFDeterministic(t *testing.T) {
	st, signer, msgs, _ := rsmfTestLog(t)
	b1, m1 := exportBundle(t, st, signer, msgs)
	time.Sleep(1100 * time.Millisecond) // another export time
	b2, m2 := exportBundle(t, st, signer, msgs)
	f1, order1 := bundleFiles(t, b1)
	f2, order2 := bundleFiles(t, b2)
	if strings.Join(order1, " ") != strings.Join(order2, " ") {
		t.Errorf("zip order differs: %v vs %v", order1, order2)
	}
	n := 0
	for name := range f1 {
		if !strings.HasPrefix(name, BundleConvDir) {
			continue
		}
		n++
		if !bytes.Equal(f1[name], f2[name]) || m1.Files[name] != m2.Files[name] {
			t.Errorf("%s differs between two exports of the same messages", name)
		}
	}
	if n != 4 {
		t.Errorf("%d conversation files, want 2 EML and 2 RSMF", n)
	}
	// Directly: the input order of the messages does not matter either
	// beyond the conversation grouping, and rendering twice is identical.
	a, err := conversationsRSMF(msgs, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := conversationsRSMF(msgs, false)
	for k := range a {
		if !bytes.Equal(a[k], b[k]) || !bytes.Equal(a[k], f1[k]) {
			t.Errorf("%s: rendering is not deterministic", k)
		}
	}
}

// TestVerifyBundleRSMF: a bundle with RSMF files verifies; one changed
// byte in one of them, or one of them missing, fails.
func TestVerifyBundleRSMF(t *testing.T) {
	st, signer, msgs, _ := rsmfTestLog(t)
	bundle, _ := exportBundle(t, st, signer, msgs)
	vs, _ := Verifiers(signer.VerifierKey())
	rep, err := VerifyBundle(bytes.NewReader(bundle), int64(len(bundle)), vs)
	if err != nil || !rep.OK() {
		t.Fatalf("bundle does not verify: %v %v", rep.Problems, err)
	}
	files, order := bundleFiles(t, bundle)
	var target string
	for _, name := range order {
		if strings.HasSuffix(name, ".rsmf") {
			target = name
			break
		}
	}
	if target == "" {
		t.Fatal("no RSMF file in the bundle")
	}
	repack := func(files map[string][]byte) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, name := range order {
			data, ok := files[name]
			if !ok {
				continue
			}
			w, _ := zw.Create(name)
			_, _ = w.Write(data)
		}
		_ = zw.Close()
		return buf.Bytes()
	}
	// Unchanged, repacked: still verifies (the test's repacking is sound).
	same := repack(files)
	if rep, err := VerifyBundle(bytes.NewReader(same), int64(len(same)), vs); err != nil || !rep.OK() {
		t.Fatalf("repacked bundle does not verify: %v %v", rep.Problems, err)
	}
	// One byte of the RSMF file (inside the base64 of rsmf.zip) changed.
	orig := files[target]
	changed := append([]byte(nil), orig...)
	i := bytes.Index(changed, []byte("filename=\"rsmf.zip\""))
	i = bytes.Index(changed[i:], []byte("\r\n\r\n")) + i + 10
	changed[i] ^= 0x01
	files[target] = changed
	bad := repack(files)
	rep, err = VerifyBundle(bytes.NewReader(bad), int64(len(bad)), vs)
	if err != nil || rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), target+": SHA-256 does not match") {
		t.Errorf("a bundle with a changed RSMF byte: %v %v", rep.Problems, err)
	}
	// The RSMF file gone.
	delete(files, target)
	gone := repack(files)
	rep, err = VerifyBundle(bytes.NewReader(gone), int64(len(gone)), vs)
	if err != nil || rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), target+" is listed in the manifest but missing") {
		t.Errorf("a bundle without %s: %v %v", target, rep.Problems, err)
	}
}

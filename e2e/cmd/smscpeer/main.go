// Command smscpeer is an SMSC (an SMPP 3.4 server) for the fault-injection
// suite in e2e (faults_test.go). It runs as its own process so that tests
// can kill it (-9), freeze it (SIGSTOP) and restart it on the same record
// file.
//
// Every submit_sm it receives is appended to the record file as one JSON
// line and fsynced BEFORE submit_sm_resp is written, so the file is the
// truth of what reached the carrier, whatever happens to either side.
// Message ids are unique across restarts (they start with the start time).
// With -receipts it sends a delivery receipt (deliver_sm, esm_class 0x04,
// "id:<message_id> ... stat:DELIVRD") for every accepted submit asking for
// one, on any receiver or transceiver bind, until the gateway answers it;
// receipts not yet answered when the peer stops are sent again after a
// restart (they are rebuilt from the record file).
//
// It listens on loopback only, and has its own minimal PDU codec so that it
// shares no code with the gateway it tests.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"
)

// SMPP 3.4 command ids and statuses used here.
const (
	cmdGenericNack     = 0x80000000
	cmdBindReceiver    = 0x00000001
	cmdBindTransmitter = 0x00000002
	cmdSubmitSM        = 0x00000004
	cmdDeliverSM       = 0x00000005
	cmdDeliverSMResp   = 0x80000005
	cmdUnbind          = 0x00000006
	cmdBindTransceiver = 0x00000009
	cmdEnquireLink     = 0x00000015
	respBit            = 0x80000000

	statusOK         = 0x00
	statusInvCmdID   = 0x03
	statusInvBndSts  = 0x04
	statusAlyBnd     = 0x05
	statusSysErr     = 0x08
	statusInvPaswd   = 0x0E
	statusInvSysID   = 0x0F
	statusThrottled  = 0x58
	statusInvCmdLen  = 0x02
	tagReceiptedID   = 0x001E
	tagMessageState  = 0x0427
	maxPDU           = 64 << 10
	esmReceipt       = 0x04
	esmUDHI          = 0x40
	stateDelivered   = 2
	receiptQueueSize = 1 << 20
)

// Record is one line of the record file.
type Record struct {
	Type     string    `json:"type"` // start | bind | submit | resp | receipt | receipt_resp | close
	At       time.Time `json:"at"`
	Instance string    `json:"instance"` // this run of the peer (its message id prefix)
	Conn     int64     `json:"conn,omitempty"`
	Seq      uint32    `json:"seq,omitempty"`
	// submit_sm
	Src        string  `json:"src,omitempty"`
	Dst        string  `json:"dst,omitempty"`
	DataCoding byte    `json:"dc"`
	ESMClass   byte    `json:"esm"`
	Registered byte    `json:"registered,omitempty"`
	Concat     *Concat `json:"concat,omitempty"` // from the UDH, when esm_class has UDHI
	Text       string  `json:"text,omitempty"`   // decoded payload (UDH removed), when decodable
	Hex        string  `json:"hex,omitempty"`    // short_message as sent, UDH included
	// Status is our answer (submit_sm_resp, bind) or the gateway's
	// (receipt_resp); MessageID the id we gave (submit) or receipted.
	Status    uint32 `json:"status"`
	MessageID string `json:"message_id,omitempty"`
	Attempt   int    `json:"attempt,omitempty"` // receipt: how many times it was sent
	Detail    string `json:"detail,omitempty"`  // bind: kind and system_id; start: flags
}

// Concat is the concatenation information of a UDH.
type Concat struct {
	Ref   uint16 `json:"ref"`
	Total byte   `json:"total"`
	Seq   byte   `json:"seq"`
}

func main() {
	listen := flag.String("listen", "", "loopback host:port to listen on (required)")
	recordPath := flag.String("record", "", "file to append every submit_sm to (required)")
	latency := flag.Duration("latency", 0, "wait this long after recording a submit_sm before answering it")
	thrEvery := flag.Int("throttle-every", 0, "with -throttle-burst: of every M submit_sm ...")
	thrBurst := flag.Int("throttle-burst", 0, "... answer the first N with ESME_RTHROTTLED (0x58)")
	thrPeriod := flag.Duration("throttle-period", 0, "with -throttle-for: in every period ...")
	thrFor := flag.Duration("throttle-for", 0, "... answer every submit_sm in its first D with ESME_RTHROTTLED")
	receipts := flag.Bool("receipts", true, "send a DELIVRD receipt for each accepted submit_sm asking for one")
	systemID := flag.String("system-id", "", "accept binds of this system_id only (empty: any)")
	password := flag.String("password", "", "accept binds with this password only (empty: any)")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)
	log.SetPrefix("smscpeer: ")
	if *listen == "" || *recordPath == "" {
		log.Fatal("-listen and -record are required")
	}
	host, _, err := net.SplitHostPort(*listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		log.Fatalf("-listen %q: a loopback IP address and port are required", *listen)
	}
	start := time.Now()
	p := &peer{
		instance: strconv.FormatInt(start.UnixNano(), 36),
		latency:  *latency,
		thrEvery: *thrEvery, thrBurst: *thrBurst, thrPeriod: *thrPeriod, thrFor: *thrFor,
		start: start, receipts: *receipts, systemID: *systemID, password: *password,
		queue: make(chan receipt, receiptQueueSize),
	}
	pending, err := p.pendingReceipts(*recordPath)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.OpenFile(*recordPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	p.rec = newRecorder(f)
	if p.receipts {
		for _, r := range pending {
			p.queue <- r
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	detail := fmt.Sprintf("latency=%s throttle=%d/%d throttle-period=%s/%s receipts=%v pending-receipts=%d",
		p.latency, p.thrBurst, p.thrEvery, p.thrFor, p.thrPeriod, p.receipts, len(pending))
	if err := p.rec.write(Record{Type: "start", At: time.Now().UTC(), Instance: p.instance, Detail: detail}); err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s (%s)", ln.Addr(), detail)
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go p.serve(c, p.conns.Add(1))
	}
}

type peer struct {
	instance           string
	latency            time.Duration
	thrEvery, thrBurst int
	thrPeriod, thrFor  time.Duration
	start              time.Time
	receipts           bool
	systemID, password string
	rec                *recorder
	conns              atomic.Int64
	submits            atomic.Int64 // for count-based throttling
	ids                atomic.Int64 // message id counter
	queue              chan receipt // receipts waiting for a receiver bind
}

type receipt struct {
	id, src, dst, text string
	submitted          time.Time
	attempt            int
}

// throttle says whether this submit_sm is answered ESME_RTHROTTLED.
func (p *peer) throttle() bool {
	n := p.submits.Add(1) - 1
	if p.thrEvery > 0 && p.thrBurst > 0 && n%int64(p.thrEvery) < int64(p.thrBurst) {
		return true
	}
	if p.thrPeriod > 0 && p.thrFor > 0 && time.Since(p.start)%p.thrPeriod < p.thrFor {
		return true
	}
	return false
}

// pendingReceipts rebuilds, from an existing record file, the receipts of
// accepted submits that the gateway has not answered yet.
func (p *peer) pendingReceipts(path string) ([]receipt, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	byID := map[string]receipt{}
	var order []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue // a line cut short by a kill -9
		}
		switch {
		case r.Type == "submit" && r.Status == statusOK && r.MessageID != "" && r.Registered&1 == 1:
			byID[r.MessageID] = receipt{id: r.MessageID, src: r.Src, dst: r.Dst, text: r.Text, submitted: r.At}
			order = append(order, r.MessageID)
		case r.Type == "receipt":
			if rc, ok := byID[r.MessageID]; ok {
				rc.attempt = max(rc.attempt, r.Attempt)
				byID[r.MessageID] = rc
			}
		case r.Type == "receipt_resp" && r.Status == statusOK:
			delete(byID, r.MessageID)
		}
	}
	var out []receipt
	for _, id := range order {
		if r, ok := byID[id]; ok {
			out = append(out, r)
			delete(byID, id)
		}
	}
	return out, sc.Err()
}

// recorder appends records and fsyncs them; concurrent writers share one
// fsync (group commit). write returns once the record is on disk.
type recorder struct {
	f  *os.File
	ch chan recReq
}

type recReq struct {
	line []byte
	done chan error
}

func newRecorder(f *os.File) *recorder {
	r := &recorder{f: f, ch: make(chan recReq, 1024)}
	go r.loop()
	return r
}

func (r *recorder) write(rec Record) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	r.ch <- recReq{line: append(line, '\n'), done: done}
	return <-done
}

// writeAsync appends a record without waiting for it to reach the disk.
func (r *recorder) writeAsync(rec Record) {
	line, err := json.Marshal(rec)
	if err != nil {
		return
	}
	r.ch <- recReq{line: append(line, '\n'), done: make(chan error, 1)}
}

func (r *recorder) loop() {
	for req := range r.ch {
		batch := []recReq{req}
		buf := append([]byte(nil), req.line...)
	more:
		for len(batch) < 512 {
			select {
			case q := <-r.ch:
				batch = append(batch, q)
				buf = append(buf, q.line...)
			default:
				break more
			}
		}
		_, err := r.f.Write(buf)
		if err == nil {
			err = r.f.Sync()
		}
		if err != nil {
			log.Fatalf("record file: %v", err) // the record is the truth: no record, no answer
		}
		for _, q := range batch {
			q.done <- nil
		}
	}
}

// pdu is one SMPP PDU.
type pdu struct {
	id, status, seq uint32
	body            []byte
}

func readPDU(r io.Reader) (pdu, error) {
	var h [16]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return pdu{}, err
	}
	n := binary.BigEndian.Uint32(h[0:])
	if n < 16 || n > maxPDU {
		return pdu{}, fmt.Errorf("command_length %d out of range", n)
	}
	p := pdu{id: binary.BigEndian.Uint32(h[4:]), status: binary.BigEndian.Uint32(h[8:]), seq: binary.BigEndian.Uint32(h[12:]), body: make([]byte, n-16)}
	_, err := io.ReadFull(r, p.body)
	return p, err
}

func (p pdu) marshal() []byte {
	b := make([]byte, 16, 16+len(p.body))
	binary.BigEndian.PutUint32(b[0:], uint32(16+len(p.body)))
	binary.BigEndian.PutUint32(b[4:], p.id)
	binary.BigEndian.PutUint32(b[8:], p.status)
	binary.BigEndian.PutUint32(b[12:], p.seq)
	return append(b, p.body...)
}

// body is a cursor over a PDU body.
type body struct {
	b   []byte
	err error
}

func (r *body) cstring() string {
	if r.err != nil {
		return ""
	}
	i := strings.IndexByte(string(r.b), 0)
	if i < 0 {
		r.err = errors.New("unterminated C-string")
		return ""
	}
	s := string(r.b[:i])
	r.b = r.b[i+1:]
	return s
}

func (r *body) byte1() byte {
	if r.err != nil || len(r.b) < 1 {
		r.err = errors.New("truncated body")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *body) bytes(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errors.New("truncated body")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// submit is what we read of a submit_sm.
type submit struct {
	src, dst                 string
	esm, registered, dc      byte
	shortMessage, payloadTLV []byte
	concat                   *Concat
	text                     string
}

func parseSubmit(b []byte) (submit, error) {
	r := &body{b: b}
	var s submit
	r.cstring() // service_type
	r.byte1()
	r.byte1()
	s.src = r.cstring()
	r.byte1()
	r.byte1()
	s.dst = r.cstring()
	s.esm = r.byte1()
	r.byte1()   // protocol_id
	r.byte1()   // priority_flag
	r.cstring() // schedule_delivery_time
	r.cstring() // validity_period
	s.registered = r.byte1()
	r.byte1() // replace_if_present_flag
	s.dc = r.byte1()
	r.byte1() // sm_default_msg_id
	s.shortMessage = r.bytes(int(r.byte1()))
	for r.err == nil && len(r.b) >= 4 {
		tag, n := binary.BigEndian.Uint16(r.b), int(binary.BigEndian.Uint16(r.b[2:]))
		r.b = r.b[4:]
		v := r.bytes(n)
		if tag == 0x0424 { // message_payload
			s.payloadTLV = v
		}
	}
	if r.err != nil {
		return s, r.err
	}
	payload := s.shortMessage
	if len(payload) == 0 && s.payloadTLV != nil {
		payload = s.payloadTLV
	}
	if s.esm&esmUDHI != 0 && len(payload) > 0 && int(payload[0])+1 <= len(payload) {
		udh := payload[1 : 1+int(payload[0])]
		payload = payload[1+int(payload[0]):]
		for len(udh) >= 2 && 2+int(udh[1]) <= len(udh) {
			iei, v := udh[0], udh[2:2+int(udh[1])]
			switch {
			case iei == 0x00 && len(v) == 3:
				s.concat = &Concat{Ref: uint16(v[0]), Total: v[1], Seq: v[2]}
			case iei == 0x08 && len(v) == 4:
				s.concat = &Concat{Ref: binary.BigEndian.Uint16(v), Total: v[2], Seq: v[3]}
			}
			udh = udh[2+int(udh[1]):]
		}
	}
	s.text = decodeText(s.dc, payload)
	return s, nil
}

// gsm is the GSM 03.38 default alphabet by septet (0x1B: escape).
var gsm = []rune("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")

var gsmExt = map[byte]rune{0x0A: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2F: '\\', 0x3C: '[', 0x3D: '~', 0x3E: ']', 0x40: '|', 0x65: '€'}

// decodeText decodes a payload for the record ("" when the coding is not
// one we know; the hex is always recorded).
func decodeText(dc byte, b []byte) string {
	var sb strings.Builder
	switch dc {
	case 0x00: // GSM 03.38, one septet per octet
		for i := 0; i < len(b); i++ {
			c := b[i] & 0x7F
			if c == 0x1B && i+1 < len(b) {
				i++
				if r, ok := gsmExt[b[i]&0x7F]; ok {
					sb.WriteRune(r)
				}
				continue
			}
			sb.WriteRune(gsm[c])
		}
	case 0x01, 0x03: // IA5, Latin-1
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
	case 0x08: // UCS-2 / UTF-16BE
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(b[2*i:])
		}
		sb.WriteString(string(utf16.Decode(u)))
	}
	return sb.String()
}

// conn is one bind.
type conn struct {
	p      *peer
	n      int64
	c      net.Conn
	wmu    sync.Mutex
	bound  uint32 // bind command id; 0 before bind
	seq    atomic.Uint32
	closed chan struct{}
	// receipts sent on this bind and not answered yet, by sequence number
	rmu     sync.Mutex
	pending map[uint32]receipt
}

func (c *conn) send(p pdu) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := c.c.Write(p.marshal())
	return err
}

func (p *peer) serve(nc net.Conn, n int64) {
	c := &conn{p: p, n: n, c: nc, closed: make(chan struct{}), pending: map[uint32]receipt{}}
	defer func() {
		close(c.closed)
		nc.Close()
		// Receipts the gateway did not answer go back to the queue.
		c.rmu.Lock()
		for _, r := range c.pending {
			p.queue <- r
		}
		c.pending = nil
		c.rmu.Unlock()
		_ = p.rec.write(Record{Type: "close", At: time.Now().UTC(), Instance: p.instance, Conn: n})
	}()
	br := bufio.NewReader(nc)
	for {
		req, err := readPDU(br)
		if err != nil {
			return
		}
		switch req.id {
		case cmdBindTransceiver, cmdBindTransmitter, cmdBindReceiver:
			st := c.bind(req)
			if c.send(pdu{id: req.id | respBit, status: st, seq: req.seq, body: []byte("smscpeer\x00")}) != nil || st != statusOK {
				return
			}
			if p.receipts && (req.id == cmdBindTransceiver || req.id == cmdBindReceiver) {
				go c.sendReceipts()
			}
		case cmdEnquireLink:
			_ = c.send(pdu{id: req.id | respBit, seq: req.seq})
		case cmdUnbind:
			_ = c.send(pdu{id: req.id | respBit, seq: req.seq})
			return
		case cmdSubmitSM:
			if c.bound != cmdBindTransceiver && c.bound != cmdBindTransmitter {
				_ = c.send(pdu{id: req.id | respBit, status: statusInvBndSts, seq: req.seq})
				continue
			}
			go c.submit(req)
		case cmdDeliverSMResp:
			c.rmu.Lock()
			r, ok := c.pending[req.seq]
			delete(c.pending, req.seq)
			c.rmu.Unlock()
			if ok {
				_ = p.rec.write(Record{Type: "receipt_resp", At: time.Now().UTC(), Instance: p.instance, Conn: c.n, Seq: req.seq, Status: req.status, MessageID: r.id, Attempt: r.attempt})
				if req.status != statusOK {
					go func() { time.Sleep(time.Second); p.queue <- r }()
				}
			}
		default:
			if req.id&respBit != 0 {
				continue // a response we do not wait for
			}
			_ = c.send(pdu{id: cmdGenericNack, status: statusInvCmdID, seq: req.seq})
		}
	}
}

func (c *conn) bind(req pdu) uint32 {
	if c.bound != 0 {
		return statusAlyBnd
	}
	r := &body{b: req.body}
	sys, pw := r.cstring(), r.cstring()
	st := uint32(statusOK)
	switch {
	case r.err != nil:
		st = statusInvCmdLen
	case c.p.systemID != "" && sys != c.p.systemID:
		st = statusInvSysID
	case c.p.password != "" && pw != c.p.password:
		st = statusInvPaswd
	}
	if st == statusOK {
		c.bound = req.id
	}
	kind := map[uint32]string{cmdBindTransceiver: "transceiver", cmdBindTransmitter: "transmitter", cmdBindReceiver: "receiver"}[req.id]
	_ = c.p.rec.write(Record{Type: "bind", At: time.Now().UTC(), Instance: c.p.instance, Conn: c.n, Seq: req.seq, Status: st, Detail: kind + " " + sys})
	return st
}

// submit records a submit_sm, fsyncs, waits the configured latency and
// answers it.
func (c *conn) submit(req pdu) {
	p := c.p
	s, err := parseSubmit(req.body)
	rec := Record{Type: "submit", At: time.Now().UTC(), Instance: p.instance, Conn: c.n, Seq: req.seq,
		Src: s.src, Dst: s.dst, DataCoding: s.dc, ESMClass: s.esm, Registered: s.registered, Concat: s.concat,
		Text: s.text, Hex: hex.EncodeToString(s.shortMessage)}
	switch {
	case err != nil:
		rec.Status, rec.Detail = statusSysErr, err.Error()
	case p.throttle():
		rec.Status = statusThrottled
	default:
		rec.MessageID = p.instance + "-" + strconv.FormatInt(p.ids.Add(1), 10)
	}
	if err := p.rec.write(rec); err != nil {
		return
	}
	if p.latency > 0 {
		time.Sleep(p.latency)
	}
	var b []byte
	if rec.MessageID != "" {
		b = append([]byte(rec.MessageID), 0)
	}
	if c.send(pdu{id: cmdSubmitSM | respBit, status: rec.Status, seq: req.seq, body: b}) != nil {
		return
	}
	if rec.MessageID != "" {
		p.rec.writeAsync(Record{Type: "resp", At: time.Now().UTC(), Instance: p.instance, Conn: c.n, Seq: req.seq, MessageID: rec.MessageID})
	}
	if rec.MessageID != "" && p.receipts && s.registered&1 == 1 {
		p.queue <- receipt{id: rec.MessageID, src: s.src, dst: s.dst, text: s.text, submitted: rec.At}
	}
}

// sendReceipts sends queued receipts on this bind until it closes.
func (c *conn) sendReceipts() {
	p := c.p
	for {
		var r receipt
		select {
		case <-c.closed:
			return
		case r = <-p.queue:
		}
		r.attempt++
		seq := c.seq.Add(1)
		c.rmu.Lock()
		if c.pending == nil { // closed meanwhile
			c.rmu.Unlock()
			p.queue <- r
			return
		}
		c.pending[seq] = r
		c.rmu.Unlock()
		_ = p.rec.write(Record{Type: "receipt", At: time.Now().UTC(), Instance: p.instance, Conn: c.n, Seq: seq, MessageID: r.id, Attempt: r.attempt})
		if c.send(pdu{id: cmdDeliverSM, seq: seq, body: receiptBody(r)}) != nil {
			return // serve's cleanup requeues it
		}
	}
}

// receiptBody is a deliver_sm receipt body for r (from the recipient back
// to the sender), with the receipted_message_id and message_state TLVs.
func receiptBody(r receipt) []byte {
	now := time.Now().UTC()
	text := r.text
	if len(text) > 20 {
		text = text[:20]
	}
	// Keep the receipt text in the GSM/ASCII common range.
	text = strings.Map(func(c rune) rune {
		if c >= 0x20 && c < 0x7F && c != '@' && c != '$' && c != '_' && c != '`' {
			return c
		}
		return '.'
	}, text)
	sm := fmt.Sprintf("id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:DELIVRD err:000 text:%s",
		r.id, r.submitted.Format("0601021504"), now.Format("0601021504"), text)
	if len(sm) > 254 {
		sm = sm[:254]
	}
	var b []byte
	b = append(b, 0)                         // service_type
	b = append(b, 1, 1)                      // source ton/npi
	b = append(append(b, r.dst...), 0)       // source: the recipient
	b = append(b, 1, 1)                      // dest ton/npi
	b = append(append(b, r.src...), 0)       // destination: the sender
	b = append(b, esmReceipt, 0, 0)          // esm_class, protocol_id, priority
	b = append(b, 0, 0)                      // schedule_delivery_time, validity_period
	b = append(b, 0, 0, 0, 0, byte(len(sm))) // registered, replace, data_coding, default_msg_id, sm_length
	b = append(b, sm...)
	b = binary.BigEndian.AppendUint16(b, tagReceiptedID)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.id)+1))
	b = append(append(b, r.id...), 0)
	b = binary.BigEndian.AppendUint16(b, tagMessageState)
	b = binary.BigEndian.AppendUint16(b, 1)
	return append(b, stateDelivered)
}

package e2e

// The fault-injection suite's load driver and its per-message accounting:
// what was accepted (every HTTP 202), what the archive holds (every
// segment decoded), what reached the carrier (the peer's record file) and
// what each message's history says (GET /v1/messages/{id}).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/smsgw/smsgw/archive"
)

// Statuses the gateway is getting (issue 12); matched as a status or as an
// event's detail, whichever the implementation picks.
const (
	evResubmitted = "resubmitted_after_crash"
	evUnconfirmed = "unconfirmed"
)

// markerRE finds a message's marker in a text: "fault <scenario> #<n>".
var markerRE = regexp.MustCompile(`fault ([a-z0-9-]+) #(\d+)`)

func faultMarker(scenario string, n int) string { return fmt.Sprintf("fault %s #%d", scenario, n) }

// messageBody is the unique text of message n. Every 25th message is long
// enough for two parts (GSM 03.38: 153 + the rest), each carrying the
// marker, so that every part recorded at the carrier maps back to it.
func messageBody(scenario string, n int) string {
	m := faultMarker(scenario, n)
	if n%25 != 7 {
		return m + " hello from the fault suite"
	}
	first := m + " part 1 "
	first += strings.Repeat("x", 153-len(first))
	return first + m + " part 2 end"
}

// loadDriver posts N messages with concurrency workers and records every 202.
type loadDriver struct {
	url, token, scenario string
	customers            []string
	n, workers           int
	perSecond            float64 // 0: as fast as the gateway answers

	accepted    atomic.Int64
	mu          sync.Mutex
	ids         map[int]string // n -> id of every 202
	unknown     map[int]string // n -> error: the outcome of the request is unknown
	rejected    map[int]string // n -> status and code of a final non-202 answer
	retried503  atomic.Int64
	retriedDial atomic.Int64
	done        chan struct{}
}

func (d *loadDriver) run(ctx context.Context) {
	defer close(d.done)
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: d.workers * 2}}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range d.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				d.post(ctx, client, n)
			}
		}()
	}
	start := time.Now()
	for n := range d.n {
		if d.perSecond > 0 {
			if wait := time.Until(start.Add(time.Duration(float64(n) / d.perSecond * float64(time.Second)))); wait > 0 {
				time.Sleep(wait)
			}
		}
		select {
		case jobs <- n:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
}

// post sends message n until it gets a definite answer: a refused
// connection or a 503 (not persisted) is sent again; a connection lost
// mid-request leaves the outcome unknown and is not resent (a resend would
// be a second message with the same text).
func (d *loadDriver) post(ctx context.Context, client *http.Client, n int) {
	body, _ := json.Marshal(map[string]string{"to": d.customers[n%len(d.customers)], "body": messageBody(d.scenario, n)})
	for {
		if ctx.Err() != nil {
			d.record(n, "", "", "load deadline passed")
			return
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", d.url+"/v1/messages", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+d.token)
		resp, err := client.Do(req)
		if err != nil {
			if isDialError(err) {
				d.retriedDial.Add(1)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			d.record(n, "", "", err.Error())
			return
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusAccepted:
			var r struct{ ID string }
			_ = json.Unmarshal(data, &r)
			d.record(n, r.ID, "", "")
			return
		case http.StatusServiceUnavailable:
			d.retried503.Add(1)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		var e struct {
			Error struct{ Code string }
		}
		_ = json.Unmarshal(data, &e)
		d.record(n, "", fmt.Sprintf("%d %s", resp.StatusCode, e.Error.Code), "")
		return
	}
}

func (d *loadDriver) record(n int, id, rejected, unknown string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case id != "":
		d.ids[n] = id
		d.accepted.Add(1)
	case rejected != "":
		d.rejected[n] = rejected
	default:
		d.unknown[n] = unknown
	}
}

// carrierRecord is a line of the peer's record file (see e2e/cmd/smscpeer).
type carrierRecord struct {
	Type       string    `json:"type"`
	At         time.Time `json:"at"`
	Instance   string    `json:"instance"`
	Conn       int64     `json:"conn"`
	Src        string    `json:"src"`
	Dst        string    `json:"dst"`
	DataCoding byte      `json:"dc"`
	ESMClass   byte      `json:"esm"`
	Concat     *struct {
		Ref   uint16 `json:"ref"`
		Total int    `json:"total"`
		Seq   int    `json:"seq"`
	} `json:"concat"`
	Text      string `json:"text"`
	Status    uint32 `json:"status"`
	MessageID string `json:"message_id"`
	Attempt   int    `json:"attempt"`
}

// atCarrier is what reached the carrier for one message.
type atCarrier struct {
	parts      int
	perSeq     map[int]int // part -> accepted submit_sm count
	answered   map[int]int // part -> submit_sm_resp written
	throttled  int
	ids        []string // carrier message ids given
	receipts   int      // receipt deliver_sm sent
	receiptsOK int      // receipts the gateway answered OK
}

// copies is how many complete copies of the message reached the carrier
// (lo: its least frequent part) and how often its most frequent part did
// (hi); they differ when only some parts were sent again.
func (a *atCarrier) copies() (lo, hi int) {
	if a == nil {
		return 0, 0
	}
	lo = -1
	for seq := 1; seq <= a.parts; seq++ {
		c := a.perSeq[seq]
		if lo < 0 || c < lo {
			lo = c
		}
		hi = max(hi, c)
	}
	return max(lo, 0), hi
}

func (a *atCarrier) allAnswered() bool {
	if a == nil {
		return false
	}
	for seq := 1; seq <= a.parts; seq++ {
		if a.answered[seq] == 0 {
			return false
		}
	}
	return true
}

// carrierLog is the record file, per message number.
type carrierLog struct {
	byN        map[int]*atCarrier
	unmatched  int // accepted submits whose text holds no marker of this scenario
	submits    int // accepted submit_sm
	throttled  int
	binds      int
	starts     int
	badLines   int
	receiptsOK int
}

// countSubmits counts accepted submit_sm lines so far (a cheap progress signal).
func carrierSubmitCount(path string) int {
	data, _ := os.ReadFile(path)
	return bytes.Count(data, []byte(`"type":"submit",`)) - bytes.Count(data, []byte(`"status":88,`))
}

func readCarrierLog(path, scenario string) (*carrierLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cl := &carrierLog{byN: map[int]*atCarrier{}}
	byID := map[string]*atCarrier{}
	get := func(n, parts int) *atCarrier {
		a := cl.byN[n]
		if a == nil {
			a = &atCarrier{parts: parts, perSeq: map[int]int{}, answered: map[int]int{}}
			cl.byN[n] = a
		}
		a.parts = max(a.parts, parts)
		return a
	}
	seqOf := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r carrierRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			cl.badLines++ // a line cut by a kill -9 of the peer
			continue
		}
		switch r.Type {
		case "start":
			cl.starts++
		case "bind":
			cl.binds++
		case "submit":
			m := markerRE.FindStringSubmatch(r.Text)
			if r.Status == 0x58 {
				cl.throttled++
			} else if r.Status == 0 {
				cl.submits++
			}
			if m == nil || m[1] != scenario {
				if r.Status == 0 {
					cl.unmatched++
				}
				continue
			}
			n, _ := strconv.Atoi(m[2])
			parts, seq := 1, 1
			if r.Concat != nil {
				parts, seq = r.Concat.Total, r.Concat.Seq
			}
			a := get(n, parts)
			switch r.Status {
			case 0:
				a.perSeq[seq]++
				a.ids = append(a.ids, r.MessageID)
				byID[r.MessageID] = a
				seqOf[r.MessageID] = seq
			case 0x58:
				a.throttled++
			}
		case "resp":
			if a := byID[r.MessageID]; a != nil {
				a.answered[seqOf[r.MessageID]]++
			}
		case "receipt":
			if a := byID[r.MessageID]; a != nil {
				a.receipts++
			}
		case "receipt_resp":
			if a := byID[r.MessageID]; a != nil && r.Status == 0 {
				a.receiptsOK++
				cl.receiptsOK++
			}
		}
	}
	return cl, sc.Err()
}

// archived is what the archive holds for the scenario's messages.
type archiveCounts struct {
	segments, voidSegments, corrupt int
	messages                        map[string]int            // message id -> message records
	events                          map[string]map[string]int // message id -> event key -> records
}

// eventKey identifies a status event: status, detail and carrier ids.
func eventKey(status, detail string, carrierIDs []string) string {
	ids := slices.Clone(carrierIDs)
	sort.Strings(ids)
	return status + "|" + detail + "|" + strings.Join(ids, ",")
}

// readArchive decodes every segment in the bucket.
func readArchiveCounts(ctx context.Context, m *minioProc) (*archiveCounts, error) {
	c := m.client()
	a := &archiveCounts{messages: map[string]int{}, events: map[string]map[string]int{}}
	for obj := range c.ListObjects(ctx, m.bucket, minio.ListObjectsOptions{Prefix: archive.SegmentPrefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		o, err := c.GetObject(ctx, m.bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(o)
		o.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", obj.Key, err)
		}
		a.segments++
		seg, err := archive.DecodeSegment(data)
		if err != nil {
			a.corrupt++
			continue
		}
		if seg.Void != "" {
			a.voidSegments++
		}
		for _, r := range seg.Records {
			switch {
			case r.Kind == archive.KindMessage:
				a.messages[string(r.ID)]++
			case r.Kind == archive.KindEvent && r.Event != nil:
				id := string(r.Event.MessageID)
				if a.events[id] == nil {
					a.events[id] = map[string]int{}
				}
				a.events[id][eventKey(string(r.Event.Status), r.Event.Detail, r.Event.CarrierIDs)]++
			}
		}
	}
	return a, nil
}

// verifyArchive runs `smsgw archive verify --config` and returns its exit
// code, the problem codes it reported and its summary line.
func runArchiveVerify(ctx context.Context, bin, cfgPath string) (int, map[string]int, string) {
	cmd := exec.CommandContext(ctx, bin, "archive", "verify", "--config", cfgPath, "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	var rep struct {
		Segments int
		Records  int64
		Problems []struct{ Code string }
	}
	codes := map[string]int{}
	if json.Unmarshal(stdout.Bytes(), &rep) == nil {
		for _, p := range rep.Problems {
			codes[p.Code]++
		}
	}
	summary := fmt.Sprintf("exit %d, %d segments, %d records, problems %v", code, rep.Segments, rep.Records, codes)
	if code != 0 && code != 1 {
		summary += ": " + strings.TrimSpace(tailLines(stderr.String(), 3))
	}
	return code, codes, summary
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// history is GET /v1/messages/{id}.
type msgHistory struct {
	Status     string  `json:"status"`
	Body       *string `json:"body"`
	ArchivedAt *string `json:"archived_at"`
	Events     []struct {
		Status     string   `json:"status"`
		Detail     string   `json:"detail"`
		CarrierIDs []string `json:"carrier_ids"`
	} `json:"events"`
}

func (h *msgHistory) has(what string) bool {
	for _, e := range h.Events {
		if e.Status == what || e.Detail == what {
			return true
		}
	}
	return false
}

// sentIDs are the carrier ids of every `sent` event.
func (h *msgHistory) sentIDs() (ids []string, sent bool) {
	for _, e := range h.Events {
		if e.Status == "sent" {
			sent = true
			ids = append(ids, e.CarrierIDs...)
		}
	}
	return ids, sent
}

// fetchHistories reads every message's history (8 at a time).
func fetchHistories(ctx context.Context, url, token string, ids []string) (map[string]*msgHistory, int) {
	out := map[string]*msgHistory{}
	var mu sync.Mutex
	failed := 0
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				var h msgHistory
				ok := false
				for attempt := 0; attempt < 5 && !ok && ctx.Err() == nil; attempt++ {
					status, data, err := faultGET(ctx, url+"/v1/messages/"+id, token)
					ok = err == nil && status == 200 && json.Unmarshal(data, &h) == nil
					if !ok {
						time.Sleep(200 * time.Millisecond)
					}
				}
				mu.Lock()
				if ok {
					out[id] = &h
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		jobs <- id
	}
	close(jobs)
	wg.Wait()
	return out, failed
}

func faultGET(ctx context.Context, url, token string) (int, []byte, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// listed is one message of GET /v1/messages.
type listedMsg struct {
	ID     string  `json:"id"`
	Status string  `json:"status"`
	Body   *string `json:"body"`
}

// listMessages pages through the employee's messages.
func listAllMessages(ctx context.Context, url, token string) ([]listedMsg, error) {
	var all []listedMsg
	page := ""
	for {
		u := url + "/v1/messages?limit=1000"
		if page != "" {
			u += "&page_token=" + page
		}
		status, data, err := faultGET(ctx, u, token)
		if err != nil {
			return nil, err
		}
		if status != 200 {
			return nil, fmt.Errorf("GET /v1/messages: %d", status)
		}
		var p struct {
			Messages []listedMsg `json:"messages"`
			Next     string      `json:"next_page_token"`
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Messages...)
		if p.Next == "" {
			return all, nil
		}
		page = p.Next
	}
}

// terminal statuses: nothing more is expected for the message.
func settledStatus(s string) bool {
	switch s {
	case "delivered", "failed", "dead_letter", "blocked", "undelivered", evUnconfirmed:
		return true
	}
	return false
}

// firstIDs lists up to 5 ids, sorted, for a failure message.
func firstIDs(ids []string) string {
	ids = slices.Clone(ids)
	sort.Strings(ids)
	if len(ids) > 5 {
		return strings.Join(ids[:5], ", ") + fmt.Sprintf(" (and %d more)", len(ids)-5)
	}
	return strings.Join(ids, ", ")
}

package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/auth"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

type sendRequest struct {
	To   string `json:"to"`
	From string `json:"from,omitempty"`
	Body string `json:"body"`
}

type sendResponse struct {
	ID     sms.MessageID `json:"id"`
	Status sms.Status    `json:"status"`
	From   string        `json:"from"`
	To     string        `json:"to"`
}

const maxIdempotencyKey = 255

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if k := sms.KindOf(err); k == sms.Internal || k == sms.Unavailable {
		s.cfg.Log.Warn("request failed", "method", r.Method, "path", r.Pattern, "code", sms.CodeOf(err), "err", err)
	}
	writeError(w, err)
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	tok := tokenOf(r.Context())
	var req sendRequest
	_, err := s.decode(w, r, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to, err := sms.ParseNumber(req.To)
	if err != nil {
		s.fail(w, r, withField(err, "to"))
		return
	}
	if err := s.checkBody(req.Body); err != nil {
		s.fail(w, r, err)
		return
	}
	from, carrier, err := s.sender(r, tok, req.From)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m := &sms.Message{Direction: sms.Outbound, From: from, To: to, Body: req.Body, EmployeeID: tok.EmployeeID, Carrier: carrier, Source: sms.SourceHTTP}
	if !s.sendAllowed(w, tok.EmployeeID, to) {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey {
		s.fail(w, r, sms.Errorf(sms.Invalid, "invalid_idempotency_key", "Idempotency-Key must be at most %d characters", maxIdempotencyKey))
		return
	}
	status := http.StatusAccepted
	if key != "" {
		// Fingerprint the request by its redacted form: the KV record never
		// holds (or hashes) a raw secret.
		fp := []byte(from.E164() + "\x00" + to.E164() + "\x00" + s.cfg.Redact(req.Body))
		replay, err := s.cfg.Ingress.AcceptOnce(r.Context(), m, tok.EmployeeID, key, fp)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if replay {
			w.Header().Set("Idempotent-Replayed", "true")
		}
	} else if err := s.cfg.Ingress.Accept(r.Context(), m); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/messages/"+string(m.ID))
	writeJSON(w, status, sendResponse{ID: m.ID, Status: sms.StatusAccepted, From: from.E164(), To: to.E164()})
}

// sender picks and checks the from number: one the employee holds now.
func (s *Server) sender(r *http.Request, tok auth.Token, fromStr string) (sms.Number, string, error) {
	if tok.EmployeeID == "" {
		return "", "", sms.Errorf(sms.Forbidden, "not_an_employee", "only an employee token can send messages")
	}
	var from sms.Number
	if fromStr != "" {
		f, err := sms.ParseNumber(fromStr)
		if err != nil {
			return "", "", withField(err, "from")
		}
		from = f
	} else {
		held, err := s.held(r, tok.EmployeeID)
		if err != nil {
			return "", "", err
		}
		switch len(held) {
		case 0:
			return "", "", sms.Errorf(sms.Forbidden, "no_assigned_number", "you hold no business number; ask an admin to assign one")
		case 1:
			from = held[0]
		default:
			return "", "", withField(sms.Errorf(sms.Invalid, "from_required", "you hold several numbers: say which one in from"), "from")
		}
	}
	// Always verified against the directory, whatever the cache said.
	n, _, err := s.cfg.Directory.Number(r.Context(), from)
	if err != nil && sms.KindOf(err) != sms.NotFound {
		return "", "", err
	}
	if err != nil || n.State != directory.StateAssigned || n.EmployeeID != tok.EmployeeID {
		return "", "", withField(sms.Errorf(sms.Forbidden, "unknown_sender", "from is not a business number you hold"), "from")
	}
	return from, n.Carrier, nil
}

func (s *Server) held(r *http.Request, employee string) ([]sms.Number, error) {
	now := time.Now()
	s.mu.Lock()
	h, ok := s.holding[employee]
	s.mu.Unlock()
	if ok && now.Before(h.exp) {
		return h.nums, nil
	}
	ns, err := s.cfg.Directory.NumbersOf(r.Context(), employee)
	if err != nil {
		return nil, err
	}
	nums := make([]sms.Number, len(ns))
	for i, n := range ns {
		nums[i] = n.Number
	}
	s.mu.Lock()
	if len(s.holding) > 10000 {
		clear(s.holding)
	}
	s.holding[employee] = heldNumbers{nums: nums, exp: now.Add(5 * time.Second)}
	s.mu.Unlock()
	return nums, nil
}

// canRead: compliance reads everything; an employee reads messages of
// numbers they held when the message was accepted; admins without the
// compliance role read no content.
func canRead(tok auth.Token, v readmodel.View) bool {
	return ownsMessage(tok, v) || tok.Has(auth.RoleCompliance)
}

// ownsMessage: the caller is the employee the message belongs to. Any
// other read of its content is a compliance read, and audited.
func ownsMessage(tok auth.Token, v readmodel.View) bool {
	return tok.EmployeeID != "" && v.EmployeeID == tok.EmployeeID
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) {
	id, err := sms.ParseMessageID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.cfg.Reader.Get(r.Context(), id)
	if err == nil && !canRead(tokenOf(r.Context()), v) {
		err = readmodel.ErrNotFound // do not reveal that it exists
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Read through the compliance role: audited (as GET
	// /v1/compliance/messages/{id}) before anything is shown.
	if !ownsMessage(tokenOf(r.Context()), v) {
		if err := s.audit(r, "message.view", map[string]string{"id": string(id)}, []readmodel.View{v}); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, view(v))
}

type messageView struct {
	ID         sms.MessageID `json:"id"`
	Direction  sms.Direction `json:"direction"`
	From       string        `json:"from,omitempty"`
	To         string        `json:"to,omitempty"`
	Body       *string       `json:"body"` // redacted; null until archived
	Status     sms.Status    `json:"status"`
	Verdict    sms.Verdict   `json:"verdict,omitempty"`
	Findings   []sms.Finding `json:"findings"`
	EmployeeID string        `json:"employee_id,omitempty"`
	Parts      int           `json:"parts,omitempty"`
	AcceptedAt *time.Time    `json:"accepted_at,omitempty"`
	ArchivedAt *time.Time    `json:"archived_at,omitempty"`
	Events     []eventView   `json:"events,omitempty"` // in GET /v1/messages/{id}
}

type eventView struct {
	Status     sms.Status `json:"status"`
	At         time.Time  `json:"at"`
	Detail     string     `json:"detail,omitempty"`
	CarrierIDs []string   `json:"carrier_ids,omitempty"`
}

func view(v readmodel.View) messageView {
	out := messageView{ID: v.ID, Direction: v.Direction, From: v.From.E164(), To: v.To.E164(), Status: v.Status,
		Verdict: v.Verdict, Findings: v.Findings, EmployeeID: v.EmployeeID, Parts: v.Parts}
	if out.Findings == nil {
		out.Findings = []sms.Finding{}
	}
	if v.Archived {
		b := v.Body
		out.Body = &b
		t := v.ArchivedAt
		out.ArchivedAt = &t
	}
	if !v.AcceptedAt.IsZero() {
		t := v.AcceptedAt
		out.AcceptedAt = &t
	}
	for _, e := range v.Events {
		out.Events = append(out.Events, eventView{Status: e.Status, At: e.At, Detail: e.Detail, CarrierIDs: e.CarrierIDs})
	}
	return out
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	tok := tokenOf(r.Context())
	q := readmodel.Query{EmployeeID: tok.EmployeeID}
	if tok.Has(auth.RoleCompliance) {
		q.EmployeeID = r.URL.Query().Get("employee_id")
	} else if tok.EmployeeID == "" {
		s.fail(w, r, sms.Errorf(sms.Forbidden, "forbidden", "reading messages needs an employee or compliance token"))
		return
	}
	switch d := sms.Direction(r.URL.Query().Get("direction")); {
	case d == "":
	case d.Valid():
		q.Direction = d
	default:
		s.fail(w, r, withField(sms.Errorf(sms.Invalid, "invalid_direction", "direction must be inbound or outbound"), "direction"))
		return
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, withField(sms.Errorf(sms.Invalid, "invalid_limit", "limit must be 1-1000"), "limit"))
			return
		}
		q.Limit = n
	}
	if p := r.URL.Query().Get("page_token"); p != "" {
		id, err := sms.ParseMessageID(p)
		if err != nil {
			s.fail(w, r, withField(sms.Errorf(sms.Invalid, "invalid_page_token", "page_token is not valid"), "page_token"))
			return
		}
		q.Before = id
	}
	vs, next, err := s.cfg.Reader.List(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Anything but an employee's own inbox is a compliance read: audited
	// before anything is shown.
	if tok.EmployeeID == "" || q.EmployeeID != tok.EmployeeID {
		p := map[string]string{}
		for k, v := range map[string]string{"employee_id": q.EmployeeID, "direction": string(q.Direction),
			"limit": r.URL.Query().Get("limit"), "page_token": string(q.Before)} {
			if v != "" {
				p[k] = v
			}
		}
		if err := s.audit(r, "messages.list", p, vs); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeMessagePage(w, vs, string(next))
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	tok := tokenOf(r.Context())
	out := struct {
		Roles      []string `json:"roles"`
		EmployeeID string   `json:"employee_id,omitempty"`
		Numbers    []string `json:"numbers"`
	}{Roles: tok.Roles, EmployeeID: tok.EmployeeID, Numbers: []string{}}
	if tok.EmployeeID != "" {
		ns, err := s.cfg.Directory.NumbersOf(r.Context(), tok.EmployeeID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, n := range ns {
			out.Numbers = append(out.Numbers, n.Number.E164())
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// writeMessagePage answers one page of messages and the token of the next.
func writeMessagePage(w http.ResponseWriter, vs []readmodel.View, next string) {
	out := struct {
		Messages      []messageView `json:"messages"`
		NextPageToken string        `json:"next_page_token,omitempty"`
	}{Messages: []messageView{}, NextPageToken: next}
	for _, v := range vs {
		out.Messages = append(out.Messages, view(v))
	}
	writeJSON(w, http.StatusOK, out)
}

// checkBody validates the text of a message a user sends: not blank,
// valid UTF-8, within http.max_body_chars. The error names the field.
func (s *Server) checkBody(body string) error {
	if strings.TrimSpace(body) == "" {
		return withField(sms.Errorf(sms.Invalid, "empty_body", "body must not be empty"), "body")
	}
	if !utf8.ValidString(body) || strings.ContainsRune(body, 0) {
		return withField(sms.Errorf(sms.Invalid, "invalid_encoding", "body must be valid UTF-8 text without NUL characters"), "body")
	}
	if n := utf8.RuneCountInString(body); n > s.cfg.MaxBodyChars {
		return withField(sms.Errorf(sms.Invalid, "body_too_long", "body has %d characters; the limit is %d", n, s.cfg.MaxBodyChars), "body")
	}
	return nil
}

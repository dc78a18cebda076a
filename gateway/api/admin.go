package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/auth"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/webhook"
)

// maxImportBytes bounds a CSV import (100,000 rows fit).
const maxImportBytes = 16 << 20

func actor(r *http.Request) string {
	t := tokenOf(r.Context())
	if t.Name != "" {
		return t.Name
	}
	return t.EmployeeID
}

// dirErr gives a directory error the field it names, for the JSON error.
func dirErr(err error) error {
	if f := directory.FieldOf(err); f != "" {
		return withField(err, f)
	}
	return err
}

// failDir is fail for directory errors.
func (s *Server) failDir(w http.ResponseWriter, r *http.Request, err error) {
	var ie *directory.ImportError
	if errors.As(err, &ie) {
		var b struct {
			errorBody
			Errors []directory.RowError `json:"errors"`
		}
		b.Error.Code, b.Error.Message, b.Errors = ie.Err.Code, ie.Err.Message, ie.Rows
		writeJSON(w, http.StatusBadRequest, b)
		return
	}
	s.fail(w, r, dirErr(err))
}

func (s *Server) pathNumber(r *http.Request) (sms.Number, error) {
	n, err := sms.ParseNumber(r.PathValue("number"))
	if err != nil {
		return "", withField(err, "number")
	}
	return n, nil
}

type numberView struct {
	Number           string   `json:"number"`
	Carrier          string   `json:"carrier,omitempty"`
	Kind             string   `json:"kind"`
	State            string   `json:"state"`
	EmployeeID       string   `json:"employee_id,omitempty"`
	Capabilities     []string `json:"capabilities"`
	Queue            string   `json:"queue,omitempty"`
	AutoReply        string   `json:"auto_reply,omitempty"`
	Label            string   `json:"label,omitempty"`
	QuarantinedUntil string   `json:"quarantined_until,omitempty"`
	AssignedSince    string   `json:"assigned_since,omitempty"`
	UpdatedAt        string   `json:"updated_at"`
	UpdatedBy        string   `json:"updated_by,omitempty"`
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func numView(n directory.Number) numberView {
	v := numberView{Number: n.Number.E164(), Carrier: n.Carrier, Kind: n.Kind, State: n.State, EmployeeID: n.EmployeeID,
		Capabilities: n.Capabilities, Queue: n.Queue, AutoReply: n.AutoReply, Label: n.Label,
		QuarantinedUntil: ts(n.QuarantinedUntil), UpdatedAt: ts(n.UpdatedAt), UpdatedBy: n.UpdatedBy}
	if v.Capabilities == nil {
		v.Capabilities = []string{"sms"}
	}
	if k := len(n.History); k > 0 && n.State == directory.StateAssigned && n.History[k-1].To.IsZero() {
		v.AssignedSince = ts(n.History[k-1].From)
	}
	return v
}

func (s *Server) addNumber(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Number       string   `json:"number"`
		Carrier      string   `json:"carrier"`
		Kind         string   `json:"kind"`
		EmployeeID   string   `json:"employee_id"`
		Capabilities []string `json:"capabilities"`
		Queue        string   `json:"queue"`
		AutoReply    string   `json:"auto_reply"`
		Label        string   `json:"label"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	num, err := sms.ParseNumber(req.Number)
	if err != nil {
		s.fail(w, r, withField(err, "number"))
		return
	}
	n, err := s.cfg.Directory.AddNumber(r.Context(), directory.Number{Number: num, Carrier: req.Carrier, Kind: req.Kind, EmployeeID: req.EmployeeID,
		Capabilities: req.Capabilities, Queue: req.Queue, AutoReply: req.AutoReply, Label: req.Label}, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	if req.EmployeeID != "" {
		s.forget(req.EmployeeID)
	}
	writeJSON(w, http.StatusCreated, numView(n))
}

func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request) {
	ns, err := s.cfg.Directory.Numbers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	out := []numberView{}
	for _, n := range ns {
		if (q.Get("state") != "" && n.State != q.Get("state")) || (q.Get("kind") != "" && n.Kind != q.Get("kind")) ||
			(q.Get("employee_id") != "" && n.EmployeeID != q.Get("employee_id")) {
			continue
		}
		out = append(out, numView(n))
	}
	writeJSON(w, http.StatusOK, map[string]any{"numbers": out})
}

func (s *Server) getNumber(w http.ResponseWriter, r *http.Request) {
	num, err := s.pathNumber(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, _, err := s.cfg.Directory.Number(r.Context(), num)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, numView(n))
}

func (s *Server) assignNumber(w http.ResponseWriter, r *http.Request) {
	s.assignOrReassign(w, r, false)
}

func (s *Server) reassignNumber(w http.ResponseWriter, r *http.Request) {
	s.assignOrReassign(w, r, true)
}

func (s *Server) assignOrReassign(w http.ResponseWriter, r *http.Request, re bool) {
	num, err := s.pathNumber(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		EmployeeID string `json:"employee_id"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.EmployeeID == "" {
		s.fail(w, r, withField(sms.Errorf(sms.Invalid, "employee_id_required", "employee_id is required"), "employee_id"))
		return
	}
	old, _, err := s.cfg.Directory.Number(r.Context(), num)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var n directory.Number
	if re {
		n, err = s.cfg.Directory.Reassign(r.Context(), num, req.EmployeeID, actor(r))
	} else {
		n, err = s.cfg.Directory.Assign(r.Context(), num, req.EmployeeID, actor(r))
	}
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	s.forget(req.EmployeeID)
	s.forget(old.EmployeeID)
	writeJSON(w, http.StatusOK, numView(n))
}

func (s *Server) releaseNumber(w http.ResponseWriter, r *http.Request) {
	num, err := s.pathNumber(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		QuarantineDays int    `json:"quarantine_days"`
		Queue          string `json:"queue"`
		AutoReply      string `json:"auto_reply"`
	}
	if r.ContentLength != 0 {
		if _, err := s.decode(w, r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	old, _, err := s.cfg.Directory.Number(r.Context(), num)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.cfg.Directory.ReleaseWith(r.Context(), num, directory.ReleaseOptions{QuarantineDays: req.QuarantineDays, Queue: req.Queue, AutoReply: req.AutoReply}, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	s.forget(old.EmployeeID)
	writeJSON(w, http.StatusOK, numView(n))
}

func (s *Server) retireNumber(w http.ResponseWriter, r *http.Request) {
	s.numberOp(w, r, s.cfg.Directory.Retire)
}

func (s *Server) restoreNumber(w http.ResponseWriter, r *http.Request) {
	s.numberOp(w, r, s.cfg.Directory.Restore)
}

func (s *Server) numberOp(w http.ResponseWriter, r *http.Request, op func(context.Context, sms.Number, string) (directory.Number, error)) {
	num, err := s.pathNumber(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	old, _, err := s.cfg.Directory.Number(r.Context(), num)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := op(r.Context(), num, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	s.forget(old.EmployeeID)
	writeJSON(w, http.StatusOK, numView(n))
}

func (s *Server) updateNumber(w http.ResponseWriter, r *http.Request) {
	num, err := s.pathNumber(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Carrier      *string  `json:"carrier"`
		Kind         *string  `json:"kind"`
		Capabilities []string `json:"capabilities"`
		Queue        *string  `json:"queue"`
		AutoReply    *string  `json:"auto_reply"`
		Label        *string  `json:"label"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.cfg.Directory.UpdateNumber(r.Context(), num, directory.NumberPatch{Carrier: req.Carrier, Kind: req.Kind,
		Capabilities: req.Capabilities, Queue: req.Queue, AutoReply: req.AutoReply, Label: req.Label}, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, numView(n))
}

// readCSV reads a text/csv request body.
func readCSV(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
	if ct != "text/csv" {
		return nil, sms.Errorf(sms.Unsupported, "unsupported_media_type", "Content-Type must be text/csv")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxImportBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, sms.Errorf(sms.TooLarge, "payload_too_large", "a CSV import has at most %d bytes", maxImportBytes)
		}
		return nil, sms.Wrap(sms.Invalid, "malformed_request", "could not read the request body", err)
	}
	return strings.NewReader(string(body)), nil
}

func (s *Server) importNumbers(w http.ResponseWriter, r *http.Request) {
	body, err := readCSV(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.cfg.Directory.ImportNumbers(r.Context(), body, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	s.mu.Lock()
	clear(s.holding)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) importEmployees(w http.ResponseWriter, r *http.Request) {
	body, err := readCSV(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.cfg.Directory.ImportEmployees(r.Context(), body, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type assignmentView struct {
	Number     string `json:"number"`
	EmployeeID string `json:"employee_id"`
	From       string `json:"from"`
	To         string `json:"to,omitempty"` // empty while it lasts
	AssignedBy string `json:"assigned_by,omitempty"`
	ReleasedBy string `json:"released_by,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, q directory.HistoryQuery) {
	if at := r.URL.Query().Get("at"); at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			s.fail(w, r, withField(sms.Errorf(sms.Invalid, "invalid_time", "at must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z"), "at"))
			return
		}
		q.At = t
	}
	hs, err := s.cfg.Directory.History(r.Context(), q)
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	out := []assignmentView{}
	for _, h := range hs {
		out = append(out, assignmentView{Number: h.Number.E164(), EmployeeID: h.EmployeeID, From: ts(h.From), To: ts(h.To),
			AssignedBy: h.AssignedBy, ReleasedBy: h.ReleasedBy, Reason: h.Reason})
	}
	writeJSON(w, http.StatusOK, map[string]any{"assignments": out})
}

// numberHistory: GET /v1/numbers/{number}/history[?at=] (admin).
func (s *Server) numberHistory(w http.ResponseWriter, r *http.Request) {
	num, err := s.pathNumber(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.history(w, r, directory.HistoryQuery{Number: num})
}

// assignments: GET /v1/assignments?number=&employee_id=&at= . Admins see
// everything; an employee sees their own assignments only.
func (s *Server) assignments(w http.ResponseWriter, r *http.Request) {
	tok := tokenOf(r.Context())
	q := directory.HistoryQuery{EmployeeID: r.URL.Query().Get("employee_id")}
	if n := r.URL.Query().Get("number"); n != "" {
		num, err := sms.ParseNumber(n)
		if err != nil {
			s.fail(w, r, withField(err, "number"))
			return
		}
		q.Number = num
	}
	if !tok.Has(auth.RoleAdmin) {
		if tok.EmployeeID == "" || (q.EmployeeID != "" && q.EmployeeID != tok.EmployeeID) {
			s.fail(w, r, sms.Errorf(sms.Forbidden, "forbidden", "an employee may read only their own assignments"))
			return
		}
		q.EmployeeID = tok.EmployeeID
	}
	s.history(w, r, q)
}

// employeeAssignments: GET /v1/employees/{id}/assignments (admin or self).
func (s *Server) employeeAssignments(w http.ResponseWriter, r *http.Request) {
	tok := tokenOf(r.Context())
	id := r.PathValue("id")
	if !tok.Has(auth.RoleAdmin) && tok.EmployeeID != id {
		s.fail(w, r, sms.Errorf(sms.Forbidden, "forbidden", "an employee may read only their own assignments"))
		return
	}
	if _, _, err := s.cfg.Directory.Employee(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.history(w, r, directory.HistoryQuery{EmployeeID: id})
}

func (s *Server) forget(employee string) {
	if employee == "" {
		return
	}
	s.mu.Lock()
	delete(s.holding, employee)
	s.mu.Unlock()
}

type employeeView struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Email         string `json:"email,omitempty"`
	Department    string `json:"department,omitempty"`
	Manager       string `json:"manager,omitempty"`
	State         string `json:"state"`
	WebhookURL    string `json:"webhook_url,omitempty"`
	WebhookSecret string `json:"webhook_secret,omitempty"`
	OffboardedAt  string `json:"offboarded_at,omitempty"`
}

func empView(e directory.Employee, withSecret bool) employeeView {
	v := employeeView{ID: e.ID, Name: e.Name, Email: e.Email, Department: e.Department, Manager: e.Manager, State: e.State,
		WebhookURL: e.WebhookURL, OffboardedAt: ts(e.OffboardedAt)}
	if withSecret {
		v.WebhookSecret = e.WebhookSecret
	}
	return v
}

func (s *Server) createEmployee(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Email      string `json:"email"`
		Department string `json:"department"`
		Manager    string `json:"manager"`
		WebhookURL string `json:"webhook_url"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkWebhook(r.Context(), req.WebhookURL); err != nil {
		s.fail(w, r, withField(err, "webhook_url"))
		return
	}
	e, err := s.cfg.Directory.CreateEmployeeBy(r.Context(), directory.Employee{ID: req.ID, Name: req.Name, Email: req.Email,
		Department: req.Department, Manager: req.Manager, WebhookURL: req.WebhookURL}, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	if req.WebhookURL != "" {
		auditNote(w, "webhook_url", req.WebhookURL)
	}
	writeJSON(w, http.StatusCreated, empView(e, true))
}

func (s *Server) updateEmployee(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name       *string `json:"name"`
		Email      *string `json:"email"`
		Department *string `json:"department"`
		Manager    *string `json:"manager"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.cfg.Directory.UpdateEmployee(r.Context(), r.PathValue("id"), directory.EmployeePatch{Name: req.Name, Email: req.Email,
		Department: req.Department, Manager: req.Manager}, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, empView(e, false))
}

func (s *Server) listEmployees(w http.ResponseWriter, r *http.Request) {
	es, err := s.cfg.Directory.Employees(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	out := []employeeView{}
	for _, e := range es {
		if (q.Get("state") != "" && e.State != q.Get("state")) || (q.Get("department") != "" && e.Department != q.Get("department")) {
			continue
		}
		out = append(out, empView(e, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"employees": out})
}

func (s *Server) getEmployee(w http.ResponseWriter, r *http.Request) {
	e, _, err := s.cfg.Directory.Employee(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, empView(e, false))
}

// offboardEmployee: POST /v1/employees/{id}/offboard
// {"policy": "successor"|"queue"|"quarantine", "successor", "queue",
// "quarantine_days", "auto_reply"}. The employee's tokens are revoked.
func (s *Server) offboardEmployee(w http.ResponseWriter, r *http.Request) {
	var req directory.OffboardPolicy
	if r.ContentLength != 0 {
		if _, err := s.decode(w, r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	id := r.PathValue("id")
	res, err := s.cfg.Directory.Offboard(r.Context(), id, req, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	revoked, err := s.cfg.Tokens.RevokeEmployee(r.Context(), id)
	if err != nil {
		s.cfg.Log.Warn("revoking an offboarded employee's tokens failed", "employee", id, "err", err)
	}
	s.forget(id)
	s.forget(res.Successor)
	nums := []numberView{}
	for _, n := range res.Numbers {
		nums = append(nums, numView(n))
	}
	writeJSON(w, http.StatusOK, map[string]any{"employee": empView(res.Employee, false), "policy": res.Policy, "successor": res.Successor,
		"numbers": nums, "conversations_transferred": res.Conversations, "tokens_revoked": revoked})
}

// checkWebhook refuses a webhook URL that could reach the gateway's own
// networks or a metadata service (400 webhook_forbidden) unless its
// network is allow-listed; "" (no webhook) passes.
func (s *Server) checkWebhook(ctx context.Context, url string) error {
	if url == "" {
		return nil
	}
	return webhook.NewGuard(s.cfg.WebhookAllow).Check(ctx, url)
}

func (s *Server) setWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URL string `json:"url"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkWebhook(r.Context(), req.URL); err != nil {
		s.fail(w, r, withField(err, "url"))
		return
	}
	e, err := s.cfg.Directory.SetWebhook(r.Context(), r.PathValue("id"), req.URL)
	if sms.CodeOf(err) == "invalid_webhook_url" {
		err = withField(err, "url")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	auditNote(w, "webhook_url", req.URL) // in full: where this employee's texts will go
	writeJSON(w, http.StatusOK, empView(e, true))
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	e, _, err := s.cfg.Directory.Employee(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if e.State != directory.EmployeeActive {
		s.fail(w, r, sms.Errorf(sms.Conflict, "employee_inactive", "employee is not active"))
		return
	}
	plain, tok, err := s.cfg.Tokens.Issue(r.Context(), "employee "+e.ID, []string{auth.RoleEmployee}, e.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	auditNote(w, "token_name", tok.Name)
	auditNote(w, "token_roles", strings.Join(tok.Roles, ","))
	auditNote(w, "token_id", tokenID(tok))
	writeJSON(w, http.StatusCreated, map[string]any{"token": plain, "employee_id": e.ID, "roles": tok.Roles, "created_at": tok.CreatedAt,
		"note": "store this token now: only its hash is kept"})
}

func (s *Server) sandboxInbound(w http.ResponseWriter, r *http.Request) {
	if s.cfg.SandboxMO == nil {
		s.fail(w, r, sms.Errorf(sms.NotFound, "sandbox_disabled", "the sandbox carrier is not enabled"))
		return
	}
	var req struct {
		From string `json:"from"`
		To   string `json:"to"`
		Body string `json:"body"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	from, err := sms.ParseNumber(req.From)
	if err != nil {
		s.fail(w, r, withField(err, "from"))
		return
	}
	to, err := sms.ParseNumber(req.To)
	if err != nil {
		s.fail(w, r, withField(err, "to"))
		return
	}
	if req.Body == "" {
		s.fail(w, r, withField(sms.Errorf(sms.Invalid, "empty_body", "body must not be empty"), "body"))
		return
	}
	if err := s.cfg.SandboxMO(r.Context(), from, to, req.Body); err != nil {
		s.fail(w, r, sms.Wrap(sms.Unavailable, "sandbox_failed", "the sandbox carrier could not deliver the text", err))
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent_by_carrier"})
}

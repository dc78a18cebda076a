package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/internal/auth"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// Searcher is the compliance side of the read model (archive/readmodel.Index).
type Searcher interface {
	Get(ctx context.Context, id sms.MessageID) (readmodel.View, error)
	Search(ctx context.Context, q readmodel.Search) ([]readmodel.View, string, error)
	Conversation(ctx context.Context, business, party sms.Number, limit int) ([]readmodel.View, error)
	AddReview(ctx context.Context, r readmodel.Review) error
	Reviews(ctx context.Context, id sms.MessageID) ([]readmodel.Review, error)
}

// HoldKeeper places and releases legal holds per matter (archive/compliance.Holds).
type HoldKeeper interface {
	Place(ctx context.Context, actor, name, reason string, q *readmodel.Search, ids []sms.MessageID) (archive.Matter, error)
	Release(ctx context.Context, actor, id string) (archive.Matter, error)
	Get(ctx context.Context, id string) (archive.Matter, error)
	List(ctx context.Context) ([]archive.Matter, error)
}

// Exporter builds evidence bundles (archive/compliance.Exporter); it audits
// each export itself.
type Exporter interface {
	Export(ctx context.Context, actor string, q *readmodel.Search, matter string) ([]byte, archive.Manifest, error)
}

// Auditor appends an audit record to the archive. A compliance request
// whose audit record cannot be written fails: nothing is shown unaudited.
type Auditor func(ctx context.Context, e archive.AuditEntry) error

func (s *Server) complianceRoutes() {
	s.mux.Handle("POST /v1/tokens", s.auth(auth.RoleAdmin, s.issueStaffToken))
	if s.cfg.Search == nil || s.cfg.Audit == nil {
		return
	}
	s.mux.Handle("GET /v1/compliance/messages", s.auth(auth.RoleCompliance, s.searchMessages))
	s.mux.Handle("GET /v1/compliance/messages/{id}", s.auth(auth.RoleCompliance, s.reviewMessage))
	s.mux.Handle("POST /v1/compliance/messages/{id}/reviews", s.auth(auth.RoleCompliance, s.addReview))
	s.mux.Handle("GET /v1/compliance/conversations", s.auth(auth.RoleCompliance, s.conversation))
	if s.cfg.Export != nil {
		s.mux.Handle("POST /v1/compliance/exports", s.auth(auth.RoleCompliance, s.export))
	}
	if s.cfg.Holds != nil {
		s.mux.Handle("POST /v1/compliance/holds", s.auth(auth.RoleCompliance, s.placeHold))
		s.mux.Handle("GET /v1/compliance/holds", s.auth(auth.RoleCompliance, s.listHolds))
		s.mux.Handle("GET /v1/compliance/holds/{id}", s.auth(auth.RoleCompliance, s.getHold))
		s.mux.Handle("POST /v1/compliance/holds/{id}/release", s.auth(auth.RoleCompliance, s.releaseHold))
	}
}

// audit writes the audit record of a compliance action by the caller.
func (s *Server) audit(r *http.Request, action string, params map[string]string, views []readmodel.View) error {
	if s.cfg.Audit == nil {
		return sms.Errorf(sms.Unavailable, "audit_unavailable", "the audit trail is not configured; compliance reads are refused")
	}
	tok := tokenOf(r.Context())
	e := archive.AuditEntry{Type: archive.AuditAction, At: time.Now().UTC(), Actor: tok.Name, Action: action, Params: params,
		ResultCount: len(views), ResultHash: readmodel.ResultHash(views)}
	if err := s.cfg.Audit(r.Context(), e); err != nil {
		return sms.Wrap(sms.Unavailable, "audit_unavailable", "the audit trail could not be written; retry", err)
	}
	return nil
}

// redact is free text (a review comment, a matter's name or reason) as it
// may be kept: through the redaction filters, like message bodies.
func (s *Server) redact(text string) string {
	if s.cfg.Redact == nil || text == "" {
		return text
	}
	return s.cfg.Redact(text)
}

func badParam(field, code, format string, args ...any) error {
	return withField(sms.Errorf(sms.Invalid, code, format, args...), field)
}

// parseSearch reads a compliance search from the query string.
func (s *Server) parseSearch(r *http.Request) (readmodel.Search, error) {
	return s.searchFrom(r.Context(), r.URL.Query())
}

// searchFrom reads a compliance search from named values (a query string,
// or a legal hold's query object).
func (s *Server) searchFrom(ctx context.Context, v url.Values) (readmodel.Search, error) {
	var q readmodel.Search
	q.Text = v.Get("q")
	num := func(field string) (sms.Number, error) {
		raw := v.Get(field)
		if raw == "" {
			return "", nil
		}
		n, err := sms.ParseNumber(raw)
		if err != nil {
			return "", badParam(field, "invalid_number", "%s must be an E.164 number like +14155550100", field)
		}
		return n, nil
	}
	var err error
	if q.Party, err = num("party"); err != nil {
		return q, err
	}
	if q.Business, err = num("business"); err != nil {
		return q, err
	}
	if e := v.Get("employee"); e != "" {
		q.Employees = append(q.Employees, e)
	}
	if dep := v.Get("department"); dep != "" {
		emps, err := s.cfg.Directory.Employees(ctx)
		if err != nil {
			return q, err
		}
		var ids []string
		for _, e := range emps {
			if strings.EqualFold(e.Department, dep) {
				ids = append(ids, e.ID)
			}
		}
		if len(q.Employees) > 0 { // employee and department: both must hold
			keep := q.Employees[:0]
			for _, id := range q.Employees {
				for _, d := range ids {
					if d == id {
						keep = append(keep, id)
					}
				}
			}
			ids = keep
		}
		if len(ids) == 0 {
			ids = []string{"\x00none"} // a department with nobody in it matches nothing
		}
		q.Employees = ids
	}
	if d := sms.Direction(v.Get("direction")); d != "" {
		if !d.Valid() {
			return q, badParam("direction", "invalid_direction", "direction must be inbound or outbound")
		}
		q.Direction = d
	}
	date := func(field string) (time.Time, error) {
		raw := v.Get(field)
		if raw == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, raw); err == nil {
			return t, nil
		}
		if t, err := time.Parse("2006-01-02", raw); err == nil {
			return t, nil
		}
		return time.Time{}, badParam(field, "invalid_date", "%s must be a date (2026-03-01) or an RFC 3339 time", field)
	}
	if q.From, err = date("from"); err != nil {
		return q, err
	}
	if q.To, err = date("to"); err != nil {
		return q, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, badParam("to", "invalid_date_range", "to must be after from")
	}
	q.Finding = v.Get("finding")
	if vd := v.Get("verdict"); vd != "" {
		switch sms.Verdict(vd) {
		case sms.VerdictPass, sms.VerdictRedacted, sms.VerdictBlocked:
			q.Verdict = sms.Verdict(vd)
		default:
			return q, badParam("verdict", "invalid_verdict", "verdict must be pass, redacted or blocked")
		}
	}
	if hv := v.Get("held"); hv != "" {
		b, err := strconv.ParseBool(hv)
		if err != nil {
			return q, badParam("held", "invalid_held", "held must be true or false")
		}
		q.Held = &b
	}
	if rv := v.Get("reviewed"); rv != "" {
		b, err := strconv.ParseBool(rv)
		if err != nil {
			return q, badParam("reviewed", "invalid_reviewed", "reviewed must be true or false")
		}
		q.Reviewed = &b
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return q, badParam("limit", "invalid_limit", "limit must be 1-500")
		}
		q.Limit = n
	}
	q.Before = v.Get("page_token")
	return q, nil
}

func (s *Server) searchMessages(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseSearch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vs, next, err := s.cfg.Search.Search(r.Context(), q)
	if err != nil {
		if sms.CodeOf(err) == "invalid_page_token" {
			err = withField(err, "page_token")
		}
		s.fail(w, r, err)
		return
	}
	if err := s.audit(r, "search", q.Describe(), vs); err != nil {
		s.fail(w, r, err)
		return
	}
	writeMessagePage(w, vs, string(next))
}

type reviewedView struct {
	messageView
	Reviews []readmodel.Review `json:"reviews"`
}

func (s *Server) reviewMessage(w http.ResponseWriter, r *http.Request) {
	id, err := sms.ParseMessageID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, withField(err, "id"))
		return
	}
	v, err := s.cfg.Search.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rs, err := s.cfg.Search.Reviews(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.audit(r, "message.view", map[string]string{"id": string(id)}, []readmodel.View{v}); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reviewedView{messageView: view(v), Reviews: rs})
}

func (s *Server) addReview(w http.ResponseWriter, r *http.Request) {
	id, err := sms.ParseMessageID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, withField(err, "id"))
		return
	}
	var req struct {
		Action  string `json:"action"`
		Comment string `json:"comment"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	valid := false
	for _, a := range readmodel.ReviewActions {
		valid = valid || a == req.Action
	}
	if !valid {
		s.fail(w, r, badParam("action", "invalid_action", "action must be one of %s", strings.Join(readmodel.ReviewActions, ", ")))
		return
	}
	if len(req.Comment) > 4000 {
		s.fail(w, r, badParam("comment", "comment_too_long", "comment is limited to 4000 bytes"))
		return
	}
	// Only a message that exists is reviewed (and audited): an unknown id
	// is a 404 with nothing in the trail.
	if _, err := s.cfg.Search.Get(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	// The comment is kept (audit trail, index, events) as the filters
	// redact it: a card number typed into it is not archived for years.
	req.Comment = s.redact(req.Comment)
	rv := readmodel.Review{MessageID: id, Reviewer: tokenOf(r.Context()).Name, At: time.Now().UTC(), Action: req.Action, Comment: req.Comment}
	// The audit record comes first: a review that is not in the archive's
	// trail did not happen.
	if err := s.audit(r, "review", map[string]string{"id": string(id), "action": req.Action, "comment": req.Comment}, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Search.AddReview(r.Context(), rv); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rv)
}

func (s *Server) conversation(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	business, err := sms.ParseNumber(v.Get("business"))
	if err != nil {
		s.fail(w, r, badParam("business", "invalid_number", "business must be an E.164 number like +14155550100"))
		return
	}
	party, err := sms.ParseNumber(v.Get("party"))
	if err != nil {
		s.fail(w, r, badParam("party", "invalid_number", "party must be an E.164 number like +14155550199"))
		return
	}
	vs, err := s.cfg.Search.Conversation(r.Context(), business, party, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.audit(r, "conversation.view", map[string]string{"business": business.E164(), "party": party.E164()}, vs); err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Business string        `json:"business"`
		Party    string        `json:"party"`
		Messages []messageView `json:"messages"`
	}{Business: business.E164(), Party: party.E164(), Messages: []messageView{}}
	for _, v := range vs {
		out.Messages = append(out.Messages, view(v))
	}
	writeJSON(w, http.StatusOK, out)
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
	params map[string]string // what the handler adds to the audit record
}

// auditNote adds k=v to the audit record of the admin action r is part of
// (no-op outside one). Handlers say what changed, beyond the path: the
// name and roles of an issued token, the webhook URL set.
func auditNote(w http.ResponseWriter, k, v string) {
	if rec, ok := w.(*statusRecorder); ok {
		if rec.params == nil {
			rec.params = map[string]string{}
		}
		rec.params[k] = v
	}
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// auditAdmin runs an admin change and writes its audit record: who, what
// (method and path, which name the number or employee), and the outcome.
// Request bodies are not recorded (they may carry webhook URLs and
// secrets); the changes themselves are archived as events.
func (s *Server) auditAdmin(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	rec := &statusRecorder{ResponseWriter: w}
	h(rec, r)
	e := archive.AuditEntry{Type: archive.AuditAction, At: time.Now().UTC(), Actor: tokenOf(r.Context()).Name,
		Action: "admin " + r.Method + " " + r.URL.Path,
		Params: map[string]string{"status": strconv.Itoa(rec.status)}}
	if q := r.URL.RawQuery; q != "" {
		e.Params["query"] = q
	}
	for k, v := range rec.params {
		e.Params[k] = v
	}
	// The change is done; an audit failure cannot undo it, so it is logged
	// loudly (the change's own events are in the archive regardless).
	if err := s.cfg.Audit(context.WithoutCancel(r.Context()), e); err != nil {
		s.cfg.Log.Error("audit record of an admin action could not be written", "action", e.Action, "err", err)
	}
}

// issueStaffToken issues a token for a person or system that is not an
// employee: an administrator, a compliance officer, or both. Admins
// manage numbers and people; only the compliance role reads message
// content across employees.
func (s *Server) issueStaffToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 100 {
		s.fail(w, r, badParam("name", "invalid_name", "name is required (at most 100 characters): who holds the token, as the audit trail will show it"))
		return
	}
	if len(req.Roles) == 0 {
		s.fail(w, r, badParam("roles", "invalid_roles", "roles must list admin and/or compliance"))
		return
	}
	for _, role := range req.Roles {
		if role != auth.RoleAdmin && role != auth.RoleCompliance {
			s.fail(w, r, badParam("roles", "invalid_roles", "unknown role %q (admin or compliance; employee tokens come from /v1/employees/{id}/tokens)", role))
			return
		}
		// Separation of duties: administering people and numbers does not
		// let anyone read content. Only a compliance officer makes another.
		if role == auth.RoleCompliance && !tokenOf(r.Context()).Has(auth.RoleCompliance) {
			s.fail(w, r, withField(sms.Errorf(sms.Forbidden, "compliance_requires_compliance",
				"only a compliance officer's token can issue a compliance token"), "roles"))
			return
		}
	}
	plain, tok, err := s.cfg.Tokens.Issue(r.Context(), req.Name, req.Roles, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	auditNote(w, "token_name", tok.Name)
	auditNote(w, "token_roles", strings.Join(tok.Roles, ","))
	auditNote(w, "token_id", tokenID(tok))
	writeJSON(w, http.StatusCreated, map[string]any{"token": plain, "name": tok.Name, "roles": tok.Roles, "created_at": tok.CreatedAt,
		"note": "store this token now: only its hash is kept"})
}

func (s *Server) placeHold(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name       string            `json:"name"`
		Reason     string            `json:"reason"`
		MessageIDs []string          `json:"message_ids"`
		Query      map[string]string `json:"query"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	req.Name, req.Reason = strings.TrimSpace(req.Name), strings.TrimSpace(req.Reason)
	if req.Name == "" || len(req.Name) > 200 {
		s.fail(w, r, badParam("name", "invalid_name", "name (the matter) is required, at most 200 characters"))
		return
	}
	if req.Reason == "" || len(req.Reason) > 2000 {
		s.fail(w, r, badParam("reason", "invalid_reason", "reason is required, at most 2000 characters"))
		return
	}
	if len(req.MessageIDs) == 0 && len(req.Query) == 0 {
		s.fail(w, r, badParam("query", "hold_empty", "give message_ids, a query, or both"))
		return
	}
	q, err := s.queryObject(r.Context(), req.Query)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var ids []sms.MessageID
	for i, raw := range req.MessageIDs {
		id, err := sms.ParseMessageID(raw)
		if err != nil {
			s.fail(w, r, badParam(fmt.Sprintf("message_ids[%d]", i), "invalid_message_id", "not a message id: %q", raw))
			return
		}
		ids = append(ids, id)
	}
	// Name and reason are archived (audit trail) as the filters redact them.
	m, err := s.cfg.Holds.Place(r.Context(), tokenOf(r.Context()).Name, s.redact(req.Name), s.redact(req.Reason), q, ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) listHolds(w http.ResponseWriter, r *http.Request) {
	ms, err := s.cfg.Holds.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"holds": ms})
}

func (s *Server) getHold(w http.ResponseWriter, r *http.Request) {
	m, err := s.cfg.Holds.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request) {
	m, err := s.cfg.Holds.Release(r.Context(), tokenOf(r.Context()).Name, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// export answers an evidence bundle (zip) for a query or a matter.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Matter string            `json:"matter"`
		Query  map[string]string `json:"query"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Matter == "" && len(req.Query) == 0 {
		s.fail(w, r, badParam("query", "export_empty", "give a query or a matter"))
		return
	}
	q, err := s.queryObject(r.Context(), req.Query)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, man, err := s.cfg.Export.Export(r.Context(), tokenOf(r.Context()).Name, q, req.Matter)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="smsgw-evidence-`+man.CreatedAt.Format("20060102T150405Z")+`.zip"`)
	w.Header().Set("X-Smsgw-Messages", strconv.Itoa(man.Messages))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// queryObject reads the "query" object of a hold or export (the search's
// parameters by name; it takes every page): nil when absent; errors name
// their field as "query.<name>".
func (s *Server) queryObject(ctx context.Context, query map[string]string) (*readmodel.Search, error) {
	if len(query) == 0 {
		return nil, nil
	}
	v := url.Values{}
	for k, val := range query {
		if k == "limit" || k == "page_token" {
			return nil, badParam("query."+k, "invalid_query", "every page is taken; %s does not apply", k)
		}
		v.Set(k, val)
	}
	q, err := s.searchFrom(ctx, v)
	if err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			err = &fieldError{err: fe.err, field: "query." + fe.field}
		}
		return nil, err
	}
	return &q, nil
}

// tokenID names a token in audit records without revealing it: the first
// 12 hex digits of its SHA-256 (the key it is stored under).
func tokenID(t auth.Token) string {
	if len(t.Hash) > 12 {
		return t.Hash[:12]
	}
	return t.Hash
}

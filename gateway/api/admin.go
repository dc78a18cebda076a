package api

import (
	"net/http"

	"github.com/smsgw/smsgw/internal/auth"
	"github.com/smsgw/smsgw/numbers"
	"github.com/smsgw/smsgw/sms"
)

func actor(r *http.Request) string {
	t := tokenOf(r.Context())
	if t.Name != "" {
		return t.Name
	}
	return t.EmployeeID
}

func (s *Server) pathNumber(r *http.Request) (sms.Number, error) {
	n, err := sms.ParseNumber(r.PathValue("number"))
	if err != nil {
		return "", withField(err, "number")
	}
	return n, nil
}

type numberView struct {
	Number     string `json:"number"`
	Carrier    string `json:"carrier,omitempty"`
	Kind       string `json:"kind"`
	State      string `json:"state"`
	EmployeeID string `json:"employee_id,omitempty"`
	UpdatedAt  string `json:"updated_at"`
	UpdatedBy  string `json:"updated_by,omitempty"`
}

func numView(n numbers.Number) numberView {
	return numberView{Number: n.Number.E164(), Carrier: n.Carrier, Kind: n.Kind, State: n.State, EmployeeID: n.EmployeeID,
		UpdatedAt: n.UpdatedAt.Format("2006-01-02T15:04:05Z07:00"), UpdatedBy: n.UpdatedBy}
}

func (s *Server) addNumber(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Number     string `json:"number"`
		Carrier    string `json:"carrier"`
		Kind       string `json:"kind"`
		EmployeeID string `json:"employee_id"`
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
	n, err := s.cfg.Directory.AddNumber(r.Context(), numbers.Number{Number: num, Carrier: req.Carrier, Kind: req.Kind, EmployeeID: req.EmployeeID}, actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, numView(n))
}

func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request) {
	ns, err := s.cfg.Directory.Numbers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []numberView{}
	for _, n := range ns {
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
	n, err := s.cfg.Directory.Assign(r.Context(), num, req.EmployeeID, actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.forget(req.EmployeeID)
	writeJSON(w, http.StatusOK, numView(n))
}

func (s *Server) releaseNumber(w http.ResponseWriter, r *http.Request) {
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
	n, err := s.cfg.Directory.Release(r.Context(), num, actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.forget(old.EmployeeID)
	writeJSON(w, http.StatusOK, numView(n))
}

func (s *Server) forget(employee string) {
	s.mu.Lock()
	delete(s.holding, employee)
	s.mu.Unlock()
}

type employeeView struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Email         string `json:"email,omitempty"`
	State         string `json:"state"`
	WebhookURL    string `json:"webhook_url,omitempty"`
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

func empView(e numbers.Employee, withSecret bool) employeeView {
	v := employeeView{ID: e.ID, Name: e.Name, Email: e.Email, State: e.State, WebhookURL: e.WebhookURL}
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
		WebhookURL string `json:"webhook_url"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.cfg.Directory.CreateEmployee(r.Context(), numbers.Employee{ID: req.ID, Name: req.Name, Email: req.Email, WebhookURL: req.WebhookURL})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, empView(e, true))
}

func (s *Server) listEmployees(w http.ResponseWriter, r *http.Request) {
	es, err := s.cfg.Directory.Employees(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []employeeView{}
	for _, e := range es {
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

func (s *Server) setWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URL string `json:"url"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.cfg.Directory.SetWebhook(r.Context(), r.PathValue("id"), req.URL)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, empView(e, true))
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	e, _, err := s.cfg.Directory.Employee(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if e.State != "active" {
		s.fail(w, r, sms.Errorf(sms.Conflict, "employee_inactive", "employee is not active"))
		return
	}
	plain, tok, err := s.cfg.Tokens.Issue(r.Context(), "employee "+e.ID, []string{auth.RoleEmployee}, e.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
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

var _ = auth.RoleAdmin

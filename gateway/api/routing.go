package api

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/auth"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sms"
)

// Queues, agents, menus and conversations (issue 6). Admins manage queues
// and menus; agents set their own availability, read the conversations
// they own and answer them from the business number.

type memberView struct {
	EmployeeID string `json:"employee_id"`
	Capacity   int    `json:"capacity"`
	Available  bool   `json:"available"`
	Open       int    `json:"open"`
}

type queueView struct {
	ID                string       `json:"id"`
	Name              string       `json:"name"`
	WaitMessage       string       `json:"wait_message,omitempty"`
	InactivitySeconds int          `json:"inactivity_seconds,omitempty"`
	Members           []memberView `json:"members"`
	Waiting           int          `json:"waiting"`
	UpdatedAt         string       `json:"updated_at"`
	UpdatedBy         string       `json:"updated_by,omitempty"`
}

func (s *Server) queueView(r *http.Request, q directory.Queue) (queueView, error) {
	v := queueView{ID: q.ID, Name: q.Name, WaitMessage: q.WaitMessage, InactivitySeconds: q.InactivitySeconds,
		Members: []memberView{}, Waiting: len(q.Waiting), UpdatedAt: ts(q.UpdatedAt), UpdatedBy: q.UpdatedBy}
	for id, m := range q.Members {
		a, _, err := s.cfg.Directory.Agent(r.Context(), id)
		if err != nil {
			return queueView{}, err
		}
		v.Members = append(v.Members, memberView{EmployeeID: id, Capacity: m.Capacity, Available: a.Available, Open: len(a.Open)})
	}
	sort.Slice(v.Members, func(i, j int) bool { return v.Members[i].EmployeeID < v.Members[j].EmployeeID })
	return v, nil
}

func (s *Server) writeQueue(w http.ResponseWriter, r *http.Request, status int, q directory.Queue) {
	v, err := s.queueView(r, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

func (s *Server) createQueue(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID                string `json:"id"`
		Name              string `json:"name"`
		WaitMessage       string `json:"wait_message"`
		InactivitySeconds int    `json:"inactivity_seconds"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := s.cfg.Directory.CreateQueue(r.Context(), directory.Queue{ID: req.ID, Name: req.Name, WaitMessage: req.WaitMessage, InactivitySeconds: req.InactivitySeconds}, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	s.writeQueue(w, r, http.StatusCreated, q)
}

func (s *Server) listQueues(w http.ResponseWriter, r *http.Request) {
	qs, err := s.cfg.Directory.Queues(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []queueView{}
	for _, q := range qs {
		v, err := s.queueView(r, q)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"queues": out})
}

func (s *Server) getQueue(w http.ResponseWriter, r *http.Request) {
	q, _, err := s.cfg.Directory.Queue(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeQueue(w, r, http.StatusOK, q)
}

func (s *Server) updateQueue(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name              *string `json:"name"`
		WaitMessage       *string `json:"wait_message"`
		InactivitySeconds *int    `json:"inactivity_seconds"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	q, err := s.cfg.Directory.UpdateQueue(r.Context(), r.PathValue("id"), directory.QueuePatch{Name: req.Name, WaitMessage: req.WaitMessage, InactivitySeconds: req.InactivitySeconds}, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	s.writeQueue(w, r, http.StatusOK, q)
}

// setQueueAgent: PUT /v1/queues/{id}/agents/{employee} {"capacity": n}.
func (s *Server) setQueueAgent(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Capacity *int `json:"capacity"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Capacity == nil || *req.Capacity < 1 {
		s.fail(w, r, withField(sms.Errorf(sms.Invalid, "invalid_capacity", "capacity is required: how many conversations the agent handles at once (1-100)"), "capacity"))
		return
	}
	q, err := s.cfg.Directory.SetMember(r.Context(), r.PathValue("id"), r.PathValue("employee"), *req.Capacity, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	s.writeQueue(w, r, http.StatusOK, q)
}

func (s *Server) removeQueueAgent(w http.ResponseWriter, r *http.Request) {
	q, err := s.cfg.Directory.SetMember(r.Context(), r.PathValue("id"), r.PathValue("employee"), 0, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	s.writeQueue(w, r, http.StatusOK, q)
}

// selfOrAdmin checks that the caller is an admin or the employee named.
func selfOrAdmin(r *http.Request, id string) error {
	tok := tokenOf(r.Context())
	if tok.Has(auth.RoleAdmin) || (tok.EmployeeID != "" && tok.EmployeeID == id) {
		return nil
	}
	return sms.Errorf(sms.Forbidden, "forbidden", "only an admin or the employee themselves may do this")
}

type agentView struct {
	EmployeeID   string   `json:"employee_id"`
	Available    bool     `json:"available"`
	Open         []string `json:"open"`
	LastAssigned string   `json:"last_assigned,omitempty"`
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("employee")
	if err := selfOrAdmin(r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	a, _, err := s.cfg.Directory.Agent(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, agentView{EmployeeID: id, Available: a.Available, Open: a.Open, LastAssigned: ts(a.LastAssigned)})
}

// setAvailability: PUT /v1/agents/{employee}/availability {"available": bool}.
func (s *Server) setAvailability(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("employee")
	if err := selfOrAdmin(r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Available *bool `json:"available"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Available == nil {
		s.fail(w, r, withField(sms.Errorf(sms.Invalid, "available_required", "available is required (true or false)"), "available"))
		return
	}
	a, err := s.cfg.Directory.SetAvailability(r.Context(), id, *req.Available, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, agentView{EmployeeID: id, Available: a.Available, Open: a.Open, LastAssigned: ts(a.LastAssigned)})
}

type optionView struct {
	Digit    string   `json:"digit"`
	Keywords []string `json:"keywords,omitempty"`
	Queue    string   `json:"queue"`
	Label    string   `json:"label,omitempty"`
}

type menuView struct {
	Number    string       `json:"number"`
	Greeting  string       `json:"greeting"` // as sent (generated when not set)
	Options   []optionView `json:"options"`
	Reprompt  string       `json:"reprompt,omitempty"`
	Back      []string     `json:"back"`
	UpdatedAt string       `json:"updated_at"`
	UpdatedBy string       `json:"updated_by,omitempty"`
}

func menuOut(m directory.Menu) menuView {
	v := menuView{Number: m.Number.E164(), Greeting: m.Text(), Reprompt: m.Reprompt, Back: m.Back, UpdatedAt: ts(m.UpdatedAt), UpdatedBy: m.UpdatedBy}
	for _, o := range m.Options {
		v.Options = append(v.Options, optionView(o))
	}
	return v
}

func (s *Server) getMenu(w http.ResponseWriter, r *http.Request) {
	num, err := s.pathNumber(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.cfg.Directory.Menu(r.Context(), num)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, menuOut(m))
}

// setMenu: PUT /v1/numbers/{number}/menu {"greeting", "options":
// [{"digit", "keywords", "queue", "label"}], "reprompt", "back"}.
func (s *Server) setMenu(w http.ResponseWriter, r *http.Request) {
	num, err := s.pathNumber(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Greeting string       `json:"greeting"`
		Options  []optionView `json:"options"`
		Reprompt string       `json:"reprompt"`
		Back     []string     `json:"back"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	m := directory.Menu{Number: num, Greeting: req.Greeting, Reprompt: req.Reprompt, Back: req.Back}
	for _, o := range req.Options {
		m.Options = append(m.Options, directory.Option(o))
	}
	m, err = s.cfg.Directory.SetMenu(r.Context(), m, actor(r))
	if err != nil {
		s.failDir(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, menuOut(m))
}

func (s *Server) deleteMenu(w http.ResponseWriter, r *http.Request) {
	num, err := s.pathNumber(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.cfg.Directory.DeleteMenu(r.Context(), num, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type conversationView struct {
	ID           string        `json:"id"`
	Business     string        `json:"business"`
	Customer     string        `json:"customer"`
	State        string        `json:"state"`
	Open         bool          `json:"open"`
	Queue        string        `json:"queue,omitempty"`
	Agent        string        `json:"agent,omitempty"`
	Owner        string        `json:"owner,omitempty"` // who may read and answer it now
	OpenedAt     string        `json:"opened_at,omitempty"`
	LastActivity string        `json:"last_activity,omitempty"`
	ClosedAt     string        `json:"closed_at,omitempty"`
	ClosedBy     string        `json:"closed_by,omitempty"`
	CloseReason  string        `json:"close_reason,omitempty"`
	MessageCount int           `json:"message_count"`
	Messages     []messageView `json:"messages,omitempty"` // GET one: the (redacted) history, oldest first
}

func (s *Server) convView(r *http.Request, c directory.Conversation) (conversationView, error) {
	owner, err := s.cfg.Directory.Owner(r.Context(), c)
	if err != nil {
		return conversationView{}, err
	}
	return conversationView{ID: c.ID, Business: c.Business.E164(), Customer: c.Customer.E164(), State: c.State,
		Open: s.cfg.Directory.IsOpen(c, time.Now()), Queue: c.Queue, Agent: c.Agent, Owner: owner,
		OpenedAt: ts(c.OpenedAt), LastActivity: ts(c.LastActivity), ClosedAt: ts(c.ClosedAt), ClosedBy: c.ClosedBy,
		CloseReason: c.CloseReason, MessageCount: len(c.Messages)}, nil
}

// listConversations: an employee gets the conversations they own now
// (open ones; ?all=true for closed too), including those inherited from
// a predecessor; admins and compliance filter by ?number=&queue=&state=&owner=.
func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	tok := tokenOf(r.Context())
	qv := r.URL.Query()
	q := directory.ConversationQuery{Queue: qv.Get("queue"), State: qv.Get("state"), OpenOnly: qv.Get("all") != "true"}
	if n := qv.Get("number"); n != "" {
		num, err := sms.ParseNumber(n)
		if err != nil {
			s.fail(w, r, withField(err, "number"))
			return
		}
		q.Business = num
	}
	switch {
	case tok.Has(auth.RoleAdmin) || tok.Has(auth.RoleCompliance):
		q.Owner = qv.Get("owner")
		if qv.Get("all") == "" && (q.State != "" || q.Owner == "") {
			q.OpenOnly = false
		}
	case tok.EmployeeID != "":
		q.Owner = tok.EmployeeID
	default:
		s.fail(w, r, sms.Errorf(sms.Forbidden, "forbidden", "reading conversations needs an employee, admin or compliance token"))
		return
	}
	if q.State != "" && !strings.Contains("menu queued open held closed", q.State) {
		s.fail(w, r, withField(sms.Errorf(sms.Invalid, "invalid_state", "state must be menu, queued, open, held or closed"), "state"))
		return
	}
	cs, err := s.cfg.Directory.Conversations(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []conversationView{}
	for _, c := range cs {
		v, err := s.convView(r, c)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": out})
}

// conversationFor loads a conversation and says whether the caller owns it.
func (s *Server) conversationFor(r *http.Request) (directory.Conversation, string, error) {
	c, err := s.cfg.Directory.Conversation(r.Context(), r.PathValue("id"))
	if err != nil {
		return directory.Conversation{}, "", err
	}
	owner, err := s.cfg.Directory.Owner(r.Context(), c)
	if err != nil {
		return directory.Conversation{}, "", err
	}
	tok := tokenOf(r.Context())
	if tok.Has(auth.RoleAdmin) || tok.Has(auth.RoleCompliance) || (tok.EmployeeID != "" && tok.EmployeeID == owner) {
		return c, owner, nil
	}
	// Do not reveal that it exists.
	return directory.Conversation{}, "", sms.Errorf(sms.NotFound, "conversation_not_found", "no such conversation")
}

// getConversation returns a conversation and, to its owner or a
// compliance officer, its redacted history (?limit=, default 100 newest).
func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) {
	c, owner, err := s.conversationFor(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.convView(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tok := tokenOf(r.Context())
	own := tok.EmployeeID != "" && tok.EmployeeID == owner
	if own || tok.Has(auth.RoleCompliance) {
		limit := 100
		if l := r.URL.Query().Get("limit"); l != "" {
			if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > directory.MaxConversationMessages {
				s.fail(w, r, withField(sms.Errorf(sms.Invalid, "invalid_limit", "limit must be 1-%d", directory.MaxConversationMessages), "limit"))
				return
			}
		}
		ids := c.Messages
		if len(ids) > limit {
			ids = ids[len(ids)-limit:]
		}
		v.Messages = []messageView{}
		var vs []readmodel.View
		for _, id := range ids {
			mv, err := s.cfg.Reader.Get(r.Context(), id)
			if sms.KindOf(err) == sms.NotFound {
				continue // not yet in this node's read model
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
			vs = append(vs, mv)
			v.Messages = append(v.Messages, view(mv))
		}
		// Someone else's conversation, read through the compliance role:
		// audited (as GET /v1/compliance/conversations) before it is shown.
		if !own {
			p := map[string]string{"id": c.ID, "business": c.Business.E164(), "party": c.Customer.E164(), "limit": strconv.Itoa(limit)}
			if err := s.audit(r, "conversation.view", p, vs); err != nil {
				s.fail(w, r, err)
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// replyConversation: POST /v1/conversations/{id}/messages {"body"}. The
// owner answers from the business number (a main number's agent never
// exposes a personal number). Opted-out customers are refused.
func (s *Server) replyConversation(w http.ResponseWriter, r *http.Request) {
	tok := tokenOf(r.Context())
	c, owner, err := s.conversationFor(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if tok.EmployeeID == "" || tok.EmployeeID != owner {
		s.fail(w, r, sms.Errorf(sms.Forbidden, "not_conversation_owner", "only the employee who has the conversation now may answer it"))
		return
	}
	var req struct {
		Body string `json:"body"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkBody(req.Body); err != nil {
		s.fail(w, r, err)
		return
	}
	var carrier string
	if n, _, err := s.cfg.Directory.Number(r.Context(), c.Business); err == nil {
		carrier = n.Carrier
	}
	m := &sms.Message{Direction: sms.Outbound, From: c.Business, To: c.Customer, Body: req.Body, EmployeeID: tok.EmployeeID, Carrier: carrier, Source: sms.SourceHTTP}
	if !s.sendAllowed(w, tok.EmployeeID, c.Customer) {
		return
	}
	if err := s.cfg.Ingress.Accept(r.Context(), m); err != nil {
		if sms.KindOf(err) == sms.OptedOut {
			err = withField(err, "to")
		}
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/messages/"+string(m.ID))
	writeJSON(w, http.StatusAccepted, sendResponse{ID: m.ID, Status: sms.StatusAccepted, From: c.Business.E164(), To: c.Customer.E164()})
}

// closeConversation: POST /v1/conversations/{id}/close (owner or admin).
func (s *Server) closeConversation(w http.ResponseWriter, r *http.Request) {
	tok := tokenOf(r.Context())
	c, owner, err := s.conversationFor(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !tok.Has(auth.RoleAdmin) && (tok.EmployeeID == "" || tok.EmployeeID != owner) {
		s.fail(w, r, sms.Errorf(sms.Forbidden, "not_conversation_owner", "only its owner or an admin may close a conversation"))
		return
	}
	reason := "agent"
	if tok.EmployeeID != owner {
		reason = "admin"
	}
	c, err = s.cfg.Directory.CloseConversation(r.Context(), c.ID, actor(r), reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.convView(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

package api

import (
	"net/http"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/sms"
)

// Opt-outs (admin). Customers opt out by texting STOP and back in with
// START; admins can also record an opt-out received another way (a call,
// a letter) or remove one made in error. Every change is an event.

type optOutEntryView struct {
	At      string `json:"at"`
	Keyword string `json:"keyword,omitempty"`
	Via     string `json:"via,omitempty"`
	By      string `json:"by"`
}

type optOutView struct {
	Customer string                     `json:"customer"`
	All      *optOutEntryView           `json:"company_wide,omitempty"`
	Numbers  map[string]optOutEntryView `json:"numbers,omitempty"`
}

func entryView(e directory.OptOutEntry) optOutEntryView {
	return optOutEntryView{At: ts(e.At), Keyword: e.Keyword, Via: e.Via.E164(), By: e.By}
}

func optOutOut(o directory.OptOut) optOutView {
	v := optOutView{Customer: o.Customer.E164()}
	if o.All != nil {
		e := entryView(*o.All)
		v.All = &e
	}
	if len(o.Numbers) > 0 {
		v.Numbers = map[string]optOutEntryView{}
		for n, e := range o.Numbers {
			v.Numbers[n] = entryView(e)
		}
	}
	return v
}

func (s *Server) listOptOuts(w http.ResponseWriter, r *http.Request) {
	os, err := s.cfg.Directory.OptOuts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []optOutView{}
	for _, o := range os {
		out = append(out, optOutOut(o))
	}
	writeJSON(w, http.StatusOK, map[string]any{"optouts": out})
}

func (s *Server) pathCustomer(r *http.Request) (sms.Number, error) {
	n, err := sms.ParseNumber(r.PathValue("customer"))
	if err != nil {
		return "", withField(err, "customer")
	}
	return n, nil
}

func (s *Server) getOptOut(w http.ResponseWriter, r *http.Request) {
	c, err := s.pathCustomer(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, _, err := s.cfg.Directory.OptOutOf(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, optOutOut(o))
}

// addOptOut: POST /v1/optouts {"customer", "number"} — number empty means
// company-wide.
func (s *Server) addOptOut(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Customer string `json:"customer"`
		Number   string `json:"number"`
	}
	if _, err := s.decode(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := sms.ParseNumber(req.Customer)
	if err != nil {
		s.fail(w, r, withField(err, "customer"))
		return
	}
	var biz sms.Number
	if req.Number != "" {
		if biz, err = sms.ParseNumber(req.Number); err != nil {
			s.fail(w, r, withField(err, "number"))
			return
		}
	}
	changed, err := s.cfg.Directory.AddOptOut(r.Context(), c, biz, biz == "", "", actor(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, _, err := s.cfg.Directory.OptOutOf(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if changed {
		status = http.StatusCreated
	}
	writeJSON(w, status, optOutOut(o))
}

// removeOptOut: DELETE /v1/optouts/{customer}[?number=] — without number
// every opt-out of the customer is removed.
func (s *Server) removeOptOut(w http.ResponseWriter, r *http.Request) {
	c, err := s.pathCustomer(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var biz sms.Number
	if n := r.URL.Query().Get("number"); n != "" {
		if biz, err = sms.ParseNumber(n); err != nil {
			s.fail(w, r, withField(err, "number"))
			return
		}
	}
	if _, err := s.cfg.Directory.RemoveOptOut(r.Context(), c, biz, "", actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	o, _, err := s.cfg.Directory.OptOutOf(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, optOutOut(o))
}

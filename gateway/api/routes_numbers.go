package api

import (
	"net/http"

	"github.com/smsgw/smsgw/internal/auth"
)

// numbersRoutes registers the business-number endpoints (issue 6): admin
// only, except where an employee reads or changes what is their own.
func (s *Server) numbersRoutes() {
	admin := func(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
		s.mux.Handle(pattern, s.auth(auth.RoleAdmin, h))
	}
	anyone := func(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
		s.mux.Handle(pattern, s.auth("", h))
	}
	admin("POST /v1/numbers/import", s.importNumbers)
	admin("PATCH /v1/numbers/{number}", s.updateNumber)
	admin("POST /v1/numbers/{number}/reassign", s.reassignNumber)
	admin("POST /v1/numbers/{number}/retire", s.retireNumber)
	admin("POST /v1/numbers/{number}/restore", s.restoreNumber)
	admin("GET /v1/numbers/{number}/history", s.numberHistory)
	admin("GET /v1/numbers/{number}/menu", s.getMenu)
	admin("PUT /v1/numbers/{number}/menu", s.setMenu)
	admin("DELETE /v1/numbers/{number}/menu", s.deleteMenu)
	anyone("GET /v1/assignments", s.assignments)

	admin("POST /v1/employees/import", s.importEmployees)
	admin("PATCH /v1/employees/{id}", s.updateEmployee)
	admin("POST /v1/employees/{id}/offboard", s.offboardEmployee)
	anyone("GET /v1/employees/{id}/assignments", s.employeeAssignments)

	admin("POST /v1/queues", s.createQueue)
	admin("GET /v1/queues", s.listQueues)
	admin("GET /v1/queues/{id}", s.getQueue)
	admin("PATCH /v1/queues/{id}", s.updateQueue)
	admin("PUT /v1/queues/{id}/agents/{employee}", s.setQueueAgent)
	admin("DELETE /v1/queues/{id}/agents/{employee}", s.removeQueueAgent)
	anyone("GET /v1/agents/{employee}", s.getAgent)
	anyone("PUT /v1/agents/{employee}/availability", s.setAvailability)

	anyone("GET /v1/conversations", s.listConversations)
	anyone("GET /v1/conversations/{id}", s.getConversation)
	anyone("POST /v1/conversations/{id}/messages", s.replyConversation)
	anyone("POST /v1/conversations/{id}/close", s.closeConversation)

	admin("GET /v1/optouts", s.listOptOuts)
	admin("POST /v1/optouts", s.addOptOut)
	admin("GET /v1/optouts/{customer}", s.getOptOut)
	admin("DELETE /v1/optouts/{customer}", s.removeOptOut)
}

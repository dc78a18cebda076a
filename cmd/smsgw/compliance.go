package main

import (
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// complianceCmd searches and reviews the archive through the compliance
// API (a token with the compliance role). Every call is itself audited.
func complianceCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "compliance", Short: "Search, read and review archived messages (compliance role; audited)"}
	f.add(cmd)
	var sel selection
	var page string
	var limit int
	search := &cobra.Command{
		Use:   "search",
		Short: "Search archived messages, newest first",
		Example: `  smsgw compliance search --q '"guaranteed returns"' --from 2026-01-01 --to 2026-04-01
  smsgw compliance search --party +14155550199 --direction inbound
  smsgw compliance search --department sales --finding card --reviewed=false`,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := url.Values{}
			for k, s := range sel.params() {
				v.Set(k, s)
			}
			if page != "" {
				v.Set("page_token", page)
			}
			if limit > 0 {
				v.Set("limit", strconv.Itoa(limit))
			}
			return f.call(cmd, "GET", "/v1/compliance/messages?"+v.Encode(), nil)
		},
	}
	fl := search.Flags()
	sel.addFlags(fl)
	fl.StringVar(&page, "page-token", "", "next_page_token of the previous page")
	fl.IntVar(&limit, "limit", 0, "messages per page (1-500, default 50)")

	get := &cobra.Command{
		Use: "get ID", Short: "Show a message with its history and reviews", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return f.call(cmd, "GET", "/v1/compliance/messages/"+pathEscape(a[0]), nil)
		},
	}
	conv := &cobra.Command{
		Use: "conversation BUSINESS PARTY", Short: "Every message between a business number and a customer, with status events",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, a []string) error {
			return f.call(cmd, "GET", "/v1/compliance/conversations?"+url.Values{"business": {a[0]}, "party": {a[1]}}.Encode(), nil)
		},
	}
	var action, comment string
	review := &cobra.Command{
		Use: "review ID", Short: "Record a supervisory review of a message", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return f.call(cmd, "POST", "/v1/compliance/messages/"+pathEscape(a[0])+"/reviews", map[string]string{"action": action, "comment": comment})
		},
	}
	review.Flags().StringVar(&action, "action", "", "approved, escalated, flagged or no_action")
	review.Flags().StringVar(&comment, "comment", "", "reviewer's comment")
	_ = review.MarkFlagRequired("action")
	cmd.AddCommand(search, get, conv, review, holdsCmd(&f), exportCmd(&f))
	return cmd
}

// holdsCmd places, lists and releases legal holds.
func holdsCmd(f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "holds", Short: "Legal holds per matter: the segments involved cannot be deleted until released"}
	var name, reason string
	var ids []string
	var sel selection
	place := &cobra.Command{
		Use: "place", Short: "Place a legal hold on the messages a query selects and/or listed ids",
		Example: `  smsgw compliance holds place --name "SEC inquiry 2026-17" --reason subpoena --party +14155550199 --from 2026-01-01
  smsgw compliance holds place --name "Complaint 42" --reason litigation --id 01J...`,
		RunE: func(cmd *cobra.Command, a []string) error {
			query := sel.params()
			body := map[string]any{"name": name, "reason": reason, "message_ids": ids}
			if len(query) > 0 {
				body["query"] = query
			}
			return f.call(cmd, "POST", "/v1/compliance/holds", body)
		},
	}
	fl := place.Flags()
	fl.StringVar(&name, "name", "", "the matter (case, investigation)")
	fl.StringVar(&reason, "reason", "", "why the records must be preserved")
	fl.StringSliceVar(&ids, "id", nil, "message ids to hold (repeatable)")
	sel.addFlags(fl)
	_ = place.MarkFlagRequired("name")
	_ = place.MarkFlagRequired("reason")
	list := &cobra.Command{Use: "list", Short: "List matters, newest first", RunE: func(cmd *cobra.Command, a []string) error {
		return f.call(cmd, "GET", "/v1/compliance/holds", nil)
	}}
	release := &cobra.Command{Use: "release ID", Short: "Release a matter (segments other matters hold stay held)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			return f.call(cmd, "POST", "/v1/compliance/holds/"+pathEscape(a[0])+"/release", nil)
		}}
	cmd.AddCommand(place, list, release)
	return cmd
}

// call sends one request to the gateway and prints the JSON answer.
func (f *clientFlags) call(cmd *cobra.Command, method, path string, body any) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	var out any
	if err := c.do(method, path, body, &out); err != nil {
		return err
	}
	return printJSON(cmd, out)
}

// tokensCmd issues tokens for administrators and compliance officers.
func tokensCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "tokens", Short: "Issue tokens for administrators and compliance officers (admin)"}
	f.add(cmd)
	var name string
	var roles []string
	issue := &cobra.Command{
		Use: "issue", Short: "Issue a token (printed once; only its hash is kept)",
		Example: "  smsgw tokens issue --name 'Carol (compliance)' --role compliance",
		RunE: func(cmd *cobra.Command, a []string) error {
			return f.call(cmd, "POST", "/v1/tokens", map[string]any{"name": name, "roles": roles})
		},
	}
	issue.Flags().StringVar(&name, "name", "", "who holds the token (shown in the audit trail)")
	issue.Flags().StringSliceVar(&roles, "role", nil, "admin and/or compliance (repeat or comma-separate)")
	_ = issue.MarkFlagRequired("name")
	cmd.AddCommand(issue)
	return cmd
}

// selection is which archived messages a compliance search, legal hold or
// export is about: the API's query parameters, as flags.
type selection struct {
	q, party, business, employee, department, direction, from, to, finding, verdict, reviewed string
}

func (s *selection) addFlags(fl *pflag.FlagSet) {
	fl.StringVar(&s.q, "q", "", `text: words, "phrases", prefix*; all must match`)
	fl.StringVar(&s.party, "party", "", "the customer's number (E.164)")
	fl.StringVar(&s.business, "business", "", "the business number (E.164)")
	fl.StringVar(&s.employee, "employee", "", "employee id")
	fl.StringVar(&s.department, "department", "", "department (its employees)")
	fl.StringVar(&s.direction, "direction", "", "inbound or outbound")
	fl.StringVar(&s.from, "from", "", "accepted at or after (2026-03-01 or RFC 3339)")
	fl.StringVar(&s.to, "to", "", "accepted before")
	fl.StringVar(&s.finding, "finding", "", "has a finding of this type (card, ssn, ...)")
	fl.StringVar(&s.verdict, "verdict", "", "pass, redacted or blocked")
	fl.StringVar(&s.reviewed, "reviewed", "", "true: reviewed at least once; false: never")
}

// params are the flags that were set, by API parameter name.
func (s *selection) params() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"q": s.q, "party": s.party, "business": s.business, "employee": s.employee,
		"department": s.department, "direction": s.direction, "from": s.from, "to": s.to, "finding": s.finding,
		"verdict": s.verdict, "reviewed": s.reviewed} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// run is the shape of most admin commands: call the API, print JSON.
func (f *clientFlags) run(method string, path func(args []string) string, body func(args []string) any) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := f.client()
		if err != nil {
			return err
		}
		var in any
		if body != nil {
			in = body(args)
		}
		var out map[string]any
		if err := c.do(method, path(args), in, &out); err != nil {
			return err
		}
		return printJSON(cmd, out)
	}
}

func fixed(p string) func([]string) string { return func([]string) string { return p } }

func numbersCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "numbers", Short: "Manage business numbers: inventory, assignment, history, menus (admin)"}
	f.add(cmd)
	var carrier, kind, employee, queue, label, autoReply string
	var caps []string
	add := &cobra.Command{
		Use: "add NUMBER", Short: "Add a business number (E.164) to the inventory", Args: cobra.ExactArgs(1),
		RunE: f.run("POST", fixed("/v1/numbers"), func(args []string) any {
			return map[string]any{"number": args[0], "carrier": carrier, "kind": kind, "employee_id": employee,
				"capabilities": caps, "queue": queue, "label": label, "auto_reply": autoReply}
		}),
	}
	add.Flags().StringVar(&carrier, "carrier", "", "carrier route (default: the default carrier)")
	add.Flags().StringVar(&kind, "kind", "employee", "employee, main or department")
	add.Flags().StringVar(&employee, "employee", "", "assign to this employee right away")
	add.Flags().StringSliceVar(&caps, "capabilities", nil, "sms, mms, voice (default sms)")
	add.Flags().StringVar(&queue, "queue", "", "queue answering texts no one holds (required for kind department)")
	add.Flags().StringVar(&label, "label", "", "free text, e.g. the desk or campaign")
	add.Flags().StringVar(&autoReply, "auto-reply", "", "sent once per conversation when a text reaches nobody")

	update := &cobra.Command{
		Use: "update NUMBER", Short: "Change a number's carrier, kind, capabilities, queue, label or auto-reply", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			for flag, key := range map[string]string{"carrier": "carrier", "kind": "kind", "queue": "queue", "label": "label", "auto-reply": "auto_reply"} {
				if cmd.Flags().Changed(flag) {
					v, _ := cmd.Flags().GetString(flag)
					body[key] = v
				}
			}
			if cmd.Flags().Changed("capabilities") {
				body["capabilities"] = caps
			}
			return f.run("PATCH", func(a []string) string { return "/v1/numbers/" + pathEscape(a[0]) }, func([]string) any { return body })(cmd, args)
		},
	}
	update.Flags().String("carrier", "", "carrier route")
	update.Flags().String("kind", "", "employee, main or department")
	update.Flags().String("queue", "", "queue answering texts no one holds (\"\" clears)")
	update.Flags().String("label", "", "free text")
	update.Flags().String("auto-reply", "", "auto-reply (\"\" clears)")
	update.Flags().StringSliceVar(&caps, "capabilities", nil, "sms, mms, voice")

	var state, kindFilter, empFilter string
	list := &cobra.Command{
		Use: "list", Short: "List business numbers",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out struct {
				Numbers []struct {
					Number, Kind, State, Carrier, Queue string
					EmployeeID                          string   `json:"employee_id"`
					Capabilities                        []string `json:"capabilities"`
				} `json:"numbers"`
			}
			q := url.Values{}
			for k, v := range map[string]string{"state": state, "kind": kindFilter, "employee_id": empFilter} {
				if v != "" {
					q.Set(k, v)
				}
			}
			p := "/v1/numbers"
			if len(q) > 0 {
				p += "?" + q.Encode()
			}
			if err := c.do("GET", p, nil, &out); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-17s %-10s %-11s %-10s %-12s %-12s %s\n", "NUMBER", "KIND", "STATE", "CARRIER", "CAPABILITIES", "QUEUE", "EMPLOYEE")
			for _, n := range out.Numbers {
				fmt.Fprintf(w, "%-17s %-10s %-11s %-10s %-12s %-12s %s\n", n.Number, n.Kind, n.State, n.Carrier, strings.Join(n.Capabilities, ","), n.Queue, n.EmployeeID)
			}
			return nil
		},
	}
	list.Flags().StringVar(&state, "state", "", "only numbers in this state (available, assigned, quarantined, retired)")
	list.Flags().StringVar(&kindFilter, "kind", "", "only numbers of this kind")
	list.Flags().StringVar(&empFilter, "employee", "", "only numbers this employee holds")

	show := &cobra.Command{
		Use: "show NUMBER", Short: "Show a number", Args: cobra.ExactArgs(1),
		RunE: f.run("GET", func(a []string) string { return "/v1/numbers/" + pathEscape(a[0]) }, nil),
	}
	assign := &cobra.Command{
		Use: "assign NUMBER EMPLOYEE", Short: "Assign an available number to an employee (refused if someone holds it)", Args: cobra.ExactArgs(2),
		RunE: f.run("POST", func(a []string) string { return "/v1/numbers/" + pathEscape(a[0]) + "/assign" },
			func(a []string) any { return map[string]string{"employee_id": a[1]} }),
	}
	reassign := &cobra.Command{
		Use: "reassign NUMBER EMPLOYEE", Short: "Move a number from its holder to another employee in one step", Args: cobra.ExactArgs(2),
		RunE: f.run("POST", func(a []string) string { return "/v1/numbers/" + pathEscape(a[0]) + "/reassign" },
			func(a []string) any { return map[string]string{"employee_id": a[1]} }),
	}
	var qDays int
	var relQueue, relAuto string
	release := &cobra.Command{
		Use: "release NUMBER", Short: "Release a number from its employee (optionally quarantine it or route it to a queue)", Args: cobra.ExactArgs(1),
		RunE: f.run("POST", func(a []string) string { return "/v1/numbers/" + pathEscape(a[0]) + "/release" },
			func([]string) any {
				return map[string]any{"quarantine_days": qDays, "queue": relQueue, "auto_reply": relAuto}
			}),
	}
	release.Flags().IntVar(&qDays, "quarantine-days", 0, "quarantine the number this many days before it can be reused")
	release.Flags().StringVar(&relQueue, "queue", "", "route texts to the number to this queue")
	release.Flags().StringVar(&relAuto, "auto-reply", "", "auto-reply for customers texting it")
	retire := &cobra.Command{
		Use: "retire NUMBER", Short: "Take a number out of service (texts to it are still kept)", Args: cobra.ExactArgs(1),
		RunE: f.run("POST", func(a []string) string { return "/v1/numbers/" + pathEscape(a[0]) + "/retire" }, func([]string) any { return map[string]string{} }),
	}
	restore := &cobra.Command{
		Use: "restore NUMBER", Short: "Make a retired or quarantined number available now", Args: cobra.ExactArgs(1),
		RunE: f.run("POST", func(a []string) string { return "/v1/numbers/" + pathEscape(a[0]) + "/restore" }, func([]string) any { return map[string]string{} }),
	}
	var at, histEmp string
	history := &cobra.Command{
		Use: "history [NUMBER]", Short: "Who held which number when (filter by number, --employee, --at)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if len(args) == 1 {
				q.Set("number", args[0])
			}
			if histEmp != "" {
				q.Set("employee_id", histEmp)
			}
			if at != "" {
				q.Set("at", at)
			}
			return f.run("GET", fixed("/v1/assignments?"+q.Encode()), nil)(cmd, args)
		},
	}
	history.Flags().StringVar(&at, "at", "", "only who held it at this RFC 3339 time")
	history.Flags().StringVar(&histEmp, "employee", "", "only this employee's assignments")
	imp := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import numbers from CSV (all or nothing; every bad line is reported; re-import is idempotent)",
		Long: "The first line names the columns: number (required), kind, carrier, capabilities (sms;mms;voice),\n" +
			"employee_id, queue, state (available, assigned, retired), label, auto_reply. Empty cells keep the current value.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return f.importCSV(cmd, "/v1/numbers/import", args[0]) },
	}
	cmd.AddCommand(add, update, list, show, assign, reassign, release, retire, restore, history, imp, menuCmd(&f))
	return cmd
}

func menuCmd(f *clientFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "menu", Short: "A main number's menu: greeting and options leading to queues"}
	show := &cobra.Command{
		Use: "show NUMBER", Short: "Show a main number's menu", Args: cobra.ExactArgs(1),
		RunE: f.run("GET", func(a []string) string { return "/v1/numbers/" + pathEscape(a[0]) + "/menu" }, nil),
	}
	var greeting, reprompt string
	var options, back []string
	set := &cobra.Command{
		Use:   "set NUMBER --option 1,sales=sales --option 2,support=support:Support",
		Short: "Set a main number's menu",
		Long: "Each --option is DIGIT[,KEYWORD...]=QUEUE[:LABEL]: the customer picks it by the digit or a keyword.\n" +
			"Without --greeting one is made from the options (\"Reply 1 for sales, 2 for Support.\").",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []map[string]any
			for _, o := range options {
				lhs, rhs, ok := strings.Cut(o, "=")
				if !ok {
					return fmt.Errorf("--option %q: want DIGIT[,KEYWORD...]=QUEUE[:LABEL]", o)
				}
				queue, label, _ := strings.Cut(rhs, ":")
				parts := strings.Split(lhs, ",")
				opts = append(opts, map[string]any{"digit": strings.TrimSpace(parts[0]), "keywords": parts[1:], "queue": strings.TrimSpace(queue), "label": strings.TrimSpace(label)})
			}
			return f.run("PUT", func(a []string) string { return "/v1/numbers/" + pathEscape(a[0]) + "/menu" },
				func([]string) any {
					return map[string]any{"greeting": greeting, "options": opts, "reprompt": reprompt, "back": back}
				})(cmd, args)
		},
	}
	set.Flags().StringVar(&greeting, "greeting", "", "greeting text")
	set.Flags().StringArrayVar(&options, "option", nil, "DIGIT[,KEYWORD...]=QUEUE[:LABEL] (repeat)")
	set.Flags().StringVar(&reprompt, "reprompt", "", "prefix of the menu after a reply matching no option")
	set.Flags().StringSliceVar(&back, "back", nil, "replies that return to the menu (default 0,menu)")
	del := &cobra.Command{
		Use: "delete NUMBER", Short: "Remove a main number's menu", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			if err := c.do("DELETE", "/v1/numbers/"+pathEscape(args[0])+"/menu", nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "menu deleted")
			return nil
		},
	}
	cmd.AddCommand(show, set, del)
	return cmd
}

func employeesCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "employees", Short: "Manage employees, offboarding and their tokens (admin)"}
	f.add(cmd)
	var name, email, webhook, dept, manager string
	add := &cobra.Command{
		Use: "add ID", Short: "Create an employee (id like jane.doe)", Args: cobra.ExactArgs(1),
		RunE: f.run("POST", fixed("/v1/employees"), func(a []string) any {
			return map[string]string{"id": a[0], "name": name, "email": email, "department": dept, "manager": manager, "webhook_url": webhook}
		}),
	}
	add.Flags().StringVar(&name, "name", "", "full name (required)")
	add.Flags().StringVar(&email, "email", "", "email address")
	add.Flags().StringVar(&dept, "department", "", "department")
	add.Flags().StringVar(&manager, "manager", "", "manager's employee id (the default successor at offboarding)")
	add.Flags().StringVar(&webhook, "webhook", "", "URL receiving inbound texts (signed with HMAC-SHA256)")
	update := &cobra.Command{
		Use: "update ID", Short: "Change an employee's name, email, department or manager", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]string{}
			for _, k := range []string{"name", "email", "department", "manager"} {
				if cmd.Flags().Changed(k) {
					body[k], _ = cmd.Flags().GetString(k)
				}
			}
			return f.run("PATCH", func(a []string) string { return "/v1/employees/" + pathEscape(a[0]) }, func([]string) any { return body })(cmd, args)
		},
	}
	for _, k := range []string{"name", "email", "department", "manager"} {
		update.Flags().String(k, "", k)
	}
	list := &cobra.Command{
		Use: "list", Short: "List employees",
		RunE: f.run("GET", fixed("/v1/employees"), nil),
	}
	show := &cobra.Command{
		Use: "show ID", Short: "Show an employee", Args: cobra.ExactArgs(1),
		RunE: f.run("GET", func(a []string) string { return "/v1/employees/" + pathEscape(a[0]) }, nil),
	}
	assignments := &cobra.Command{
		Use: "assignments ID", Short: "Which numbers an employee held when (an employee token may ask for itself)", Args: cobra.ExactArgs(1),
		RunE: f.run("GET", func(a []string) string { return "/v1/employees/" + pathEscape(a[0]) + "/assignments" }, nil),
	}
	var policy, successor, queue, autoReply string
	var qDays int
	offboard := &cobra.Command{
		Use:   "offboard ID",
		Short: "Offboard an employee: hand their numbers to a successor (default the manager), a queue, or quarantine; revoke their tokens",
		Args:  cobra.ExactArgs(1),
		RunE: f.run("POST", func(a []string) string { return "/v1/employees/" + pathEscape(a[0]) + "/offboard" }, func([]string) any {
			return map[string]any{"policy": policy, "successor": successor, "queue": queue, "quarantine_days": qDays, "auto_reply": autoReply}
		}),
	}
	offboard.Flags().StringVar(&policy, "policy", "successor", "successor, queue or quarantine")
	offboard.Flags().StringVar(&successor, "successor", "", "employee who takes the numbers and open conversations (default: the manager)")
	offboard.Flags().StringVar(&queue, "queue", "", "queue answering the numbers (policy queue)")
	offboard.Flags().IntVar(&qDays, "quarantine-days", 0, "days before the numbers can be reused (policy quarantine)")
	offboard.Flags().StringVar(&autoReply, "auto-reply", "", "auto-reply for customers texting the numbers (policy queue or quarantine)")
	imp := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import employees from CSV (columns id, name, email, department, manager, state; all or nothing; idempotent)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.importCSV(cmd, "/v1/employees/import", args[0])
		},
	}
	token := &cobra.Command{
		Use: "token ID", Short: "Issue an API token for an employee (shown once)", Args: cobra.ExactArgs(1),
		RunE: f.run("POST", func(a []string) string { return "/v1/employees/" + pathEscape(a[0]) + "/tokens" }, func([]string) any { return map[string]string{} }),
	}
	hook := &cobra.Command{
		Use: "webhook ID URL", Short: "Set an employee's inbound webhook (\"\" clears it); prints the new signing secret", Args: cobra.ExactArgs(2),
		RunE: f.run("PUT", func(a []string) string { return "/v1/employees/" + pathEscape(a[0]) + "/webhook" }, func(a []string) any { return map[string]string{"url": a[1]} }),
	}
	cmd.AddCommand(add, update, list, show, assignments, offboard, imp, token, hook)
	return cmd
}

func sandboxCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "sandbox", Short: "Drive the built-in sandbox carrier"}
	f.add(cmd)
	mo := &cobra.Command{
		Use: "mo FROM TO BODY", Short: "Have the sandbox carrier deliver a customer's text (deliver_sm) to a business number", Args: cobra.ExactArgs(3),
		RunE: f.run("POST", fixed("/v1/sandbox/inbound"), func(a []string) any { return map[string]string{"from": a[0], "to": a[1], "body": a[2]} }),
	}
	cmd.AddCommand(mo)
	return cmd
}

func sendCmd() *cobra.Command {
	var f clientFlags
	var from, key string
	cmd := &cobra.Command{
		Use: "send TO BODY", Short: "Send a text as an employee (--token or SMSGW_TOKEN: an employee token)", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			req := map[string]string{"to": args[0], "body": args[1]}
			if from != "" {
				req["from"] = from
			}
			var hdr []string
			if key != "" {
				hdr = []string{"Idempotency-Key", key}
			}
			if err := c.do("POST", "/v1/messages", req, &out, hdr...); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&from, "from", "", "business number to send from (default: the one you hold)")
	cmd.Flags().StringVar(&key, "idempotency-key", "", "Idempotency-Key header")
	return cmd
}

func messagesCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "messages", Short: "Read messages"}
	f.add(cmd)
	get := &cobra.Command{
		Use: "get ID", Short: "Show a message with its status history", Args: cobra.ExactArgs(1),
		RunE: f.run("GET", func(a []string) string { return "/v1/messages/" + pathEscape(a[0]) }, nil),
	}
	var direction string
	list := &cobra.Command{
		Use: "list", Short: "List messages, newest first",
		RunE: func(cmd *cobra.Command, args []string) error {
			q := "/v1/messages"
			if direction != "" {
				q += "?direction=" + pathEscape(direction)
			}
			return f.run("GET", fixed(q), nil)(cmd, args)
		},
	}
	list.Flags().StringVar(&direction, "direction", "", "inbound or outbound")
	cmd.AddCommand(get, list)
	return cmd
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func numbersCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "numbers", Short: "Manage business numbers (admin)"}
	f.add(cmd)
	var carrier, kind, employee string
	add := &cobra.Command{
		Use: "add NUMBER", Short: "Add a business number (E.164) to the inventory", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do("POST", "/v1/numbers", map[string]string{"number": args[0], "carrier": carrier, "kind": kind, "employee_id": employee}, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	add.Flags().StringVar(&carrier, "carrier", "", "carrier route (default: the default carrier)")
	add.Flags().StringVar(&kind, "kind", "employee", "employee, main or department")
	add.Flags().StringVar(&employee, "employee", "", "assign to this employee right away")
	list := &cobra.Command{
		Use: "list", Short: "List business numbers",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out struct {
				Numbers []struct {
					Number, Kind, State, Carrier string
					EmployeeID                   string `json:"employee_id"`
				} `json:"numbers"`
			}
			if err := c.do("GET", "/v1/numbers", nil, &out); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-17s %-10s %-10s %-12s %s\n", "NUMBER", "KIND", "STATE", "CARRIER", "EMPLOYEE")
			for _, n := range out.Numbers {
				fmt.Fprintf(w, "%-17s %-10s %-10s %-12s %s\n", n.Number, n.Kind, n.State, n.Carrier, n.EmployeeID)
			}
			return nil
		},
	}
	assign := &cobra.Command{
		Use: "assign NUMBER EMPLOYEE", Short: "Assign a number to an employee", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do("POST", "/v1/numbers/"+pathEscape(args[0])+"/assign", map[string]string{"employee_id": args[1]}, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	release := &cobra.Command{
		Use: "release NUMBER", Short: "Release a number from its employee", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do("POST", "/v1/numbers/"+pathEscape(args[0])+"/release", map[string]string{}, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	cmd.AddCommand(add, list, assign, release)
	return cmd
}

func employeesCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "employees", Short: "Manage employees and their tokens (admin)"}
	f.add(cmd)
	var name, email, webhook string
	add := &cobra.Command{
		Use: "add ID", Short: "Create an employee (id like jane.doe)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do("POST", "/v1/employees", map[string]string{"id": args[0], "name": name, "email": email, "webhook_url": webhook}, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	add.Flags().StringVar(&name, "name", "", "full name (required)")
	add.Flags().StringVar(&email, "email", "", "email address")
	add.Flags().StringVar(&webhook, "webhook", "", "URL receiving inbound texts (signed with HMAC-SHA256)")
	list := &cobra.Command{
		Use: "list", Short: "List employees",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do("GET", "/v1/employees", nil, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	token := &cobra.Command{
		Use: "token ID", Short: "Issue an API token for an employee (shown once)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do("POST", "/v1/employees/"+pathEscape(args[0])+"/tokens", map[string]string{}, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	hook := &cobra.Command{
		Use: "webhook ID URL", Short: "Set an employee's inbound webhook (\"\" clears it); prints the new signing secret", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do("PUT", "/v1/employees/"+pathEscape(args[0])+"/webhook", map[string]string{"url": args[1]}, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	cmd.AddCommand(add, list, token, hook)
	return cmd
}

func sandboxCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "sandbox", Short: "Drive the built-in sandbox carrier"}
	f.add(cmd)
	mo := &cobra.Command{
		Use: "mo FROM TO BODY", Short: "Have the sandbox carrier deliver a customer's text (deliver_sm) to a business number", Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do("POST", "/v1/sandbox/inbound", map[string]string{"from": args[0], "to": args[1], "body": args[2]}, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
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
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			if err := c.do("GET", "/v1/messages/"+pathEscape(args[0]), nil, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	var direction string
	list := &cobra.Command{
		Use: "list", Short: "List messages, newest first",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var out map[string]any
			q := "/v1/messages"
			if direction != "" {
				q += "?direction=" + pathEscape(direction)
			}
			if err := c.do("GET", q, nil, &out); err != nil {
				return err
			}
			return printJSON(cmd, out)
		},
	}
	list.Flags().StringVar(&direction, "direction", "", "inbound or outbound")
	cmd.AddCommand(get, list)
	return cmd
}

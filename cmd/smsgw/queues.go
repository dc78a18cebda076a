package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"

	"github.com/spf13/cobra"
)

// importCSV posts a CSV file; on failure it prints every bad line.
func (f *clientFlags) importCSV(cmd *cobra.Command, path, file string) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	req, err := http.NewRequest("POST", c.server+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("calling %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode >= 300 {
		var e struct {
			Error  struct{ Code, Message string } `json:"error"`
			Errors []struct {
				Line                 int
				Field, Code, Message string
			} `json:"errors"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
			return fmt.Errorf("POST %s: HTTP %d", path, resp.StatusCode)
		}
		w := cmd.ErrOrStderr()
		for _, r := range e.Errors {
			field := ""
			if r.Field != "" {
				field = " [" + r.Field + "]"
			}
			fmt.Fprintf(w, "%s:%d:%s %s (%s)\n", file, r.Line, field, r.Message, r.Code)
		}
		return &exitError{1, fmt.Errorf("%s (%s)", e.Error.Message, e.Error.Code)}
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		return err
	}
	return printJSON(cmd, out)
}

func queuesCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "queues", Short: "Queues of conversations and their agents (admin; agents may set their own availability)"}
	f.add(cmd)
	var name, wait string
	var idle int
	create := &cobra.Command{
		Use: "create ID", Short: "Create a queue", Args: cobra.ExactArgs(1),
		RunE: f.run("POST", fixed("/v1/queues"), func(a []string) any {
			return map[string]any{"id": a[0], "name": name, "wait_message": wait, "inactivity_seconds": idle}
		}),
	}
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().StringVar(&wait, "wait-message", "", "sent when no agent is free (default: numbers.wait_message)")
	create.Flags().IntVar(&idle, "inactivity-seconds", 0, "close conversations idle this long (default: numbers.inactivity)")
	update := &cobra.Command{
		Use: "update ID", Short: "Change a queue's name, wait message or inactivity", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]any{}
			if cmd.Flags().Changed("name") {
				body["name"] = name
			}
			if cmd.Flags().Changed("wait-message") {
				body["wait_message"] = wait
			}
			if cmd.Flags().Changed("inactivity-seconds") {
				body["inactivity_seconds"] = idle
			}
			return f.run("PATCH", func(a []string) string { return "/v1/queues/" + pathEscape(a[0]) }, func([]string) any { return body })(cmd, args)
		},
	}
	update.Flags().StringVar(&name, "name", "", "display name")
	update.Flags().StringVar(&wait, "wait-message", "", "wait message")
	update.Flags().IntVar(&idle, "inactivity-seconds", 0, "inactivity")
	list := &cobra.Command{Use: "list", Short: "List queues with their agents", RunE: f.run("GET", fixed("/v1/queues"), nil)}
	show := &cobra.Command{
		Use: "show ID", Short: "Show a queue", Args: cobra.ExactArgs(1),
		RunE: f.run("GET", func(a []string) string { return "/v1/queues/" + pathEscape(a[0]) }, nil),
	}
	addAgent := &cobra.Command{
		Use: "add-agent QUEUE EMPLOYEE CAPACITY", Short: "Make an employee an agent of a queue (or change their capacity)", Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[2])
			if err != nil {
				return fmt.Errorf("CAPACITY %q is not a number", args[2])
			}
			return f.run("PUT", func(a []string) string { return "/v1/queues/" + pathEscape(a[0]) + "/agents/" + pathEscape(a[1]) },
				func([]string) any { return map[string]int{"capacity": n} })(cmd, args)
		},
	}
	removeAgent := &cobra.Command{
		Use: "remove-agent QUEUE EMPLOYEE", Short: "Remove an agent from a queue", Args: cobra.ExactArgs(2),
		RunE: f.run("DELETE", func(a []string) string { return "/v1/queues/" + pathEscape(a[0]) + "/agents/" + pathEscape(a[1]) }, nil),
	}
	avail := &cobra.Command{
		Use: "availability EMPLOYEE on|off", Short: "Set whether an agent takes new conversations", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var on bool
			switch args[1] {
			case "on", "true", "available":
				on = true
			case "off", "false", "away":
			default:
				return fmt.Errorf("availability must be on or off, not %q", args[1])
			}
			return f.run("PUT", func(a []string) string { return "/v1/agents/" + pathEscape(a[0]) + "/availability" },
				func([]string) any { return map[string]bool{"available": on} })(cmd, args)
		},
	}
	agent := &cobra.Command{
		Use: "agent EMPLOYEE", Short: "Show an agent's availability and open conversations", Args: cobra.ExactArgs(1),
		RunE: f.run("GET", func(a []string) string { return "/v1/agents/" + pathEscape(a[0]) }, nil),
	}
	cmd.AddCommand(create, update, list, show, addAgent, removeAgent, avail, agent)
	return cmd
}

func conversationsCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "conversations", Short: "Conversations: your inbox (employee token) or all of them (admin)"}
	f.add(cmd)
	var queue, state, number, owner string
	var all bool
	list := &cobra.Command{
		Use: "list", Short: "List conversations, most recent first",
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"queue": queue, "state": state, "number": number, "owner": owner} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if all {
				q.Set("all", "true")
			}
			return f.run("GET", fixed("/v1/conversations?"+q.Encode()), nil)(cmd, args)
		},
	}
	list.Flags().StringVar(&queue, "queue", "", "only this queue's")
	list.Flags().StringVar(&state, "state", "", "menu, queued, open, held or closed")
	list.Flags().StringVar(&number, "number", "", "only this business number's")
	list.Flags().StringVar(&owner, "owner", "", "only those this employee owns (admin)")
	list.Flags().BoolVar(&all, "all", false, "include closed conversations")
	show := &cobra.Command{
		Use: "show ID", Short: "Show a conversation and its (redacted) history", Args: cobra.ExactArgs(1),
		RunE: f.run("GET", func(a []string) string { return "/v1/conversations/" + pathEscape(a[0]) }, nil),
	}
	reply := &cobra.Command{
		Use: "reply ID BODY", Short: "Answer a conversation you own, from its business number", Args: cobra.ExactArgs(2),
		RunE: f.run("POST", func(a []string) string { return "/v1/conversations/" + pathEscape(a[0]) + "/messages" },
			func(a []string) any { return map[string]string{"body": a[1]} }),
	}
	closeC := &cobra.Command{
		Use: "close ID", Short: "Close a conversation (its agent frees a slot)", Args: cobra.ExactArgs(1),
		RunE: f.run("POST", func(a []string) string { return "/v1/conversations/" + pathEscape(a[0]) + "/close" }, func([]string) any { return map[string]string{} }),
	}
	cmd.AddCommand(list, show, reply, closeC)
	return cmd
}

func optoutsCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{Use: "optouts", Short: "Customers who opted out (STOP) of texts (admin)"}
	f.add(cmd)
	list := &cobra.Command{Use: "list", Short: "List opt-outs", RunE: f.run("GET", fixed("/v1/optouts"), nil)}
	show := &cobra.Command{
		Use: "show CUSTOMER", Short: "Show a customer's opt-outs", Args: cobra.ExactArgs(1),
		RunE: f.run("GET", func(a []string) string { return "/v1/optouts/" + pathEscape(a[0]) }, nil),
	}
	var number string
	add := &cobra.Command{
		Use: "add CUSTOMER", Short: "Record an opt-out received another way (company-wide unless --number)", Args: cobra.ExactArgs(1),
		RunE: f.run("POST", fixed("/v1/optouts"), func(a []string) any { return map[string]string{"customer": a[0], "number": number} }),
	}
	add.Flags().StringVar(&number, "number", "", "opt out of this business number only")
	remove := &cobra.Command{
		Use: "remove CUSTOMER", Short: "Remove an opt-out made in error (all of the customer's unless --number)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := "/v1/optouts/" + pathEscape(args[0])
			if number != "" {
				p += "?number=" + url.QueryEscape(number)
			}
			return f.run("DELETE", fixed(p), nil)(cmd, args)
		},
	}
	remove.Flags().StringVar(&number, "number", "", "only the opt-out of this business number")
	cmd.AddCommand(list, show, add, remove)
	return cmd
}

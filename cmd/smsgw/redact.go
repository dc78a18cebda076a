package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/filters"
	"github.com/smsgw/smsgw/sms"
)

type redactIn struct {
	ID   json.RawMessage `json:"id"`
	Text *string         `json:"text"`
}

type redactOut struct {
	ID       json.RawMessage `json:"id,omitempty"`
	Text     string          `json:"text"`
	Verdict  sms.Verdict     `json:"verdict"`
	Findings []sms.Finding   `json:"findings"`
}

type redactErr struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

func redactCmd() *cobra.Command {
	var policy string
	var plain bool
	cmd := &cobra.Command{
		Use:   "redact",
		Short: `Redact text from stdin: JSON lines {"id":..,"text":..} in, one JSON line out per input, in order`,
		Long: `Reads JSON lines {"id": ..., "text": ...} on stdin and writes one JSON line per input,
{"id": ..., "text": <redacted>, "verdict": ..., "findings": [...]}, in the same order. Unknown input
fields are ignored. A malformed line produces {"line": N, "error": "..."} and processing continues.
With --plain, every input line is treated as text and only the redacted text is printed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			fc := filters.DefaultConfig()
			if policy != "" {
				cfg, err := config.Load(policy, nil)
				if err != nil {
					return &exitError{2, err}
				}
				if errs := cfg.Filters.Validate(); len(errs) > 0 {
					for _, e := range errs {
						fmt.Fprintln(cmd.ErrOrStderr(), e)
					}
					return &exitError{2, fmt.Errorf("invalid policy in %s", policy)}
				}
				fc = cfg.Filters
			}
			chain, err := filters.New(fc)
			if err != nil {
				return &exitError{2, err}
			}
			return redactStream(chain, cmd.InOrStdin(), cmd.OutOrStdout(), plain)
		},
	}
	cmd.Flags().StringVar(&policy, "policy", "", "config file whose filters section to use")
	cmd.Flags().BoolVar(&plain, "plain", false, "plain-text mode: one text per line, redacted text out")
	return cmd
}

func redactStream(chain *filters.Chain, in io.Reader, out io.Writer, plain bool) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	w := bufio.NewWriter(out)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	line := 0
	for sc.Scan() {
		line++
		if plain {
			o, err := chain.ApplySafe(sc.Text())
			if err != nil {
				fmt.Fprintf(w, "[line %d: could not be filtered; withheld]\n", line)
				continue
			}
			fmt.Fprintln(w, o.Text)
			continue
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r redactIn
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			_ = enc.Encode(redactErr{Line: line, Error: "malformed JSON"})
			continue
		}
		if r.Text == nil {
			_ = enc.Encode(redactErr{Line: line, Error: `missing "text"`})
			continue
		}
		o, err := chain.ApplySafe(*r.Text)
		if err != nil {
			_ = enc.Encode(redactErr{Line: line, Error: "filter failed; text withheld"})
			continue
		}
		f := o.Findings
		if f == nil {
			f = []sms.Finding{}
		}
		_ = enc.Encode(redactOut{ID: r.ID, Text: o.Text, Verdict: o.Verdict, Findings: f})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading stdin at line %d: %w", line+1, err)
	}
	return nil
}

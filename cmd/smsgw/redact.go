package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/filters"
	"github.com/smsgw/smsgw/sms"
)

// redactIn is one input line; other fields are ignored.
type redactIn struct {
	ID   json.RawMessage `json:"id"`
	Text *string         `json:"text"`
	// Direction (inbound | outbound) selects that direction's policy.
	Direction sms.Direction `json:"direction"`
	// Conversation, when set, joins the digits a line ends with to the
	// next line of the same conversation (a card split across messages).
	Conversation string `json:"conversation"`
}

type redactOut struct {
	ID       json.RawMessage `json:"id,omitempty"`
	Text     string          `json:"text"`
	Verdict  sms.Verdict     `json:"verdict"`
	Findings []sms.Finding   `json:"findings"`
}

type redactErr struct {
	ID    json.RawMessage `json:"id,omitempty"`
	Line  int             `json:"line"`
	Error string          `json:"error"`
}

// maxRedactLine bounds one input line; a longer one is reported and
// skipped.
const maxRedactLine = 1 << 20

func redactCmd() *cobra.Command {
	var policy string
	var plain bool
	var direction string
	cmd := &cobra.Command{
		Use:   "redact",
		Short: `Redact text from stdin: JSON lines {"id":..,"text":..} in, one JSON line out per input, in order`,
		Long: `Reads JSON lines {"id": ..., "text": ...} on stdin and writes one JSON line per input,
{"id": ..., "text": <redacted>, "verdict": ..., "findings": [...]}, in the same order. Findings
give each value's type, byte offsets into the input text and action, never the value.

Unknown input fields are ignored. Two are understood: "direction" (inbound | outbound) applies
that direction's policy, and "conversation" (any string) lets a card number split across two
consecutive lines of one conversation be caught. A malformed line produces
{"line": N, "error": "..."} and processing continues; blank lines are skipped.

--policy FILE uses the filters section of a smsgw configuration file (policy, inbound,
outbound, disabled, rules, lexicon) instead of the default policy.

With --plain, every input line is a text and only the redacted text is printed, prefixed
with [blocked] when the policy blocks it.`,
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
			dir := sms.Direction(direction)
			if dir != "" && !dir.Valid() {
				return &exitError{2, fmt.Errorf("--direction %q: want inbound or outbound", direction)}
			}
			r := &redactor{chain: chain, conv: filters.NewConversations(chain), dir: dir}
			return r.stream(cmd.InOrStdin(), cmd.OutOrStdout(), plain)
		},
	}
	cmd.Flags().StringVar(&policy, "policy", "", "config file whose filters section to use")
	cmd.Flags().BoolVar(&plain, "plain", false, "plain-text mode: one text per line, redacted text out")
	cmd.Flags().StringVar(&direction, "direction", "", "apply the inbound or outbound policy (JSON lines may say per line)")
	return cmd
}

// redactor filters a stream of lines.
type redactor struct {
	chain *filters.Chain
	conv  *filters.Conversations
	dir   sms.Direction
}

func (rd *redactor) stream(in io.Reader, out io.Writer, plain bool) error {
	br := bufio.NewReaderSize(in, 64<<10)
	w := bufio.NewWriter(out)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for line := 1; ; line++ {
		data, tooLong, err := readLine(br)
		if err == io.EOF && data == nil && !tooLong {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading stdin at line %d: %w", line, err)
		}
		switch {
		case tooLong && plain:
			fmt.Fprintf(w, "[line %d: longer than %d bytes; withheld]\n", line, maxRedactLine)
		case tooLong:
			_ = enc.Encode(redactErr{Line: line, Error: fmt.Sprintf("line longer than %d bytes", maxRedactLine)})
		case plain:
			rd.plainLine(w, line, string(data))
		default:
			rd.jsonLine(enc, line, data)
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readLine reads one line without its end; a line longer than
// maxRedactLine is consumed and reported as too long.
func readLine(br *bufio.Reader) (data []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(data)+len(chunk) > maxRedactLine+1 {
			tooLong = true
			data = nil
		} else if !tooLong {
			data = append(data, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(data) == 0 && !tooLong {
			return nil, false, io.EOF
		}
		data = bytes.TrimSuffix(bytes.TrimSuffix(data, []byte("\n")), []byte("\r"))
		if data == nil {
			data = []byte{}
		}
		return data, tooLong, err
	}
}

func (rd *redactor) plainLine(w io.Writer, line int, text string) {
	o, err := rd.chain.For(rd.dir).ApplySafe(text)
	if err != nil {
		fmt.Fprintf(w, "[line %d: could not be filtered; withheld]\n", line)
		return
	}
	if o.Verdict == sms.VerdictBlocked {
		fmt.Fprint(w, "[blocked] ")
	}
	fmt.Fprintln(w, o.Text)
}

func (rd *redactor) jsonLine(enc *json.Encoder, line int, data []byte) {
	if len(bytes.TrimSpace(data)) == 0 {
		return
	}
	var r redactIn
	if err := json.Unmarshal(data, &r); err != nil {
		_ = enc.Encode(redactErr{Line: line, Error: describeJSONError(err)})
		return
	}
	fail := func(msg string) { _ = enc.Encode(redactErr{ID: r.ID, Line: line, Error: msg}) }
	if r.Text == nil {
		fail(`missing "text"`)
		return
	}
	dir := rd.dir
	if r.Direction != "" {
		if !r.Direction.Valid() {
			fail(`"direction" must be inbound or outbound`)
			return
		}
		dir = r.Direction
	}
	var o filters.Outcome
	var err error
	if r.Conversation != "" {
		o, err = rd.conv.Apply(filters.Turn{Conversation: r.Conversation, ID: fmt.Sprint(line), Direction: dir, Text: *r.Text})
	} else {
		o, err = rd.chain.For(dir).ApplySafe(*r.Text)
	}
	if err != nil {
		fail("filter failed; text withheld")
		return
	}
	f := o.Findings
	if f == nil {
		f = []sms.Finding{}
	}
	_ = enc.Encode(redactOut{ID: r.ID, Text: o.Text, Verdict: o.Verdict, Findings: f})
}

// describeJSONError says what is wrong with a line without quoting it.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return "malformed JSON: want an object"
		}
		return fmt.Sprintf("malformed JSON: %q must be a string", strings.ToLower(typ.Field))
	default:
		return "malformed JSON"
	}
}

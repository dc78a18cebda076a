package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/smsgw/smsgw/sms"
)

// Menu is what a main number answers a new conversation with: a greeting
// and options, each picked by its digit or a keyword, leading to a queue.
type Menu struct {
	Number sms.Number `json:"number"`
	// Greeting is sent to a customer starting a conversation; empty means
	// one is made from the options ("Reply 1 for Sales, 2 for Support.").
	Greeting string   `json:"greeting,omitempty"`
	Options  []Option `json:"options"`
	// Reprompt prefixes the greeting when a reply matches no option
	// (default: the configured numbers.reprompt).
	Reprompt string `json:"reprompt,omitempty"`
	// Back are the replies that return to the menu from a conversation
	// (default "0" and "menu").
	Back      []string  `json:"back,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// Option is one menu entry.
type Option struct {
	Digit    string   `json:"digit"`              // "1" .. "99"
	Keywords []string `json:"keywords,omitempty"` // lower-case words, e.g. "sales"
	Queue    string   `json:"queue"`
	Label    string   `json:"label,omitempty"` // for the generated greeting; default the first keyword or the queue
}

// DefaultBack are the replies that return to the menu.
var DefaultBack = []string{"0", "menu"}

// normalizeReply is how a customer's reply is compared with digits and
// keywords: trimmed, lower-case, inner runs of spaces made one, and
// surrounding punctuation dropped ("  Sales! " -> "sales", "2." -> "2").
func normalizeReply(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
	return strings.ToLower(s)
}

// ParseOption parses the CLI form of an option:
//
//	DIGIT[,KEYWORD...]=QUEUE[:LABEL]
//
// e.g. "1,sales=sales", "2,support,help desk=support:Customer support".
func ParseOption(spec string) (Option, error) {
	lhs, rhs, ok := strings.Cut(spec, "=")
	if !ok {
		return Option{}, invalid("options", "invalid_option", "option %q must look like DIGIT[,KEYWORD...]=QUEUE[:LABEL]", spec)
	}
	var o Option
	o.Queue, o.Label, _ = strings.Cut(rhs, ":")
	o.Queue, o.Label = strings.TrimSpace(o.Queue), strings.TrimSpace(o.Label)
	parts := strings.Split(lhs, ",")
	o.Digit = strings.TrimSpace(parts[0])
	for _, k := range parts[1:] {
		if k = strings.TrimSpace(k); k != "" {
			o.Keywords = append(o.Keywords, k)
		}
	}
	if err := o.normalize(); err != nil {
		return Option{}, err
	}
	return o, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (o *Option) normalize() error {
	o.Digit = strings.TrimSpace(o.Digit)
	if !isDigits(o.Digit) || len(o.Digit) > 2 {
		return invalid("options", "invalid_option_digit", "option digit %q must be 1 or 2 digits", o.Digit)
	}
	if o.Queue == "" || !queueIDRe.MatchString(o.Queue) {
		return invalid("options", "invalid_option_queue", "option %s needs a queue id", o.Digit)
	}
	kws := make([]string, 0, len(o.Keywords))
	for _, k := range o.Keywords {
		k = normalizeReply(k)
		if k == "" || len(k) > 40 {
			return invalid("options", "invalid_option_keyword", "option %s has an empty or over-long keyword", o.Digit)
		}
		if isDigits(k) {
			return invalid("options", "invalid_option_keyword", "option %s keyword %q is a number: use the digit", o.Digit, k)
		}
		if kw, _ := ClassifyKeyword(k); kw != KeywordNone {
			return invalid("options", "reserved_keyword", "option %s keyword %q is reserved for opt-out/help", o.Digit, k)
		}
		if !slices.Contains(kws, k) {
			kws = append(kws, k)
		}
	}
	o.Keywords = kws
	if len(kws) == 0 {
		o.Keywords = nil
	}
	if len(o.Label) > 60 {
		return invalid("options", "invalid_option_label", "option %s label has at most 60 characters", o.Digit)
	}
	return nil
}

// check normalizes and validates the menu on its own (not the queues).
func (m *Menu) check() error {
	if len(m.Options) == 0 {
		return invalid("options", "options_required", "a menu needs at least one option")
	}
	if len(m.Options) > 20 {
		return invalid("options", "too_many_options", "a menu has at most 20 options")
	}
	if len(m.Greeting) > 640 {
		return invalid("greeting", "greeting_too_long", "greeting has at most 640 characters")
	}
	if len(m.Reprompt) > 160 {
		return invalid("reprompt", "reprompt_too_long", "reprompt has at most 160 characters")
	}
	if len(m.Back) == 0 {
		m.Back = slices.Clone(DefaultBack)
	}
	seen := map[string]string{}
	for i, b := range m.Back {
		b = normalizeReply(b)
		if b == "" {
			return invalid("back", "invalid_back", "back replies must not be empty")
		}
		m.Back[i] = b
		seen[b] = "back"
	}
	for i := range m.Options {
		o := &m.Options[i]
		if err := o.normalize(); err != nil {
			return err
		}
		for _, w := range append([]string{o.Digit}, o.Keywords...) {
			if prev, dup := seen[w]; dup {
				return invalid("options", "duplicate_option", "%q is used twice (option %s and %s)", w, prev, o.Digit)
			}
			seen[w] = "option " + o.Digit
		}
	}
	return nil
}

// Match returns the option a reply picks.
func (m Menu) Match(reply string) (Option, bool) {
	r := normalizeReply(reply)
	if r == "" {
		return Option{}, false
	}
	for _, o := range m.Options {
		if r == o.Digit || slices.Contains(o.Keywords, r) {
			return o, true
		}
	}
	return Option{}, false
}

// IsBack reports whether a reply asks for the menu again.
func (m Menu) IsBack(reply string) bool {
	back := m.Back
	if len(back) == 0 {
		back = DefaultBack
	}
	return slices.Contains(back, normalizeReply(reply))
}

// Text is the greeting: the configured one or one made from the options.
func (m Menu) Text() string {
	if m.Greeting != "" {
		return m.Greeting
	}
	parts := make([]string, len(m.Options))
	for i, o := range m.Options {
		label := o.Label
		if label == "" && len(o.Keywords) > 0 {
			label = o.Keywords[0]
		}
		if label == "" {
			label = o.Queue
		}
		parts[i] = o.Digit + " for " + label
	}
	return "Reply " + strings.Join(parts, ", ") + "."
}

func menuKey(n sms.Number) string { return "m." + n.Digits() }

// SetMenu sets a main number's menu; every option's queue must exist.
func (d *Directory) SetMenu(ctx context.Context, m Menu, by string) (Menu, error) {
	n, _, err := d.Number(ctx, m.Number)
	if err != nil {
		return Menu{}, err
	}
	if n.Kind != KindMain {
		return Menu{}, invalid("number", "not_a_main_number", "only a main number (kind main) has a menu")
	}
	if err := m.check(); err != nil {
		return Menu{}, err
	}
	for _, o := range m.Options {
		if err := d.checkQueue(ctx, o.Queue); err != nil {
			return Menu{}, &fieldErr{Err: sms.Errorf(sms.Invalid, "unknown_queue", "option %s: queue %s does not exist", o.Digit, o.Queue), Field: "options"}
		}
	}
	m.UpdatedAt, m.UpdatedBy = time.Now().UTC(), by
	data, _ := json.Marshal(m)
	if _, err := d.queues.Put(ctx, menuKey(m.Number), data); err != nil {
		return Menu{}, fmt.Errorf("saving menu: %w", err)
	}
	opts := make([]string, len(m.Options))
	for i, o := range m.Options {
		opts[i] = o.Digit + "=" + o.Queue
	}
	d.ev.emit(ctx, sms.StatusMenuUpdated, by, "set", map[string]string{"number": m.Number.E164(), "options": strings.Join(opts, ",")})
	return m, nil
}

// Menu returns a main number's menu.
func (d *Directory) Menu(ctx context.Context, n sms.Number) (Menu, error) {
	e, err := d.queues.Get(ctx, menuKey(n))
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			return Menu{}, sms.Errorf(sms.NotFound, "menu_not_found", "the number has no menu")
		}
		return Menu{}, err
	}
	var m Menu
	if err := json.Unmarshal(e.Value, &m); err != nil {
		return Menu{}, fmt.Errorf("decoding menu: %w", err)
	}
	return m, nil
}

// DeleteMenu removes a main number's menu.
func (d *Directory) DeleteMenu(ctx context.Context, n sms.Number, by string) error {
	if _, err := d.Menu(ctx, n); err != nil {
		return err
	}
	if err := d.queues.Delete(ctx, menuKey(n)); err != nil {
		return err
	}
	d.ev.emit(ctx, sms.StatusMenuUpdated, by, "deleted", map[string]string{"number": n.E164()})
	return nil
}

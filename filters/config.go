package filters

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dlclark/regexp2"

	"github.com/smsgw/smsgw/sms"
)

// Config is the redaction policy. It is the `filters` section of the
// gateway's configuration:
//
//	filters:
//	  policy:   {card: redact, email: flag}   # every direction
//	  inbound:  {phone: flag}                 # overrides for inbound (MO) messages
//	  outbound: {card: block}                 # overrides for outbound (MT) messages
//	  disabled: [passport]
//	  rule_timeout: 100ms
//	  rules:
//	    - name: employee_id
//	      pattern: '(?<![A-Z])EMP-\d{6}(?!\d)'
//	      action: redact
//	      context: [employee, staff]
//	  lexicon:
//	    - name: promises
//	      phrases: ["guaranteed returns", "risk-free investment"]
//	      action: block
//	  conversation: {window: 5m, max_conversations: 100000}
type Config struct {
	// Policy maps a finding type (a built-in type such as "card", or the
	// name of a rule or lexicon rule) to an action: redact, block or flag.
	// Types not listed use their default (see DetectorNames and
	// DefaultConfig; rules use their own action).
	Policy map[string]sms.Action `mapstructure:"policy" json:"policy,omitempty"`
	// Inbound and Outbound override Policy for one direction.
	Inbound  map[string]sms.Action `mapstructure:"inbound" json:"inbound,omitempty"`
	Outbound map[string]sms.Action `mapstructure:"outbound" json:"outbound,omitempty"`
	// Disabled lists finding types to switch off ("card_split" switches
	// off the per-conversation window).
	Disabled []string `mapstructure:"disabled" json:"disabled,omitempty"`
	// Rules are operator-defined regular expressions (regexp2 syntax,
	// lookarounds allowed).
	Rules []Rule `mapstructure:"rules" json:"rules,omitempty"`
	// Lexicon rules flag or block words and phrases.
	Lexicon []LexiconRule `mapstructure:"lexicon" json:"lexicon,omitempty"`
	// RuleTimeout bounds every single regexp2 match (0: 100ms). A match
	// that times out fails the message closed: it is blocked, never passed.
	RuleTimeout time.Duration `mapstructure:"rule_timeout" json:"rule_timeout,omitempty"`
	// Conversation configures the window that catches a card number split
	// across two consecutive messages.
	Conversation ConversationConfig `mapstructure:"conversation" json:"conversation"`
}

// Rule is an operator-defined pattern.
type Rule struct {
	// Name is the finding type the rule reports: lower-case letters,
	// digits and '_', starting with a letter; not a built-in type.
	Name string `mapstructure:"name" json:"name"`
	// Pattern is a regexp2 (.NET-style) expression, matched against the
	// text as received.
	Pattern string `mapstructure:"pattern" json:"pattern"`
	// Action is what a match gets: redact, block or flag.
	Action sms.Action `mapstructure:"action" json:"action"`
	// Context, when not empty, limits the rule to matches that one of these
	// words or phrases precedes (case-insensitive, at a word boundary,
	// starting at most ContextBytes before the match).
	Context []string `mapstructure:"context" json:"context,omitempty"`
	// IgnoreCase makes the pattern case-insensitive.
	IgnoreCase bool `mapstructure:"ignore_case" json:"ignore_case,omitempty"`
}

// ContextBytes is how far before a value its context word may start, for
// rules and for the built-in detectors that need one.
const ContextBytes = 48

// LexiconRule flags or blocks words and phrases.
type LexiconRule struct {
	// Name is the finding type reported, as for Rule.
	Name string `mapstructure:"name" json:"name"`
	// Phrases are matched whole-word and case-insensitively; any run of
	// spaces or punctuation in the text matches a space in a phrase.
	Phrases []string `mapstructure:"phrases" json:"phrases"`
	// Action: flag (record), block (do not deliver; the phrase is not
	// masked) or redact (mask the phrase).
	Action sms.Action `mapstructure:"action" json:"action"`
}

// ConversationConfig bounds the per-conversation window of trailing digits.
// It is held in memory only and never written anywhere.
type ConversationConfig struct {
	// Window is how long after a message its trailing digits may still
	// join the next message's (0: 5m).
	Window time.Duration `mapstructure:"window" json:"window,omitempty"`
	// MaxConversations bounds memory: the least recently used
	// conversations are forgotten first (0: 100000).
	MaxConversations int `mapstructure:"max_conversations" json:"max_conversations,omitempty"`
}

// Defaults used for zero values.
const (
	defaultRuleTimeout      = 100 * time.Millisecond
	defaultWindow           = 5 * time.Minute
	defaultMaxConversations = 100000
)

// DefaultConfig lists every built-in finding type with its default action.
func DefaultConfig() Config {
	p := make(map[string]sms.Action, len(entities))
	for _, e := range entities {
		p[e.name] = e.def
	}
	return Config{
		Policy:       p,
		RuleTimeout:  defaultRuleTimeout,
		Conversation: ConversationConfig{Window: defaultWindow, MaxConversations: defaultMaxConversations},
	}
}

// Validate reports every problem in c, each naming its key, e.g.
// `filters.policy.card: unknown action "redcat" (want redact, block or flag)`
// or `filters.rules[2].pattern: ...`.
func (c Config) Validate() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("filters.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	// Operator rule names first: the policies may refer to them.
	custom := map[string]string{} // name -> key that defined it
	checkName := func(key, name string) {
		switch {
		case name == "":
			add(key, "required")
		case !validRuleName(name):
			add(key, "%q: want lower-case letters, digits and _, starting with a letter", name)
		case isBuiltinName(name):
			add(key, "%q is a built-in finding type", name)
		case custom[name] != "":
			add(key, "%q is already the name of %s", name, custom[name])
		default:
			custom[name] = "filters." + strings.TrimSuffix(key, ".name")
		}
	}
	checkAction := func(key string, a sms.Action) {
		if a == "" {
			add(key, "required (redact, block or flag)")
		} else if !a.Valid() {
			add(key, "unknown action %q (want redact, block or flag)", a)
		}
	}
	for i, r := range c.Rules {
		k := fmt.Sprintf("rules[%d]", i)
		checkName(k+".name", r.Name)
		checkAction(k+".action", r.Action)
		if r.Pattern == "" {
			add(k+".pattern", "required")
		} else if _, err := compileRule(r, defaultRuleTimeout); err != nil {
			add(k+".pattern", "%v", err)
		}
		for j, w := range r.Context {
			if strings.TrimSpace(w) == "" {
				add(fmt.Sprintf("%s.context[%d]", k, j), "empty")
			}
		}
	}
	for i, l := range c.Lexicon {
		k := fmt.Sprintf("lexicon[%d]", i)
		checkName(k+".name", l.Name)
		checkAction(k+".action", l.Action)
		if len(l.Phrases) == 0 {
			add(k+".phrases", "required (at least one word or phrase)")
		}
		for j, p := range l.Phrases {
			if len(phraseWords(p)) == 0 {
				add(fmt.Sprintf("%s.phrases[%d]", k, j), "%q has no words", p)
			}
		}
	}
	known := strings.Join(DetectorNames(), ", ")
	for _, section := range []struct {
		key string
		m   map[string]sms.Action
	}{{"policy", c.Policy}, {"inbound", c.Inbound}, {"outbound", c.Outbound}} {
		keys := make([]string, 0, len(section.m))
		for k := range section.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			key := section.key + "." + k
			if !isBuiltinName(k) && custom[k] == "" {
				add(key, "unknown finding type %q (known: %s, and the names of rules and lexicon rules)", k, known)
				continue
			}
			if a := section.m[k]; !a.Valid() {
				add(key, "unknown action %q (want redact, block or flag)", a)
			}
		}
	}
	for i, d := range c.Disabled {
		if !isBuiltinName(d) && d != TypeCardSplit && custom[d] == "" {
			add(fmt.Sprintf("disabled[%d]", i), "unknown finding type %q (known: %s, %s)", d, known, TypeCardSplit)
		}
	}
	if c.RuleTimeout < 0 || c.RuleTimeout > time.Minute {
		add("rule_timeout", "must be between 0 (default %s) and 1m (got %s)", defaultRuleTimeout, c.RuleTimeout)
	}
	if c.Conversation.Window < 0 || c.Conversation.Window > 24*time.Hour {
		add("conversation.window", "must be between 0 (default %s) and 24h (got %s)", defaultWindow, c.Conversation.Window)
	}
	if c.Conversation.MaxConversations < 0 || c.Conversation.MaxConversations > 10_000_000 {
		add("conversation.max_conversations", "must be between 0 (default %d) and 10000000 (got %d)", defaultMaxConversations, c.Conversation.MaxConversations)
	}
	return errs
}

func isBuiltinName(name string) bool {
	_, ok := lookupEntity(name)
	return ok
}

func validRuleName(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// compileRule compiles r's pattern with the given match timeout.
func compileRule(r Rule, timeout time.Duration) (*regexp2.Regexp, error) {
	opts := regexp2.None
	if r.IgnoreCase {
		opts |= regexp2.IgnoreCase
	}
	re, err := regexp2.Compile(r.Pattern, opts)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = timeout
	if m, err := re.FindStringMatch(""); err == nil && m != nil {
		return nil, fmt.Errorf("%q matches the empty text", r.Pattern)
	}
	return re, nil
}

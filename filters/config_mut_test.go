package filters

import (
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// validateKeys runs Validate and returns the keys it complains about
// ("filters.rules[0].name", ...), in order.
func validateKeys(c Config) []string {
	var keys []string
	for _, err := range c.Validate() {
		k, _, _ := strings.Cut(err.Error(), ": ")
		keys = append(keys, k)
	}
	return keys
}

// TestRuleNameSyntax: a rule name is 1-64 of a-z, 0-9 and _, starting
// with a letter (doc of Rule.Name); the edges of each class are accepted
// and the characters right outside them refused.
func TestRuleNameSyntax(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"z", true}, {"a0", true}, {"a9", true}, {"a_", true}, {"az_09", true},
		{"x" + strings.Repeat("y", 63), true},  // 64
		{"x" + strings.Repeat("y", 64), false}, // 65
		{"", false}, {"0a", false}, {"9a", false}, {"_a", false}, {"Aa", false},
		{"`a", false}, {"{a", false}, // the bytes around 'a' and 'z'
		{"a`", false}, {"a{", false}, {"a/", false}, {"a:", false}, // around 'a'-'z' and '0'-'9'
		{"aB", false}, {"a-b", false}, {"a b", false}, {"é", false},
	} {
		cfg := DefaultConfig()
		cfg.Rules = []Rule{{Name: c.name, Pattern: `x\d+`, Action: sms.ActionFlag}}
		keys := validateKeys(cfg)
		bad := len(keys) > 0 && keys[0] == "filters.rules[0].name"
		if bad == c.ok {
			t.Errorf("rule name %q: Validate = %v, want ok=%v", c.name, keys, c.ok)
		}
		if c.ok && len(keys) > 0 {
			t.Errorf("rule name %q: unexpected problems %v", c.name, keys)
		}
		if c.ok {
			if _, err := New(cfg); err != nil {
				t.Errorf("New with rule name %q: %v", c.name, err)
			}
		}
	}
}

// TestValidateRanges: the documented ranges of the numeric settings
// include their ends.
func TestValidateRanges(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*Config)
		bad  string // the key refused, "" for none
	}{
		{"rule_timeout 0", func(c *Config) { c.RuleTimeout = 0 }, ""},
		{"rule_timeout 1m", func(c *Config) { c.RuleTimeout = time.Minute }, ""},
		{"rule_timeout 1m+1ns", func(c *Config) { c.RuleTimeout = time.Minute + 1 }, "filters.rule_timeout"},
		{"rule_timeout -1ns", func(c *Config) { c.RuleTimeout = -1 }, "filters.rule_timeout"},
		{"window 0", func(c *Config) { c.Conversation.Window = 0 }, ""},
		{"window 24h", func(c *Config) { c.Conversation.Window = 24 * time.Hour }, ""},
		{"window 24h+1ns", func(c *Config) { c.Conversation.Window = 24*time.Hour + 1 }, "filters.conversation.window"},
		{"window -1ns", func(c *Config) { c.Conversation.Window = -1 }, "filters.conversation.window"},
		{"max_conversations 0", func(c *Config) { c.Conversation.MaxConversations = 0 }, ""},
		{"max_conversations 10000000", func(c *Config) { c.Conversation.MaxConversations = 10_000_000 }, ""},
		{"max_conversations 10000001", func(c *Config) { c.Conversation.MaxConversations = 10_000_001 }, "filters.conversation.max_conversations"},
		{"max_conversations -1", func(c *Config) { c.Conversation.MaxConversations = -1 }, "filters.conversation.max_conversations"},
	} {
		cfg := DefaultConfig()
		c.set(&cfg)
		keys := validateKeys(cfg)
		switch {
		case c.bad == "" && len(keys) > 0:
			t.Errorf("%s: Validate = %v, want no problem", c.name, keys)
		case c.bad != "" && (len(keys) != 1 || keys[0] != c.bad):
			t.Errorf("%s: Validate = %v, want exactly %s", c.name, keys, c.bad)
		}
		if _, err := New(cfg); (err == nil) != (c.bad == "") {
			t.Errorf("%s: New error %v, want error=%v", c.name, err, c.bad != "")
		}
	}
}

// TestValidateNames: every problem is reported with its key.
func TestValidateNames(t *testing.T) {
	cfg := Config{
		Policy:   map[string]sms.Action{"card": "redcat", "nosuch": sms.ActionFlag, "my_rule": sms.ActionBlock},
		Inbound:  map[string]sms.Action{"ssn": sms.ActionFlag},
		Outbound: map[string]sms.Action{"words": ""},
		Disabled: []string{"card_split", "iban", "bogus", "words"},
		Rules: []Rule{
			{Name: "my_rule", Pattern: `\bzz\d+`, Action: sms.ActionRedact, Context: []string{"ref", " "}},
			{Name: "my_rule", Pattern: `(`, Action: "nuke"},
			{Name: "card", Pattern: `a*`, Action: sms.ActionFlag},
		},
		Lexicon: []LexiconRule{
			{Name: "words", Phrases: []string{"wire money", "!!"}, Action: sms.ActionBlock},
			{Name: "empty", Action: ""},
		},
	}
	want := []string{
		"filters.rules[0].context[1]",
		"filters.rules[1].name", "filters.rules[1].action", "filters.rules[1].pattern",
		"filters.rules[2].name", "filters.rules[2].pattern",
		"filters.lexicon[0].phrases[1]",
		"filters.lexicon[1].action", "filters.lexicon[1].phrases",
		"filters.policy.card", "filters.policy.nosuch",
		"filters.outbound.words",
		"filters.disabled[2]",
	}
	if got := validateKeys(cfg); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Validate keys:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

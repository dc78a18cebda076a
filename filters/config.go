package filters

import (
	"fmt"
	"sort"
	"strings"

	"github.com/smsgw/smsgw/sms"
)

// Config is the redaction policy. It is the `filters` section of the
// gateway's configuration.
type Config struct {
	// Policy maps a finding type ("card", "ssn") to an action (redact,
	// block or flag). Types not listed use their detector's default,
	// which is redact for card and ssn.
	Policy map[string]sms.Action `mapstructure:"policy" json:"policy"`
	// Disabled lists detector names to switch off.
	Disabled []string `mapstructure:"disabled" json:"disabled"`
}

// DefaultConfig lists every built-in detector with its default action.
func DefaultConfig() Config {
	p := make(map[string]sms.Action, len(builtins))
	for _, b := range builtins {
		p[b.det.Name()] = b.def
	}
	return Config{Policy: p}
}

// Validate reports every problem in c, each naming its key, e.g.
// `filters.policy.card: unknown action "redcat" (want redact, block or flag)`.
func (c Config) Validate() []error {
	var errs []error
	known := strings.Join(DetectorNames(), ", ")
	keys := make([]string, 0, len(c.Policy))
	for k := range c.Policy {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := lookupBuiltin(k); !ok {
			errs = append(errs, fmt.Errorf("filters.policy.%s: unknown finding type %q (known: %s)", k, k, known))
			continue
		}
		if a := c.Policy[k]; !a.Valid() {
			errs = append(errs, fmt.Errorf("filters.policy.%s: unknown action %q (want redact, block or flag)", k, a))
		}
	}
	for i, d := range c.Disabled {
		if _, ok := lookupBuiltin(d); !ok {
			errs = append(errs, fmt.Errorf("filters.disabled[%d]: unknown detector %q (known: %s)", i, d, known))
		}
	}
	return errs
}

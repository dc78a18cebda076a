package filters

import (
	"fmt"
	"slices"
	"sort"

	"github.com/smsgw/smsgw/sms"
)

// Config is the redaction policy.
type Config struct {
	// Policy maps a finding type ("card", "ssn") to an action. Types not
	// listed use their detector's default action.
	Policy map[string]sms.Action `mapstructure:"policy" json:"policy"`
	// Disabled lists detector names to switch off.
	Disabled []string `mapstructure:"disabled" json:"disabled"`
}

// DefaultConfig redacts every built-in type.
func DefaultConfig() Config {
	p := map[string]sms.Action{}
	for _, d := range builtins {
		p[d.name] = d.def
	}
	return Config{Policy: p}
}

// DetectorNames lists the built-in detectors, sorted.
func DetectorNames() []string {
	out := make([]string, 0, len(builtins))
	for _, d := range builtins {
		out = append(out, d.name)
	}
	sort.Strings(out)
	return out
}

// Validate reports every problem, each naming its key.
func (c Config) Validate() []error {
	var errs []error
	names := DetectorNames()
	keys := make([]string, 0, len(c.Policy))
	for k := range c.Policy {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(names, k) {
			errs = append(errs, fmt.Errorf("filters.policy.%s: unknown finding type %q (known: %v)", k, k, names))
			continue
		}
		if a := c.Policy[k]; !a.Valid() {
			errs = append(errs, fmt.Errorf("filters.policy.%s: unknown action %q (want redact, block or flag)", k, a))
		}
	}
	for i, d := range c.Disabled {
		if !slices.Contains(names, d) {
			errs = append(errs, fmt.Errorf("filters.disabled[%d]: unknown detector %q (known: %v)", i, d, names))
		}
	}
	return errs
}

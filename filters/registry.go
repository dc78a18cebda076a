package filters

import "github.com/smsgw/smsgw/sms"

// builtin is a detector every chain knows, with its default action.
type builtin struct {
	det Detector
	def sms.Action
}

// builtins are the built-in detectors in precedence order: when two
// findings overlap and are equally long, the earlier detector's wins.
// A new detector is one more line here (and its own file); the chain
// needs no change.
var builtins = [...]builtin{
	{cardDetector{}, sms.ActionRedact},
	{ssnDetector{}, sms.ActionRedact},
}

// DetectorNames lists the built-in detectors (which are also the finding
// types and the keys of Config.Policy), in precedence order.
func DetectorNames() []string {
	out := make([]string, len(builtins))
	for i, b := range builtins {
		out[i] = b.det.Name()
	}
	return out
}

// lookupBuiltin returns the built-in detector called name.
func lookupBuiltin(name string) (builtin, bool) {
	for _, b := range builtins {
		if b.det.Name() == name {
			return b, true
		}
	}
	return builtin{}, false
}

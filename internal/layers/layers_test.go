package layers

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/smsgw/smsgw/"

// rule says what a set of packages must not import (non-test imports).
type rule struct {
	name string
	// applies reports whether the rule is about package p (module-relative).
	applies func(p string) bool
	// forbidden reports whether importing imp (full path) breaks the rule.
	forbidden func(imp string) bool
}

func under(prefixes ...string) func(string) bool {
	return func(p string) bool {
		for _, pre := range prefixes {
			if p == pre || strings.HasPrefix(p, pre+"/") {
				return true
			}
		}
		return false
	}
}

func local(imp string) (string, bool) {
	if !strings.HasPrefix(imp, mod) {
		return "", false
	}
	return strings.TrimPrefix(imp, mod), true
}

func std(imp string) bool { return !strings.Contains(strings.Split(imp, "/")[0], ".") }

// ioPackages are the standard packages that reach outside the process.
var ioPackages = []string{"os", "os/exec", "net", "net/http", "net/url", "io/fs", "database/sql", "syscall", "path/filepath", "log", "log/slog"}

// domain packages hold the product's logic; they know nothing of NATS,
// the node's wiring or the pipeline that moves messages.
var domain = under("sms", "kv", "filters", "archive", "readmodel", "directory", "webhook", "sandbox", "gateway/smpp")

var rules = []rule{
	{
		name:    "only internal/bus talks to NATS",
		applies: func(p string) bool { return !under("internal/bus")(p) },
		forbidden: func(imp string) bool {
			return strings.HasPrefix(imp, "github.com/nats-io/")
		},
	},
	{
		name:    "filters are pure: the vocabulary and regexp2, no I/O",
		applies: under("filters"),
		forbidden: func(imp string) bool {
			if p, ok := local(imp); ok {
				return !under("sms", "filters")(p)
			}
			if std(imp) {
				return slices.Contains(ioPackages, imp)
			}
			return imp != "github.com/dlclark/regexp2"
		},
	},
	{
		name:    "sms is the vocabulary: it imports no package of ours",
		applies: under("sms"),
		forbidden: func(imp string) bool {
			_, ok := local(imp)
			return ok
		},
	},
	{
		name:    "domain packages import no internal/*, pipeline or config",
		applies: domain,
		forbidden: func(imp string) bool {
			p, ok := local(imp)
			return ok && under("internal", "pipeline", "config", "cmd", "gateway/api", "gateway/smppserver")(p)
		},
	},
	{
		name:    "edges call services: no bus, no pipeline, no app wiring",
		applies: under("gateway/api", "gateway/smppserver", "console"),
		forbidden: func(imp string) bool {
			p, ok := local(imp)
			return ok && under("internal/bus", "internal/app", "pipeline")(p)
		},
	},
	{
		name:    "the pipeline runs the domain on the bus: no edges, no config, no app wiring",
		applies: under("pipeline"),
		forbidden: func(imp string) bool {
			p, ok := local(imp)
			return ok && under("internal/app", "internal/auth", "config", "cmd", "gateway/api", "gateway/smppserver", "console", "e2e")(p)
		},
	},
	{
		name:    "internal/bus is infrastructure: the vocabulary only",
		applies: under("internal/bus"),
		forbidden: func(imp string) bool {
			p, ok := local(imp)
			return ok && !under("sms", "kv")(p)
		},
	},
	{
		name:    "only the CLI and the whole-system tests use the node's wiring",
		applies: func(p string) bool { return !under("cmd", "e2e", "internal/app")(p) },
		forbidden: func(imp string) bool {
			p, ok := local(imp)
			return ok && under("internal/app")(p)
		},
	},
}

// check returns one line per broken rule: "pkg imports imp: rule".
func check(graph map[string][]string) []string {
	var bad []string
	for _, pkg := range slices.Sorted(maps.Keys(graph)) {
		p, ok := local(pkg)
		if !ok {
			continue
		}
		for _, r := range rules {
			if !r.applies(p) {
				continue
			}
			for _, imp := range graph[pkg] {
				if r.forbidden(imp) {
					bad = append(bad, p+" imports "+imp+": "+r.name)
				}
			}
		}
	}
	return bad
}

func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", mod+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	graph := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		graph[f[0]] = f[1:]
	}
	for _, want := range []string{"internal/bus", "filters", "pipeline", "directory", "gateway/api"} {
		if _, ok := graph[mod+want]; !ok {
			t.Fatalf("go list did not list %s: the test would check nothing", want)
		}
	}
	for _, b := range check(graph) {
		t.Error(b)
	}
}

// The checker itself catches each kind of break.
func TestLayersCatch(t *testing.T) {
	for _, tc := range []struct{ pkg, imp string }{
		{"gateway/api", "github.com/nats-io/nats.go"},
		{"filters", "os"},
		{"filters", mod + "archive"},
		{"sms", mod + "kv"},
		{"directory", mod + "internal/bus"},
		{"archive", mod + "pipeline"},
		{"gateway/api", mod + "internal/bus"},
		{"pipeline", mod + "gateway/smppserver"},
		{"pipeline", mod + "config"},
		{"internal/bus", mod + "directory"},
		{"readmodel", mod + "internal/app"},
	} {
		got := check(map[string][]string{mod + tc.pkg: {tc.imp}})
		if len(got) == 0 {
			t.Errorf("%s importing %s was not caught", tc.pkg, tc.imp)
		}
	}
	if got := check(map[string][]string{mod + "filters": {"strings", mod + "sms", "github.com/dlclark/regexp2"}}); len(got) != 0 {
		t.Errorf("allowed imports reported: %v", got)
	}
}

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/internal/testenv"
)

// syncChildEnv names the directory of a TestNATSSyncAlwaysChild run.
const syncChildEnv = "SMSGW_E2E_SYNC_CHILD"

// syncTexts is how many texts a child run accepts.
const syncTexts = 12

// TestNATSSyncAlways: nats.sync_always reaches the embedded server — every
// text accepted (202) was fsynced to INGRESS's block file first. The
// gateway runs in a copy of this test binary under strace, which counts
// the fsync calls on INGRESS's block files; the same run without the
// setting is the control that shows the count can tell the difference.
func TestNATSSyncAlways(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		testenv.RequireOrSkip(t, "strace", "not in PATH (apt-get install strace)")
	}
	fsyncs := func(sync bool) int {
		t.Helper()
		dir := t.TempDir()
		trace := filepath.Join(dir, "strace.log")
		cmd := exec.Command(strace, "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o", trace,
			os.Args[0], "-test.run", "^TestNATSSyncAlwaysChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), syncChildEnv+"="+dir, "SMSGW_E2E_SYNC_ALWAYS="+strconv.FormatBool(sync))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestNATSSyncAlwaysChild") {
			t.Fatalf("child run (sync_always %v): %v\n%s", sync, err, out)
		}
		data, err := os.ReadFile(trace)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(string(data), "\n") {
			if (strings.Contains(line, "fsync(") || strings.Contains(line, "fdatasync(")) &&
				strings.Contains(line, "/streams/"+bus.StreamIngress+"/msgs/") && strings.Contains(line, ".blk>") {
				n++
			}
		}
		return n
	}
	with := fsyncs(true)
	without := fsyncs(false)
	t.Logf("fsync calls on INGRESS block files for %d accepted texts: %d with nats.sync_always, %d without", syncTexts, with, without)
	if without >= syncTexts {
		t.Fatalf("without nats.sync_always there were %d fsyncs of INGRESS blocks for %d texts: this check cannot tell the setting apart", without, syncTexts)
	}
	if with < syncTexts {
		t.Errorf("with nats.sync_always, %d fsyncs of INGRESS blocks for %d accepted texts: the embedded server does not sync before it acknowledges", with, syncTexts)
	}
}

// TestNATSSyncAlwaysChild is the gateway run of TestNATSSyncAlways.
func TestNATSSyncAlwaysChild(t *testing.T) {
	dir := os.Getenv(syncChildEnv)
	if dir == "" {
		t.Skip("run by TestNATSSyncAlways")
	}
	cfg := testConfig(filepath.Join(dir, "data"))
	cfg.NATS.SyncAlways = os.Getenv("SMSGW_E2E_SYNC_ALWAYS") == "true"
	g := start(t, cfg, nil)
	tok, _ := g.employee("jane.doe", bizNumber, "")
	for i := range syncTexts {
		g.mustCall(202, "POST", "/v1/messages", tok, map[string]string{"to": customer, "body": fmt.Sprintf("durable text %d", i)})
	}
}

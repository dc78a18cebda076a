package e2e

// Processes of the fault-injection suite (see faults_test.go): the gateway
// binary, the SMSC peer (e2e/cmd/smscpeer) and MinIO, each a real process
// on 127.0.0.1 that a scenario can kill, freeze and restart; and the probe
// that watches /healthz and /readyz throughout.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/smsgw/smsgw/internal/testenv"
)

// buildBinaries builds the gateway and the SMSC peer into dir.
func buildBinaries(t *testing.T, dir string) (gateway, peer string) {
	t.Helper()
	gateway, peer = filepath.Join(dir, "smsgw"), filepath.Join(dir, "smscpeer")
	for _, b := range []struct{ out, pkg string }{{gateway, "./cmd/smsgw"}, {peer, "./e2e/cmd/smscpeer"}} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Dir = testenv.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return gateway, peer
}

// minioBinaryPath finds the MinIO server as testenv does.
func minioBinaryPath() (string, error) {
	if p := os.Getenv("SMSGW_MINIO"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p := filepath.Join(testenv.RepoRoot(), ".bin", "minio"); fileExistsFaults(p) {
		return p, nil
	}
	return exec.LookPath("minio")
}

func fileExistsFaults(p string) bool { _, err := os.Stat(p); return err == nil }

// proc is a child process that can be signalled and started again with the
// same arguments; its output is appended to one log file across starts.
type faultProc struct {
	name string
	bin  string
	args []string
	env  []string
	log  string // log file

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	runs int
}

func (p *faultProc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return fmt.Errorf("%s is already running", p.name)
		}
	}
	f, err := os.OpenFile(p.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	p.runs++
	fmt.Fprintf(f, "\n===== %s start %d at %s =====\n", p.name, p.runs, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	p.cmd, p.done = cmd, done
	return nil
}

// signal sends sig to the running process (an error if it is not running).
func (p *faultProc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("%s was never started", p.name)
	}
	return p.cmd.Process.Signal(sig)
}

// exited returns a channel closed when the current run ends.
func (p *faultProc) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return p.done
}

// wait waits up to d for the current run to end.
func (p *faultProc) wait(d time.Duration) bool {
	select {
	case <-p.exited():
		return true
	case <-time.After(d):
		return false
	}
}

// kill9 kills the process with SIGKILL (a frozen one too) and waits.
func (p *faultProc) kill9() {
	_ = p.signal(syscall.SIGKILL)
	p.wait(time.Minute)
}

func (p *faultProc) exitCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// tail returns the last n lines of the log file.
func (p *faultProc) tail(n int) string {
	data, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// minioProc is a MinIO server on a fixed loopback address and data dir,
// so that it can be restarted after a kill with everything in place.
type minioProc struct {
	*faultProc
	endpoint, access, secret, bucket string
}

func startMinIOProc(t *testing.T, dir string) *minioProc {
	t.Helper()
	bin, err := minioBinaryPath()
	if err != nil {
		testenv.RequireOrSkip(t, "the MinIO server binary", "not in $SMSGW_MINIO, .bin/minio or PATH")
	}
	m := &minioProc{access: "faults" + randToken(4), secret: randToken(16)}
	data := filepath.Join(dir, "minio-data")
	for attempt := 0; ; attempt++ {
		m.endpoint = testenv.FreePort(t)
		m.faultProc = &faultProc{name: "minio", bin: bin, log: filepath.Join(dir, "minio.log"),
			args: []string{"server", "--quiet", "--address", m.endpoint, "--console-address", testenv.FreePort(t), data},
			env: []string{"MINIO_ROOT_USER=" + m.access, "MINIO_ROOT_PASSWORD=" + m.secret,
				"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1"}}
		if err := m.start(); err != nil {
			t.Fatal(err)
		}
		if m.waitLive(90 * time.Second) {
			break
		}
		m.kill9()
		if attempt == 2 {
			t.Fatalf("minio did not become ready:\n%s", m.tail(30))
		}
	}
	t.Cleanup(m.kill9)
	c, err := minio.New(m.endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.access, m.secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	m.bucket = "faults-" + strings.ToLower(randToken(6))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.MakeBucket(ctx, m.bucket, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatalf("creating bucket: %v", err)
	}
	return m
}

func (m *minioProc) client() *minio.Client {
	c, _ := minio.New(m.endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.access, m.secret, "")})
	return c
}

// waitLive waits for MinIO's liveness endpoint (false if it exited or d passed).
func (m *minioProc) waitLive(d time.Duration) bool {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-m.exited():
			return false
		default:
		}
		resp, err := hc.Get("http://" + m.endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// restart starts MinIO again on the same address and data dir.
func (m *minioProc) restart(t *testing.T) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		if err := m.start(); err != nil {
			t.Fatal(err)
		}
		if m.waitLive(90 * time.Second) {
			return
		}
		m.kill9()
		if attempt == 2 {
			t.Fatalf("minio did not come back on %s:\n%s", m.endpoint, m.tail(30))
		}
		time.Sleep(time.Second) // the port may still be held
	}
}

// peerProc is the SMSC peer process.
type peerProc struct {
	*faultProc
	addr, record string
}

func startPeer(t *testing.T, bin, dir string, extra []string) *peerProc {
	t.Helper()
	p := &peerProc{addr: testenv.FreePort(t), record: filepath.Join(dir, "carrier.jsonl")}
	args := append([]string{"-listen", p.addr, "-record", p.record, "-system-id", "smsgw", "-password", "secret"}, extra...)
	p.faultProc = &faultProc{name: "smscpeer", bin: bin, args: args, log: filepath.Join(dir, "smscpeer.log")}
	p.restart(t)
	t.Cleanup(p.kill9)
	return p
}

// restart starts the peer (again) on the same address and record file.
func (p *peerProc) restart(t *testing.T) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-p.exited():
				deadline = time.Time{}
				continue
			default:
			}
			if c, err := net.DialTimeout("tcp", p.addr, time.Second); err == nil {
				c.Close()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		p.kill9()
		if attempt == 4 {
			t.Fatalf("smscpeer did not listen on %s:\n%s", p.addr, p.tail(20))
		}
		time.Sleep(time.Second) // the port may still be held
	}
}

// gwProc is the gateway, `smsgw serve --config <file>`.
type gwProc struct {
	*faultProc
	url, cfgPath, dataDir string
}

// startGateway starts (or restarts) the gateway and waits until /healthz
// answers; it fails the test if it exits or never answers.
func (g *gwProc) startGateway(t *testing.T) {
	t.Helper()
	if err := g.start(); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-g.exited():
			t.Fatalf("gateway exited during start (code %d):\n%s", g.exitCode(), g.tail(40))
		default:
		}
		resp, err := hc.Get(g.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gateway did not answer /healthz within 3m:\n%s", g.tail(40))
}

// probe polls /healthz and /readyz every interval, labelling each answer
// with the phase the scenario says it is in.
type readyProbe struct {
	url      string
	once     sync.Once
	mu       sync.Mutex
	phase    string
	samples  []probeSample
	stop     chan struct{}
	finished chan struct{}
}

type probeSample struct {
	at            time.Time
	phase         string
	health, ready int // HTTP status; 0: no answer (refused, timeout)
}

func startReadyProbe(url string) *readyProbe {
	p := &readyProbe{url: url, phase: "normal", stop: make(chan struct{}), finished: make(chan struct{})}
	go p.loop()
	return p
}

func (p *readyProbe) setPhase(s string) {
	p.mu.Lock()
	p.phase = s
	p.mu.Unlock()
}

func (p *readyProbe) loop() {
	defer close(p.finished)
	hc := &http.Client{Timeout: 2 * time.Second}
	get := func(path string) int {
		resp, err := hc.Get(p.url + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		phase := p.phase
		p.mu.Unlock()
		s := probeSample{at: time.Now(), phase: phase, health: get("/healthz"), ready: get("/readyz")}
		p.mu.Lock()
		// A probe that started in one phase and ended in another says
		// nothing clear about either.
		if p.phase == phase {
			p.samples = append(p.samples, s)
		}
		p.mu.Unlock()
	}
}

// close stops the probe (it may be called again) and returns its samples.
func (p *readyProbe) close() []probeSample {
	p.once.Do(func() { close(p.stop) })
	<-p.finished
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.samples
}

// waitReady waits up to d for /readyz to answer 200.
func waitReadyz(url string, d time.Duration) (time.Duration, bool) {
	hc := &http.Client{Timeout: 2 * time.Second}
	start := time.Now()
	for time.Since(start) < d {
		resp, err := hc.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start), true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start), false
}

// isDialError reports an error that means the request never reached the
// server (connection refused): it is safe to send again.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// RepoRoot walks up from the working directory to the directory holding go.mod.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}

// RequireOrSkip fails the test under CI=true (a missing component is a
// failure there) and skips it elsewhere.
func RequireOrSkip(t testing.TB, what, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true: %s", what, why)
	}
	t.Skipf("%s not available (%s); run ./scripts/test.sh to install it", what, why)
}

// MinIO is a MinIO server started for a test.
type MinIO struct {
	Endpoint             string // host:port
	AccessKey, SecretKey string
	Dir                  string // data directory
	Client               *minio.Client
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (process
// output, a logger under test).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *SyncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *SyncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func minioBinary() (string, error) {
	if p := os.Getenv("SMSGW_MINIO"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p := filepath.Join(RepoRoot(), ".bin", "minio"); fileExists(p) {
		return p, nil
	}
	return exec.LookPath("minio")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// StartMinIO starts a MinIO server on loopback with a temporary data dir
// and random root credentials; it is killed when the test ends.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin, err := minioBinary()
	if err != nil {
		RequireOrSkip(t, "the MinIO server binary", "not in $SMSGW_MINIO, .bin/minio or PATH")
	}
	m := &MinIO{AccessKey: "smsgw" + randHex(4), SecretKey: randHex(16), Dir: t.TempDir()}
	var out SyncBuffer
	for attempt := 0; ; attempt++ {
		m.Endpoint = freePort(t)
		console := freePort(t)
		cmd := exec.Command(bin, "server", "--quiet", "--address", m.Endpoint, "--console-address", console, m.Dir)
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting minio: %v", err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		if waitReady(m.Endpoint, done, 60*time.Second) {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-done
				if t.Failed() {
					t.Logf("minio output:\n%s", out.String())
				}
			})
			break
		}
		_ = cmd.Process.Kill()
		<-done
		if attempt == 2 {
			t.Fatalf("minio did not become ready:\n%s", out.String())
		}
	}
	c, err := minio.New(m.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	m.Client = c
	return m
}

func waitReady(endpoint string, exited <-chan struct{}, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		resp, err := http.Get("http://" + endpoint + "/minio/health/live")
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

func (m *MinIO) newBucket(t testing.TB, lock bool) string {
	t.Helper()
	name := "smsgw-" + strings.ToLower(randHex(6))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Client.MakeBucket(ctx, name, minio.MakeBucketOptions{ObjectLocking: lock}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
	return name
}

// NewLockedBucket creates a bucket with Object Lock (and so versioning) enabled.
func (m *MinIO) NewLockedBucket(t testing.TB) string { return m.newBucket(t, true) }

// NewPlainBucket creates a bucket without Object Lock.
func (m *MinIO) NewPlainBucket(t testing.TB) string { return m.newBucket(t, false) }

// String describes the server for logs.
func (m *MinIO) String() string { return fmt.Sprintf("minio at %s", m.Endpoint) }

// FreePort returns a loopback host:port nothing listens on right now.
func FreePort(t testing.TB) string { return freePort(t) }

// StartProcess runs a program for the rest of the test with its output in
// the returned buffer (and in the test log on failure); it is killed and
// waited for when the test ends.
func StartProcess(t testing.TB, dir, name string, args ...string) *SyncBuffer {
	t.Helper()
	out := &SyncBuffer{}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return out
}

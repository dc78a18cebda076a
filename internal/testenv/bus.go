package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/smsgw/smsgw/internal/bus"
)

// OpenBus starts an embedded JetStream in a temporary store dir with the
// pipeline's topology declared; it is closed when the test ends.
func OpenBus(t testing.TB) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{Embedded: bus.EmbeddedConfig{StoreDir: t.TempDir()}})
	if err != nil {
		t.Fatalf("opening bus: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

package bus

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedConfig configures the in-process NATS server used when no
// external NATS URL is configured.
type EmbeddedConfig struct {
	// StoreDir is where JetStream keeps its streams. Required: never let the
	// server pick a temp dir, or a restart loses every accepted message.
	StoreDir string
	// Listen is an optional host:port for other processes (nats CLI, other
	// nodes). Empty means in-process connections only.
	Listen string
	// MaxMemory and MaxStore bound JetStream; 0 lets the server decide.
	MaxMemory, MaxStore int64
	// SyncAlways fsyncs every write before the PubAck. Without it a PubAck
	// means "in the store file" (survives a process crash, not a power
	// loss: the server syncs every 2 minutes); clusters get the same
	// protection from R3 replication.
	SyncAlways bool
}

// StartEmbedded starts a JetStream-enabled nats-server in this process and
// waits until it accepts connections.
func StartEmbedded(cfg EmbeddedConfig) (*server.Server, error) {
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("starting embedded NATS: store dir is required")
	}
	if err := os.MkdirAll(cfg.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating NATS store dir: %w", err)
	}
	opts := &server.Options{
		ServerName:         "smsgw-embedded",
		JetStream:          true,
		StoreDir:           filepath.Clean(cfg.StoreDir),
		JetStreamMaxMemory: cfg.MaxMemory,
		JetStreamMaxStore:  cfg.MaxStore,
		NoSigs:             true,
		NoLog:              true,
		DontListen:         cfg.Listen == "",
		SyncAlways:         cfg.SyncAlways,
	}
	if cfg.Listen != "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("parsing nats listen address %q: %w", cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("parsing nats listen port %q: %w", port, err)
		}
		opts.Host, opts.Port = host, p
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("creating embedded NATS: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded NATS not ready after 30s")
	}
	return s, nil
}

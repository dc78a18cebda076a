package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/smsgw/smsgw/archive"
	"github.com/smsgw/smsgw/archive/merklelog"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/filters"
	"github.com/smsgw/smsgw/gateway/api"
	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/gateway/smppserver"
	"github.com/smsgw/smsgw/internal/auth"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/pipeline"
	"github.com/smsgw/smsgw/readmodel"
	"github.com/smsgw/smsgw/sandbox"
	"github.com/smsgw/smsgw/sms"
)

// SandboxCarrier is the route name of the built-in SMSC simulator.
const SandboxCarrier = "sandbox"

// App is one running gateway node.
type App struct {
	cfg config.Config
	log *slog.Logger

	Bus       *bus.Bus
	Directory *directory.Directory
	Tokens    *auth.Tokens
	Index     *readmodel.Index
	Ingress   *pipeline.Ingress
	Store     archive.Store
	Chain     *filters.Chain
	Sandbox   *sandbox.Server    // nil when disabled
	SMPP      *smppserver.Server // our SMPP server; nil when disabled

	carriers map[string]*smpp.Client
	httpLn   net.Listener
	certs    *certReloader // nil: plain HTTP (loopback, or a TLS proxy in front)
	httpSrv  *http.Server
	alog     *merklelog.Log // the archive's Merkle log: segment writers and checkpointer
	ready    readiness

	// AdminTokenPath is where the bootstrap admin token is; AdminTokenNew
	// says whether this start created it.
	AdminTokenPath string
	AdminTokenNew  bool

	closeOnce sync.Once

	connMu   sync.Mutex
	newConns map[net.Conn]bool // connections that have not sent a request yet
}

// trackConn remembers connections that were opened but have not sent a
// request: http.Server.Shutdown waits 5 s for those before treating them
// as idle, which would stall every shutdown after a burst of clients.
func (a *App) trackConn(c net.Conn, st http.ConnState) {
	a.connMu.Lock()
	defer a.connMu.Unlock()
	if a.newConns == nil {
		a.newConns = map[net.Conn]bool{}
	}
	if st == http.StateNew {
		a.newConns[c] = true
	} else {
		delete(a.newConns, c)
	}
}

func (a *App) closeNewConns() {
	a.connMu.Lock()
	defer a.connMu.Unlock()
	for c := range a.newConns {
		_ = c.Close()
	}
}

// New opens everything a node needs — bus, archive store (checked),
// index, listeners — without starting the stages. Errors name what failed
// and, where there is one, the fix.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *App, err error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	a := &App{cfg: cfg, log: log, carriers: map[string]*smpp.Client{}}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir %s: %w", cfg.DataDir, err)
	}
	if a.Chain, err = filters.New(cfg.Filters); err != nil {
		return nil, fmt.Errorf("compiling filters: %w", err)
	}
	if a.Store, err = openStore(ctx, cfg, log); err != nil {
		return nil, err
	}
	a.Bus, err = bus.Open(ctx, bus.Config{
		URL: cfg.NATS.URL, CredsFile: cfg.NATS.CredsFile, Replicas: cfg.NATS.Replicas,
		Embedded: bus.EmbeddedConfig{StoreDir: filepath.Join(cfg.DataDir, "jetstream"), Listen: cfg.NATS.Listen, SyncAlways: cfg.NATS.SyncAlways},
	})
	if err != nil {
		return nil, err
	}
	if a.Directory, err = a.openDirectory(); err != nil {
		return nil, err
	}
	a.Tokens = auth.New(a.Bus)
	cdc, err := pipeline.NewCodec(cfg.Pipeline.IngressKey)
	if err != nil {
		return nil, err
	}
	a.Ingress = pipeline.NewIngress(a.Bus, cdc, a.Bus.KV(bus.BucketIdempotency), a.Directory, log)
	if a.Index, err = readmodel.Open(filepath.Join(cfg.DataDir, "readmodel.db")); err != nil {
		return nil, err
	}
	if a.AdminTokenPath, a.AdminTokenNew, err = a.Tokens.Bootstrap(ctx, cfg.DataDir); err != nil {
		return nil, fmt.Errorf("bootstrapping admin token: %w", err)
	}
	signer, err := ArchiveSigner(cfg, log)
	if err != nil {
		return nil, err
	}
	policy := merklelog.NewRetentionPolicy(cfg.Archive.RetentionDays, cfg.Archive.RetentionClasses, func(ctx context.Context, id string) (string, error) {
		e, _, err := a.Directory.Employee(ctx, id)
		return e.Department, err
	})
	a.alog, err = merklelog.Open(merklelog.Config{Node: cfg.Node, Retention: time.Duration(cfg.Archive.RetentionDays) * 24 * time.Hour,
		Interval: cfg.Archive.CheckpointInterval, Heartbeat: cfg.Archive.CheckpointHeartbeat},
		a.Store, merklelog.Buckets{State: a.Bus.KV(bus.BucketArchiveLog), IDs: a.Bus.KV(bus.BucketArchiveIDs)}, signer, policy, log)
	if err != nil {
		return nil, err
	}
	if cfg.Sandbox.Enabled {
		// A password made for this start: the sandbox listens on a port
		// anyone on the host can reach, and no credential is hard-coded.
		pw := rand.Text()[:8] // SMPP passwords are at most 8 characters
		if a.Sandbox, err = sandbox.New(sandbox.Config{Addr: cfg.Sandbox.Addr, SystemID: "smsgw", Password: pw, Log: log}); err != nil {
			return nil, fmt.Errorf("starting sandbox carrier: %w", err)
		}
		a.carriers[SandboxCarrier] = smpp.NewClient(smpp.ClientConfig{
			Name: SandboxCarrier, Addr: a.Sandbox.Addr(), SystemID: "smsgw", Password: pw, Window: 256, Log: log,
		}, pipeline.CarrierHandler(SandboxCarrier, a.Bus, a.Ingress, a.Directory, log))
	}
	for _, c := range cfg.Carriers {
		cc := smpp.ClientConfig{Name: c.Name, Addr: c.Addr, SystemID: c.SystemID, Password: c.Password, SystemType: c.SystemType,
			Window: c.Window, RatePerSecond: c.RatePerSecond, EnquireLink: c.EnquireLink, SubmitTimeout: c.SubmitTimeout, Pair: c.Bind == "pair", Log: log}
		if c.TLS {
			if cc.TLS, err = tlsConfigFor(c.Addr, c.TLSCAFile); err != nil {
				return nil, fmt.Errorf("carriers %s: %w", c.Name, err)
			}
		}
		a.carriers[c.Name] = smpp.NewClient(cc, pipeline.CarrierHandler(c.Name, a.Bus, a.Ingress, a.Directory, log))
	}
	if cfg.SMPP.Enabled {
		if a.SMPP, err = a.newSMPPServer(); err != nil {
			return nil, err
		}
	}
	if cfg.HTTP.TLSCertFile != "" {
		if a.certs, err = newCertReloader(cfg.HTTP.TLSCertFile, cfg.HTTP.TLSKeyFile, log); err != nil {
			return nil, err
		}
	}
	if a.httpLn, err = net.Listen("tcp", cfg.HTTP.Addr); err != nil {
		return nil, fmt.Errorf("listening on http.addr %s: %w", cfg.HTTP.Addr, err)
	}
	a.httpSrv = &http.Server{
		Handler:           a.apiHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnState:         a.trackConn,
	}
	return a, nil
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (archive.Store, error) {
	var st archive.Store
	switch cfg.Archive.Backend {
	case "s3":
		s := cfg.Archive.S3
		s3, err := archive.NewS3Store(archive.S3Config{Endpoint: s.Endpoint, Region: s.Region, Bucket: s.Bucket,
			AccessKey: s.AccessKeyID, SecretKey: s.SecretAccessKey, UseTLS: s.UseTLS, Prefix: s.Prefix})
		if err != nil {
			return nil, fmt.Errorf("opening S3 archive: %w", err)
		}
		st = s3
	default:
		dir := cfg.Archive.Dir
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "archive")
		}
		l, err := archive.NewLocalStore(dir)
		if err != nil {
			return nil, fmt.Errorf("opening local archive: %w", err)
		}
		log.Warn("ARCHIVE IS NOT WORM — development only: the local directory archive can be changed or deleted by anyone with file access; use archive.backend=s3 with an Object Lock bucket in production", "dir", dir)
		st = l
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := st.Check(cctx); err != nil {
		return nil, fmt.Errorf("checking archive store: %w", err)
	}
	return st, nil
}

func (a *App) apiHandler() http.Handler {
	rl := a.cfg.HTTP.RateLimit
	cfg := api.Config{
		MaxBodyChars: a.cfg.HTTP.MaxBodyChars, MaxRequestBytes: a.cfg.HTTP.MaxRequestBytes,
		Ingress: a.Ingress, Reader: a.Index, Directory: a.Directory, Tokens: a.Tokens, WebhookAllow: a.cfg.Webhook.AllowNetworks,
		Redact: func(t string) string { return a.Chain.Apply(t).Text },
		Search: sharedReviews{Index: a.Index, bus: a.Bus, log: a.log},
		Holds:  a.holds(),
		Export: a.exporter(),
		Audit: func(ctx context.Context, e archive.AuditEntry) error {
			_, err := pipeline.NewJournal(a.Bus).Append(ctx, e)
			return err
		},
		Ready: a.ready.Ready,
		HSTS:  a.cfg.HTTP.TLSCertFile != "" || a.cfg.HTTP.BehindProxy,
		Limits: api.Limits{
			PerIP: rl.PerIP, IPBurst: cmp.Or(rl.IPBurst, int(2*rl.PerIP)), PerToken: rl.PerToken, TokenBurst: cmp.Or(rl.TokenBurst, int(2*rl.PerToken)),
			SendsPerMinute: rl.SendsPerMinute, NewRecipientsPerDay: rl.NewRecipientsPerDay, FailedAuthPerMinute: rl.FailedAuthPerMinute,
			TrustForwardedFor: a.cfg.HTTP.BehindProxy,
		},
		Log: a.log,
	}
	if a.Sandbox != nil {
		cfg.SandboxMO = func(ctx context.Context, from, to sms.Number, body string) error {
			return a.Sandbox.SendMO(ctx, from.Digits(), to.Digits(), body)
		}
	}
	return api.New(cfg)
}

// HTTPAddr is the address the API listens on.
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

func (a *App) defaultCarrier() string {
	if a.cfg.DefaultCarrier != "" {
		return a.cfg.DefaultCarrier
	}
	if len(a.cfg.Carriers) > 0 {
		return a.cfg.Carriers[0].Name
	}
	return SandboxCarrier
}

// Run runs the node until ctx is cancelled, then shuts down in this order:
//
//  1. the HTTP API and our SMPP server stop accepting and finish requests
//     in flight (SMPP binds are unbound);
//  2. the stages stop fetching and finish the batch in hand (acks sent);
//  3. carrier binds unbind (no submit is in flight any more);
//  4. the sandbox SMSC closes;
//  5. the index closes and the bus drains and stops (Close).
//
// Whatever was accepted but not finished stays in JetStream and is picked
// up by the next start.
func (a *App) Run(ctx context.Context) error {
	stageCtx, stopStages := context.WithCancel(context.WithoutCancel(ctx))
	carrierCtx, stopCarriers := context.WithCancel(context.WithoutCancel(ctx))
	sandboxCtx, stopSandbox := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStages()
	defer stopCarriers()
	defer stopSandbox()

	fail := make(chan error, 16)
	var sandboxWG, carrierWG, stageWG sync.WaitGroup
	if a.Sandbox != nil {
		sandboxWG.Add(1)
		go func() {
			defer sandboxWG.Done()
			if err := a.Sandbox.Run(sandboxCtx); err != nil {
				fail <- fmt.Errorf("sandbox carrier: %w", err)
			}
		}()
	}
	carriers := map[string]pipeline.Carrier{}
	for name, c := range a.carriers {
		carriers[name] = c
		carrierWG.Add(1)
		go func() {
			defer carrierWG.Done()
			if err := c.Run(carrierCtx); err != nil {
				fail <- fmt.Errorf("carrier %s: %w", name, err)
			}
		}()
	}
	smppDone := make(chan struct{})
	smppCtx, stopSMPP := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSMPP()
	if a.SMPP != nil {
		go func() {
			defer close(smppDone)
			if err := a.SMPP.Run(smppCtx); err != nil {
				fail <- fmt.Errorf("smpp server: %w", err)
			}
		}()
	} else {
		close(smppDone)
	}
	if a.SMPP != nil {
		for name, c := range a.smppCarriers() {
			carriers[name] = c
		}
	}
	var platforms pipeline.PlatformServer
	if a.SMPP != nil {
		platforms = a.SMPP
	}
	stages := pipeline.Flow(pipeline.Deps{
		Bus: a.Bus, Codec: a.Ingress.Codec(), Chain: a.Chain, Log: a.alog, Dir: a.Directory, Index: a.Index, Logger: a.log,
		Carriers: carriers, DefaultCarrier: a.defaultCarrier(), SMPP: platforms,
		Node: a.cfg.Node, MaxDeliver: a.cfg.Pipeline.MaxDeliver, SegmentMaxRecords: a.cfg.Archive.SegmentMaxRecords,
		SegmentMaxAge: a.cfg.Archive.SegmentMaxAge, ReceiptWait: a.cfg.Pipeline.ReceiptWait,
		WebhookTimeout: a.cfg.Webhook.Timeout, WebhookAttempts: a.cfg.Webhook.MaxAttempts, WebhookAllow: a.cfg.Webhook.AllowNetworks,
	})
	stageWG.Add(1)
	go func() { defer stageWG.Done(); a.alog.Run(stageCtx) }()
	stageWG.Add(1)
	go func() { defer stageWG.Done(); a.runSweeper(stageCtx) }()
	stageWG.Add(1)
	go func() { defer stageWG.Done(); a.runProbes(stageCtx) }()
	stageWG.Add(1)
	go func() { defer stageWG.Done(); a.runHoldSync(stageCtx) }()
	for _, st := range stages {
		stageWG.Add(1)
		go func() {
			defer stageWG.Done()
			if err := pipeline.Run(stageCtx, a.Bus, st, a.log); err != nil {
				fail <- fmt.Errorf("stage %s: %w", st.Name, err)
			}
		}()
	}
	httpDone := make(chan error, 1)
	if a.certs != nil {
		a.httpSrv.TLSConfig = a.certs.tlsConfig()
		go a.certs.watch(stageCtx, onSIGHUP())
	}
	go func() {
		var err error
		if a.certs != nil {
			err = a.httpSrv.ServeTLS(a.httpLn, "", "")
		} else {
			err = a.httpSrv.Serve(a.httpLn)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		httpDone <- err
	}()
	a.log.Info("smsgw running", "http", a.HTTPAddr(), "smpp", a.SMPPAddr(), "archive", a.Store.Kind(), "worm", a.Store.WORM(), "carriers", len(a.carriers))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-fail:
		a.log.Error("component failed; shutting down", "err", runErr)
	case runErr = <-httpDone:
		if runErr != nil {
			runErr = fmt.Errorf("http server: %w", runErr)
		}
	}
	a.log.Info("shutting down")
	g, _ := errgroup.WithContext(context.Background())
	g.Go(func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return a.httpSrv.Shutdown(sctx)
	})
	time.Sleep(10 * time.Millisecond) // Shutdown has closed the listener
	a.closeNewConns()
	stopSMPP()
	_ = g.Wait()
	<-smppDone
	a.log.Debug("shutdown: http and smpp server stopped")
	stopStages()
	stageWG.Wait()
	a.log.Debug("shutdown: stages drained")
	stopCarriers()
	carrierWG.Wait()
	a.log.Debug("shutdown: carriers unbound")
	stopSandbox()
	sandboxWG.Wait()
	a.Close()
	a.log.Info("stopped")
	return runErr
}

// Close releases everything New opened. Idempotent; Run calls it.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.httpLn != nil {
			_ = a.httpLn.Close()
		}
		if a.Sandbox != nil {
			_ = a.Sandbox.Close()
		}
		if a.SMPP != nil {
			_ = a.SMPP.Close()
		}
		if a.Index != nil {
			_ = a.Index.Close()
		}
		if a.Bus != nil {
			a.Bus.Close()
		}
	})
}

// SMPPAddr is where our SMPP server listens ("" when disabled).
func (a *App) SMPPAddr() string {
	if a.SMPP == nil {
		return ""
	}
	return a.SMPP.Addr()
}

// Journal appends audit and number-assignment entries to the archive's
// Merkle log (through JOURNAL).
func (a *App) Journal() *pipeline.Journal { return pipeline.NewJournal(a.Bus) }

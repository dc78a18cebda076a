package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// FieldError is one problem with one key.
type FieldError struct {
	Key     string
	Problem string
}

func (e FieldError) Error() string { return e.Key + ": " + e.Problem }

// Validate checks the whole configuration and returns every problem found,
// each naming its key; nil means valid.
func (c Config) Validate() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, FieldError{Key: key, Problem: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.DataDir) == "" {
		add("data_dir", "must not be empty")
	}
	if c.Node == "" || strings.ContainsAny(c.Node, " .*>\t") {
		add("node", "must be a non-empty name of letters, digits, - and _ (got %q)", c.Node)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "unknown level %q (want debug, info, warn or error)", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", "unknown format %q (want text or json)", c.Log.Format)
	}
	if err := checkHostPort(c.HTTP.Addr); err != nil {
		add("http.addr", "%v", err)
	}
	if c.HTTP.MaxBodyChars < 1 || c.HTTP.MaxBodyChars > 10000 {
		add("http.max_body_chars", "must be between 1 and 10000 (got %d)", c.HTTP.MaxBodyChars)
	}
	if c.HTTP.MaxRequestBytes < 1024 {
		add("http.max_request_bytes", "must be at least 1024 (got %d)", c.HTTP.MaxRequestBytes)
	}
	switch {
	case (c.HTTP.TLSCertFile == "") != (c.HTTP.TLSKeyFile == ""):
		add("http.tls_cert_file", "http.tls_cert_file and http.tls_key_file go together (one is set, the other not)")
	case c.HTTP.TLSCertFile == "" && !c.HTTP.BehindProxy && !loopback(c.HTTP.Addr):
		add("http.addr", "%s is beyond loopback: serve it over TLS (http.tls_cert_file, http.tls_key_file) or set http.behind_proxy: true when a TLS-terminating proxy is in front", c.HTTP.Addr)
	}
	rl := c.HTTP.RateLimit
	if rl.PerIP < 0 {
		add("http.rate_limit.per_ip", "must be 0 (off) or a positive rate per second (got %v)", rl.PerIP)
	}
	if rl.PerToken < 0 {
		add("http.rate_limit.per_token", "must be 0 (off) or a positive rate per second (got %v)", rl.PerToken)
	}
	for _, kv := range []struct {
		key string
		v   int
	}{{"http.rate_limit.ip_burst", rl.IPBurst}, {"http.rate_limit.token_burst", rl.TokenBurst},
		{"http.rate_limit.sends_per_minute", rl.SendsPerMinute}, {"http.rate_limit.new_recipients_per_day", rl.NewRecipientsPerDay},
		{"http.rate_limit.failed_auth_per_minute", rl.FailedAuthPerMinute}} {
		if kv.v < 0 {
			add(kv.key, "must be 0 (off or default) or positive (got %d)", kv.v)
		}
	}
	if c.NATS.Replicas < 1 || c.NATS.Replicas > 5 {
		add("nats.replicas", "must be between 1 and 5 (got %d)", c.NATS.Replicas)
	}
	if c.NATS.URL == "" && c.NATS.Replicas > 1 {
		add("nats.replicas", "the embedded server is a single node: replicas must be 1 unless nats.url names a cluster")
	}
	if c.NATS.Listen != "" {
		if err := checkHostPort(c.NATS.Listen); err != nil {
			add("nats.listen", "%v", err)
		}
	}
	switch c.Archive.Backend {
	case "local":
	case "s3":
		s := c.Archive.S3
		if s.Endpoint == "" {
			add("archive.s3.endpoint", "required when archive.backend is s3 (e.g. s3.amazonaws.com)")
		}
		if s.Bucket == "" {
			add("archive.s3.bucket", "required when archive.backend is s3 (a bucket created with Object Lock enabled)")
		}
		if s.AccessKeyID == "" {
			add("archive.s3.access_key_id", "required when archive.backend is s3")
		}
		if s.SecretAccessKey == "" {
			add("archive.s3.secret_access_key", "required when archive.backend is s3")
		}
		if c.Archive.SigningKeyFile == "" {
			add("archive.signing_key_file", "required when archive.backend is s3: the checkpoint signing key is never generated silently in production (make one with `smsgw archive keygen --out FILE`)")
		}
	default:
		add("archive.backend", "unknown backend %q (want local or s3)", c.Archive.Backend)
	}
	if iv := c.Archive.CheckpointInterval; iv < time.Second || iv > time.Minute {
		add("archive.checkpoint_interval", "must be between 1s and 60s (got %s)", iv)
	}
	if hb := c.Archive.CheckpointHeartbeat; hb < c.Archive.CheckpointInterval || hb > 24*time.Hour {
		add("archive.checkpoint_heartbeat", "must be between archive.checkpoint_interval and 24h (got %s)", hb)
	}
	classNames := map[string]bool{}
	for i, rc := range c.Archive.RetentionClasses {
		k := fmt.Sprintf("archive.retention_classes[%d]", i)
		switch {
		case rc.Name == "":
			add(k+".name", "required (e.g. sec17a4)")
		case classNames[rc.Name]:
			add(k+".name", "duplicate class %q", rc.Name)
		}
		classNames[rc.Name] = true
		if rc.Days < 1 || rc.Days > 100*365 {
			add(k+".days", "must be between 1 and 36500 (got %d)", rc.Days)
		}
		if len(rc.Departments)+len(rc.Employees)+len(rc.Numbers) == 0 {
			add(k, "selects nothing: give departments, employees or numbers")
		}
		for j, n := range rc.Numbers {
			if _, err := sms.ParseNumber(n); err != nil || !strings.HasPrefix(n, "+") {
				add(fmt.Sprintf("%s.numbers[%d]", k, j), "not an E.164 number: %q", n)
			}
		}
	}
	if c.Archive.RetentionDays < 1 || c.Archive.RetentionDays > 100*365 {
		add("archive.retention_days", "must be between 1 and 36500 (got %d)", c.Archive.RetentionDays)
	}
	if c.Archive.SegmentMaxRecords < 1 || c.Archive.SegmentMaxRecords > 100000 {
		add("archive.segment_max_records", "must be between 1 and 100000 (got %d)", c.Archive.SegmentMaxRecords)
	}
	if c.Archive.SegmentMaxAge <= 0 || c.Archive.SegmentMaxAge > 60e9 {
		add("archive.segment_max_age", "must be between 1ms and 60s (got %s)", c.Archive.SegmentMaxAge)
	}
	for _, e := range c.Filters.Validate() {
		errs = append(errs, e)
	}
	if c.Sandbox.Enabled {
		host, _, err := net.SplitHostPort(c.Sandbox.Addr)
		if err != nil {
			add("sandbox.addr", "%v", err)
		} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			add("sandbox.addr", "the sandbox carrier listens on loopback only (got host %q)", host)
		}
	}
	names := map[string]bool{"sandbox": c.Sandbox.Enabled}
	for i, cr := range c.Carriers {
		k := fmt.Sprintf("carriers[%d]", i)
		switch {
		case cr.Name == "":
			add(k+".name", "required")
		case cr.Name == "sandbox":
			add(k+".name", `"sandbox" is reserved for the built-in carrier`)
		case names[cr.Name]:
			add(k+".name", "duplicate carrier name %q", cr.Name)
		}
		names[cr.Name] = true
		if err := checkHostPort(cr.Addr); err != nil {
			add(k+".addr", "%v", err)
		}
		if cr.SystemID == "" || len(cr.SystemID) > 15 {
			add(k+".system_id", "required, at most 15 characters (SMPP 3.4)")
		}
		if len(cr.Password) > 8 {
			add(k+".password", "at most 8 characters (SMPP 3.4)")
		}
		if len(cr.SystemType) > 12 {
			add(k+".system_type", "at most 12 characters (SMPP 3.4)")
		}
		if cr.Window < 0 || cr.Window > 1024 {
			add(k+".window", "must be between 0 (default 64) and 1024 (got %d)", cr.Window)
		}
		if cr.RatePerSecond < 0 {
			add(k+".rate_per_second", "must not be negative")
		}
		if cr.Bind != "" && cr.Bind != "transceiver" && cr.Bind != "pair" {
			add(k+".bind", "unknown bind %q (want transceiver or pair)", cr.Bind)
		}
		if cr.TLSCAFile != "" && !cr.TLS {
			add(k+".tls_ca_file", "set but tls is off")
		}
	}
	// SMPP accounts in the carrier role are routes too: numbers name them
	// by system_id.
	for i, a := range c.SMPP.Accounts {
		if a.Role != "carrier" || a.SystemID == "" {
			continue
		}
		if names[a.SystemID] {
			add(fmt.Sprintf("smpp.accounts[%d].system_id", i), "carrier account %q has the name of another carrier route", a.SystemID)
		}
		names[a.SystemID] = true
	}
	if c.DefaultCarrier != "" && !names[c.DefaultCarrier] {
		add("default_carrier", "no carrier named %q (enabled: %s)", c.DefaultCarrier, strings.Join(keysOf(names), ", "))
	}
	if len(c.Carriers) == 0 && !c.Sandbox.Enabled {
		add("carriers", "no carrier configured and the sandbox is disabled: outbound messages would have nowhere to go")
	}
	if c.SMPP.Enabled {
		if err := checkHostPort(c.SMPP.Addr); err != nil {
			add("smpp.addr", "%v", err)
		}
		if c.SMPP.PartTimeout < time.Second || c.SMPP.PartTimeout > 24*time.Hour {
			add("smpp.part_timeout", "must be between 1s and 24h (got %s)", c.SMPP.PartTimeout)
		}
		if c.SMPP.MaxConnections < 0 || c.SMPP.MaxConnectionsPerIP < 0 || c.SMPP.BindFailures < 0 {
			add("smpp", "max_connections, max_connections_per_ip and bind_failures must not be negative (0: default)")
		}
		if c.SMPP.MaxConnections > 0 && c.SMPP.MaxConnectionsPerIP > c.SMPP.MaxConnections {
			add("smpp.max_connections_per_ip", "must not exceed smpp.max_connections (%d)", c.SMPP.MaxConnections)
		}
		if d := c.SMPP.BindTimeout; d != 0 && (d < time.Second || d > 5*time.Minute) {
			add("smpp.bind_timeout", "must be between 1s and 5m, or 0 for 10s (got %s)", d)
		}
		if d := c.SMPP.BindLockout; d != 0 && (d < time.Second || d > 24*time.Hour) {
			add("smpp.bind_lockout", "must be between 1s and 24h, or 0 for 5m (got %s)", d)
		}
		if c.SMPP.TLSAddr != "" {
			if err := checkHostPort(c.SMPP.TLSAddr); err != nil {
				add("smpp.tls_addr", "%v", err)
			}
			if c.SMPP.TLSCertFile == "" {
				add("smpp.tls_cert_file", "required with smpp.tls_addr")
			}
			if c.SMPP.TLSKeyFile == "" {
				add("smpp.tls_key_file", "required with smpp.tls_addr")
			}
		}
	}
	seen := map[string]bool{}
	for i, a := range c.SMPP.Accounts {
		k := fmt.Sprintf("smpp.accounts[%d]", i)
		if a.SystemID == "" || len(a.SystemID) > 15 {
			add(k+".system_id", "required, at most 15 characters (SMPP 3.4)")
		} else if seen[a.SystemID] {
			add(k+".system_id", "duplicate system_id %q", a.SystemID)
		}
		seen[a.SystemID] = true
		if !strings.HasPrefix(a.PasswordHash, "$2") {
			add(k+".password_hash", "must be a bcrypt hash (make one with `smsgw hash-password`)")
		}
		if a.Role != "platform" && a.Role != "carrier" {
			add(k+".role", "unknown role %q (want platform or carrier)", a.Role)
		}
		if a.Window < 0 || a.Window > 1024 {
			add(k+".window", "must be between 0 (default 64) and 1024 (got %d)", a.Window)
		}
		for j, n := range a.AllowedSources {
			if _, err := sms.ParseNumber(n); err != nil || !strings.HasPrefix(n, "+") {
				add(fmt.Sprintf("%s.allowed_sources[%d]", k, j), "not an E.164 number: %q", n)
			}
		}
		for j, cidr := range a.AllowedIPs {
			if _, _, err := net.ParseCIDR(cidr); err != nil {
				add(fmt.Sprintf("%s.allowed_ips[%d]", k, j), "not a CIDR (e.g. 10.0.0.0/8): %q", cidr)
			}
		}
		if a.MaxBinds < 0 || a.Throughput < 0 {
			add(k, "max_binds and throughput must not be negative")
		}
	}
	if sc := c.Numbers.OptOutScope; sc != "" && sc != "number" && sc != "company" {
		add("numbers.opt_out_scope", "unknown scope %q (want number or company)", sc)
	}
	if c.Numbers.Inactivity != 0 && c.Numbers.Inactivity < time.Second {
		add("numbers.inactivity", "must be at least 1s (got %s)", c.Numbers.Inactivity)
	}
	if c.Numbers.SweepInterval < 0 {
		add("numbers.sweep_interval", "must not be negative")
	}
	if c.Webhook.Timeout <= 0 {
		add("webhook.timeout", "must be positive (got %s)", c.Webhook.Timeout)
	}
	if c.Webhook.MaxAttempts < 1 || c.Webhook.MaxAttempts > 100 {
		add("webhook.max_attempts", "must be between 1 and 100 (got %d)", c.Webhook.MaxAttempts)
	}
	for i, cidr := range c.Webhook.AllowNetworks {
		if _, _, err := net.ParseCIDR(strings.TrimSpace(cidr)); err != nil {
			add(fmt.Sprintf("webhook.allow_networks[%d]", i), "not a CIDR (e.g. 10.20.0.0/16): %q", cidr)
		}
	}
	if c.Pipeline.MaxDeliver < 2 || c.Pipeline.MaxDeliver > 100 {
		add("pipeline.max_deliver", "must be between 2 and 100 (got %d)", c.Pipeline.MaxDeliver)
	}
	if c.Pipeline.IngressKey != "" {
		k, err := base64.StdEncoding.DecodeString(c.Pipeline.IngressKey)
		if err != nil || len(k) != 32 {
			add("pipeline.ingress_key", "must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)")
		}
	}
	if c.Pipeline.ReceiptWait <= 0 {
		add("pipeline.receipt_wait", "must be positive (got %s)", c.Pipeline.ReceiptWait)
	}
	return errs
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want host:port (got %q)", s)
	}
	_ = host
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port must be 0-65535 (got %q)", port)
	}
	return nil
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k, ok := range m {
		if ok {
			out = append(out, k)
		}
	}
	return out
}

// loopback reports whether a host:port listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

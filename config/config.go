package config

import (
	"time"

	"github.com/smsgw/smsgw/archive/merklelog"

	"github.com/smsgw/smsgw/filters"
)

// Config is the whole configuration. Its field tags are the keys of the
// config file and, upper-cased with "_" for ".", of the SMSGW_* variables.
type Config struct {
	// DataDir holds the embedded JetStream store, the local archive (when
	// archive.backend is local), the search index and admin.token.
	DataDir string         `mapstructure:"data_dir"`
	Node    string         `mapstructure:"node"` // name of this node; its read-model consumer is index-<node>
	Log     Log            `mapstructure:"log"`
	HTTP    HTTP           `mapstructure:"http"`
	NATS    NATS           `mapstructure:"nats"`
	Archive Archive        `mapstructure:"archive"`
	Filters filters.Config `mapstructure:"filters"`
	Sandbox Sandbox        `mapstructure:"sandbox"`
	// Carriers are the SMSCs we bind to as an ESME. Routing: a number's
	// carrier field, else DefaultCarrier, else the sandbox.
	Carriers       []Carrier `mapstructure:"carriers"`
	DefaultCarrier string    `mapstructure:"default_carrier"`
	Webhook        Webhook   `mapstructure:"webhook"`
	SMPP           SMPP      `mapstructure:"smpp"`
	Pipeline       Pipeline  `mapstructure:"pipeline"`
	Numbers        Numbers   `mapstructure:"numbers"`
}

// Numbers configures how texts to business numbers are routed and
// answered. Empty texts take the built-in defaults (numbers.DefaultConfig).
type Numbers struct {
	// OptOutScope: "company" (STOP blocks every business number) or
	// "number" (only the number texted). STOPALL is always company-wide.
	OptOutScope string `mapstructure:"opt_out_scope"`
	OptOutReply string `mapstructure:"opt_out_reply"` // the one confirmation of an opt-out
	OptInReply  string `mapstructure:"opt_in_reply"`  // answer to START/UNSTOP/YES after an opt-out
	HelpReply   string `mapstructure:"help_reply"`    // answer to HELP
	WaitMessage string `mapstructure:"wait_message"`  // queue joined, no agent free (a queue may override)
	Reprompt    string `mapstructure:"reprompt"`      // prefixes the menu after a reply matching no option
	// Inactivity closes conversations idle this long (a queue may override).
	Inactivity time.Duration `mapstructure:"inactivity"`
	// SweepInterval is how often idle queue conversations are closed and
	// waiting ones handed to free agents.
	SweepInterval time.Duration `mapstructure:"sweep_interval"`
}

// Log configures logging. Bodies, secrets and full numbers are never logged.
type Log struct {
	Level  string `mapstructure:"level"`  // debug | info | warn | error
	Format string `mapstructure:"format"` // text | json
}

// HTTP configures the API listener.
type HTTP struct {
	Addr string `mapstructure:"addr"`
	// MaxBodyChars bounds a message body in characters (Twilio: 1600).
	MaxBodyChars int `mapstructure:"max_body_chars"`
	// MaxRequestBytes bounds a request body.
	MaxRequestBytes int64 `mapstructure:"max_request_bytes"`
	// TLSCertFile and TLSKeyFile (PEM) serve the API and console over
	// HTTPS (TLS 1.2+, HTTP/2, HSTS). SIGHUP reloads them.
	TLSCertFile string `mapstructure:"tls_cert_file"`
	TLSKeyFile  string `mapstructure:"tls_key_file"`
	// BehindProxy says a TLS-terminating proxy is in front: plaintext on
	// an address beyond loopback is then allowed, HSTS is sent, and rate
	// limits key on the proxy's X-Forwarded-For hop.
	BehindProxy bool `mapstructure:"behind_proxy"`
	// RateLimit bounds what one client, token or employee can do.
	RateLimit RateLimit `mapstructure:"rate_limit"`
}

// RateLimit is the API's rate limits, per node. 0 turns one off.
type RateLimit struct {
	PerIP      float64 `mapstructure:"per_ip"`    // requests per second per client address
	IPBurst    int     `mapstructure:"ip_burst"`  // bucket size for PerIP (default 2x)
	PerToken   float64 `mapstructure:"per_token"` // requests per second per API token
	TokenBurst int     `mapstructure:"token_burst"`
	// SendsPerMinute and NewRecipientsPerDay bound one employee's texts
	// (SMS pumping with a leaked token: many texts, many new numbers).
	SendsPerMinute      int `mapstructure:"sends_per_minute"`
	NewRecipientsPerDay int `mapstructure:"new_recipients_per_day"`
	// FailedAuthPerMinute bad or missing tokens from one address are
	// answered 401; beyond that 429 until the bucket refills.
	FailedAuthPerMinute int `mapstructure:"failed_auth_per_minute"`
}

// NATS says where JetStream is. Empty URL runs the embedded server with its
// store under <data_dir>/jetstream.
type NATS struct {
	URL       string `mapstructure:"url"`
	CredsFile string `mapstructure:"creds_file"`
	Replicas  int    `mapstructure:"replicas"`
	// Listen exposes the embedded server on host:port (optional).
	Listen string `mapstructure:"listen"`
	// SyncAlways makes the embedded server fsync every write before it
	// acknowledges it, so "accepted" survives a power loss, not only a
	// process crash. It costs throughput (see ARCHITECTURE.md).
	SyncAlways bool `mapstructure:"sync_always"`
}

// Archive configures the immutable archive.
type Archive struct {
	Backend string `mapstructure:"backend"` // local | s3
	// Dir for the local backend; default <data_dir>/archive.
	Dir string `mapstructure:"dir"`
	S3  S3     `mapstructure:"s3"`
	// RetentionDays is the COMPLIANCE retention of records no retention
	// class matches (default 7 years).
	RetentionDays int `mapstructure:"retention_days"`
	// RetentionClasses are retention policies by regulation (e.g. sec17a4:
	// 6 years for broker-dealer staff, mifid: 7 years for the desk). A
	// message takes the longest of the classes matching its employee, the
	// employee's department or its business number; a segment is locked as
	// long as its longest-kept record. From the environment:
	// SMSGW_ARCHIVE_RETENTION_CLASSES as a JSON list.
	RetentionClasses []RetentionClass `mapstructure:"retention_classes"`
	// A segment is written when it holds SegmentMaxRecords or its first record is SegmentMaxAge old.
	SegmentMaxRecords int           `mapstructure:"segment_max_records"`
	SegmentMaxAge     time.Duration `mapstructure:"segment_max_age"`
	// SigningKeyFile holds the Ed25519 key that signs the Merkle log's
	// checkpoints (`smsgw archive keygen`). Required with the s3 backend;
	// with the local backend it defaults to <data_dir>/archive-signing.key,
	// generated on first start.
	SigningKeyFile string `mapstructure:"signing_key_file"`
	// VerifierKeys are further trusted checkpoint keys for `archive verify`
	// (e.g. keys used before a rotation); the signing key's own is always
	// trusted.
	VerifierKeys []string `mapstructure:"verifier_keys"`
	// A checkpoint is signed CheckpointInterval after the last one when
	// records arrived since (at most 60s), and every CheckpointHeartbeat
	// when idle.
	CheckpointInterval  time.Duration `mapstructure:"checkpoint_interval"`
	CheckpointHeartbeat time.Duration `mapstructure:"checkpoint_heartbeat"`
}

// RetentionClass is a named retention policy and the records it covers.
type RetentionClass = merklelog.RetentionClass

// S3 is an S3-compatible bucket with Object Lock enabled.
type S3 struct {
	Endpoint        string `mapstructure:"endpoint"`
	Region          string `mapstructure:"region"`
	Bucket          string `mapstructure:"bucket"`
	AccessKeyID     string `mapstructure:"access_key_id"`
	SecretAccessKey string `mapstructure:"secret_access_key"`
	UseTLS          bool   `mapstructure:"use_tls"`
	Prefix          string `mapstructure:"prefix"`
}

// Sandbox is the built-in SMSC simulator: it acks submits and returns
// delivery receipts, so the gateway works end to end with no carrier.
type Sandbox struct {
	Enabled bool   `mapstructure:"enabled"`
	Addr    string `mapstructure:"addr"` // loopback host:port; port 0 picks a free one
}

// Carrier is one SMSC we bind to as a transceiver.
type Carrier struct {
	Name          string        `mapstructure:"name" json:"name"`
	Addr          string        `mapstructure:"addr" json:"addr"`
	SystemID      string        `mapstructure:"system_id" json:"system_id"`
	Password      string        `mapstructure:"password" json:"password"`
	SystemType    string        `mapstructure:"system_type" json:"system_type"`
	Window        int           `mapstructure:"window" json:"window"`
	RatePerSecond float64       `mapstructure:"rate_per_second" json:"rate_per_second"`
	EnquireLink   time.Duration `mapstructure:"enquire_link" json:"enquire_link"`
	// SubmitTimeout bounds the wait for a submit_sm_resp once the submit_sm
	// is written (default 60s). An unanswered submit is never resent: the
	// message ends "unconfirmed" (the carrier may have it).
	SubmitTimeout time.Duration `mapstructure:"submit_timeout" json:"submit_timeout"`
	TLS           bool          `mapstructure:"tls" json:"tls"`
	// TLSCAFile is a PEM bundle to verify the SMSC's certificate with
	// instead of the system roots (a private CA).
	TLSCAFile string `mapstructure:"tls_ca_file" json:"tls_ca_file"`
	// Bind is "transceiver" (default) or "pair": a bind_transmitter for
	// submits plus a bind_receiver for receipts and MO, for SMSCs without
	// transceiver support.
	Bind string `mapstructure:"bind" json:"bind"`
}

// Webhook configures MO delivery to employees' webhooks.
type Webhook struct {
	Timeout     time.Duration `mapstructure:"timeout"`
	MaxAttempts int           `mapstructure:"max_attempts"`
	// AllowNetworks are CIDRs webhooks may reach although they are not
	// public (loopback, private, link-local, CGNAT...): for tests and
	// receivers inside the deployment. Empty (the default): public
	// addresses only.
	AllowNetworks []string `mapstructure:"allow_networks"`
}

// Pipeline tunes the stages.
type Pipeline struct {
	// MaxDeliver is how often a stage tries a message before it is parked in DEAD.
	MaxDeliver int `mapstructure:"max_deliver"`
	// IngressKey, if set, is a base64 32-byte key: raw bodies on INGRESS are
	// AES-256-GCM encrypted at rest.
	IngressKey string `mapstructure:"ingress_key"`
	// ReceiptWait is how long a receipt waits for its submit to be correlated.
	ReceiptWait time.Duration `mapstructure:"receipt_wait"`
}

// SMPP is our SMPP server, to which contact-centre platforms bind.
type SMPP struct {
	Enabled bool   `mapstructure:"enabled"`
	Addr    string `mapstructure:"addr"`
	// TLSAddr, with TLSCertFile and TLSKeyFile (PEM), adds an SMPP-over-TLS
	// listener (the same accounts bind on either).
	TLSAddr     string        `mapstructure:"tls_addr"`
	TLSCertFile string        `mapstructure:"tls_cert_file"`
	TLSKeyFile  string        `mapstructure:"tls_key_file"`
	Accounts    []SMPPAccount `mapstructure:"accounts"`
	// PartTimeout is how long the stored parts of a concatenated message
	// wait for the missing ones before what arrived is joined and flagged
	// incomplete. Each part is acknowledged as soon as it is stored.
	PartTimeout time.Duration `mapstructure:"part_timeout"`
	// MaxConnections caps open connections, bound or not (0: 1000);
	// MaxConnectionsPerIP caps them per client address, an IPv6 /64
	// counting as one (0: 50). Over a cap a connection is closed at once.
	MaxConnections      int `mapstructure:"max_connections"`
	MaxConnectionsPerIP int `mapstructure:"max_connections_per_ip"`
	// BindTimeout closes a connection that has not bound within it (0: 10s).
	BindTimeout time.Duration `mapstructure:"bind_timeout"`
	// BindFailures failed binds within a minute from one address, or for
	// one system_id, lock it out for BindLockout (0: 5 and 5m); addresses
	// the system_id bound from in the last 24h are spared its lockout.
	BindFailures int           `mapstructure:"bind_failures"`
	BindLockout  time.Duration `mapstructure:"bind_lockout"`
}

// SMPPAccount is an ESME allowed to bind to our SMPP server.
type SMPPAccount struct {
	SystemID string `mapstructure:"system_id" json:"system_id"`
	// PasswordHash is a bcrypt hash (`smsgw hash-password`); the password
	// itself is never stored in the config.
	PasswordHash string `mapstructure:"password_hash" json:"password_hash"`
	// Role "platform": a contact-centre system; its submit_sm is MT from
	// the business numbers in AllowedSources, it receives their MO and its
	// receipts as deliver_sm. Role "carrier": an SMSC or aggregator that
	// binds to us; its submit_sm (or data_sm/deliver_sm) is MO to our
	// numbers or a receipt, and numbers routed to its system_id (a
	// number's carrier, or default_carrier) are sent to it as deliver_sm.
	Role string `mapstructure:"role" json:"role"`
	// Window bounds the deliver_sm we keep outstanding on one of its binds
	// (default 64).
	Window int `mapstructure:"window" json:"window"`
	// AllowedSources are the business numbers (E.164) it may send from;
	// empty means none.
	AllowedSources []string `mapstructure:"allowed_sources" json:"allowed_sources"`
	MaxBinds       int      `mapstructure:"max_binds" json:"max_binds"`
	// Throughput limits submit_sm per second per bind (0: unlimited);
	// over it we answer ESME_RTHROTTLED.
	Throughput float64 `mapstructure:"throughput" json:"throughput"`
	// AllowedIPs are CIDRs the account may bind from (empty: any).
	AllowedIPs []string `mapstructure:"allowed_ips" json:"allowed_ips"`
}

package config

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/smsgw/smsgw/filters"
)

// EnvPrefix prefixes every environment variable: SMSGW_HTTP_ADDR.
const EnvPrefix = "SMSGW"

// Defaults returns the embedded defaults: everything on loopback, embedded
// NATS, local archive, sandbox carrier.
func Defaults() Config {
	return Config{
		DataDir: "smsgw-data",
		Node:    hostname(),
		Log:     Log{Level: "info", Format: "text"},
		HTTP: HTTP{Addr: "127.0.0.1:8080", MaxBodyChars: 1600, MaxRequestBytes: 64 << 10,
			RateLimit: RateLimit{FailedAuthPerMinute: 30}},
		NATS: NATS{Replicas: 1},
		Archive: Archive{
			Backend:             "local",
			RetentionDays:       7*365 + 2, // seven years including leap days
			SegmentMaxRecords:   10000,
			SegmentMaxAge:       250 * time.Millisecond,
			CheckpointInterval:  30 * time.Second,
			CheckpointHeartbeat: 5 * time.Minute,
			S3:                  S3{Region: "us-east-1", UseTLS: true},
		},
		Filters:  filters.DefaultConfig(),
		Sandbox:  Sandbox{Enabled: true, Addr: "127.0.0.1:0"},
		Webhook:  Webhook{Timeout: 10 * time.Second, MaxAttempts: 12},
		SMPP:     SMPP{Enabled: true, Addr: "127.0.0.1:2775", PartTimeout: time.Minute},
		Pipeline: Pipeline{MaxDeliver: 8, ReceiptWait: 2 * time.Minute},
		Numbers:  Numbers{OptOutScope: "company", Inactivity: 24 * time.Hour, SweepInterval: 30 * time.Second},
	}
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "node1"
	}
	// Consumer names allow letters, digits, - and _.
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, h)
}

// Load reads defaults, the file (if path is not empty), SMSGW_* variables
// and the given flags (may be nil), in rising order of precedence. It does
// not validate: call Validate.
func Load(path string, flags *pflag.FlagSet) (Config, error) {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	def := Defaults()
	// Bind every key so env-only settings reach Unmarshal (viper only sees
	// env for keys it knows).
	for _, k := range Keys() {
		if err := v.BindEnv(k); err != nil {
			return Config{}, fmt.Errorf("binding env for %s: %w", k, err)
		}
	}
	setDefaults(v, "", reflect.ValueOf(def))
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("reading config %s: %w", path, err)
		}
	}
	if flags != nil {
		if err := v.BindPFlags(flags); err != nil {
			return Config{}, fmt.Errorf("binding flags: %w", err)
		}
	}
	cfg := def
	if err := v.Unmarshal(&cfg); err != nil {
		return Config{}, fmt.Errorf("decoding config: %w", err)
	}
	// Carriers are a list of tables: from the environment they come as JSON.
	if s := os.Getenv(EnvPrefix + "_CARRIERS"); s != "" {
		var cs []Carrier
		if err := json.Unmarshal([]byte(s), &cs); err != nil {
			return Config{}, fmt.Errorf("decoding %s_CARRIERS (want a JSON list of carriers): %w", EnvPrefix, err)
		}
		cfg.Carriers = cs
	}
	if s := os.Getenv(EnvPrefix + "_ARCHIVE_RETENTION_CLASSES"); s != "" {
		var rc []RetentionClass
		if err := json.Unmarshal([]byte(s), &rc); err != nil {
			return Config{}, fmt.Errorf("decoding %s_ARCHIVE_RETENTION_CLASSES (want a JSON list of classes): %w", EnvPrefix, err)
		}
		cfg.Archive.RetentionClasses = rc
	}
	if s := os.Getenv(EnvPrefix + "_SMPP_ACCOUNTS"); s != "" {
		var as []SMPPAccount
		if err := json.Unmarshal([]byte(s), &as); err != nil {
			return Config{}, fmt.Errorf("decoding %s_SMPP_ACCOUNTS (want a JSON list of accounts): %w", EnvPrefix, err)
		}
		cfg.SMPP.Accounts = as
	}
	// Operator filter rules are lists of tables too.
	if s := os.Getenv(EnvPrefix + "_FILTERS_RULES"); s != "" {
		var rs []filters.Rule
		if err := json.Unmarshal([]byte(s), &rs); err != nil {
			return Config{}, fmt.Errorf("decoding %s_FILTERS_RULES (want a JSON list of rules): %w", EnvPrefix, err)
		}
		cfg.Filters.Rules = rs
	}
	if s := os.Getenv(EnvPrefix + "_FILTERS_LEXICON"); s != "" {
		var ls []filters.LexiconRule
		if err := json.Unmarshal([]byte(s), &ls); err != nil {
			return Config{}, fmt.Errorf("decoding %s_FILTERS_LEXICON (want a JSON list of lexicon rules): %w", EnvPrefix, err)
		}
		cfg.Filters.Lexicon = ls
	}
	return cfg, nil
}

// Keys lists every leaf key of Config ("http.addr", ...), including the
// policy keys of the built-in detectors.
func Keys() []string {
	var keys []string
	walk("", reflect.TypeOf(Config{}), func(k string) { keys = append(keys, k) })
	for _, d := range filters.DetectorNames() {
		keys = append(keys, "filters.policy."+d, "filters.inbound."+d, "filters.outbound."+d)
	}
	return keys
}

func walk(prefix string, t reflect.Type, fn func(string)) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
			walk(key, f.Type, fn)
			continue
		}
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct || f.Type.Kind() == reflect.Map {
			continue // lists of tables (carriers) come from the file or as JSON; maps by their entries
		}
		fn(key)
	}
}

func setDefaults(v *viper.Viper, prefix string, val reflect.Value) {
	t := val.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		fv := val.Field(i)
		if f.Type.Kind() == reflect.Struct {
			setDefaults(v, key, fv)
			continue
		}
		if f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map {
			continue
		}
		v.SetDefault(key, fv.Interface())
	}
}

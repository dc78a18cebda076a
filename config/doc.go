// Package config loads smsgw's configuration once at startup: defaults,
// then an optional file (YAML, TOML or JSON), then SMSGW_* environment
// variables, then flags. Every key can be set from the environment
// (SMSGW_HTTP_ADDR for http.addr). Validate reports every problem at once,
// each naming its key, so `smsgw config check` can list them all.
package config

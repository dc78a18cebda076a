package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	if errs := Defaults().Validate(); len(errs) != 0 {
		t.Fatalf("Defaults().Validate() = %v, want no problems", errs)
	}
}

func TestValidateReportsEveryProblemWithItsKey(t *testing.T) {
	c := Defaults()
	c.HTTP.Addr = "nonsense"
	c.Log.Level = "loud"
	c.Archive.Backend = "s3" // with no endpoint, bucket or keys
	c.Archive.RetentionDays = 0
	c.Sandbox.Addr = "10.0.0.1:2775"
	c.Carriers = []Carrier{{Name: "a", Addr: "x:1", SystemID: "sys", Password: "waytoolongpassword"}, {Name: "a", Addr: "bad", SystemID: ""}}
	c.DefaultCarrier = "nope"
	c.Pipeline.IngressKey = "not-base64"
	errs := c.Validate()
	got := map[string]bool{}
	for _, e := range errs {
		fe, ok := e.(FieldError)
		if !ok {
			// filters' errors name their key in the text
			got[strings.SplitN(e.Error(), ":", 2)[0]] = true
			continue
		}
		got[fe.Key] = true
	}
	for _, key := range []string{
		"http.addr", "log.level", "archive.s3.endpoint", "archive.s3.bucket", "archive.s3.access_key_id",
		"archive.s3.secret_access_key", "archive.retention_days", "sandbox.addr", "carriers[0].password",
		"carriers[1].name", "carriers[1].addr", "carriers[1].system_id", "default_carrier", "pipeline.ingress_key",
	} {
		if !got[key] {
			t.Errorf("Validate did not report %s; got %v", key, errs)
		}
	}
}

func TestLoadFileEnvPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "smsgw.yaml")
	err := os.WriteFile(path, []byte(`
data_dir: /var/lib/smsgw
http:
  addr: 127.0.0.1:9000
archive:
  retention_days: 100
  segment_max_age: 2s
carriers:
  - name: acme
    addr: smsc.example:2775
    system_id: gw
    password: pw
    window: 32
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SMSGW_HTTP_ADDR", "127.0.0.1:9100")          // env beats file
	t.Setenv("SMSGW_ARCHIVE_S3_BUCKET", "env-only-bucket") // a key only in the env
	t.Setenv("SMSGW_FILTERS_POLICY_CARD", "block")
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/var/lib/smsgw" {
		t.Errorf("data_dir = %q, want from file", c.DataDir)
	}
	if c.HTTP.Addr != "127.0.0.1:9100" {
		t.Errorf("http.addr = %q, want env value", c.HTTP.Addr)
	}
	if c.Archive.S3.Bucket != "env-only-bucket" {
		t.Errorf("archive.s3.bucket = %q, want env-only value", c.Archive.S3.Bucket)
	}
	if c.Archive.RetentionDays != 100 || c.Archive.SegmentMaxAge != 2*time.Second {
		t.Errorf("archive = %+v, want retention 100, segment age 2s", c.Archive)
	}
	if c.HTTP.MaxBodyChars != 1600 {
		t.Errorf("http.max_body_chars = %d, want default 1600", c.HTTP.MaxBodyChars)
	}
	if len(c.Carriers) != 1 || c.Carriers[0].Name != "acme" || c.Carriers[0].Window != 32 {
		t.Errorf("carriers = %+v", c.Carriers)
	}
	if string(c.Filters.Policy["card"]) != "block" {
		t.Errorf("filters.policy.card = %q, want block from env", c.Filters.Policy["card"])
	}
}

func TestLoadCarriersFromEnvJSON(t *testing.T) {
	t.Setenv("SMSGW_CARRIERS", `[{"name":"acme","addr":"h:2775","system_id":"gw","password":"pw"}]`)
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Carriers) != 1 || c.Carriers[0].SystemID != "gw" {
		t.Errorf("carriers = %+v", c.Carriers)
	}
	t.Setenv("SMSGW_CARRIERS", `[{`)
	if _, err := Load("", nil); err == nil || !strings.Contains(err.Error(), "SMSGW_CARRIERS") {
		t.Errorf("bad SMSGW_CARRIERS: err = %v, want one naming the variable", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestValidateNumbers(t *testing.T) {
	c := Defaults()
	c.Numbers.OptOutScope = "everyone"
	found := false
	for _, e := range c.Validate() {
		found = found || strings.Contains(e.Error(), "numbers.opt_out_scope")
	}
	if !found {
		t.Errorf("an unknown opt-out scope is not reported by key: %v", c.Validate())
	}
}

func TestValidateArchiveSigning(t *testing.T) {
	c := Defaults()
	c.Archive.Backend = "s3"
	c.Archive.S3 = S3{Endpoint: "s3.example", Bucket: "b", AccessKeyID: "k", SecretAccessKey: "s"}
	c.Archive.CheckpointInterval = 0
	var keys []string
	for _, e := range c.Validate() {
		keys = append(keys, e.Error())
	}
	all := strings.Join(keys, "\n")
	for _, k := range []string{"archive.signing_key_file", "archive.checkpoint_interval"} {
		if !strings.Contains(all, k) {
			t.Errorf("%s not reported: %s", k, all)
		}
	}
}

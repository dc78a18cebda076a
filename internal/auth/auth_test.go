package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/internal/testenv"
	"github.com/smsgw/smsgw/sms"
)

func newTokens(t *testing.T) (*Tokens, *bus.Bus) {
	t.Helper()
	b := testenv.OpenBus(t)
	return New(b), b
}

func TestTokensStoreOnlyHashes(t *testing.T) {
	tk, b := newTokens(t)
	ctx := context.Background()
	plain, tok, err := tk.Issue(ctx, "employee jo", []string{RoleEmployee}, "jo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, TokenPrefix) || len(plain) < 40 {
		t.Fatalf("token %q: want smsgw_ and 32 random bytes", plain)
	}
	kv := b.KV(bus.BucketTokens)
	keys, _ := kv.Keys(ctx)
	for _, k := range keys {
		e, _ := kv.Get(ctx, k)
		if strings.Contains(k, plain) || strings.Contains(string(e.Value), plain) || strings.Contains(string(e.Value), plain[len(TokenPrefix):]) {
			t.Fatalf("the token itself is stored (key %s)", k)
		}
	}
	got, err := tk.Lookup(ctx, plain)
	if err != nil || got.EmployeeID != "jo" || !got.Has(RoleEmployee) || got.Has(RoleAdmin) || got.Hash != tok.Hash {
		t.Fatalf("Lookup = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "smsgw_nope", plain + "x", "Bearer " + plain, strings.Repeat("a", 500)} {
		if _, err := tk.Lookup(ctx, bad); sms.KindOf(err) != sms.Unauthorized {
			t.Errorf("Lookup(%.20q): %v, want Unauthorized", bad, err)
		}
	}
	if n, err := tk.RevokeEmployee(ctx, "jo"); err != nil || n != 1 {
		t.Fatalf("RevokeEmployee = %d, %v", n, err)
	}
	if _, err := tk.Lookup(ctx, plain); sms.KindOf(err) != sms.Unauthorized {
		t.Errorf("revoked token still works: %v", err)
	}
}

func TestBootstrapWritesOnceWithMode0600(t *testing.T) {
	tk, _ := newTokens(t)
	ctx := context.Background()
	dir := t.TempDir()
	path, created, err := tk.Bootstrap(ctx, dir)
	if err != nil || !created || path != filepath.Join(dir, "admin.token") {
		t.Fatalf("Bootstrap = %s %v %v", path, created, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("admin.token mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	tok, err := tk.Lookup(ctx, strings.TrimSpace(string(data)))
	if err != nil || !tok.Has(RoleAdmin) || !tok.Has(RoleCompliance) {
		t.Fatalf("bootstrap token: %+v %v", tok, err)
	}
	if _, created, err := tk.Bootstrap(ctx, dir); err != nil || created {
		t.Errorf("second Bootstrap created=%v err=%v, want the existing token kept", created, err)
	}
	again, _ := os.ReadFile(path)
	if string(again) != string(data) {
		t.Errorf("second Bootstrap replaced a valid token")
	}
}

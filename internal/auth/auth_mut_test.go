package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// storeToken writes a token record for plain straight into the bucket, as
// another node's Issue would, keyed by the SHA-256 of plain computed here
// (not by the package's hash helper).
func storeToken(t *testing.T, b *bus.Bus, plain string, tok Token) {
	t.Helper()
	sum := sha256.Sum256([]byte(plain))
	tok.Hash = hex.EncodeToString(sum[:])
	data, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.KV(bus.BucketTokens).Put(context.Background(), tok.Hash, data); err != nil {
		t.Fatal(err)
	}
}

func deleteToken(t *testing.T, b *bus.Bus, plain string) {
	t.Helper()
	sum := sha256.Sum256([]byte(plain))
	if err := b.KV(bus.BucketTokens).Delete(context.Background(), hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
}

// TestLookupLengthLimit: a bearer string of up to 128 characters is looked
// up; a longer one is refused as unauthorized even if a record exists.
func TestLookupLengthLimit(t *testing.T) {
	tk, b := newTokens(t)
	ctx := context.Background()
	for _, c := range []struct {
		n  int
		ok bool
	}{{127, true}, {128, true}, {129, false}, {200, false}} {
		plain := TokenPrefix + strings.Repeat("k", c.n-len(TokenPrefix))
		if len(plain) != c.n {
			t.Fatalf("built %d characters, want %d", len(plain), c.n)
		}
		storeToken(t, b, plain, Token{Name: "long", Roles: []string{RoleEmployee}, EmployeeID: "e1"})
		got, err := tk.Lookup(ctx, plain)
		if c.ok && (err != nil || got.EmployeeID != "e1") {
			t.Errorf("Lookup of a stored %d-character token = %+v, %v; want it found", c.n, got, err)
		}
		if !c.ok && sms.KindOf(err) != sms.Unauthorized {
			t.Errorf("Lookup of a stored %d-character token: %v, want Unauthorized", c.n, err)
		}
	}
}

// TestLookupIsCachedUntilTTL: revocation by another node (the record
// deleted from the bucket behind this Tokens' back) takes effect only once
// the cached lookup expires (doc of Tokens), and looking up other tokens
// in the meantime does not evict it.
func TestLookupIsCachedUntilTTL(t *testing.T) {
	tk, b := newTokens(t)
	ctx := context.Background()
	a, bTok := TokenPrefix+"aaaaaaaaaaaaaaaaaaaa", TokenPrefix+"bbbbbbbbbbbbbbbbbbbb"
	storeToken(t, b, a, Token{Name: "a", Roles: []string{RoleEmployee}, EmployeeID: "ea"})
	storeToken(t, b, bTok, Token{Name: "b", Roles: []string{RoleAdmin}})
	if _, err := tk.Lookup(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, err := tk.Lookup(ctx, bTok); err != nil || !got.Has(RoleAdmin) {
		t.Fatalf("Lookup(b) = %+v, %v", got, err)
	}
	deleteToken(t, b, a)
	got, err := tk.Lookup(ctx, a)
	if err != nil || got.EmployeeID != "ea" || got.Name != "a" {
		t.Fatalf("Lookup(a) right after a remote delete = %+v, %v; want the cached token", got, err)
	}
	// Age the cached entry past its expiry instead of sleeping 5 s.
	sum := sha256.Sum256([]byte(a))
	key := hex.EncodeToString(sum[:])
	tk.mu.Lock()
	c, ok := tk.cache[key]
	if !ok {
		tk.mu.Unlock()
		t.Fatal("lookup of a was not cached")
	}
	if d := time.Until(c.exp); d <= 0 || d > 5*time.Second {
		t.Errorf("cache entry lives %v more, want at most 5s (the documented revocation delay)", d)
	}
	c.exp = time.Now().Add(-time.Millisecond)
	tk.cache[key] = c
	tk.mu.Unlock()
	if _, err := tk.Lookup(ctx, a); sms.KindOf(err) != sms.Unauthorized {
		t.Errorf("Lookup(a) after the cache expired: %v, want Unauthorized", err)
	}
	// b was never deleted: still served.
	if _, err := tk.Lookup(ctx, bTok); err != nil {
		t.Errorf("Lookup(b) = %v", err)
	}
}

// TestLookupCacheBound: the cache holds at most 10000 entries plus the one
// being added; it is cleared when a lookup finds more than 10000.
func TestLookupCacheBound(t *testing.T) {
	tk, b := newTokens(t)
	ctx := context.Background()
	ghost := TokenPrefix + "ghost-ghost-ghost" // cached, no longer in the bucket
	storeToken(t, b, ghost, Token{Name: "ghost", EmployeeID: "g"})
	if _, err := tk.Lookup(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	deleteToken(t, b, ghost)
	// Fill the cache to exactly 10000 entries (ghost included).
	exp := time.Now().Add(time.Minute)
	tk.mu.Lock()
	for i := 0; len(tk.cache) < 10000; i++ {
		tk.cache[filler(i)] = cached{exp: exp}
	}
	tk.mu.Unlock()

	fresh := TokenPrefix + "fresh-1-fresh-1"
	storeToken(t, b, fresh, Token{Name: "fresh"})
	if _, err := tk.Lookup(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if got, err := tk.Lookup(ctx, ghost); err != nil || got.EmployeeID != "g" {
		t.Fatalf("at 10000 entries the cache was cleared (ghost: %+v, %v); want it kept", got, err)
	}
	// Now 10001 entries: the next miss clears the cache first.
	fresh2 := TokenPrefix + "fresh-2-fresh-2"
	storeToken(t, b, fresh2, Token{Name: "fresh2"})
	if _, err := tk.Lookup(ctx, fresh2); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Lookup(ctx, ghost); sms.KindOf(err) != sms.Unauthorized {
		t.Errorf("over 10000 entries the cache was not cleared: ghost lookup %v, want Unauthorized", err)
	}
	if got, err := tk.Lookup(ctx, fresh2); err != nil || got.Name != "fresh2" {
		t.Errorf("Lookup(fresh2) = %+v, %v", got, err)
	}
}

func filler(i int) string {
	s := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16), 'f'})
	return hex.EncodeToString(s[:])
}

func TestLookupCorruptRecordIsAnErrorNotAToken(t *testing.T) {
	tk, b := newTokens(t)
	ctx := context.Background()
	plain := TokenPrefix + "corrupt-corrupt"
	sum := sha256.Sum256([]byte(plain))
	if _, err := b.KV(bus.BucketTokens).Put(ctx, hex.EncodeToString(sum[:]), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	got, err := tk.Lookup(ctx, plain)
	if err == nil || got.Name != "" || got.Roles != nil {
		t.Fatalf("Lookup of a corrupt record = %+v, %v; want an error and no token", got, err)
	}
}

func TestRevokeEmployeeOnlyTheirs(t *testing.T) {
	tk, _ := newTokens(t)
	ctx := context.Background()
	var jo []string
	for range 2 {
		p, _, err := tk.Issue(ctx, "jo", []string{RoleEmployee}, "jo")
		if err != nil {
			t.Fatal(err)
		}
		jo = append(jo, p)
	}
	ann, _, err := tk.Issue(ctx, "ann", []string{RoleEmployee}, "ann")
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := tk.Issue(ctx, "admin", []string{RoleAdmin}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(jo, ann, admin) { // warm the cache
		if _, err := tk.Lookup(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := tk.RevokeEmployee(ctx, ""); err != nil || n != 0 {
		t.Fatalf(`RevokeEmployee("") = %d, %v; want 0, nil`, n, err)
	}
	if _, err := tk.Lookup(ctx, admin); err != nil {
		t.Fatalf(`RevokeEmployee("") revoked the admin token (no employee id): %v`, err)
	}
	if n, err := tk.RevokeEmployee(ctx, "jo"); err != nil || n != 2 {
		t.Fatalf("RevokeEmployee(jo) = %d, %v; want 2", n, err)
	}
	for _, p := range jo {
		if _, err := tk.Lookup(ctx, p); sms.KindOf(err) != sms.Unauthorized {
			t.Errorf("jo's token after revocation: %v, want Unauthorized at once (cache cleared)", err)
		}
	}
	for _, p := range []string{ann, admin} {
		if _, err := tk.Lookup(ctx, p); err != nil {
			t.Errorf("another holder's token was revoked: %v", err)
		}
	}
	if n, err := tk.RevokeEmployee(ctx, "jo"); err != nil || n != 0 {
		t.Errorf("second RevokeEmployee(jo) = %d, %v; want 0", n, err)
	}
}

func TestIssuedTokenShape(t *testing.T) {
	tk, _ := newTokens(t)
	before := time.Now().UTC().Add(-time.Second)
	plain, tok, err := tk.Issue(context.Background(), "n", []string{RoleCompliance}, "e")
	if err != nil {
		t.Fatal(err)
	}
	// smsgw_ + 32 random bytes in unpadded base64url = 6 + 43 characters.
	if len(plain) != 49 || !strings.HasPrefix(plain, "smsgw_") || strings.ContainsAny(plain, "+/=") {
		t.Errorf("token %q: want smsgw_ and 43 base64url characters", plain)
	}
	sum := sha256.Sum256([]byte(plain))
	if tok.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("Hash = %s, want the hex SHA-256 of the token", tok.Hash)
	}
	if tok.Name != "n" || tok.EmployeeID != "e" || !tok.Has(RoleCompliance) || tok.Has(RoleAdmin) || tok.Has(RoleEmployee) {
		t.Errorf("token record %+v", tok)
	}
	if tok.CreatedAt.Before(before) || tok.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want now in UTC", tok.CreatedAt)
	}
	if Token.Has(Token{}, "") {
		t.Error("a token without roles has the empty role")
	}
}

// TestBootstrapReplacesUnknownToken: a data dir whose admin.token this
// store does not know (a new store) gets a fresh, working token.
func TestBootstrapReplacesUnknownToken(t *testing.T) {
	tk, _ := newTokens(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := TokenPrefix + "from-another-store"
	if err := os.WriteFile(AdminTokenFile(dir), []byte(stale+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path, created, err := tk.Bootstrap(ctx, dir)
	if err != nil || !created || path != filepath.Join(dir, "admin.token") {
		t.Fatalf("Bootstrap = %s, %v, %v; want a new token", path, created, err)
	}
	data, _ := os.ReadFile(path)
	plain := strings.TrimSpace(string(data))
	if plain == stale || !strings.HasSuffix(string(data), "\n") {
		t.Fatalf("admin.token = %q", data)
	}
	if tok, err := tk.Lookup(ctx, plain); err != nil || !tok.Has(RoleAdmin) || !tok.Has(RoleCompliance) || tok.EmployeeID != "" {
		t.Fatalf("new admin token: %+v, %v", tok, err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

func TestBootstrapCreatesDataDir(t *testing.T) {
	tk, _ := newTokens(t)
	dir := filepath.Join(t.TempDir(), "a", "b")
	path, created, err := tk.Bootstrap(context.Background(), dir)
	if err != nil || !created {
		t.Fatalf("Bootstrap into a missing dir = %s, %v, %v", path, created, err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v, %v; want mode 0700", st, err)
	}
}

package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// Roles.
const (
	RoleAdmin      = "admin"
	RoleCompliance = "compliance"
	RoleEmployee   = "employee"
)

// TokenPrefix marks smsgw tokens so secret scanners can find leaked ones.
const TokenPrefix = "smsgw_"

// Token is what is stored for an issued token: never the token itself.
type Token struct {
	Hash       string    `json:"hash"`
	Name       string    `json:"name"`
	Roles      []string  `json:"roles"`
	EmployeeID string    `json:"employee_id,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Has reports whether the token carries role.
func (t Token) Has(role string) bool { return slices.Contains(t.Roles, role) }

// Tokens issues and looks up tokens. Lookups are cached for a few seconds
// so a busy sender does not cost a KV read per request; revocation takes
// effect within that time.
type Tokens struct {
	kv    *bus.KV
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	tok Token
	exp time.Time
}

const cacheTTL = 5 * time.Second

// New returns Tokens on the bus's token bucket.
func New(b *bus.Bus) *Tokens {
	return &Tokens{kv: b.KV(bus.BucketTokens), cache: map[string]cached{}}
}

func hash(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// Issue creates a token with the given roles and returns its plaintext,
// which is not stored anywhere.
func (t *Tokens) Issue(ctx context.Context, name string, roles []string, employeeID string) (string, Token, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Token{}, fmt.Errorf("generating token: %w", err)
	}
	plain := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	tok := Token{Hash: hash(plain), Name: name, Roles: roles, EmployeeID: employeeID, CreatedAt: time.Now().UTC()}
	data, _ := json.Marshal(tok)
	if _, err := t.kv.Create(ctx, tok.Hash, data); err != nil {
		return "", Token{}, fmt.Errorf("storing token: %w", err)
	}
	return plain, tok, nil
}

// Lookup returns the token for a presented bearer string, or an
// Unauthorized error that does not say why (unknown and malformed look alike).
func (t *Tokens) Lookup(ctx context.Context, plain string) (Token, error) {
	unauth := sms.Errorf(sms.Unauthorized, "unauthorized", "missing or invalid bearer token")
	if !strings.HasPrefix(plain, TokenPrefix) || len(plain) > 128 {
		return Token{}, unauth
	}
	h := hash(plain)
	now := time.Now()
	t.mu.Lock()
	if c, ok := t.cache[h]; ok && now.Before(c.exp) {
		t.mu.Unlock()
		return c.tok, nil
	}
	t.mu.Unlock()
	e, err := t.kv.Get(ctx, h)
	if err != nil {
		if sms.KindOf(err) == sms.NotFound {
			return Token{}, unauth
		}
		return Token{}, err
	}
	var tok Token
	if err := json.Unmarshal(e.Value, &tok); err != nil {
		return Token{}, fmt.Errorf("decoding token: %w", err)
	}
	t.mu.Lock()
	if len(t.cache) > 10000 {
		clear(t.cache)
	}
	t.cache[h] = cached{tok: tok, exp: now.Add(cacheTTL)}
	t.mu.Unlock()
	return tok, nil
}

// Revoke deletes every token of an employee (offboarding) or, with
// employeeID "", nothing.
func (t *Tokens) RevokeEmployee(ctx context.Context, employeeID string) (int, error) {
	if employeeID == "" {
		return 0, nil
	}
	keys, err := t.kv.Keys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		e, err := t.kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var tok Token
		if json.Unmarshal(e.Value, &tok) == nil && tok.EmployeeID == employeeID {
			if err := t.kv.Delete(ctx, k); err != nil {
				return n, err
			}
			n++
		}
	}
	t.mu.Lock()
	clear(t.cache)
	t.mu.Unlock()
	return n, nil
}

// AdminTokenFile is where the bootstrap admin token is written.
func AdminTokenFile(dataDir string) string { return filepath.Join(dataDir, "admin.token") }

// Bootstrap makes sure an admin token exists: on first start it issues one
// (roles admin and compliance) and writes it to <dataDir>/admin.token with
// mode 0600. It returns the file path and whether it was created now.
func (t *Tokens) Bootstrap(ctx context.Context, dataDir string) (string, bool, error) {
	path := AdminTokenFile(dataDir)
	if data, err := os.ReadFile(path); err == nil {
		plain := strings.TrimSpace(string(data))
		if _, err := t.Lookup(ctx, plain); err == nil {
			return path, false, nil
		}
		// The file holds a token this store does not know (new store):
		// issue a fresh one below, replacing the file.
	}
	plain, _, err := t.Issue(ctx, "bootstrap admin", []string{RoleAdmin, RoleCompliance}, "")
	if err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("creating data dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(plain+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("writing admin token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", false, fmt.Errorf("writing admin token: %w", err)
	}
	return path, true, nil
}

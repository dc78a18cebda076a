package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"

	"github.com/smsgw/smsgw/internal/testenv"
)

type testenvBuffer struct{ b testenv.SyncBuffer }

func (t *testenvBuffer) buf() *testenv.SyncBuffer { return &t.b }
func (t *testenvBuffer) String() string           { return t.b.String() }

func dialTCP(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func jsonMarshal(v any) []byte { b, _ := json.Marshal(v); return b }

func sha256hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

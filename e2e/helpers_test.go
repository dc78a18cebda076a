package e2e

import (
	"net"

	"github.com/smsgw/smsgw/internal/testenv"
)

type testenvBuffer struct{ b testenv.SyncBuffer }

func (t *testenvBuffer) buf() *testenv.SyncBuffer { return &t.b }
func (t *testenvBuffer) String() string           { return t.b.String() }

func dialTCP(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }

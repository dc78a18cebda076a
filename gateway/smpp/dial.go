package smpp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// DialBind connects to an SMSC at addr (over TLS when tlsCfg is set), binds
// as kind (BindTransmitter, BindReceiver or BindTransceiver) and returns
// the running session. Requests from the peer get cfg.Handle. It is the
// one-shot form of Client, for tools and tests.
func DialBind(ctx context.Context, addr string, kind uint32, systemID, password string, tlsCfg *tls.Config, cfg SessionConfig) (*Session, error) {
	var d net.Dialer
	var conn net.Conn
	var err error
	if tlsCfg != nil {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	sess := NewSession(conn, cfg)
	go func() { _ = sess.Run(context.Background()) }()
	b := Bind{SystemID: systemID, Password: password, InterfaceVersion: 0x34}
	resp, err := sess.Request(ctx, kind, b.Marshal())
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("%s to %s: %w", CommandName(kind), addr, err)
	}
	if resp.Status != ESME_ROK {
		sess.Close()
		return nil, fmt.Errorf("%s to %s as %s: %w", CommandName(kind), addr, systemID, StatusError(resp.Status))
	}
	return sess, nil
}

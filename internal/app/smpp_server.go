package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/gateway/smppserver"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/pipeline"
	"github.com/smsgw/smsgw/sms"
)

func smppAccounts(cfg []config.SMPPAccount) ([]smppserver.Account, error) {
	var out []smppserver.Account
	for _, a := range cfg {
		acc := smppserver.Account{SystemID: a.SystemID, PasswordHash: a.PasswordHash, Role: a.Role, MaxBinds: a.MaxBinds, Window: a.Window, Throughput: a.Throughput}
		for _, n := range a.AllowedSources {
			num, err := sms.ParseNumber(n)
			if err != nil {
				return nil, fmt.Errorf("smpp account %s: allowed source: %w", a.SystemID, err)
			}
			acc.AllowedSources = append(acc.AllowedSources, num)
		}
		for _, c := range a.AllowedIPs {
			_, ipn, err := net.ParseCIDR(c)
			if err != nil {
				return nil, fmt.Errorf("smpp account %s: allowed ip %q: %w", a.SystemID, c, err)
			}
			acc.AllowedIPs = append(acc.AllowedIPs, ipn)
		}
		out = append(out, acc)
	}
	return out, nil
}

func (a *App) newSMPPServer() (*smppserver.Server, error) {
	accounts, err := smppAccounts(a.cfg.SMPP.Accounts)
	if err != nil {
		return nil, err
	}
	pending := a.Bus.KV(bus.BucketSMPPReceipt)
	var tlsCfg *tls.Config
	if a.cfg.SMPP.TLSAddr != "" {
		if tlsCfg, err = serverTLS(a.cfg.SMPP.TLSCertFile, a.cfg.SMPP.TLSKeyFile); err != nil {
			return nil, err
		}
	}
	return smppserver.New(smppserver.Config{
		Addr: a.cfg.SMPP.Addr, TLSAddr: a.cfg.SMPP.TLSAddr, TLS: tlsCfg,
		Accounts: accounts, Ingress: a.Ingress, MaxBodyChars: a.cfg.HTTP.MaxBodyChars, Log: a.log,
		MaxConnections: a.cfg.SMPP.MaxConnections, MaxConnectionsPerIP: a.cfg.SMPP.MaxConnectionsPerIP,
		BindTimeout: a.cfg.SMPP.BindTimeout, BindFailures: a.cfg.SMPP.BindFailures, BindLockout: a.cfg.SMPP.BindLockout,
		Parts:       &kvParts{bus: a.Bus, kv: a.Bus.KV(bus.BucketSMPPParts), codec: a.Ingress.Codec()},
		PartTimeout: a.cfg.SMPP.PartTimeout,
		CarrierIn: func(systemID string) smpp.Handler {
			return pipeline.CarrierHandler(systemID, a.Bus, a.Ingress, a.Directory, a.log)
		},
		Holder: func(ctx context.Context, n sms.Number) (string, string, error) {
			num, _, err := a.Directory.Number(ctx, n)
			if sms.KindOf(err) == sms.NotFound {
				return "", "", nil
			}
			if err != nil {
				return "", "", err
			}
			if num.State != directory.StateAssigned {
				return "", num.Carrier, nil
			}
			return num.EmployeeID, num.Carrier, nil
		},
		Lookup: func(ctx context.Context, id sms.MessageID) (sms.Number, sms.Status, time.Time, error) {
			v, err := a.Index.Get(ctx, id)
			if err != nil {
				return "", "", time.Time{}, err
			}
			var final time.Time
			if v.Status.Final() && len(v.Events) > 0 {
				final = v.Events[len(v.Events)-1].At
			}
			return v.From, v.Status, final, nil
		},
		OnRejected: func(ctx context.Context, systemID string, id sms.MessageID, from sms.Number, code string) error {
			// Never accepted, so never archived: the event is the record.
			// It names our sending number (not the customer's) so query_sm
			// can tell whose message it was.
			ev := pipeline.Event(id, sms.StatusFailed, code)
			ev.Actor, ev.Attrs = systemID, map[string]string{"from": from.E164()}
			return a.Bus.Publish(ctx, pipeline.EventOut(ev))
		},
		OnReceiptRequested: func(ctx context.Context, systemID string, m *sms.Message) error {
			data, _ := json.Marshal(pipeline.ReceiptRequest{SystemID: systemID, From: m.From, To: m.To, AcceptedAt: m.AcceptedAt})
			_, err := pending.Put(ctx, string(m.ID), data)
			return err
		},
	})
}

// smppCarriers are the MT routes of carrier-role accounts: a number whose
// carrier is such an account's system_id is sent to it as deliver_sm.
func (a *App) smppCarriers() map[string]pipeline.Carrier {
	out := map[string]pipeline.Carrier{}
	for _, acc := range a.cfg.SMPP.Accounts {
		if acc.Role == smppserver.RoleCarrier {
			out[acc.SystemID] = serverCarrier{srv: a.SMPP, systemID: acc.SystemID}
		}
	}
	return out
}

// serverCarrier sends MT to a carrier-role account bound to our server.
type serverCarrier struct {
	srv      *smppserver.Server
	systemID string
}

func (c serverCarrier) Submit(ctx context.Context, m smpp.Submit) (smpp.SubmitResult, error) {
	if m.BeforeWrite != nil {
		if err := m.BeforeWrite(); err != nil {
			return smpp.SubmitResult{}, err
		}
	}
	ids, err := c.srv.SendText(ctx, c.systemID, m)
	if errors.Is(err, smpp.ErrUnanswered) {
		// Written, never answered: the carrier may have it; not resent.
		return smpp.SubmitResult{MessageIDs: ids}, fmt.Errorf("%w: %w", smpp.ErrUnconfirmed, err)
	}
	if err != nil {
		return smpp.SubmitResult{}, err
	}
	return smpp.SubmitResult{MessageIDs: ids}, nil
}

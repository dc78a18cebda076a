package app

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
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
		Parts:       &kvParts{bus: a.Bus, kv: a.Bus.KV(bus.BucketSMPPParts), codec: a.Ingress.codec},
		PartTimeout: a.cfg.SMPP.PartTimeout,
		CarrierIn: func(systemID string) smpp.Handler {
			return &carrierIn{name: systemID, bus: a.Bus, ingress: a.Ingress, dir: a.Directory, log: a.log}
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
			data, _ := json.Marshal(smppReceiptReq{SystemID: systemID, From: m.From, To: m.To, AcceptedAt: m.AcceptedAt})
			_, err := pending.Put(ctx, string(m.ID), data)
			return err
		},
	})
}

type smppReceiptReq struct {
	SystemID   string     `json:"system_id"`
	From       sms.Number `json:"from"`
	To         sms.Number `json:"to"`
	AcceptedAt time.Time  `json:"accepted_at"`
}

// smppReceiptStage turns final status events of messages submitted over
// our SMPP server with registered_delivery into deliver_sm receipts to a
// receiving bind of the same account. Without such a bind it retries.
type smppReceiptStage struct {
	srv     *smppserver.Server
	pending *bus.KV
	log     *slog.Logger
}

func (s *smppReceiptStage) stage() pipeline.Stage {
	return pipeline.Stage{Name: bus.ConsumerSMPPDLR, Stream: bus.StreamEvents, Handle: s.handle, Batch: 256,
		Filter: []string{bus.SubjEvents + string(sms.StatusDelivered), bus.SubjEvents + string(sms.StatusFailed),
			bus.SubjEvents + string(sms.StatusBlocked), bus.SubjEvents + string(sms.StatusDeadLetter)}}
}

func receiptStat(st sms.Status) string {
	switch st {
	case sms.StatusDelivered:
		return "DELIVRD"
	case sms.StatusFailed:
		return "UNDELIV"
	}
	return "REJECTD"
}

func (s *smppReceiptStage) handle(ctx context.Context, batch []*bus.Msg) []pipeline.Result {
	res := make([]pipeline.Result, len(batch))
	for i, in := range batch {
		res[i] = s.receipt(ctx, in)
	}
	return res
}

func (s *smppReceiptStage) receipt(ctx context.Context, in *bus.Msg) pipeline.Result {
	var ev sms.Event
	if err := json.Unmarshal(in.Data, &ev); err != nil {
		return pipeline.Result{Outcome: pipeline.Dead, Code: "undecodable"}
	}
	e, err := s.pending.Get(ctx, string(ev.MessageID))
	if sms.KindOf(err) == sms.NotFound {
		return pipeline.Result{} // not submitted over SMPP with a receipt request (or already answered)
	}
	if err != nil {
		return pipeline.Result{Outcome: pipeline.Retry, Delay: time.Second}
	}
	var req smppReceiptReq
	if err := json.Unmarshal(e.Value, &req); err != nil {
		return pipeline.Result{}
	}
	m := &sms.Message{ID: ev.MessageID, From: req.From, To: req.To, AcceptedAt: req.AcceptedAt}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = s.srv.SendReceipt(sctx, req.SystemID, m, receiptStat(ev.Status), ev.At)
	cancel()
	if err != nil {
		if time.Since(ev.At) > 72*time.Hour {
			s.log.Warn("SMPP receipt given up after 72h", "id", ev.MessageID, "system_id", req.SystemID)
			return pipeline.Result{}
		}
		return pipeline.Result{Outcome: pipeline.Retry}
	}
	// First final status wins: the request is answered.
	_ = s.pending.Delete(ctx, string(ev.MessageID))
	return pipeline.Result{}
}

// smppCarriers are the MT routes of carrier-role accounts: a number whose
// carrier is such an account's system_id is sent to it as deliver_sm.
func (a *App) smppCarriers() map[string]Carrier {
	out := map[string]Carrier{}
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
	ids, err := c.srv.SendText(ctx, c.systemID, m)
	if err != nil {
		return smpp.SubmitResult{}, err
	}
	return smpp.SubmitResult{MessageIDs: ids}, nil
}

// smppMOStage delivers archived inbound texts to the platform accounts
// allowed to use the business number they were sent to, as deliver_sm
// (redacted text; blocked texts are not delivered). Without a receiving
// bind it retries with backoff for up to 72 hours: a platform that
// reconnects gets what arrived meanwhile. Delivery is at least once: a
// crash between the deliver_sm_resp and the ack repeats a text.
type smppMOStage struct {
	srv *smppserver.Server
	log *slog.Logger
}

func (s *smppMOStage) stage() pipeline.Stage {
	return pipeline.Stage{Name: bus.ConsumerSMPPMO, Stream: bus.StreamArchived, Filter: []string{bus.SubjArchivedIn},
		Handle: s.handle, Batch: 128, MaxAckPending: 2048}
}

func (s *smppMOStage) handle(ctx context.Context, batch []*bus.Msg) []pipeline.Result {
	res := make([]pipeline.Result, len(batch))
	var wg sync.WaitGroup
	for i, in := range batch {
		m, err := decodeMessage(in.Data)
		if err != nil {
			res[i] = pipeline.Result{Outcome: pipeline.Dead, Code: "undecodable"}
			continue
		}
		res[i].ID = m.ID
		targets := s.srv.PlatformsFor(m.To)
		if len(targets) == 0 || m.Verdict == sms.VerdictBlocked {
			continue
		}
		wg.Go(func() {
			var failed error
			for _, sys := range targets {
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err := s.srv.SendText(sctx, sys, smpp.Submit{Src: m.From.Digits(), Dst: m.To.Digits(), Text: m.Body})
				cancel()
				if err != nil {
					failed = err
				}
			}
			switch {
			case failed == nil:
			case sms.KindOf(failed) == sms.Permanent:
				s.log.Warn("platform refused MO", "id", m.ID, "code", sms.CodeOf(failed))
			case time.Since(m.AcceptedAt) > 72*time.Hour:
				s.log.Warn("MO to platform given up after 72h", "id", m.ID)
			default:
				if !errors.Is(failed, smppserver.ErrNoBind) {
					s.log.Warn("MO to platform failed; will retry", "id", m.ID, "err", failed)
				}
				res[i].Outcome = pipeline.Retry
			}
		})
	}
	wg.Wait()
	return res
}

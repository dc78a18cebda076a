package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/gateway/smpp"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// carrierIn handles what a carrier sends us (deliver_sm): customer texts
// (MO) go through Ingress like any message; receipts are persisted on
// RECEIPTS. Either way the deliver_sm_resp OK is sent only after JetStream
// has the data (returning an error makes the SMSC retry).
type carrierIn struct {
	name    string
	bus     *bus.Bus
	ingress *Ingress
	dir     *directory.Directory
	log     *slog.Logger
}

var _ smpp.Handler = (*carrierIn)(nil)

// CarrierHandler is the smpp.Handler for what carrier name delivers to us:
// MO texts into in, receipts onto RECEIPTS.
func CarrierHandler(name string, b *bus.Bus, in *Ingress, dir *directory.Directory, log *slog.Logger) smpp.Handler {
	return &carrierIn{name: name, bus: b, ingress: in, dir: dir, log: log}
}

func (h *carrierIn) HandleDeliver(ctx context.Context, d *smpp.Deliver) error {
	if d.IsReceipt {
		return h.receipt(ctx, d)
	}
	from, err := sms.ParseNumber("+" + d.Src)
	if err != nil {
		h.log.Warn("MO with invalid source address refused", "carrier", h.name)
		return sms.Errorf(sms.Invalid, "invalid_source", "invalid source address")
	}
	to, err := sms.ParseNumber("+" + d.Dst)
	if err != nil {
		h.log.Warn("MO with invalid destination address refused", "carrier", h.name)
		return sms.Errorf(sms.Invalid, "invalid_destination", "invalid destination address")
	}
	// d.ID is set when the text's parts were already answered with an id.
	m := &sms.Message{ID: sms.MessageID(d.ID), Direction: sms.Inbound, From: from, To: to, Body: d.Text, Carrier: h.name, Source: sms.SourceCarrier, Incomplete: d.Incomplete}
	// The employee holding the number now is recorded with the message. An
	// unknown or unassigned number is still accepted: the text is archived
	// and shown as undelivered, never dropped.
	if n, _, err := h.dir.Number(ctx, to); err == nil && n.State == directory.StateAssigned {
		m.EmployeeID = n.EmployeeID
	} else if err != nil && sms.KindOf(err) != sms.NotFound {
		return err // directory unavailable: let the SMSC retry
	}
	if err := h.ingress.Accept(ctx, m); err != nil {
		return err
	}
	d.ID = string(m.ID)
	h.log.Info("MO accepted", "id", m.ID, "carrier", h.name, "to", to.Redacted())
	return nil
}

func (h *carrierIn) receipt(ctx context.Context, d *smpp.Deliver) error {
	if d.Receipt == nil || d.Receipt.MessageID == "" {
		h.log.Warn("receipt without message id ignored", "carrier", h.name)
		return nil
	}
	r := receipt{Carrier: h.name, CarrierID: d.Receipt.MessageID, Stat: d.Receipt.Stat, Err: d.Receipt.Err, Done: d.Receipt.DoneDate, At: time.Now().UTC()}
	data, _ := json.Marshal(r)
	err := h.bus.Publish(ctx, bus.Out{Subject: bus.SubjReceipts, MsgID: "r." + carrierKey(h.name, r.CarrierID) + "." + kvSafe(r.Stat), Data: data})
	if err != nil {
		return sms.Wrap(sms.Unavailable, "unavailable", "receipt not persisted", err)
	}
	return nil
}

package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// Ingress is the one door into the pipeline: HTTP, our SMPP server and the
// carrier MO handler all call Accept, which returns only after JetStream
// has persisted the message (guarantee 1: accepted means durable).
type Ingress struct {
	bus   *bus.Bus
	codec *codec
	idem  *bus.KV
}

// Accept assigns an ID (if none) and the acceptance time, and persists the
// raw message on INGRESS together with its "accepted" event.
func (in *Ingress) Accept(ctx context.Context, m *sms.Message) error {
	if m.ID == "" {
		m.ID = sms.NewMessageID()
	}
	if m.AcceptedAt.IsZero() {
		m.AcceptedAt = time.Now().UTC()
	}
	data, err := in.codec.encodeIngress(m)
	if err != nil {
		return sms.Wrap(sms.Internal, "internal", "could not encode the message", err)
	}
	subj := bus.SubjIngressOutbound
	if m.Direction == sms.Inbound {
		subj = bus.SubjIngressInbound
	}
	ev := event(m.ID, sms.StatusAccepted, "")
	ev.At = m.AcceptedAt
	errs := in.bus.PublishBatch(ctx, []bus.Out{
		{Subject: subj, MsgID: string(m.ID), Data: data},
		eventOut(ev),
	})
	if errs[0] != nil {
		return sms.Wrap(sms.Unavailable, "unavailable", "the message could not be persisted; retry", errs[0])
	}
	return nil
}

type idemRecord struct {
	ID          sms.MessageID `json:"id"`
	RequestHash string        `json:"request_hash"`
	Accepted    bool          `json:"accepted"`
}

// AcceptOnce is Accept with an idempotency key: the same scope and key
// always yield the same message and at most one send. A reused key with a
// different request is a Conflict (idempotency_key_reused). It reports
// whether the message had been accepted before.
//
// The key is claimed (KV create) before publishing. A retry that finds the
// claim not yet marked accepted (the first attempt died or is in flight)
// publishes again with the same message ID, which JetStream de-duplicates,
// so a crash between claim and publish never loses the message and a
// crash after publish never sends it twice.
func (in *Ingress) AcceptOnce(ctx context.Context, m *sms.Message, scope, key string, request []byte) (bool, error) {
	kh := sha256.Sum256([]byte(key))
	rh := sha256.Sum256(request)
	kvKey := scope + "." + hex.EncodeToString(kh[:16])
	rec := idemRecord{ID: sms.NewMessageID(), RequestHash: hex.EncodeToString(rh[:])}
	data, _ := json.Marshal(rec)
	rev, err := in.idem.Create(ctx, kvKey, data)
	if sms.KindOf(err) == sms.Conflict {
		e, gerr := in.idem.Get(ctx, kvKey)
		if gerr != nil {
			return false, gerr
		}
		var prev idemRecord
		if err := json.Unmarshal(e.Value, &prev); err != nil {
			return false, sms.Wrap(sms.Internal, "internal", "corrupt idempotency record", err)
		}
		if prev.RequestHash != rec.RequestHash {
			return false, sms.Errorf(sms.Conflict, "idempotency_key_reused", "this Idempotency-Key was used with a different request")
		}
		m.ID = prev.ID
		if prev.Accepted {
			return true, nil
		}
		rec, rev = prev, e.Revision
	} else if err != nil {
		return false, err
	} else {
		m.ID = rec.ID
	}
	if err := in.Accept(ctx, m); err != nil {
		return false, err
	}
	rec.Accepted = true
	data, _ = json.Marshal(rec)
	// Best effort: if this fails a retry republishes under the same ID and
	// JetStream drops the duplicate.
	_, _ = in.idem.Update(ctx, kvKey, data, rev)
	return false, nil
}

package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strconv"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/smsgw/smsgw/directory"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/sms"
)

// Ingress is the one door into the pipeline: HTTP, our SMPP server and the
// carrier MO handler all call Accept, which returns only after JetStream
// has persisted the message (guarantee 1: accepted means durable).
type Ingress struct {
	bus   *bus.Bus
	codec *Codec
	idem  *bus.KV
	// dir routes inbound texts and refuses texts to opted-out recipients
	// (nil: neither, for tests of the bare pipeline).
	dir *directory.Directory
	log *slog.Logger
}

// NewIngress returns the door into the pipeline on b: raw bodies sealed
// with codec, idempotency records in idem, inbound texts routed and
// opt-outs checked with dir (nil: neither).
func NewIngress(b *bus.Bus, codec *Codec, idem *bus.KV, dir *directory.Directory, log *slog.Logger) *Ingress {
	return &Ingress{bus: b, codec: codec, idem: idem, dir: dir, log: log}
}

// Codec is how this ingress seals raw bodies.
func (in *Ingress) Codec() *Codec { return in.codec }

// Accept assigns an ID (if none) and the acceptance time, and persists the
// raw message on INGRESS together with its "accepted" event.
//
// An outbound text to a recipient who opted out (STOP) is refused with
// sms.OptedOut (code recipient_opted_out) and a "refused" event. An
// inbound text is routed first (directory.Directory.RouteInbound: holder,
// agent, queue, menu or held — never refused) and, once it is persisted,
// the auto-replies the routing asked for are accepted as outbound texts
// from the business number, through the whole
func (in *Ingress) Accept(ctx context.Context, m *sms.Message) error {
	return in.accept(ctx, m, true)
}

func (in *Ingress) accept(ctx context.Context, m *sms.Message, checkOptOut bool) error {
	if m.ID == "" {
		m.ID = sms.NewMessageID()
	}
	if m.AcceptedAt.IsZero() {
		m.AcceptedAt = time.Now().UTC()
	}
	var dec directory.Decision
	if in.dir != nil {
		switch m.Direction {
		case sms.Outbound:
			if checkOptOut {
				if err := in.checkOptOut(ctx, m); err != nil {
					return err
				}
			}
		case sms.Inbound:
			var err error
			if dec, err = in.dir.RouteInbound(ctx, m); err != nil {
				if sms.KindOf(err) == sms.Unavailable {
					return sms.Wrap(sms.Unavailable, "unavailable", "the message could not be routed; retry", err)
				}
				// Never lose a text over a routing problem: keep it for admins.
				in.log.Warn("routing failed; text held", "id", m.ID, "code", sms.CodeOf(err), "err", err)
				dec = directory.Decision{Route: directory.RouteHeld}
			}
			m.EmployeeID, m.Route, m.Queue = dec.EmployeeID, dec.Route, dec.Queue
		}
	}
	data, err := in.codec.EncodeIngress(m)
	if err != nil {
		return sms.Wrap(sms.Internal, "internal", "could not encode the message", err)
	}
	subj := bus.SubjIngressOutbound
	if m.Direction == sms.Inbound {
		subj = bus.SubjIngressInbound
	}
	ev := Event(m.ID, sms.StatusAccepted, "")
	ev.At = m.AcceptedAt
	errs := in.bus.PublishBatch(ctx, []bus.Out{
		{Subject: subj, MsgID: string(m.ID), Data: data},
		EventOut(ev),
	})
	if errs[0] != nil {
		return sms.Wrap(sms.Unavailable, "unavailable", "the message could not be persisted; retry", errs[0])
	}
	in.sendReplies(ctx, m, dec.Replies)
	return nil
}

// checkOptOut refuses an outbound text to a recipient who opted out of
// texts from its sender.
func (in *Ingress) checkOptOut(ctx context.Context, m *sms.Message) error {
	out, err := in.dir.OptedOut(ctx, m.To, m.From)
	if err != nil {
		return sms.Wrap(sms.Unavailable, "unavailable", "the opt-out list could not be read; retry", err)
	}
	if !out {
		return nil
	}
	ev := Event(m.ID, sms.StatusRefused, "recipient_opted_out")
	ev.Actor = m.EmployeeID
	if err := in.bus.Publish(ctx, EventOut(ev)); err != nil {
		in.log.Warn("publishing refused event failed", "id", m.ID, "err", err)
	}
	in.log.Info("refused: recipient opted out", "id", m.ID, "from", m.From.Redacted())
	return sms.Errorf(sms.OptedOut, "recipient_opted_out", "the recipient opted out of texts from this number (they replied STOP); they must text START to opt back in")
}

// sendReplies accepts the auto-replies to inbound text m. Each reply's id
// is derived from m's, so a text accepted again under the same id (a
// carrier retry) does not answer twice: JetStream drops the duplicate.
// Replies other than the opt-out confirmation and HELP are not sent to an
// opted-out customer. A reply that cannot be accepted is logged; the
// inbound text is already safe.
func (in *Ingress) sendReplies(ctx context.Context, m *sms.Message, rs []directory.Reply) {
	for i, r := range rs {
		// The reply records the employee the text went to (the number's
		// holder or the conversation's agent), like any message from the number.
		rm := &sms.Message{ID: replyID(m.ID, i), Direction: sms.Outbound, From: r.From, To: r.To, Body: r.Body,
			EmployeeID: m.EmployeeID, Carrier: r.Carrier, Source: sms.SourceAuto, Route: r.Kind}
		err := in.accept(ctx, rm, !r.Always)
		switch {
		case err == nil:
			in.log.Debug("auto-reply accepted", "id", rm.ID, "in_reply_to", m.ID, "kind", r.Kind)
		case sms.KindOf(err) == sms.OptedOut:
		default:
			in.log.Warn("auto-reply not accepted", "in_reply_to", m.ID, "kind", r.Kind, "err", err)
		}
	}
}

// replyID derives the id of the i-th auto-reply to message id: same time,
// entropy from a hash of both.
func replyID(id sms.MessageID, i int) sms.MessageID {
	u, err := ulid.ParseStrict(string(id))
	if err != nil {
		return sms.NewMessageID()
	}
	h := sha256.Sum256([]byte(string(id) + ".reply." + strconv.Itoa(i)))
	var out ulid.ULID
	copy(out[:6], u[:6])
	copy(out[6:], h[:10])
	return sms.MessageID(out.String())
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

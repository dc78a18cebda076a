package app

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/smsgw/smsgw/gateway/smppserver"
	"github.com/smsgw/smsgw/internal/bus"
	"github.com/smsgw/smsgw/pipeline"
	"github.com/smsgw/smsgw/sms"
)

// kvParts is the SMPP server's PartStore on the smpp_parts KV bucket. A
// group's meta is under "<group>", its parts under "<group>.<seq>", each
// part an ingress-encoded message (sealed with pipeline.ingress_key when
// set) so raw text is protected at rest like INGRESS. Dropping a group
// erases its messages from the bucket's stream (SecureDelete), so the raw
// parts do not linger in JetStream's block files.
type kvParts struct {
	bus   *bus.Bus
	kv    *bus.KV
	codec *pipeline.Codec
}

var _ smppserver.PartStore = (*kvParts)(nil)

func (p *kvParts) Group(ctx context.Context, key string, meta smppserver.PartGroup) (smppserver.PartGroup, error) {
	data, _ := json.Marshal(meta)
	_, err := p.kv.Create(ctx, key, data)
	if err == nil {
		return meta, nil
	}
	if sms.KindOf(err) != sms.Conflict {
		return meta, err
	}
	e, err := p.kv.Get(ctx, key)
	if err != nil {
		return meta, err
	}
	var got smppserver.PartGroup
	if err := json.Unmarshal(e.Value, &got); err != nil {
		return meta, sms.Wrap(sms.Internal, "internal", "corrupt part group", err)
	}
	return got, nil
}

func (p *kvParts) Put(ctx context.Context, key string, seq int, id sms.MessageID, text string) error {
	data, err := p.codec.EncodeIngress(&sms.Message{ID: id, Body: text})
	if err != nil {
		return err
	}
	if _, err := p.kv.Create(ctx, key+"."+strconv.Itoa(seq), data); err != nil && sms.KindOf(err) != sms.Conflict {
		return err // a Conflict is a duplicate part: the first copy stands
	}
	return nil
}

func (p *kvParts) Parts(ctx context.Context, key string, id sms.MessageID) (map[int]string, error) {
	keys, err := p.kv.Keys(ctx)
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, key+".")
		if !ok {
			continue
		}
		seq, err := strconv.Atoi(rest)
		if err != nil {
			continue
		}
		e, err := p.kv.Get(ctx, k)
		if sms.KindOf(err) == sms.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		m, err := p.codec.DecodeIngress(e.Value)
		if err != nil {
			return nil, err
		}
		if m.ID != id {
			continue // a stale part of an earlier group with the same key
		}
		out[seq] = m.Body
	}
	return out, nil
}

func (p *kvParts) Groups(ctx context.Context) (map[string]smppserver.PartGroup, error) {
	keys, err := p.kv.Keys(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]smppserver.PartGroup{}
	for _, k := range keys {
		if strings.Contains(k, ".") {
			continue
		}
		e, err := p.kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var g smppserver.PartGroup
		if json.Unmarshal(e.Value, &g) == nil {
			out[k] = g
		}
	}
	return out, nil
}

func (p *kvParts) Drop(ctx context.Context, key string) error {
	keys, err := p.kv.Keys(ctx)
	if err != nil {
		return err
	}
	var seqs []uint64
	for _, k := range keys {
		if k != key && !strings.HasPrefix(k, key+".") {
			continue
		}
		if e, err := p.kv.Get(ctx, k); err == nil {
			seqs = append(seqs, e.Revision)
		}
	}
	return errors.Join(p.bus.SecureDelete(ctx, "KV_"+bus.BucketSMPPParts, seqs)...)
}

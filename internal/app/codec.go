package app

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/smsgw/smsgw/sms"
)

// ingressEnvelope is what INGRESS holds. When a key is configured the raw
// body is sealed with AES-256-GCM (the message ID is the additional data,
// so a body cannot be moved to another message) and Body is empty.
type ingressEnvelope struct {
	sms.Message
	Sealed []byte `json:"sealed,omitempty"`
}

type codec struct {
	aead cipher.AEAD // nil: no encryption
}

func newCodec(b64key string) (*codec, error) {
	if b64key == "" {
		return &codec{}, nil
	}
	key, err := base64.StdEncoding.DecodeString(b64key)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("pipeline.ingress_key must be 32 bytes, base64")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating ingress cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating ingress cipher: %w", err)
	}
	return &codec{aead: aead}, nil
}

func (c *codec) encodeIngress(m *sms.Message) ([]byte, error) {
	env := ingressEnvelope{Message: *m}
	if c.aead != nil {
		nonce := make([]byte, c.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("sealing %s: %w", m.ID, err)
		}
		env.Sealed = c.aead.Seal(nonce, nonce, []byte(m.Body), []byte(m.ID))
		env.Body = ""
	}
	return json.Marshal(env)
}

func (c *codec) decodeIngress(data []byte) (*sms.Message, error) {
	var env ingressEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("decoding ingress message: %w", err)
	}
	m := env.Message
	if env.Sealed != nil {
		if c.aead == nil {
			return &m, fmt.Errorf("opening %s: message is sealed but no pipeline.ingress_key is configured", m.ID)
		}
		ns := c.aead.NonceSize()
		if len(env.Sealed) < ns {
			return &m, fmt.Errorf("opening %s: sealed body too short", m.ID)
		}
		body, err := c.aead.Open(nil, env.Sealed[:ns], env.Sealed[ns:], []byte(m.ID))
		if err != nil {
			return &m, fmt.Errorf("opening %s: %w", m.ID, err)
		}
		m.Body = string(body)
	}
	return &m, nil
}

func decodeMessage(data []byte) (*sms.Message, error) {
	var m sms.Message
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decoding message: %w", err)
	}
	return &m, nil
}

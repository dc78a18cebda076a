package pipeline

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

// Codec seals raw bodies on INGRESS (and the SMPP server's stored parts)
// with AES-256-GCM when a key is configured.
type Codec struct {
	aead cipher.AEAD // nil: no encryption
}

// NewCodec takes the base64 pipeline.ingress_key ("" for none).
func NewCodec(b64key string) (*Codec, error) {
	if b64key == "" {
		return &Codec{}, nil
	}
	key, err := base64.StdEncoding.DecodeString(b64key)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("ingress_key must be 32 bytes, base64")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("creating ingress cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating ingress cipher: %w", err)
	}
	return &Codec{aead: aead}, nil
}

func (c *Codec) EncodeIngress(m *sms.Message) ([]byte, error) {
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

func (c *Codec) DecodeIngress(data []byte) (*sms.Message, error) {
	var env ingressEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("decoding ingress message: %w", err)
	}
	m := env.Message
	if env.Sealed != nil {
		if c.aead == nil {
			return &m, fmt.Errorf("opening %s: message is sealed but no ingress_key is configured", m.ID)
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

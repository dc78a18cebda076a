package corpus

import (
	"math/rand/v2"
	"strings"
)

// Span is one labelled value of a message.
type Span struct {
	Kind   string `json:"kind"`   // entity ("card") or look-alike ("usps")
	Format string `json:"format"` // how it is written ("dashes", "fullwidth", ...)
	Start  int    `json:"start"`  // byte offsets into Text
	End    int    `json:"end"`
}

// Message is one labelled text.
type Message struct {
	Text string `json:"text"`
	// Secrets must be masked.
	Secrets []Span `json:"secrets,omitempty"`
	// Flags must be reported (a finding over the span) and left alone.
	Flags []Span `json:"flags,omitempty"`
	// LookAlikes must be left alone.
	LookAlikes []Span `json:"lookalikes,omitempty"`
}

// Split is a card number split across two consecutive messages of one
// conversation. Second's Secrets hold the part that must be masked there.
type Split struct {
	First, Second Message
}

// Generate returns n messages for seed.
func Generate(seed uint64, n int) []Message {
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
	out := make([]Message, 0, n)
	for len(out) < n {
		b := &builder{}
		g.message(b)
		out = append(out, b.m)
	}
	return out
}

// GenerateSplits returns n split card numbers for seed.
func GenerateSplits(seed uint64, n int) []Split {
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed^0x5b1))}
	out := make([]Split, 0, n)
	for len(out) < n {
		pan := g.card()
		cut := 4 + g.rng.IntN(len(pan)-7) // both parts keep at least 4 digits
		if g.rng.IntN(2) == 0 {
			cut = []int{4, 8, 12}[g.rng.IntN(3)]
		}
		first, second := &builder{}, &builder{}
		first.s(g.pick("my card is ", "card: ", "its ", "ok the number is ", ""))
		first.s(group4(pan[:cut], g.pick(" ", "-", "")))
		first.s(g.pick("", "...", " ", " -"))
		second.s(g.pick("", " ", "..."))
		second.secret("card_split", "second part", group4(pan[cut:], g.pick(" ", "-", "")))
		second.s(g.pick("", " thanks", " exp soon", ". got it?"))
		out = append(out, Split{First: first.m, Second: second.m})
	}
	return out
}

// builder assembles a message, recording spans.
type builder struct {
	b strings.Builder
	m Message
}

func (b *builder) s(t string) { b.b.WriteString(t); b.m.Text = b.b.String() }

func (b *builder) add(list *[]Span, kind, format, v string) {
	start := b.b.Len()
	b.s(v)
	*list = append(*list, Span{Kind: kind, Format: format, Start: start, End: start + len(v)})
}

func (b *builder) secret(kind, format, v string) { b.add(&b.m.Secrets, kind, format, v) }
func (b *builder) flag(kind, format, v string)   { b.add(&b.m.Flags, kind, format, v) }
func (b *builder) alike(kind, format, v string)  { b.add(&b.m.LookAlikes, kind, format, v) }

type gen struct{ rng *rand.Rand }

func (g *gen) pick(s ...string) string { return s[g.rng.IntN(len(s))] }

func (g *gen) digits(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + g.rng.IntN(10)))
	}
	return b.String()
}

func (g *gen) upper(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('A' + g.rng.IntN(26)))
	}
	return b.String()
}

// message writes one message: a secret, a look-alike or a flagged value,
// sometimes two, between everyday words.
func (g *gen) message(b *builder) {
	items := 1 + g.rng.IntN(2)
	if g.rng.IntN(10) == 0 {
		b.s(g.pick("Hi! ", "hey, ", "Thanks. ", "OK so ", "Re your msg: ", "📞 "))
	}
	for k := 0; k < items; k++ {
		if k > 0 {
			b.s(g.pick(" Also ", ". ", "\n", " and ", " | ", " — "))
		}
		switch r := g.rng.IntN(100); {
		case r < 55:
			secrets[g.rng.IntN(len(secrets))].fn(g, b)
		case r < 92:
			lookAlikes[g.rng.IntN(len(lookAlikes))].fn(g, b)
		default:
			flags[g.rng.IntN(len(flags))].fn(g, b)
		}
	}
	if g.rng.IntN(4) == 0 {
		b.s(g.pick(" thanks", " ty!", ". Call me back", " 🙏", " — Sam", ".", "?"))
	}
}

type item struct {
	kind string
	fn   func(*gen, *builder)
}

// Kinds lists the kinds of secrets, flags and look-alikes the generator
// writes.
func Kinds() (secretKinds, flagKinds, lookAlikeKinds []string) {
	for _, s := range secrets {
		secretKinds = append(secretKinds, s.kind)
	}
	for _, s := range flags {
		flagKinds = append(flagKinds, s.kind)
	}
	for _, s := range lookAlikes {
		lookAlikeKinds = append(lookAlikeKinds, s.kind)
	}
	return
}

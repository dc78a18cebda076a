package corpus

import (
	"fmt"
	"strings"
)

// secrets write one secret each (a card may bring its expiry and code).
var secrets = []item{
	{"card", (*gen).cardMsg},
	{"card", (*gen).cardMsg},
	{"card", (*gen).cardMsg},
	{"card", (*gen).cardMsg},
	{"cvv", (*gen).cvvMsg},
	{"pin", (*gen).pinMsg},
	{"expiry", (*gen).expiryMsg},
	{"track", (*gen).trackMsg},
	{"ssn", (*gen).ssnMsg},
	{"ssn", (*gen).ssnMsg},
	{"itin", (*gen).itinMsg},
	{"iban", (*gen).ibanMsg},
	{"bank_account", (*gen).accountMsg},
	{"routing", (*gen).routingMsg},
	{"passport", (*gen).passportMsg},
	{"drivers_license", (*gen).licenseMsg},
	{"uk_nin", (*gen).ninoMsg},
	{"ca_sin", (*gen).sinMsg},
	{"dob", (*gen).dobMsg},
	{"password", (*gen).passwordMsg},
}

func (g *gen) cardMsg(b *builder) {
	pan := g.card()
	text, format := g.formatCard(pan)
	switch g.rng.IntN(14) {
	case 0: // glued to words: cardno4111...exp0927cvv123
		m, y := 1+g.rng.IntN(12), 25+g.rng.IntN(10)
		b.s(g.pick("cardno", "cc", "card#", "CARD"))
		b.secret("card", "glued", pan)
		b.s(g.pick("exp", "EXP", "Exp"))
		b.secret("expiry", "glued", fmt.Sprintf("%02d%02d", m, y))
		b.s(g.pick("cvv", "CVV", "cvc"))
		b.secret("cvv", "glued", g.digits(3))
		return
	case 1: // in a URL
		b.s(g.pick("https://pay.example.com/checkout?cc=", "http://shop.test/pay?card_number=", "https://x.co/p?n="))
		b.secret("card", "url", pan)
		if g.rng.IntN(2) == 0 {
			b.s("&exp=")
			m, y := 1+g.rng.IntN(12), 25+g.rng.IntN(10)
			b.secret("expiry", "url", fmt.Sprintf("%02d%02d", m, y))
			b.s("&cvv=")
			b.secret("cvv", "url", g.digits(3))
		}
		return
	case 2: // card, expiry and code next to each other
		b.s(g.pick("", "here: ", "card ", "use "))
		b.secret("card", format, text)
		b.s(g.pick(" ", " ", "  ", ", "))
		e, ef := g.expiry()
		b.secret("expiry", "next to card "+ef, e)
		b.s(g.pick(" ", " ", ", "))
		b.secret("cvv", "next to card", g.digits(3+g.rng.IntN(2)))
		return
	case 3: // glued to its expiry date
		b.s(g.pick("", "num ", "card "))
		b.secret("card", "glued expiry", pan)
		m, y := 1+g.rng.IntN(12), 25+g.rng.IntN(10)
		b.secret("expiry", "glued", fmt.Sprintf("%02d%02d", m, y))
		return
	case 4: // a number next to it
		b.s(fmt.Sprintf("qty %d ", 1+g.rng.IntN(9)))
		b.secret("card", format, text)
		return
	}
	pre, post := g.cardContext()
	b.s(pre)
	b.secret("card", format, text)
	b.s(post)
	if g.rng.IntN(3) == 0 {
		e, ef := g.expiry()
		b.s(g.pick(" exp ", " exp: ", " expiry ", " valid thru ", " EXP "))
		b.secret("expiry", "after exp "+ef, e)
		if g.rng.IntN(2) == 0 {
			b.s(g.pick(" cvv ", " CVV: ", " cvc ", " security code "))
			b.secret("cvv", "after cvv", g.digits(3))
		}
	}
}

func (g *gen) cardContext() (string, string) {
	pres := []string{"", "my card is ", "card: ", "Card number ", "pay with ", "charge it to ", "use my visa ",
		"ok its ", "über 💳 ", "here you go: ", "the number is ", "cc# ", "CARD ", "new card ", "my debit card number is ",
		"Can you run ", "try this one "}
	posts := []string{"", " thanks", ".", " please", " ✓", " ok?", "\nthanks!", " for the order", ", name on card J Smith", " 👍"}
	return pres[g.rng.IntN(len(pres))], posts[g.rng.IntN(len(posts))]
}

func (g *gen) cvvMsg(b *builder) {
	b.s(g.pick("cvv ", "CVV: ", "cvc ", "CVV2: ", "security code ", "the security code is ", "sec code ", "CVC=", "cvv is "))
	b.secret("cvv", "after context", g.digits(3+g.rng.IntN(4)/3))
	b.s(g.pick("", " thanks", ".", " (back of card)"))
}

func (g *gen) pinMsg(b *builder) {
	b.s(g.pick("PIN ", "pin: ", "my pin is ", "PIN code ", "the PIN is ", "new pin "))
	b.secret("pin", "after context", g.digits(4+g.rng.IntN(3)))
	b.s(g.pick("", " dont share", ".", " thx"))
}

func (g *gen) expiryMsg(b *builder) {
	e, ef := g.expiry()
	if g.rng.IntN(3) == 0 {
		b.s(g.pick("my card ", "visa card ", "the card "))
		b.s(g.pick("expires ", "expiration ", "valid until "))
	} else {
		b.s(g.pick("exp ", "exp: ", "Exp date ", "expiry ", "valid thru ", "EXP ", "good thru ", "expiry date: "))
	}
	b.secret("expiry", ef, e)
	b.s(g.pick("", " ok", "."))
}

func (g *gen) trackMsg(b *builder) {
	pan := g.card()
	y, m := 25+g.rng.IntN(10), 1+g.rng.IntN(12)
	disc := g.digits(3) + g.digits(8+g.rng.IntN(8))
	if g.rng.IntN(2) == 0 {
		name := g.pick("DOE/JOHN", "SMITH/JANE A", "MULLER/HANS", "LEE/K")
		b.s(g.pick("", "swipe: ", "track1 "))
		b.secret("track", "track 1", fmt.Sprintf("%%B%s^%s^%02d%02d%s?", pan, name, y, m, disc))
		return
	}
	sep := g.pick("=", "=", "D")
	b.s(g.pick("", "track2: ", "raw: "))
	b.secret("track", "track 2 "+sep, fmt.Sprintf(";%s%s%02d%02d%s?", pan, sep, y, m, disc))
}

func (g *gen) ssnMsg(b *builder) {
	a, gr, s := g.ssn()
	switch g.rng.IntN(8) {
	case 0, 1:
		b.s(g.pick("", "ssn ", "SSN: ", "my ss# is ", "Social: "))
		b.secret("ssn", "dashes", a+"-"+gr+"-"+s)
	case 2:
		b.s(g.pick("ssn ", "SSN ", "social security number "))
		b.secret("ssn", "spaces", a+" "+gr+" "+s)
	case 3:
		b.s(g.pick("ssn: ", "SSN ", "my social is ", "social security # ", "soc sec no "))
		b.secret("ssn", "bare", a+gr+s)
	case 4:
		b.s(g.pick("", "ssn "))
		b.secret("ssn", "dots", a+"."+gr+"."+s)
	case 5:
		b.s("SSN ")
		b.secret("ssn", "en dashes", a+"\u2013"+gr+"\u2013"+s)
	case 6:
		b.s("ssn ")
		sc := scripts[g.rng.IntN(len(scripts))]
		b.secret("ssn", sc.name, inScript(a+"-"+gr+"-"+s, sc.zero))
	default:
		b.s(g.pick("SSN", "ssn#"))
		b.secret("ssn", "glued", a+"-"+gr+"-"+s)
	}
	b.s(g.pick("", " thanks", ", dob on file", "."))
}

func (g *gen) itinMsg(b *builder) {
	a, gr, s := g.itin()
	switch g.rng.IntN(3) {
	case 0:
		b.s(g.pick("", "ITIN ", "itin: "))
		b.secret("itin", "dashes", a+"-"+gr+"-"+s)
	case 1:
		b.s(g.pick("ITIN ", "my itin is ", "TIN: ", "taxpayer id "))
		b.secret("itin", "bare", a+gr+s)
	default:
		b.s(g.pick("ITIN ", "tin "))
		b.secret("itin", "spaces", a+" "+gr+" "+s)
	}
}

func (g *gen) ibanMsg(b *builder) {
	iban := g.iban()
	text, format := iban, "compact"
	switch g.rng.IntN(4) {
	case 0, 1:
		text, format = group4(iban, " "), "fours"
	case 2:
		text, format = strings.ToLower(group4(iban, " ")), "lower fours"
	}
	b.s(g.pick("", "IBAN ", "iban: ", "send it to ", "Bankverbindung: ", "wire to "))
	b.secret("iban", format, text)
	b.s(g.pick("", " thanks", ".", " (EUR)"))
}

func (g *gen) accountMsg(b *builder) {
	d := g.digits(6 + g.rng.IntN(12))
	text, format := d, "compact"
	if g.rng.IntN(4) == 0 && len(d) >= 8 {
		text, format = groupBy(d, g.pick(" ", "-"), 4), "grouped"
	}
	b.s(g.pick("account number ", "acct# ", "acct no. ", "checking acct ", "account: ", "bank account ", "savings account number is ", "Acct ", "acc no "))
	b.secret("bank_account", format, text)
	b.s(g.pick("", " thanks", ".", " at chase"))
}

func (g *gen) routingMsg(b *builder) {
	switch g.rng.IntN(3) {
	case 0, 1:
		b.s(g.pick("routing ", "routing number ", "ABA: ", "RTN ", "routing # ", "aba routing "))
		b.secret("routing", "aba", g.aba())
	default:
		d := g.digits(6)
		b.s(g.pick("sort code ", "Sort code: ", "BSB "))
		b.secret("routing", "sort code", d[:2]+"-"+d[2:4]+"-"+d[4:])
	}
	b.s(g.pick("", " acct to follow", "."))
}

func (g *gen) passportMsg(b *builder) {
	var v, f string
	switch g.rng.IntN(4) {
	case 0:
		v, f = g.digits(9), "9 digits"
	case 1:
		v, f = g.upper(1)+g.digits(8), "letter + 8"
	case 2:
		v, f = g.upper(2)+g.digits(7), "2 letters + 7"
	default:
		v, f = "C"+g.digits(2)+g.upper(1)+g.digits(2)+g.upper(1)+g.digits(2), "mixed"
	}
	b.s(g.pick("passport no. ", "passport number ", "Passport: ", "my passport # is ", "passport "))
	b.secret("passport", f, v)
	b.s(g.pick("", " exp 2031", ".", " thanks"))
}

func (g *gen) licenseMsg(b *builder) {
	var v, f string
	switch g.rng.IntN(4) {
	case 0:
		v, f = g.upper(1)+g.digits(7), "CA"
	case 1:
		v, f = g.upper(1)+g.digits(3)+"-"+g.digits(4)+"-"+g.digits(4), "FL"
	case 2:
		v, f = g.digits(3)+" "+g.digits(3)+" "+g.digits(3), "NY"
	default:
		v, f = g.upper(5)+g.digits(6)+g.upper(2)+g.digits(1)+g.upper(2), "UK"
	}
	b.s(g.pick("DL# ", "driver's license ", "drivers license number ", "driving licence ", "license no. ", "DL: ", "Driver License "))
	b.secret("drivers_license", f, v)
}

func (g *gen) ninoMsg(b *builder) {
	p, d, s := g.nino()
	switch g.rng.IntN(3) {
	case 0:
		b.s(g.pick("", "NI number ", "NINO "))
		b.secret("uk_nin", "compact", p+d+s)
	case 1:
		b.s(g.pick("", "NI no. ", "national insurance "))
		b.secret("uk_nin", "spaced", p+" "+d[:2]+" "+d[2:4]+" "+d[4:]+" "+s)
	default:
		b.s(g.pick("NI number ", "national insurance number "))
		b.secret("uk_nin", "lower", strings.ToLower(p+d+s))
	}
}

func (g *gen) sinMsg(b *builder) {
	s := g.sin()
	b.s(g.pick("SIN ", "my SIN is ", "social insurance number: ", "SIN# ", "S.I.N. "))
	if g.rng.IntN(2) == 0 {
		b.secret("ca_sin", "3-3-3", s[:3]+" "+s[3:6]+" "+s[6:])
	} else {
		b.secret("ca_sin", "bare", s)
	}
}

func (g *gen) dobMsg(b *builder) {
	d, f := g.date(1935, 2010)
	b.s(g.pick("DOB ", "dob: ", "date of birth ", "born ", "born on ", "birthday: ", "D.O.B. ", "Birth date: ", "my bday is "))
	b.secret("dob", f, d)
	b.s(g.pick("", ".", " thanks"))
}

func (g *gen) passwordMsg(b *builder) {
	pw := g.password()
	switch g.rng.IntN(7) {
	case 0:
		user := g.pick("jsmith", "maria.k", "admin", "tom_88")
		if g.rng.IntN(2) == 0 {
			b.s("login: ")
			b.secret("password", "login", user) // a credential too
		} else {
			b.s(g.pick("user: ", "username "))
			b.s(user)
		}
		b.s(g.pick(" pass: ", " pw: ", " / password: ", " pwd="))
	case 1:
		b.s(g.pick("the wifi password is ", "wifi password: ", "password for the portal: "))
	default:
		b.s(g.pick("password: ", "pwd=", "my password is ", "Password ", "passcode: ", "pw: ", "new password is ", "PASSWORD: "))
	}
	b.secret("password", "after context", pw)
	b.s(g.pick("", " ", " thanks", "\nlet me know"))
}

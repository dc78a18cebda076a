package corpus

import (
	"fmt"
	"strings"
)

// flags write a value that must be reported but left alone.
var flags = []item{
	{"email", func(g *gen, b *builder) {
		b.s(g.pick("mail me at ", "email: ", "send it to ", "cc ", ""))
		user := g.pick("john.doe", "maria", "sales+web", "t_nguyen", "ops-team", "k.schmidt")
		dom := g.pick("example.com", "mail.example.org", "corp.co.uk", "gmail.com", "firma.de")
		b.flag("email", "plain", user+"@"+dom)
		b.s(g.pick("", " thanks", "."))
	}},
	{"phone", func(g *gen, b *builder) {
		b.s(g.pick("call me at ", "my cell is ", "text ", "reach me on ", "", "Tel: "))
		var v, f string
		switch g.rng.IntN(6) {
		case 0:
			v, f = "+1 "+fmt.Sprint(2+g.rng.IntN(8))+g.digits(2)+" "+fmt.Sprint(2+g.rng.IntN(8))+g.digits(2)+" "+g.digits(4), "+1 spaced"
		case 1:
			v, f = "("+fmt.Sprint(2+g.rng.IntN(8))+g.digits(2)+") "+fmt.Sprint(2+g.rng.IntN(8))+g.digits(2)+"-"+g.digits(4), "(NPA) NXX-XXXX"
		case 2:
			v, f = "+44 20 "+g.digits(4)+" "+g.digits(4), "+44"
		case 3:
			v, f = "+49 151 "+g.digits(8), "+49"
		case 4:
			v, f = "020 "+g.digits(4)+" "+g.digits(4), "UK national"
		default:
			v, f = fmt.Sprint(2+g.rng.IntN(8))+g.digits(2)+"-"+fmt.Sprint(2+g.rng.IntN(8))+g.digits(2)+"-"+g.digits(4), "NPA-NXX-XXXX"
		}
		b.flag("phone", f, v)
		b.s(g.pick("", " after 5", ".", " thx"))
	}},
}

// lookAlikes write a value that looks sensitive and is not.
var lookAlikes = []item{
	{"ups", func(g *gen, b *builder) {
		b.s(g.pick("tracking ", "UPS ", "Your package ", "ups tracking: "))
		b.alike("ups", "1Z", "1Z"+g.upper(3)+g.digits(3)+g.digits(10))
		b.s(g.pick("", " arrives Tue", "."))
	}},
	{"usps", func(g *gen, b *builder) {
		d := g.pick("9400", "9205", "9361", "9407", "9303", "9270") + g.digits(16+g.rng.IntN(3))
		if len(d) > 22 {
			d = d[:22]
		}
		text, f := d, "compact"
		if g.rng.IntN(2) == 0 {
			text, f = group4(d, " "), "fours"
		}
		b.s(g.pick("USPS tracking ", "tracking # ", "Tracking: ", "usps ", "Your parcel "))
		b.alike("usps", f, text)
	}},
	{"fedex", func(g *gen, b *builder) {
		var d string
		switch g.rng.IntN(3) {
		case 0, 1:
			d = g.digits(12)
		default:
			d = g.digits(15)
		}
		text, f := d, "compact"
		if len(d) == 12 && g.rng.IntN(2) == 0 {
			text, f = group4(d, " "), "fours"
		}
		b.s(g.pick("FedEx tracking ", "FedEx ", "fedex # ", "Tracking number: ", "tracking no. "))
		b.alike("fedex", f, text)
	}},
	{"order", func(g *gen, b *builder) {
		n := []int{8, 10, 12, 14, 16, 16, 16, 19}[g.rng.IntN(8)]
		var d string
		for {
			d = fmt.Sprint(1+g.rng.IntN(9)) + g.digits(n-1)
			if !IsCard(d) {
				break
			}
		}
		text, f := d, "compact"
		if n == 16 && g.rng.IntN(2) == 0 {
			text, f = group4(d, g.pick(" ", "-")), "fours"
		}
		b.s(g.pick("order #", "Order ", "invoice ", "ref ", "confirmation number ", "Reference: ", "PO ", "case #", "ticket "))
		b.alike("order", f, text)
		b.s(g.pick("", " shipped", " is ready", "."))
	}},
	{"otp", func(g *gen, b *builder) {
		c := g.digits([]int{4, 6, 6, 6, 8}[g.rng.IntN(5)])
		switch g.rng.IntN(6) {
		case 0:
			b.s("Your code is ")
			b.alike("otp", "code is", c)
		case 1:
			b.alike("otp", "is your code", c)
			b.s(" is your verification code")
		case 2:
			b.s("G-")
			b.alike("otp", "google", c)
			b.s(" is your Google verification code.")
		case 3:
			b.s("Your one-time passcode is ")
			b.alike("otp", "one-time passcode", c)
		case 4:
			b.s("OTP: ")
			b.alike("otp", "OTP:", c)
			b.s(". Do not share it.")
		default:
			b.s("Use ")
			b.alike("otp", "use", c)
			b.s(" to log in. Expires in 10 minutes")
		}
	}},
	{"amount", func(g *gen, b *builder) {
		var v string
		switch g.rng.IntN(4) {
		case 0:
			v = fmt.Sprintf("$%d,%03d.%02d", 1+g.rng.IntN(999), g.rng.IntN(1000), g.rng.IntN(100))
		case 1:
			v = fmt.Sprintf("€%d.%03d,%02d", 1+g.rng.IntN(999), g.rng.IntN(1000), g.rng.IntN(100))
		case 2:
			v = fmt.Sprintf("USD %d%06d.%02d", 1+g.rng.IntN(99), g.rng.IntN(1000000), g.rng.IntN(100))
		default:
			v = fmt.Sprintf("$%d,%03d,%03d.%02d", 1+g.rng.IntN(99), g.rng.IntN(1000), g.rng.IntN(1000), g.rng.IntN(100))
		}
		b.s(g.pick("total ", "you owe ", "balance ", "account balance: ", "paid ", "refund of "))
		b.alike("amount", "money", v)
	}},
	{"date", func(g *gen, b *builder) {
		switch g.rng.IntN(5) {
		case 0:
			d, f := g.date(2024, 2027)
			b.s(g.pick("see you on ", "due ", "appointment on ", "delivered ", "meeting "))
			b.alike("date", f, d)
		case 1:
			d1, _ := g.date(2026, 2026)
			d2, _ := g.date(2026, 2026)
			b.s("stay ")
			b.alike("date", "range", d1+" - "+d2)
		case 2:
			b.s("at ")
			b.alike("date", "time", fmt.Sprintf("%02d:%02d", g.rng.IntN(24), g.rng.IntN(60)))
			b.s(" on ")
			b.alike("date", "M/D", fmt.Sprintf("%d/%d", 1+g.rng.IntN(12), 1+g.rng.IntN(28)))
		case 3:
			b.s(g.pick("birthday party on ", "bday drinks "))
			b.alike("date", "birthday no year", fmt.Sprintf("%d/%d", 1+g.rng.IntN(12), 1+g.rng.IntN(28)))
			b.s(" at ")
			b.alike("date", "time", fmt.Sprintf("%dpm", 1+g.rng.IntN(11)))
		default:
			d, f := g.date(2020, 2030)
			b.s(g.pick("offer ends ", "valid from ", "your plan renews ", "shipped "))
			b.alike("date", f, d)
		}
	}},
	{"imei", func(g *gen, b *builder) {
		s := g.pick("35", "86", "01", "49") + g.digits(12)
		s += string(luhnDigit(s))
		text, f := s, "compact"
		if g.rng.IntN(2) == 0 {
			text, f = s[:2]+"-"+s[2:8]+"-"+s[8:14]+"-"+s[14:], "dashed"
		}
		b.s(g.pick("IMEI: ", "imei ", "device IMEI ", "IMEI number "))
		b.alike("imei", f, text)
	}},
	{"iccid", func(g *gen, b *builder) {
		s := "89" + g.pick("01", "44", "49", "33") + g.digits(14)
		s += string(luhnDigit(s))
		b.s(g.pick("SIM ICCID ", "iccid: ", "SIM card number "))
		b.alike("iccid", "compact", s)
	}},
	{"isbn", func(g *gen, b *builder) {
		s := g.pick("978", "979") + g.digits(9)
		sum := 0
		for i := range 12 {
			w := 1
			if i%2 == 1 {
				w = 3
			}
			sum += int(s[i]-'0') * w
		}
		s += string(byte('0' + (10-sum%10)%10))
		text, f := s, "compact"
		if g.rng.IntN(2) == 0 {
			text, f = s[:3]+"-"+s[3:4]+"-"+s[4:7]+"-"+s[7:12]+"-"+s[12:], "dashed"
		}
		b.s(g.pick("ISBN ", "isbn: ", "ISBN-13 "))
		b.alike("isbn", f, text)
	}},
	{"epoch", func(g *gen, b *builder) {
		s := "17" + g.digits(8)
		f := "seconds"
		if g.rng.IntN(2) == 0 {
			s += g.digits(3)
			f = "millis"
		}
		b.s(g.pick("ts ", "timestamp ", "at ", "id "))
		b.alike("epoch", f, s)
	}},
	{"masked", func(g *gen, b *builder) {
		d := g.digits(4)
		switch g.rng.IntN(4) {
		case 0:
			b.s("card ")
			b.alike("masked", "stars", "**** **** **** "+d)
		case 1:
			b.s(g.pick("card ending in ", "visa ending ", "acct ending in "))
			b.alike("masked", "ending", d)
		case 2:
			b.alike("masked", "xxxx", "xxxx-xxxx-xxxx-"+d)
		default:
			b.s("card ")
			b.alike("masked", "stars compact", "************"+d)
		}
	}},
	{"phone-like", func(g *gen, b *builder) {
		// Numbers that are phone numbers by shape but flagged only.
		b.s(g.pick("room ", "ext ", "unit ", "gate "))
		b.alike("phone-like", "short", g.digits(3+g.rng.IntN(3)))
	}},
	{"ssn-like", func(g *gen, b *builder) {
		switch g.rng.IntN(3) {
		case 0:
			b.s("part ")
			b.alike("ssn-like", "part number", g.digits(3)+"-"+g.digits(2)+"-"+g.digits(4)+g.pick("A", "B", "X"))
		case 1:
			b.s(g.pick("zip ", "ship to CA ", ""))
			b.alike("ssn-like", "zip+4", g.digits(5)+"-"+g.digits(4))
		default:
			b.s("ref ")
			b.alike("ssn-like", "9 digits", fmt.Sprint(1+g.rng.IntN(9))+g.digits(8))
		}
	}},
	{"iban-like", func(g *gen, b *builder) {
		iban := g.iban()
		// Break the check digits.
		c := (int(iban[2]-'0')*10 + int(iban[3]-'0') + 1 + g.rng.IntN(90)) % 100
		bad := fmt.Sprintf("%s%02d%s", iban[:2], c, iban[4:])
		if IBANValid(bad) {
			bad = iban[:2] + "00" + iban[4:]
		}
		b.s(g.pick("ref ", "code ", ""))
		b.alike("iban-like", "bad check digits", group4(bad, " "))
	}},
	{"words", func(g *gen, b *builder) {
		b.alike("words", "about passwords", g.pick(
			"your password has been reset",
			"forgot your password? tap the link",
			"password must be at least 8 characters",
			"I changed my password yesterday",
			"passport photo appointment at 10:30",
			"pin the location pls",
			"account balance is low",
			"the login page is down again",
			"my pin code is on the letter",
			"exp date is on the front",
			"born and raised in Ohio",
			"birthday party saturday!!",
			"one two three four go",
			"I have two kids and one dog",
			"security code sent to your phone",
			"DL of the file is ready",
		))
	}},
	{"ids", func(g *gen, b *builder) {
		switch g.rng.IntN(4) {
		case 0:
			b.s("booking ref ")
			b.alike("ids", "pnr", g.upper(3)+g.digits(3))
		case 1:
			b.s("PNR: ")
			b.alike("ids", "pnr", g.upper(1)+g.digits(1)+g.upper(2)+g.digits(1)+g.upper(1))
		case 2:
			b.s("order ")
			b.alike("ids", "so", "SO-"+fmt.Sprint(2020+g.rng.IntN(7))+"-"+g.digits(6))
		default:
			b.s("see ")
			b.alike("ids", "url", "https://example.com/p/"+strings.ToLower(g.upper(4))+"/"+g.digits(10))
		}
	}},
}

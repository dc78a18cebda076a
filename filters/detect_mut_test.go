package filters

import (
	"strings"
	"testing"

	"github.com/smsgw/smsgw/sms"
)

// This file holds behaviour cases found by mutation testing (issue 16):
// each one failed under a gremlins mutant that the rest of the suite let
// live. Expected outputs are written out by hand from the package
// documentation (a card keeps its last four digits, a code or date keeps
// nothing, flagged values are left alone); every card number they rely
// on is checked with mutLuhn below, an implementation independent of
// luhn.go, so a broken Luhn cannot make its own expectations.

// mutLuhn is the Luhn check written from its definition: from the right,
// double every second digit, subtract 9 from doubles over 9, sum, and
// test for a multiple of ten. Non-digits are ignored.
func mutLuhn(s string) bool {
	sum, n := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n > 0 && sum%10 == 0
}

func TestMutLuhnOracle(t *testing.T) {
	// Worked by hand: 4111111111111111 -> 8+1+2+1+2+1+2+1+2+1+2+1+2+1+2+1 = 30.
	for s, want := range map[string]bool{
		"4111111111111111": true, "4111111111111112": false,
		"79927398713": true, "79927398710": false, "": false,
		"4111 1111-1111.1111": true,
	} {
		if got := mutLuhn(s); got != want {
			t.Errorf("mutLuhn(%q) = %v, want %v", s, got, want)
		}
	}
}

type applyCase struct {
	name    string
	in      string
	out     string      // the whole redacted text
	verdict sms.Verdict // pass, redacted, blocked
	types   string      // finding types in order, space-separated
	cards   []string    // card numbers in the input (checked with mutLuhn)
	nonLuhn []string    // numbers in the input that are not Luhn-valid
	spans   []string    // if set: what each finding covers in the input
}

func runApplyCases(t *testing.T, c *Chain, cases []applyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, card := range tc.cards {
				if !mutLuhn(card) {
					t.Fatalf("bad expectation: %s is not Luhn-valid", card)
				}
			}
			for _, n := range tc.nonLuhn {
				if mutLuhn(n) {
					t.Fatalf("bad expectation: %s is Luhn-valid", n)
				}
			}
			if len(tc.out) != len(tc.in) {
				t.Fatalf("bad expectation: out has %d bytes, in %d", len(tc.out), len(tc.in))
			}
			got := c.Apply(tc.in)
			var types []string
			for _, f := range got.Findings {
				types = append(types, f.Type)
			}
			if got.Text != tc.out || got.Verdict != tc.verdict || strings.Join(types, " ") != tc.types {
				t.Errorf("Apply(%q)\n got %q %s [%s]\nwant %q %s [%s]", tc.in, got.Text, got.Verdict, strings.Join(types, " "), tc.out, tc.verdict, tc.types)
			}
			if tc.spans != nil {
				if sp := spans(tc.in, got.Findings); strings.Join(sp, "|") != strings.Join(tc.spans, "|") {
					t.Errorf("Apply(%q) findings cover %q, want %q", tc.in, sp, tc.spans)
				}
			}
		})
	}
}

// TestCardSegments: a line break or a dash between spaces starts a new
// segment of a digit run; a context word ("IMEI", "ICCID", "tracking")
// covers only the first segment, and a card in a later segment is found
// whatever the first one holds.
func TestCardSegments(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{
			name: "card on the line after an ICCID",
			in:   "SIM ICCID 8901174819351823061\n41696598 29214107 thanks",
			out:  "SIM ICCID 8901174819351823061\n******** ****4107 thanks",
			// 89... is an ICCID (telecom) prefix, no card brand.
			verdict: sms.VerdictRedacted, types: "card", cards: []string{"4169659829214107"},
		},
		{
			name:    "card on the line after a phone number",
			in:      "call me at +49 151 72860319\n53535-72530-201235",
			out:     "call me at +49 151 72860319\n*****-*****-**1235",
			verdict: sms.VerdictRedacted, types: "phone card", cards: []string{"5353572530201235"},
		},
		{
			name:    "Amex after an IMEI and a dash",
			in:      "Hi! IMEI: 860876724539038 — 3473 4209 6589 849 thanks",
			out:     "Hi! IMEI: 860876724539038 — **** **** ***9 849 thanks",
			verdict: sms.VerdictRedacted, types: "card", cards: []string{"347342096589849"},
		},
	})
}

// TestCardContextNumbers: a 12-15 digit number introduced as a tracking,
// IMEI or ICCID number is not a card even when it passes Luhn and a
// brand's prefix; 16 digits and more are not excused.
func TestCardContextNumbers(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{
			name: "FedEx 15 digits", in: "FedEx tracking 682153569902564 | ok",
			out: "FedEx tracking 682153569902564 | ok", verdict: sms.VerdictPass,
			cards: []string{"682153569902564"},
		},
		{
			name: "tracking number 15 digits after an email", in: "mail me at t_nguyen@corp.co.uk.. Tracking number: 682821462712534 — Sam",
			out: "mail me at t_nguyen@corp.co.uk.. Tracking number: 682821462712534 — Sam", verdict: sms.VerdictPass, types: "email",
			cards: []string{"682821462712534"},
		},
		{
			name: "FedEx then an account number", in: "FedEx 576576418855527\nAcct 659856867641 at chase.",
			out: "FedEx 576576418855527\nAcct ********7641 at chase.", verdict: sms.VerdictRedacted, types: "bank_account",
			cards: []string{"576576418855527"},
		},
		{
			name: "IMEI with a card-valid number glued to a date", in: "IMEI 3473420965898491227",
			out: "IMEI 3473420965898491227", verdict: sms.VerdictPass,
			cards: []string{"347342096589849"},
		},
		{
			name: "no context: the same glued card and date are masked", in: "num 3473420965898491227",
			out: "num ***********9849****", verdict: sms.VerdictRedacted, types: "card expiry",
			cards: []string{"347342096589849"},
		},
	})
}

// TestCardNotGluedInto16: a group of exactly 16 digits that is not a card
// is an order number: no shorter card glued to an expiry date is read
// into it (only longer groups are split).
func TestCardNotGluedInto16(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{
			name: "order number", in: "balance €368.033,81\norder #6789309441300136 is ready",
			out: "balance €368.033,81\norder #6789309441300136 is ready", verdict: sms.VerdictPass,
			// 678930944130 (Maestro 67, 12 digits) + "0136" would read as card + date.
			cards: []string{"678930944130"}, nonLuhn: []string{"6789309441300136"},
		},
		{
			name: "case number", in: "ISBN-13 979-5-717-40930-7 and case #6418507966251159.",
			out: "ISBN-13 979-5-717-40930-7 and case #6418507966251159.", verdict: sms.VerdictPass,
			cards: []string{"641850796625"}, nonLuhn: []string{"6418507966251159"},
		},
	})
}

// TestCardWindows: how a card is found inside a longer digit run.
func TestCardWindows(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{
			// Irregular groups after a quantity: the window leaves out the
			// first group.
			name: "irregular groups after a quantity", in: "qty 2 223.66563.264.88880",
			out: "qty 2 ***.*****.***.*8880", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"2236656326488880"},
		},
		{
			// An irregular card ending right where a card-shaped one starts
			// (after a full stop): both are cards.
			name: "irregular card then a card in fours", in: "223.66563.264.88880. 4111 1111 1111 1111",
			out: "***.*****.***.*8880. **** **** **** 1111", verdict: sms.VerdictRedacted, types: "card card",
			cards: []string{"2236656326488880", "4111111111111111"},
		},
		{
			// 19 digits in fours is not "longer than a card": a card may
			// start at its second group.
			name: "Amex after four digits, 19 in all", in: "1234 3782 8224 6310 005",
			out: "1234 **** **** ***0 005", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"378282246310005"}, nonLuhn: []string{"1234378282246310005"},
		},
		{
			// A word of 19 characters starting "1Z" is not a UPS tracking
			// number (those have 18): the card glued to it is a card.
			name: "1Z word of 19 characters", in: "ref 1ZA4111111111111111 ok",
			out: "ref 1ZA************1111 ok", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"4111111111111111"},
		},
		{
			// The scanner reuses its run buffer: the slashes of an earlier
			// run must not count as a date inside a later one.
			name: "irregular card after a run of slashes", in: "4111 1111 1111 1111 ok 1/2/3/4/5/6 and qty 2 223.66563.264.88880",
			out: "**** **** **** 1111 ok 1/2/3/4/5/6 and qty 2 ***.*****.***.*8880", verdict: sms.VerdictRedacted, types: "card card",
			cards: []string{"4111111111111111", "2236656326488880"},
		},
		{
			name: "glued Amex and December expiry", in: "card 3782822463100051229",
			out: "card ***********0005****", verdict: sms.VerdictRedacted, types: "card expiry",
			cards: []string{"378282246310005"},
		},
		{
			name: "date range in December", in: "23.12.2026 08.01.2028",
			out: "23.12.2026 08.01.2028", verdict: sms.VerdictPass,
			// Would be a Mastercard (2312...) if it were not two dates.
			cards: []string{"2312202608012028"},
		},
	})
}

// TestCardFollowersGap: an expiry date is the card's when at most three
// separator characters stand between them.
func TestCardFollowersGap(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{
			name: "three spaces", in: "4111 1111 1111 1111   09/27",
			out: "**** **** **** 1111   **/**", verdict: sms.VerdictRedacted, types: "card expiry",
			cards: []string{"4111111111111111"},
		},
		{
			name: "four spaces", in: "4111 1111 1111 1111    09/27",
			out: "**** **** **** 1111    09/27", verdict: sms.VerdictRedacted, types: "card",
			cards: []string{"4111111111111111"},
		},
	})
}

// TestPhoneShapes: phone numbers are flagged, not masked; a finding
// covers the digits (and a closing bracket), not what follows them.
func TestPhoneShapes(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{
			name: "national, trunk 0, 10 digits", in: "call 030 1234 567 now",
			out: "call 030 1234 567 now", verdict: sms.VerdictPass, types: "phone", spans: []string{"030 1234 567"},
		},
		{
			name: "national, trunk 0, 11 digits", in: "call 0301 234 5678 now",
			out: "call 0301 234 5678 now", verdict: sms.VerdictPass, types: "phone", spans: []string{"0301 234 5678"},
		},
		{
			name: "national, trunk 0, 9 digits", in: "call 030 1234 56 now",
			out: "call 030 1234 56 now", verdict: sms.VerdictPass,
		},
		{
			name: "international before a bracket", in: "+4915123456704 (mobile)",
			out: "+4915123456704 (mobile)", verdict: sms.VerdictPass, types: "phone", spans: []string{"+4915123456704"},
		},
		{
			name: "two numbers and brackets", in: "call +1 415 555 0134 (cell) or (415) 555-0199.",
			out: "call +1 415 555 0134 (cell) or (415) 555-0199.", verdict: sms.VerdictPass, types: "phone phone",
			spans: []string{"+1 415 555 0134", "(415) 555-0199"},
		},
	})
}

// TestKeywordAtEnd: a context keyword with nothing after it finds
// nothing and, above all, does not fail the message closed.
func TestKeywordAtEnd(t *testing.T) {
	var cases []applyCase
	for _, in := range []string{"my d.o.b", "my d.o.b.", "D.O.B", "what is my cvv", "cvv2", "pin", "exp", "valid thru", "sort code", "password", "iban", "ssn", "dob:", "acct #"} {
		cases = append(cases, applyCase{name: in, in: in, out: in, verdict: sms.VerdictPass})
	}
	cases = append(cases, applyCase{
		name: "d.o.b. then a date", in: "d.o.b. 12/03/1985",
		out: "d.o.b. **/**/****", verdict: sms.VerdictRedacted, types: "dob",
	})
	runApplyCases(t, mustChain(t, DefaultConfig()), cases)
}

// TestRoutingLengths: a routing number is 9 digits, a sort code 6, a
// Canadian transit number 5 to 9 (with the institution number). Masking
// keeps the last four only of a value of more than eight characters.
func TestRoutingLengths(t *testing.T) {
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{name: "transit 5", in: "transit 12345 ok", out: "transit ***** ok", verdict: sms.VerdictRedacted, types: "routing"},
		{name: "transit 9", in: "transit 123456789 ok", out: "transit *****6789 ok", verdict: sms.VerdictRedacted, types: "routing"},
		{name: "transit 8", in: "transit 12345678 ok", out: "transit ******** ok", verdict: sms.VerdictRedacted, types: "routing"},
		{name: "transit 4", in: "transit 1234 ok", out: "transit 1234 ok", verdict: sms.VerdictPass},
		{name: "transit 10", in: "transit 1234567890 ok", out: "transit 1234567890 ok", verdict: sms.VerdictPass},
		{name: "routing 9", in: "routing 021000021 ok", out: "routing *****0021 ok", verdict: sms.VerdictRedacted, types: "routing"},
		{name: "routing 8", in: "routing 02100002 ok", out: "routing 02100002 ok", verdict: sms.VerdictPass},
		{name: "sort code 6", in: "sort code 20-00-00 ok", out: "sort code **-**-** ok", verdict: sms.VerdictRedacted, types: "routing"},
		{name: "sort code 7", in: "sort code 20-00-001 ok", out: "sort code 20-00-001 ok", verdict: sms.VerdictPass},
	})
}

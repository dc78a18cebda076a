package filters

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/smsgw/smsgw/sms"
)

func mustChain(t testing.TB, cfg Config) *Chain {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRedactsCardsAndSSNs(t *testing.T) {
	c := mustChain(t, DefaultConfig())
	for _, tc := range []struct{ in, want string }{
		{"my card is 4111 1111 1111 1111", "my card is **** **** **** 1111"},
		{"4111111111111111", "************1111"},
		{"card: 4111-1111-1111-1111 exp 09/27", "card: ****-****-****-1111 exp 09/27"},
		{"4111.1111.1111.1111", "****.****.****.1111"},
		{"4111  1111  1111  1111", "****  ****  ****  1111"},
		{"4111\u00a01111\u00a01111\u00a01111", "****\u00a0****\u00a0****\u00a01111"},
		{"4111\u20131111\u20131111\u20131111", "****\u2013****\u2013****\u20131111"},
		{"4111\u200b1111\u200b1111\u200b1111", "****\u200b****\u200b****\u200b1111"},
		{"amex 3782 822463 10005 thanks", "amex **** ****** *0005 thanks"},
		{"mc 5555555555554444", "mc ************4444"},
		{"mc2 2221000000000009", "mc2 ************0009"},
		{"discover 6011 1111 1111 1117", "discover **** **** **** 1117"},
		{"jcb 3530111333300000", "jcb ************0000"},
		{"diners 3056 930902 5904", "diners **** ****** 5904"},
		{"cardno4111111111111111exp0927cvv123", "cardno************1111exp0927cvv123"},
		{"4111 1111 1111 1111 0927", "**** **** **** 1111 0927"},
		{"qty 2 4111 1111 1111 1111", "qty 2 **** **** **** 1111"},
		{"41111111111111110927", "************11110927"},
		{"see https://pay.example/?c=4111111111111111&x=1", "see https://pay.example/?c=************1111&x=1"},
		{"two: 4111111111111111 and 5555 5555 5555 4444.", "two: ************1111 and **** **** **** 4444."},
		{"ssn 123-45-6789", "ssn ***-**-6789"},
		{"SSN: 123 45 6789", "SSN: *** ** 6789"},
		{"my social is 123456789", "my social is *****6789"},
		{"über 4111 1111 1111 1111 ✓", "über **** **** **** 1111 ✓"},
	} {
		got := c.Apply(tc.in)
		if got.Text != tc.want {
			t.Errorf("Apply(%q).Text = %q, want %q", tc.in, got.Text, tc.want)
		}
		if got.Verdict != sms.VerdictRedacted {
			t.Errorf("Apply(%q).Verdict = %s, want redacted", tc.in, got.Verdict)
		}
		for _, f := range got.Findings {
			span := tc.in[f.Start:f.End]
			if !isDigit(span[0]) || !isDigit(span[len(span)-1]) {
				t.Errorf("Apply(%q): finding %+v spans %q, want digits at both ends", tc.in, f, span)
			}
		}
	}
}

func TestLeavesLookAlikesAlone(t *testing.T) {
	c := mustChain(t, DefaultConfig())
	for _, in := range []string{
		"order 4111 1111 1111 1112 shipped",               // fails Luhn
		"tracking 1Z999AA10123456784",                     // UPS
		"usps 9400 1000 0000 0000 0000 00",                // USPS 22 digits
		"usps 92055901755477000271990",                    // USPS 23
		"your code is 482913",                             // OTP
		"total $1,234.56 due 2026-11-23 at 10:30",         // amounts, dates
		"call me at +1 415 555 0134",                      // phone
		"imei 490154203237518",                            // IMEI (Luhn-valid, 15 digits, prefix 49)
		"ts 1700000000",                                   // epoch
		"isbn 978-3-16-148410-0",                          // ISBN
		"card ending **** **** **** 1111",                 // already masked
		"zip 94107 room 123-45",                           // short groups
		"ref 666-12-3456 and 000-12-3456 and 123-00-4567", // invalid SSN parts
		"number 123456789 is my order id",                 // bare 9 digits, no context
		"sim 8901 2600 1234 5678 9012",                    // ICCID-ish, 20 digits prefix 89
	} {
		got := c.Apply(in)
		if got.Text != in || got.Verdict != sms.VerdictPass || len(got.Findings) != 0 {
			t.Errorf("Apply(%q) = %q %s %v, want untouched", in, got.Text, got.Verdict, got.Findings)
		}
	}
}

func TestPolicyActions(t *testing.T) {
	in := "card 4111111111111111 ssn 123-45-6789"
	block := mustChain(t, Config{Policy: map[string]sms.Action{"card": sms.ActionBlock}})
	if got := block.Apply(in); got.Verdict != sms.VerdictBlocked || strings.Contains(got.Text, "4111111111111111") {
		t.Errorf("block: %+v", got)
	}
	flag := mustChain(t, Config{Policy: map[string]sms.Action{"card": sms.ActionFlag, "ssn": sms.ActionFlag}})
	if got := flag.Apply(in); got.Text != in || got.Verdict != sms.VerdictPass || len(got.Findings) != 2 || got.Findings[0].Action != sms.ActionFlag {
		t.Errorf("flag: %+v", got)
	}
	off := mustChain(t, Config{Disabled: []string{"ssn"}})
	if got := off.Apply(in); len(got.Findings) != 1 || got.Findings[0].Type != "card" {
		t.Errorf("ssn disabled: %+v", got)
	}
	if _, err := New(Config{Policy: map[string]sms.Action{"card": "redcat", "iban": "redact"}, Disabled: []string{"x"}}); err == nil ||
		!strings.Contains(err.Error(), "filters.policy.card") || !strings.Contains(err.Error(), "filters.policy.iban") || !strings.Contains(err.Error(), "filters.disabled[0]") {
		t.Errorf("New with a bad config: %v, want every problem named", err)
	}
}

// FuzzChain: never panics, keeps valid UTF-8 valid, and no Luhn- and
// brand-valid card number that the scanner sees in the input survives.
func FuzzChain(f *testing.F) {
	for _, s := range []string{"4111 1111 1111 1111", "ssn 123-45-6789", "x4111-1111-1111-1111y", "4111\u00a01111\u20131111.1111", ""} {
		f.Add(s)
	}
	c := mustChain(f, DefaultConfig())
	f.Fuzz(func(t *testing.T, in string) {
		out := c.Apply(in)
		if utf8.ValidString(in) && !utf8.ValidString(out.Text) {
			t.Fatalf("Apply broke UTF-8: %q -> %q", in, out.Text)
		}
		for _, fd := range out.Findings {
			if fd.Start < 0 || fd.End > len(in) || fd.Start >= fd.End {
				t.Fatalf("bad offsets %+v for %d-byte input", fd, len(in))
			}
		}
		// Every card the detector would find in the output is a leak.
		if again := (cardDetector{}).Detect(out.Text, nil); len(again) > 0 {
			t.Fatalf("card survives redaction: %q -> %q", in, out.Text)
		}
	})
}

var benign = "Hi Sam, your appointment is confirmed for Tuesday 10:30 at 1200 Main St. Reply C to cancel, thanks!"

func BenchmarkApplyBenign(b *testing.B) {
	c := mustChain(b, DefaultConfig())
	b.ReportAllocs()
	b.SetBytes(int64(len(benign)))
	for b.Loop() {
		c.Apply(benign)
	}
}

func BenchmarkApplyMixed(b *testing.B) {
	c := mustChain(b, DefaultConfig())
	msgs := []string{benign, "my card is 4111 1111 1111 1111 exp 09/27", "ssn 123-45-6789 please update", "order 4111 1111 1111 1112 shipped"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Apply(msgs[i%len(msgs)])
		i++
	}
}

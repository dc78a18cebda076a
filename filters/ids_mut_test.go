package filters

import (
	"testing"

	"github.com/smsgw/smsgw/sms"
)

// TestNINOPrefixesAndSuffixes: the prefix and suffix rules of UK National
// Insurance numbers as the doc of ninoDetector states them (HMRC's
// rules), letter by letter. A found number of nine characters keeps its
// last four; eight or fewer are masked whole.
func TestNINOPrefixesAndSuffixes(t *testing.T) {
	masked := func(in, out string) applyCase {
		return applyCase{name: in, in: in, out: out, verdict: sms.VerdictRedacted, types: "uk_nin"}
	}
	kept := func(in string) applyCase {
		return applyCase{name: in, in: in, out: in, verdict: sms.VerdictPass}
	}
	cases := []applyCase{
		masked("AB123456C", "*****456C"),
		masked("AZ123456A", "*****456A"),
		masked("ZA123456D", "*****456D"),
		masked("OA123456B", "*****456B"), // O is refused only second
		masked("BH123456C", "*****456C"), // next to the banned BG
		masked("AB 12 34 56 C", "** ** *4 56 C"),
		masked("AB 123456 C", "** ***456 C"),
		masked("NI number ab123456c", "NI number *****456c"),
		masked("nino AB123456", "nino ********"),
		masked("national insurance: AB 12 34 56", "national insurance: ** ** ** **"),
		masked("my n.i. is ce123456a", "my n.i. is *****456a"),
		kept("AB123456E"), // suffix past D
		kept("AB123456"),  // no suffix, no context
		kept("ab123456c"), // lower case, no context
		kept("AB 123 456 C"),
		kept("AB 12 3456 C"),
		kept("XAB123456C"),
		kept("1AB123456C"),
		kept("AB1234567C"),
		kept("AB12345C"),
		kept("insurance 12, then ab123456c"), // the context word introduced another number
	}
	for _, bad := range []string{"D", "F", "I", "Q", "U", "V"} {
		cases = append(cases, kept(bad+"A123456C"), kept("A"+bad+"123456C"))
	}
	for _, pair := range []string{"AO", "BG", "GB", "KN", "NK", "NT", "TN", "ZZ"} {
		cases = append(cases, kept(pair+"123456C"))
	}
	runApplyCases(t, mustChain(t, DefaultConfig()), cases)
}

// TestNineDigitValidity: the SSN and ITIN rules of the doc of
// nineDigitDetector at each edge (SSN area not 000, 666 or 900-999,
// group not 00, serial not 0000; ITIN 9XX with group 50-65, 70-88, 90-92
// or 94-99). Formatted AAA-GG-SSSS needs no context.
func TestNineDigitValidity(t *testing.T) {
	var cases []applyCase
	add := func(num, typ string) {
		out := num
		if typ != "" {
			out = "***-**-" + num[7:]
		}
		verdict := sms.VerdictPass
		if typ != "" {
			verdict = sms.VerdictRedacted
		}
		cases = append(cases, applyCase{name: num, in: "id " + num + " ok", out: "id " + out + " ok", verdict: verdict, types: typ})
	}
	for _, c := range []struct{ num, typ string }{
		{"000-12-3456", ""}, {"001-12-3456", "ssn"}, {"665-12-3456", "ssn"}, {"666-12-3456", ""},
		{"667-12-3456", "ssn"}, {"899-12-3456", "ssn"},
		{"123-00-4567", ""}, {"123-01-4567", "ssn"}, {"123-99-4567", "ssn"},
		{"123-45-0000", ""}, {"123-45-0001", "ssn"},
		{"900-49-1234", ""}, {"900-50-1234", "itin"}, {"999-65-1234", "itin"}, {"912-66-1234", ""},
		{"912-69-1234", ""}, {"912-70-1234", "itin"}, {"912-88-1234", "itin"}, {"912-89-1234", ""},
		{"912-90-1234", "itin"}, {"912-92-1234", "itin"}, {"912-93-1234", ""}, {"912-94-1234", "itin"},
		{"912-99-1234", "itin"}, {"912-70-0000", ""},
	} {
		add(c.num, c.typ)
	}
	runApplyCases(t, mustChain(t, DefaultConfig()), cases)
}

// TestNineDigitContextWords: bare nine digits need a context word, which
// picks the type; a digit between the word and the number cancels it.
func TestNineDigitContextWords(t *testing.T) {
	// Luhn by hand, from the right, every second digit doubled (minus 9
	// over 9): 130692544 -> 4+8+5+4+9+3+0+6+1 = 40; 846454288 ->
	// 8+7+2+8+5+8+6+8+8 = 60; 046454286 -> 6+7+2+8+5+8+6+8+0 = 50.
	for _, sin := range []string{"130692544", "846454288", "046454286"} {
		if !mutLuhn(sin) {
			t.Fatalf("bad expectation: %s is not Luhn-valid", sin)
		}
	}
	runApplyCases(t, mustChain(t, DefaultConfig()), []applyCase{
		{name: "ssn", in: "ssn 123456789", out: "ssn *****6789", verdict: sms.VerdictRedacted, types: "ssn"},
		{name: "SS#", in: "SS#123456789", out: "SS#*****6789", verdict: sms.VerdictRedacted, types: "ssn"},
		{name: "no context", in: "ref 123456789", out: "ref 123456789", verdict: sms.VerdictPass},
		{name: "itin", in: "itin 912701234", out: "itin *****1234", verdict: sms.VerdictRedacted, types: "itin"},
		{name: "itin, not valid", in: "itin 123456789", out: "itin 123456789", verdict: sms.VerdictPass},
		{name: "sin", in: "SIN: 130 692 544", out: "SIN: *** **2 544", verdict: sms.VerdictRedacted, types: "ca_sin"},
		{name: "sin starting 8", in: "SIN: 846 454 288", out: "SIN: 846 454 288", verdict: sms.VerdictPass},
		{name: "sin starting 0", in: "SIN: 046 454 286", out: "SIN: 046 454 286", verdict: sms.VerdictPass},
		{name: "sin, Luhn fails", in: "SIN: 130 692 545", out: "SIN: 130 692 545", verdict: sms.VerdictPass},
		{name: "another number between", in: "ssn of 2 people: 123456789", out: "ssn of 2 people: 123456789", verdict: sms.VerdictPass},
		{name: "ten digits", in: "ssn 1234567890", out: "ssn 1234567890", verdict: sms.VerdictPass},
		{name: "word glued", in: "assn 123456789", out: "assn 123456789", verdict: sms.VerdictPass},
	})
}

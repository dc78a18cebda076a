package filters

import (
	"strings"
	"testing"
)

func TestSSNDetect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"123-45-6789", []string{"123-45-6789"}},
		{"ssn 123 45 6789", []string{"123 45 6789"}},
		{"x 123.45.6789 y", []string{"123.45.6789"}},
		{"my social is 123456789", []string{"123456789"}},
		{"SSN#123456789", []string{"123456789"}},
		{"ss# 123456789", []string{"123456789"}},
		{"DOB 01/02/1980 123-45-6789", []string{"123-45-6789"}},
		{"123-45-6789 and 234-56-7890", []string{"123-45-6789", "234-56-7890"}},
		{"ssn: 123-45-6789", []string{"123-45-6789"}},
		{"SSN123-45-6789", []string{"123-45-6789"}},
		// Not SSNs.
		{"123456789", []string{}},                                     // bare, no context
		{"order 123456789 for ssn", []string{}},                       // context after, not before
		{"ssn 1234567890", []string{}},                                // ten digits
		{"ssn 12345678901234", []string{}},                            // part of a longer run
		{"ssn 000-12-3456", []string{}},                               // area 000
		{"ssn 666-12-3456", []string{}},                               // area 666
		{"ssn 900-12-3456", []string{}},                               // area 9xx
		{"ssn 123-00-4567", []string{}},                               // group 00
		{"ssn 123-45-0000", []string{}},                               // serial 0000
		{"123-45 6789", []string{}},                                   // mixed gaps
		{"1-123-45-6789", []string{}},                                 // continues with dashes
		{"123-45-6789-1", []string{}},                                 // continues with dashes
		{"ID123-45-6789", []string{}},                                 // glued to letters, no context
		{"123-45-6789A", []string{}},                                  // part number
		{"lossness 123456789", []string{}},                            // "ssn" inside a word
		{"ssn " + strings.Repeat("x", 50) + " 123456789", []string{}}, // context too far
		{"ssn 123 45 6789 0000", []string{}},                          // spaced triple inside a longer run
		// ITINs and SINs.
		{"912-70-1234", []string{"912-70-1234"}},
		{"itin 912701234", []string{"912701234"}},
		{"tin: 912 70 1234", []string{"912 70 1234"}},
		{"912-40-1234", []string{}}, // not an ITIN group, not an SSN area
		{"SIN 130 692 544", []string{"130 692 544"}},
		{"social insurance number: 130692544", []string{"130692544"}},
		{"SIN 130 692 545", []string{}},   // fails Luhn
		{"130 692 544", []string{}},       // no context
		{"SIN 046 454 286", []string{}},   // starts with 0
		{"since 130 692 544", []string{}}, // "sin" inside a word
	} {
		got := spans(tc.in, nineDigitDetector{}.Detect(tc.in, nil))
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Detect(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNineDigitContext(t *testing.T) {
	for _, tc := range []struct {
		text string
		want string
	}{
		{"SSN ", TypeSSN},
		{"Social Security: ", TypeSSN},
		{"my soc sec no ", TypeSSN},
		{"s.s.n. ", TypeSSN},
		{"ss#", TypeSSN},
		{"social insurance no ", TypeCASIN},
		{"SIN: ", TypeCASIN},
		{"ITIN ", TypeITIN},
		{"taxpayer id ", TypeITIN},
		{"glass ", ""},
		{"classnote ", ""},
		{"since ", ""},
		{"", ""},
	} {
		if got := nineDigitContext(tc.text, len(tc.text)); got != tc.want {
			t.Errorf("nineDigitContext(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

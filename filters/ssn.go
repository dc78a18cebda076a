package filters

import "github.com/smsgw/smsgw/sms"

// ssnDetector finds US Social Security numbers: AAA-GG-SSSS or
// AAA GG SSSS with a valid area (not 000, 666 or 900-999), group (not 00)
// and serial (not 0000); a bare 9-digit number only when a context word
// (ssn, social security, social, ss#) comes shortly before it.
type ssnDetector struct{}

func (ssnDetector) Name() string { return "ssn" }

func (ssnDetector) Detect(text string, dst []sms.Finding) []sms.Finding {
	var sc scanner
	sc.init(text)
	for sc.next() {
		r := &sc.r
		if r.n != 9 || sc.cont {
			continue
		}
		formatted := r.ngroup == 3 && r.group[1] == 3 && r.group[2] == 5
		bare := r.ngroup == 1
		if !formatted && !bare {
			continue
		}
		if !validSSN(r.digit[:9]) {
			continue
		}
		s, e := r.span(0, 9)
		if wordBefore(text, s) || (e < len(text) && (isDigit(text[e]) || isLetter(text[e]))) {
			continue
		}
		if bare && !ssnContext(text, s) {
			continue
		}
		dst = append(dst, sms.Finding{Type: "ssn", Start: s, End: e})
	}
	return dst
}

func validSSN(d []byte) bool {
	area := prefix(d, 3)
	group := int(d[3])*10 + int(d[4])
	serial := prefix(d[5:], 4)
	return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

// ssnContext looks for a context word within 32 bytes before start.
func ssnContext(text string, start int) bool {
	from := max(0, start-32)
	w := text[from:start]
	for _, kw := range [...]string{"ssn", "social", "ss#", "s.s.n", "soc sec"} {
		if containsFold(w, kw) {
			return true
		}
	}
	return false
}

// containsFold is an ASCII case-insensitive strings.Contains that does
// not allocate.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		ok := true
		for j := 0; j < n; j++ {
			a, b := s[i+j], sub[j]
			if a >= 'A' && a <= 'Z' {
				a += 'a' - 'A'
			}
			if a != b {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

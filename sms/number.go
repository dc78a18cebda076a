package sms

import (
	"strings"
)

// Number is a phone number in E.164 form: "+" followed by 8 to 15 digits,
// the first of which is not 0, e.g. "+14155550134".
type Number string

// ParseNumber validates s as E.164. It accepts surrounding spaces and the
// visual separators people paste (spaces, dashes, dots, parentheses) but
// insists on the leading "+" and country code: a bare national number is
// ambiguous and is rejected rather than guessed.
func ParseNumber(s string) (Number, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(Invalid, "invalid_number", "phone number is empty")
	}
	if s[0] != '+' {
		return "", Errorf(Invalid, "invalid_number", "phone number must be in E.164 form with a leading + and country code, e.g. +14155550134")
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteByte('+')
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", Errorf(Invalid, "invalid_number", "phone number may contain only digits after the leading +")
		}
	}
	n := b.String()
	digits := len(n) - 1
	if digits < 8 || digits > 15 {
		return "", Errorf(Invalid, "invalid_number", "phone number must have 8 to 15 digits after the +")
	}
	if n[1] == '0' {
		return "", Errorf(Invalid, "invalid_number", "phone number country code cannot start with 0")
	}
	return Number(n), nil
}

// Digits returns the number without the leading "+", the form SMPP peers
// usually use with TON international.
func (n Number) Digits() string { return strings.TrimPrefix(string(n), "+") }

// Redacted returns a form safe for logs: country code and the last two
// digits, e.g. "+1*******34". Logs never carry a full phone number.
func (n Number) Redacted() string {
	s := string(n)
	if len(s) <= 5 {
		return "+***"
	}
	return s[:2] + strings.Repeat("*", len(s)-4) + s[len(s)-2:]
}

// String implements fmt.Stringer with the redacted form, so that a Number
// passed to a logger or an error by accident does not leak.
func (n Number) String() string { return n.Redacted() }

// E164 returns the full number. Use it for wire protocols and storage only.
func (n Number) E164() string { return string(n) }

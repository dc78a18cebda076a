package sms

import (
	"errors"
	"fmt"
	"testing"
)

func TestParseNumber(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"+14155550134", "+14155550134", true},
		{" +1 (415) 555-0134 ", "+14155550134", true},
		{"+44.20.7946.0958", "+442079460958", true},
		{"14155550134", "", false},
		{"+0123456789", "", false},
		{"+1234567", "", false},
		{"+1234567890123456", "", false},
		{"+1415555abcd", "", false},
		{"", "", false},
		{"+", "", false},
	} {
		got, err := ParseNumber(c.in)
		if (err == nil) != c.ok || string(got) != c.want {
			t.Errorf("ParseNumber(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && (KindOf(err) != Invalid || CodeOf(err) != "invalid_number") {
			t.Errorf("ParseNumber(%q) error kind %v code %s, want invalid/invalid_number", c.in, KindOf(err), CodeOf(err))
		}
	}
}

func TestNumberNeverPrintsInFull(t *testing.T) {
	n := Number("+14155550134")
	for _, s := range []string{fmt.Sprint(n), fmt.Sprintf("%v", n), fmt.Sprintf("%s", n), n.Redacted()} {
		if s != "+1********34" {
			t.Errorf("printed %q, want +1********34", s)
		}
	}
	if n.E164() != "+14155550134" || n.Digits() != "14155550134" {
		t.Errorf("E164/Digits wrong: %s %s", n.E164(), n.Digits())
	}
}

func TestMessageIDs(t *testing.T) {
	a, b := NewMessageID(), NewMessageID()
	if !(a < b) {
		t.Errorf("ids not increasing: %s then %s", a, b)
	}
	if _, err := ParseMessageID(string(a)); err != nil {
		t.Errorf("ParseMessageID(%s): %v", a, err)
	}
	if _, err := ParseMessageID("nope"); CodeOf(err) != "invalid_id" {
		t.Errorf("ParseMessageID(nope) = %v", err)
	}
}

func TestErrorTable(t *testing.T) {
	for _, c := range []struct {
		k    Kind
		http int
		smpp uint32
	}{
		{Invalid, 400, 0x0B}, {Unauthorized, 401, 0x0E}, {Throttled, 429, 0x58}, {Unavailable, 503, 0x14}, {TooLarge, 413, 0x01}, {Unsupported, 415, 0x03},
	} {
		if c.k.HTTPStatus() != c.http || c.k.SMPPStatus() != c.smpp {
			t.Errorf("%v -> HTTP %d SMPP %#x, want %d %#x", c.k, c.k.HTTPStatus(), c.k.SMPPStatus(), c.http, c.smpp)
		}
	}
	wrapped := fmt.Errorf("publishing: %w", Wrap(Unavailable, "unavailable", "try again", errors.New("internal detail")))
	if KindOf(wrapped) != Unavailable || CodeOf(wrapped) != "unavailable" || PublicMessage(wrapped) != "try again" {
		t.Errorf("wrapped error lost its kind/code/message: %v", wrapped)
	}
	if PublicMessage(errors.New("secret internals")) != "internal error" {
		t.Error("plain errors must not be shown to users")
	}
}

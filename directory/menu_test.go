package directory

import (
	"reflect"
	"testing"
)

func TestParseOption(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Option
		code string
	}{
		{"1,sales=sales", Option{Digit: "1", Keywords: []string{"sales"}, Queue: "sales"}, ""},
		{" 2 , Support , Help Desk = support : Customer support", Option{Digit: "2", Keywords: []string{"support", "help desk"}, Queue: "support", Label: "Customer support"}, ""},
		{"3=billing", Option{Digit: "3", Queue: "billing"}, ""},
		{"12,x=q", Option{Digit: "12", Keywords: []string{"x"}, Queue: "q"}, ""},
		{"1,sales", Option{}, "invalid_option"},
		{"a,sales=sales", Option{}, "invalid_option_digit"},
		{"123=q", Option{}, "invalid_option_digit"},
		{"1,sales=", Option{}, "invalid_option_queue"},
		{"1,sales=Bad Queue", Option{}, "invalid_option_queue"},
		{"1,stop=sales", Option{}, "reserved_keyword"},
		{"1,7=sales", Option{}, "invalid_option_keyword"},
	} {
		got, err := ParseOption(c.in)
		if c.code != "" {
			if err == nil || codeOf(err) != c.code || FieldOf(err) != "options" {
				t.Errorf("ParseOption(%q) = %+v, %v; want error %s on field options", c.in, got, err, c.code)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseOption(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestMenuMatch(t *testing.T) {
	m := Menu{Options: []Option{{Digit: "1", Keywords: []string{"sales"}, Queue: "sales"}, {Digit: "2", Keywords: []string{"support", "help desk"}, Queue: "support"}}}
	if err := m.check(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in    string
		queue string
		back  bool
	}{
		{"1", "sales", false}, {" 2 ", "support", false}, {"2.", "support", false}, {"SALES!", "sales", false},
		{"Help   Desk", "support", false}, {"#2", "support", false},
		{"3", "", false}, {"sales please", "", false}, {"12", "", false}, {"", "", false},
		{"0", "", true}, {"Menu", "", true}, {" MENU. ", "", true},
	} {
		o, ok := m.Match(c.in)
		if (c.queue != "") != ok || o.Queue != c.queue {
			t.Errorf("Match(%q) = %+v, %v; want queue %q", c.in, o, ok, c.queue)
		}
		if got := m.IsBack(c.in); got != c.back {
			t.Errorf("IsBack(%q) = %v, want %v", c.in, got, c.back)
		}
	}
	if got, want := m.Text(), "Reply 1 for sales, 2 for support."; got != want {
		t.Errorf("generated greeting %q, want %q", got, want)
	}
}

func TestMenuCheck(t *testing.T) {
	for _, c := range []struct {
		m    Menu
		code string
	}{
		{Menu{}, "options_required"},
		{Menu{Options: []Option{{Digit: "1", Queue: "a"}, {Digit: "1", Queue: "b"}}}, "duplicate_option"},
		{Menu{Options: []Option{{Digit: "1", Keywords: []string{"x"}, Queue: "a"}, {Digit: "2", Keywords: []string{"X"}, Queue: "b"}}}, "duplicate_option"},
		{Menu{Options: []Option{{Digit: "0", Queue: "a"}}}, "duplicate_option"}, // 0 is "back"
		{Menu{Options: []Option{{Digit: "1", Keywords: []string{"menu"}, Queue: "a"}}}, "duplicate_option"},
		{Menu{Options: []Option{{Digit: "1", Queue: "a"}}, Back: []string{"9"}}, ""},
	} {
		err := c.m.check()
		if codeOf(err) != c.code && !(c.code == "" && err == nil) {
			t.Errorf("check(%+v) = %v, want %q", c.m, err, c.code)
		}
	}
}

func TestClassifyKeyword(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Keyword
	}{
		{"STOP", KeywordOptOut}, {"stop", KeywordOptOut}, {"  Stop \n", KeywordOptOut}, {"Stop.", KeywordOptOut},
		{"unsubscribe", KeywordOptOut}, {"Cancel", KeywordOptOut}, {"END", KeywordOptOut}, {"quit!", KeywordOptOut},
		{"STOPALL", KeywordOptOutAll}, {"stop all", KeywordOptOutAll},
		{"START", KeywordOptIn}, {"unstop", KeywordOptIn}, {"Yes", KeywordOptIn},
		{"help", KeywordHelp}, {" HELP ", KeywordHelp},
		{"please stop", KeywordNone}, {"stop it", KeywordNone}, {"stopping", KeywordNone}, {"", KeywordNone}, {"helpful", KeywordNone},
	} {
		if got, _ := ClassifyKeyword(c.in); got != c.want {
			t.Errorf("ClassifyKeyword(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

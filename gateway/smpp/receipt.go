package smpp

import (
	"fmt"
	"strings"
	"time"
)

// Receipt is a delivery receipt (deliver_sm with esm_class 0x04).
type Receipt struct {
	MessageID    string // the carrier's id of the submitted message
	Stat         string // DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, ENROUTE
	Err          string
	SubmitDate   time.Time
	DoneDate     time.Time
	MessageState byte // from the message_state TLV, 0 if absent
}

// ParseReceipt parses the de-facto standard receipt text (SMPP 3.4
// Appendix B): "id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done
// date:YYMMDDhhmm stat:DDDDDDD err:E text: ...". Field order and case vary
// between carriers; unknown fields are ignored.
func ParseReceipt(text string) (*Receipt, error) {
	r := &Receipt{}
	lower := strings.ToLower(text)
	get := func(key string) string {
		i := strings.Index(lower, key+":")
		if i < 0 {
			return ""
		}
		v := text[i+len(key)+1:]
		if key == "text" {
			return v
		}
		if j := strings.IndexByte(v, ' '); j >= 0 {
			v = v[:j]
		}
		return strings.TrimSpace(v)
	}
	r.MessageID = get("id")
	r.Stat = strings.ToUpper(get("stat"))
	r.Err = get("err")
	r.SubmitDate = parseReceiptDate(get("submit date"))
	r.DoneDate = parseReceiptDate(get("done date"))
	if r.MessageID == "" || r.Stat == "" {
		return nil, fmt.Errorf("%w: receipt without id or stat", ErrMalformed)
	}
	return r, nil
}

func parseReceiptDate(s string) time.Time {
	for _, layout := range []string{"0601021504", "060102150405"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// FormatReceipt renders the standard receipt text.
func FormatReceipt(id, stat, errCode string, submit, done time.Time, text string) string {
	if len(text) > 20 {
		text = text[:20]
	}
	dlvrd := "000"
	if stat == "DELIVRD" {
		dlvrd = "001"
	}
	return fmt.Sprintf("id:%s sub:001 dlvrd:%s submit date:%s done date:%s stat:%s err:%s text:%s",
		id, dlvrd, submit.UTC().Format("0601021504"), done.UTC().Format("0601021504"), stat, errCode, text)
}

// MessageState values for the message_state TLV.
var messageStates = map[string]byte{
	"ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6, "UNKNOWN": 7, "REJECTD": 8,
}

// MessageStateOf returns the message_state value for a receipt stat.
func MessageStateOf(stat string) byte { return messageStates[stat] }

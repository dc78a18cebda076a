package archive

import (
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

func eventRecord(id, msg string, st sms.Status, at time.Time) Record {
	e := &sms.Event{ID: id, MessageID: sms.MessageID(msg), Status: st, At: at}
	return Record{Kind: KindEvent, ID: e.MessageID, Event: e, ArchivedAt: at}
}

// An event archived twice (same event id, in two segments) is reported
// duplicate_id; different events of one message, and events written
// before events had ids, are not.
func TestVerifyDuplicateEvent(t *testing.T) {
	st, err := NewLocalStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := newTestLog(t, st)
	msg := string(sms.NewMessageID())
	at := time.Now().UTC()
	l.segment([]Record{
		eventRecord(msg+".accepted", msg, sms.StatusAccepted, at),
		eventRecord(msg+".sent", msg, sms.StatusSent, at),
		eventRecord("", msg, sms.StatusDelivered, at), // before event ids
	})
	l.segment([]Record{eventRecord("", msg, sms.StatusDelivered, at)})
	l.checkpoint()
	if rep := l.verify(); !rep.OK() {
		var b strings.Builder
		rep.WriteText(&b)
		t.Fatalf("distinct events reported:\n%s", b.String())
	}
	// The sent event again, later (a redelivered stage that was not
	// recognised): verify must say so.
	l.segment([]Record{eventRecord(msg+".sent", msg, sms.StatusSent, at.Add(time.Second))})
	l.checkpoint()
	rep := l.verify()
	if rep.OK() {
		t.Fatal("an event archived twice passed verify")
	}
	found := false
	for _, p := range rep.Problems {
		if p.Code == "duplicate_id" && p.Index == 4 && strings.Contains(p.Detail, "event id") {
			found = true
		}
	}
	if !found {
		var b strings.Builder
		rep.WriteText(&b)
		t.Errorf("no duplicate_id for the event at log index 4:\n%s", b.String())
	}
}

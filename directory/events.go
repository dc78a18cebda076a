package directory

import (
	"context"
	"log/slog"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// Actor names who made a change when no person did: routing decisions,
// inactivity timeouts, opt-outs by keyword.
const ActorSystem = "system"

// emitter publishes directory and routing changes as events on EVENTS (the
// archive keeps them as the audit trail). An event is published after the
// change it describes is committed; a publish that fails is logged (with
// no number in it) and does not undo the change.
type emitter struct {
	sink EventSink
	log  *slog.Logger
}

func (e *emitter) emit(ctx context.Context, st sms.Status, actor, detail string, attrs map[string]string) {
	e.emitAt(ctx, sms.NewMessageID(), st, actor, detail, attrs)
}

func (e *emitter) emitAt(ctx context.Context, id sms.MessageID, st sms.Status, actor, detail string, attrs map[string]string) {
	if e == nil || e.sink == nil {
		return
	}
	ev := sms.Event{ID: string(id) + "." + string(st), MessageID: id, Status: st, At: time.Now().UTC(), Detail: detail, Actor: actor, Attrs: attrs}
	var err error
	for attempt := range 3 {
		if err = e.sink.Emit(ctx, ev); err == nil {
			return
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	e.log.Warn("publishing directory event failed", "status", st, "err", err)
}

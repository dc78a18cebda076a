package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/oklog/ulid/v2"

	"github.com/smsgw/smsgw/sms"
)

const schema = `
CREATE TABLE IF NOT EXISTS messages (
	id              TEXT PRIMARY KEY,
	direction       TEXT NOT NULL DEFAULT '',
	from_number     TEXT NOT NULL DEFAULT '',
	to_number       TEXT NOT NULL DEFAULT '',
	employee_id     TEXT NOT NULL DEFAULT '',
	body            TEXT,
	verdict         TEXT NOT NULL DEFAULT '',
	findings        TEXT NOT NULL DEFAULT '[]',
	source          TEXT NOT NULL DEFAULT '',
	carrier         TEXT NOT NULL DEFAULT '',
	accepted_at     INTEGER NOT NULL DEFAULT 0,
	archived_at     INTEGER NOT NULL DEFAULT 0,
	segment         TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL DEFAULT '',
	status_rank     INTEGER NOT NULL DEFAULT 0,
	parts           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_by_employee ON messages(employee_id, direction, id);
CREATE TABLE IF NOT EXISTS events (
	message_id TEXT NOT NULL,
	status     TEXT NOT NULL,
	at         INTEGER NOT NULL,
	detail     TEXT NOT NULL DEFAULT '',
	carrier_ids TEXT NOT NULL DEFAULT '',
	UNIQUE(message_id, status, detail)
);
CREATE INDEX IF NOT EXISTS events_by_message ON events(message_id, at);
`

// Index is the read model. Safe for concurrent use.
type Index struct {
	db *sql.DB
}

// Open opens (creating) the index database at path.
func Open(path string) (*Index, error) {
	// The index holds (redacted) message bodies: owner-only, like the
	// rest of the data dir. SQLite gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating index %s: %w", path, err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("protecting index %s: %w", path, err)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening index %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating index schema: %w", err)
	}
	if err := migrateSearch(db); err != nil {
		db.Close()
		return nil, err
	}
	if err := migrateTimeKeys(db); err != nil {
		db.Close()
		return nil, err
	}
	return &Index{db: db}, nil
}

// Close closes the database.
func (x *Index) Close() error { return x.db.Close() }

// rank orders statuses so the shown status only moves forward even when
// events arrive out of order.
func rank(s sms.Status) int {
	switch s {
	case sms.StatusAccepted:
		return 1
	case sms.StatusFiltered:
		return 2
	case sms.StatusArchived:
		return 3
	case sms.StatusSent:
		return 4
	case sms.StatusUnconfirmed:
		// The carrier may have it; a receipt, if one can be matched, wins.
		return 5
	case sms.StatusUndelivered:
		// Final for a carrier, but an inbound text that reached nobody
		// can still be handed to someone (an agent taking its queue
		// conversation): delivered then wins.
		return 7
	case sms.StatusDelivered, sms.StatusFailed:
		return 8
	case sms.StatusBlocked, sms.StatusDeadLetter:
		return 9
	}
	return 0
}

// Message rows are keyed by time: a message's rowid is the millisecond of
// its id (ids are ULIDs: acceptance time first) shifted left by slotBits,
// plus a slot for messages of the same millisecond, taken in arrival
// order. So rowid order is time order, and a date range is a range of
// rowids — which every index (its entries end in the rowid) and the text
// index (its doclists are in rowid order) can seek to, whatever else the
// search filters on. See Search.
const slotBits = 15 // 32,768 messages per millisecond per node

// rowidFor is the SQL for a new row's rowid, given its time key (the
// first slot of its millisecond; NULL lets SQLite pick): the next free
// slot of that millisecond. It runs inside the INSERT, under its write
// lock, so concurrent writers never pick the same slot.
var rowidFor = `(SELECT CASE WHEN k IS NULL THEN NULL ELSE COALESCE((SELECT MAX(rowid) + 1 FROM messages WHERE rowid >= k AND rowid < k + ` +
	strconv.Itoa(1<<slotBits) + `), k) END FROM (SELECT ? AS k))`

// timeKey is the first rowid of id's millisecond, or nil for an id that
// is not a ULID.
func timeKey(id sms.MessageID) any {
	u, err := ulid.ParseStrict(string(id))
	if err != nil || u.Time() == 0 {
		return nil
	}
	return int64(u.Time()) << slotBits
}

// layoutVersion is the index's PRAGMA user_version: 1 has time-keyed
// rowids; 0 (before) had rowids in arrival order.
const layoutVersion = 1

// migrateTimeKeys gives the messages of an index written before time-keyed
// rowids their time keys, and rebuilds the text index on them.
func migrateTimeKeys(db *sql.DB) error {
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("reading index layout version: %w", err)
	}
	if v >= layoutVersion {
		return nil
	}
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("migrating index to time keys: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil {
		return fmt.Errorf("migrating index to time keys: %w", err)
	}
	if n > 0 {
		// Old rowids are small (1, 2, …); time keys are above 2^55 for any
		// date after 1971, so the two never meet. Non-ULID ids go after
		// every time key, in their old order.
		rows, err := tx.Query(`SELECT rowid, id FROM messages ORDER BY rowid`)
		if err != nil {
			return fmt.Errorf("migrating index to time keys: %w", err)
		}
		type move struct{ from, to int64 }
		var moves []move
		next := map[int64]int64{}
		var last int64
		var others []int64
		for rows.Next() {
			var rowid int64
			var id string
			if err := rows.Scan(&rowid, &id); err != nil {
				rows.Close()
				return fmt.Errorf("migrating index to time keys: %w", err)
			}
			k, ok := timeKey(sms.MessageID(id)).(int64)
			if !ok {
				others = append(others, rowid)
				continue
			}
			to := k + next[k]
			next[k]++
			moves = append(moves, move{rowid, to})
			last = max(last, to)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("migrating index to time keys: %w", err)
		}
		for _, r := range others {
			last++
			moves = append(moves, move{r, last})
		}
		st, err := tx.Prepare(`UPDATE messages SET rowid = ? WHERE rowid = ?`)
		if err != nil {
			return fmt.Errorf("migrating index to time keys: %w", err)
		}
		defer st.Close()
		for _, m := range moves {
			if _, err := st.Exec(m.to, m.from); err != nil {
				return fmt.Errorf("migrating index to time keys: %w", err)
			}
		}
		if _, err := tx.Exec(`INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`); err != nil {
			return fmt.Errorf("rebuilding the text index: %w", err)
		}
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, layoutVersion)); err != nil {
		return fmt.Errorf("migrating index to time keys: %w", err)
	}
	return tx.Commit()
}

// timeBound is the first rowid of t's millisecond.
func timeBound(t time.Time) int64 { return t.UnixMilli() << slotBits }

// ApplyMessages upserts archived (redacted) messages.
func (x *Index) ApplyMessages(ctx context.Context, msgs []sms.Message) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning index tx: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO messages
		(rowid, id, direction, from_number, to_number, employee_id, body, verdict, findings, source, carrier, accepted_at, archived_at, segment)
		VALUES (`+rowidFor+`,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET direction=excluded.direction, from_number=excluded.from_number,
		to_number=excluded.to_number, employee_id=excluded.employee_id, body=excluded.body, verdict=excluded.verdict,
		findings=excluded.findings, source=excluded.source, carrier=excluded.carrier, accepted_at=excluded.accepted_at,
		archived_at=excluded.archived_at, segment=excluded.segment`)
	if err != nil {
		return fmt.Errorf("preparing index upsert: %w", err)
	}
	defer st.Close()
	for _, m := range msgs {
		f, _ := json.Marshal(m.Findings)
		if m.Findings == nil {
			f = []byte("[]")
		}
		if _, err := st.ExecContext(ctx, timeKey(m.ID), string(m.ID), string(m.Direction), m.From.E164(), m.To.E164(), m.EmployeeID,
			m.Body, string(m.Verdict), string(f), string(m.Source), m.Carrier,
			m.AcceptedAt.UnixNano(), m.ArchivedAt.UnixNano(), m.Segment); err != nil {
			return fmt.Errorf("indexing message %s: %w", m.ID, err)
		}
	}
	return tx.Commit()
}

// ApplyEvents records status events (idempotent: the same event twice is
// stored once) and moves each message's status forward.
func (x *Index) ApplyEvents(ctx context.Context, evs []sms.Event) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning index tx: %w", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO events (message_id, status, at, detail, carrier_ids) VALUES (?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("preparing event insert: %w", err)
	}
	defer ins.Close()
	up, err := tx.PrepareContext(ctx, `INSERT INTO messages (rowid, id, status, status_rank, parts) VALUES (`+rowidFor+`,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET
		  status = CASE WHEN excluded.status_rank > messages.status_rank THEN excluded.status ELSE messages.status END,
		  status_rank = MAX(messages.status_rank, excluded.status_rank),
		  parts = MAX(messages.parts, excluded.parts)`)
	if err != nil {
		return fmt.Errorf("preparing status update: %w", err)
	}
	defer up.Close()
	for _, e := range evs {
		if e.Status == sms.StatusReviewed {
			r := Review{MessageID: e.MessageID, Reviewer: e.Actor, At: e.At, Action: e.Detail, Comment: e.Attrs["comment"]}
			if _, err := tx.ExecContext(ctx, insertReview, reviewArgs(r)...); err != nil {
				return fmt.Errorf("indexing review of %s: %w", e.MessageID, err)
			}
			continue
		}
		if _, err := ins.ExecContext(ctx, string(e.MessageID), string(e.Status), e.At.UnixNano(), e.Detail, strings.Join(e.CarrierIDs, ",")); err != nil {
			return fmt.Errorf("indexing event of %s: %w", e.MessageID, err)
		}
		st, parts := e.Status, 0
		if st == sms.StatusSent {
			parts = len(e.CarrierIDs)
		}
		r := rank(st)
		if st == sms.StatusDelivered {
			// A multipart message is delivered when every part is.
			done, err := x.partsDelivered(ctx, tx, e.MessageID)
			if err != nil {
				return err
			}
			if !done {
				r, st = 0, ""
			}
		}
		if _, err := up.ExecContext(ctx, timeKey(e.MessageID), string(e.MessageID), string(st), r, parts); err != nil {
			return fmt.Errorf("updating status of %s: %w", e.MessageID, err)
		}
		if from := e.Attrs["from"]; from != "" && e.Status == sms.StatusFailed {
			// A text refused after it was answered OK (SMPP parts joined
			// later) is never archived: its failed event names our number.
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET from_number = ?, direction = 'outbound' WHERE id = ? AND from_number = ''`, from, string(e.MessageID)); err != nil {
				return fmt.Errorf("updating status of %s: %w", e.MessageID, err)
			}
		}
	}
	return tx.Commit()
}

func (x *Index) partsDelivered(ctx context.Context, tx *sql.Tx, id sms.MessageID) (bool, error) {
	var parts, delivered int
	err := tx.QueryRowContext(ctx, `SELECT
		COALESCE((SELECT parts FROM messages WHERE id = ?), 0),
		(SELECT COUNT(*) FROM events WHERE message_id = ? AND status = 'delivered')`, string(id), string(id)).Scan(&parts, &delivered)
	if err != nil {
		return false, fmt.Errorf("counting delivered parts of %s: %w", id, err)
	}
	return parts <= 1 || delivered >= parts, nil
}

// View is a message as the API shows it: redacted body, current status,
// history.
type View struct {
	sms.Message
	Status   sms.Status  `json:"status"`
	Parts    int         `json:"parts,omitempty"`
	Events   []sms.Event `json:"events"`
	Archived bool        `json:"archived"`
}

// ErrNotFound is returned for an unknown message.
var ErrNotFound = sms.Errorf(sms.NotFound, "message_not_found", "no such message")

const cols = `id, direction, from_number, to_number, employee_id, body, verdict, findings, source, carrier, accepted_at, archived_at, segment, status, parts`

func scanView(sc interface{ Scan(...any) error }) (View, error) {
	var v View
	var id, dir, from, to, verdict, findings, source, status string
	var body sql.NullString
	var acc, arch int64
	if err := sc.Scan(&id, &dir, &from, &to, &v.EmployeeID, &body, &verdict, &findings, &source, &v.Carrier, &acc, &arch, &v.Segment, &status, &v.Parts); err != nil {
		return View{}, err
	}
	v.ID, v.Direction, v.From, v.To = sms.MessageID(id), sms.Direction(dir), sms.Number(from), sms.Number(to)
	v.Body, v.Verdict, v.Source, v.Status = body.String, sms.Verdict(verdict), sms.Source(source), sms.Status(status)
	_ = json.Unmarshal([]byte(findings), &v.Findings)
	if acc > 0 {
		v.AcceptedAt = time.Unix(0, acc).UTC()
	}
	if arch > 0 {
		v.ArchivedAt = time.Unix(0, arch).UTC()
		v.Archived = true
	}
	return v, nil
}

// Get returns one message with its history.
func (x *Index) Get(ctx context.Context, id sms.MessageID) (View, error) {
	row := x.db.QueryRowContext(ctx, `SELECT `+cols+` FROM messages WHERE id = ?`, string(id))
	v, err := scanView(row)
	if errors.Is(err, sql.ErrNoRows) {
		return View{}, ErrNotFound
	}
	if err != nil {
		return View{}, fmt.Errorf("reading message %s: %w", id, err)
	}
	rows, err := x.db.QueryContext(ctx, `SELECT status, at, detail, carrier_ids FROM events WHERE message_id = ? ORDER BY at, rowid`, string(id))
	if err != nil {
		return View{}, fmt.Errorf("reading events of %s: %w", id, err)
	}
	defer rows.Close()
	v.Events = []sms.Event{}
	for rows.Next() {
		var e sms.Event
		var st, ids string
		var at int64
		if err := rows.Scan(&st, &at, &e.Detail, &ids); err != nil {
			return View{}, fmt.Errorf("reading events of %s: %w", id, err)
		}
		e.MessageID, e.Status, e.At = id, sms.Status(st), time.Unix(0, at).UTC()
		if ids != "" {
			e.CarrierIDs = strings.Split(ids, ",")
		}
		v.Events = append(v.Events, e)
	}
	return v, rows.Err()
}

// Query selects messages for a list.
type Query struct {
	EmployeeID string        // "" = any (compliance)
	Direction  sms.Direction // "" = both
	Before     sms.MessageID // page token: messages older than this id
	Limit      int
}

// List returns messages newest first, and the page token for the next page
// ("" when there is none). Only archived messages are listed.
func (x *Index) List(ctx context.Context, q Query) ([]View, sms.MessageID, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 50
	}
	var where []string
	var args []any
	where = append(where, "archived_at > 0")
	if q.EmployeeID != "" {
		where, args = append(where, "employee_id = ?"), append(args, q.EmployeeID)
	}
	if q.Direction != "" {
		where, args = append(where, "direction = ?"), append(args, string(q.Direction))
	}
	if q.Before != "" {
		where, args = append(where, "id < ?"), append(args, string(q.Before))
	}
	args = append(args, q.Limit+1)
	rows, err := x.db.QueryContext(ctx, `SELECT `+cols+` FROM messages WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("listing messages: %w", err)
	}
	defer rows.Close()
	var out []View
	for rows.Next() {
		v, err := scanView(rows)
		if err != nil {
			return nil, "", fmt.Errorf("listing messages: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("listing messages: %w", err)
	}
	var next sms.MessageID
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

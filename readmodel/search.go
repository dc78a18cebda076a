package readmodel

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/smsgw/smsgw/sms"
)

// searchSchema adds full-text search (FTS5 over the redacted bodies, kept
// in step with messages by triggers), the lookups a compliance search
// filters on, and supervisory reviews (FINRA 3110).
const searchSchema = `
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(body, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS messages_fts_ai AFTER INSERT ON messages BEGIN
	INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_ad AFTER DELETE ON messages BEGIN
	INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER IF NOT EXISTS messages_fts_au AFTER UPDATE OF body ON messages BEGIN
	INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
	INSERT INTO messages_fts(rowid, body) VALUES (new.rowid, new.body);
END;
CREATE INDEX IF NOT EXISTS messages_by_from ON messages(from_number);
CREATE INDEX IF NOT EXISTS messages_by_to ON messages(to_number);
CREATE INDEX IF NOT EXISTS messages_by_verdict ON messages(verdict);
CREATE INDEX IF NOT EXISTS messages_by_emp ON messages(employee_id);
CREATE TABLE IF NOT EXISTS reviews (
	message_id TEXT NOT NULL,
	reviewer   TEXT NOT NULL,
	at         INTEGER NOT NULL,
	action     TEXT NOT NULL,
	comment    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS reviews_by_message ON reviews(message_id, at);
CREATE TABLE IF NOT EXISTS holds (
	message_id TEXT NOT NULL,
	matter     TEXT NOT NULL,
	UNIQUE(message_id, matter)
);
CREATE INDEX IF NOT EXISTS holds_by_matter ON holds(matter);
`

// migrateSearch creates the search schema and fills the text index of a
// database that predates it.
func migrateSearch(db *sql.DB) error {
	if _, err := db.Exec(searchSchema); err != nil {
		return fmt.Errorf("creating search schema: %w", err)
	}
	var indexed, msgs int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM messages_fts_docsize), (SELECT COUNT(*) FROM messages)`).Scan(&indexed, &msgs); err != nil {
		return fmt.Errorf("checking the text index: %w", err)
	}
	if indexed == 0 && msgs > 0 {
		if _, err := db.Exec(`INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`); err != nil {
			return fmt.Errorf("building the text index: %w", err)
		}
	}
	return nil
}

// Search is a compliance search. Zero fields do not filter.
type Search struct {
	Text      string     // words, "quoted phrases", prefix* — all must match
	Party     sms.Number // the customer's number (the side that is not ours)
	Business  sms.Number // our business number
	Employees []string   // any of these employees (a department resolves to its employees)
	Direction sms.Direction
	From, To  time.Time   // accepted in [From, To)
	Finding   string      // has a finding of this type
	Verdict   sms.Verdict // redacted, blocked, pass
	Reviewed  *bool       // reviewed at least once / never
	Held      *bool       // under an active legal hold / not
	Before    string      // page token from the previous page
	Limit     int         // default 50, at most 500
}

// Describe renders the search's parameters for the audit trail (numbers
// included, as a regulator would need them; no body). Times keep their
// fractions of a second, so the record reproduces the query that ran.
func (q Search) Describe() map[string]string {
	p := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set("text", q.Text)
	set("party", q.Party.E164())
	set("business", q.Business.E164())
	set("employees", strings.Join(q.Employees, ","))
	set("direction", string(q.Direction))
	if !q.From.IsZero() {
		set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	set("finding", q.Finding)
	set("verdict", string(q.Verdict))
	if q.Reviewed != nil {
		set("reviewed", fmt.Sprint(*q.Reviewed))
	}
	if q.Held != nil {
		set("held", fmt.Sprint(*q.Held))
	}
	set("page_token", q.Before)
	return p
}

// ErrBadQuery is returned for a text query with nothing to search for.
var ErrBadQuery = sms.Errorf(sms.Invalid, "invalid_query", "the text query has no words to search for")

// ftsQuery turns what a person types into an FTS5 query that cannot be
// misread as FTS syntax: "quoted phrases" stay phrases, a trailing * makes
// a prefix search, everything else is a plain word; all terms must match.
func ftsQuery(text string) (string, error) {
	var terms []string
	word := func(w string) {
		prefix := strings.HasSuffix(w, "*")
		w = strings.TrimRight(w, "*")
		toks := strings.FieldsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
		if len(toks) == 0 {
			return
		}
		t := `"` + strings.Join(toks, " ") + `"`
		if prefix {
			t += "*"
		}
		terms = append(terms, t)
	}
	for len(text) > 0 {
		text = strings.TrimLeftFunc(text, unicode.IsSpace)
		if text == "" {
			break
		}
		if text[0] == '"' {
			end := strings.IndexByte(text[1:], '"')
			var phrase string
			if end < 0 {
				phrase, text = text[1:], ""
			} else {
				phrase, text = text[1:end+1], text[end+2:]
			}
			word(phrase)
			continue
		}
		end := strings.IndexFunc(text, unicode.IsSpace)
		if end < 0 {
			end = len(text)
		}
		word(text[:end])
		text = text[end:]
	}
	if len(terms) == 0 {
		return "", ErrBadQuery
	}
	return strings.Join(terms, " AND "), nil
}

// ErrBadPageToken is returned for a page token Search did not hand out.
var ErrBadPageToken = sms.Errorf(sms.Invalid, "invalid_page_token", "page_token is not valid")

// Search runs a compliance search: archived messages newest first, and the
// page token of the next page ("" at the end).
//
// "Newest" is rowid order, which is acceptance time (rowids are time
// keys, see timeKey; messages of the same millisecond in the order this
// node indexed them). Ordering by rowid lets SQLite walk the FTS doclists
// and the other indexes backwards from the end of the date range and stop
// after one page, instead of sorting every match: that is what keeps a
// search over ten million messages in tens of milliseconds.
func (x *Index) Search(ctx context.Context, q Search) ([]View, string, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	where := []string{"m.archived_at > 0"}
	var args []any
	from, order := "messages m", "m.rowid"
	if strings.TrimSpace(q.Text) != "" {
		fq, err := ftsQuery(q.Text)
		if err != nil {
			return nil, "", err
		}
		if q.Party != "" || q.Business != "" || len(q.Employees) > 0 {
			// A number or employee narrows to a few thousand messages at
			// most: walk those (newest first) and look each up in the
			// text index, rather than walk every message with a common word.
			where, args = append(where, "EXISTS (SELECT 1 FROM messages_fts WHERE messages_fts MATCH ? AND rowid = m.rowid)"), append(args, fq)
		} else {
			// Ordered by the FTS table's rowid, SQLite walks the doclists
			// backwards and stops after a page.
			from, order = "messages_fts f JOIN messages m ON m.rowid = f.rowid", "f.rowid"
			where, args = append(where, "messages_fts MATCH ?"), append(args, fq)
		}
	}
	if q.Party != "" {
		where = append(where, "((m.direction = 'outbound' AND m.to_number = ?) OR (m.direction = 'inbound' AND m.from_number = ?))")
		args = append(args, q.Party.E164(), q.Party.E164())
	}
	if q.Business != "" {
		where = append(where, "((m.direction = 'outbound' AND m.from_number = ?) OR (m.direction = 'inbound' AND m.to_number = ?))")
		args = append(args, q.Business.E164(), q.Business.E164())
	}
	if len(q.Employees) > 0 {
		where = append(where, "m.employee_id IN (?"+strings.Repeat(",?", len(q.Employees)-1)+")")
		for _, e := range q.Employees {
			args = append(args, e)
		}
	}
	if q.Direction != "" {
		where, args = append(where, "m.direction = ?"), append(args, string(q.Direction))
	}
	// Rowids are time keys (see timeKey): a date range is a rowid range,
	// which the text index and every other index seek to directly.
	if !q.From.IsZero() {
		where, args = append(where, order+" >= ?"), append(args, timeBound(q.From))
	}
	if !q.To.IsZero() {
		where, args = append(where, order+" < ?"), append(args, timeBound(q.To))
	}
	if q.Finding != "" {
		where = append(where, "EXISTS (SELECT 1 FROM json_each(m.findings) WHERE json_extract(value, '$.type') = ?)")
		args = append(args, q.Finding)
	}
	if q.Verdict != "" {
		where, args = append(where, "m.verdict = ?"), append(args, string(q.Verdict))
	}
	if q.Reviewed != nil {
		not := ""
		if !*q.Reviewed {
			not = "NOT "
		}
		where = append(where, "m.id "+not+"IN (SELECT message_id FROM reviews)")
	}
	if q.Held != nil {
		not := ""
		if !*q.Held {
			not = "NOT "
		}
		where = append(where, "m.id "+not+"IN (SELECT message_id FROM holds)")
	}
	if q.Before != "" {
		before, err := strconv.ParseInt(q.Before, 36, 64)
		if err != nil || before <= 0 {
			return nil, "", ErrBadPageToken
		}
		where, args = append(where, order+" < ?"), append(args, before)
	}
	args = append(args, q.Limit+1)
	sel := "m.rowid, m." + strings.ReplaceAll(cols, ", ", ", m.")
	rows, err := x.db.QueryContext(ctx, `SELECT `+sel+` FROM `+from+` WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("searching messages: %w", err)
	}
	defer rows.Close()
	var out []View
	var rowids []int64
	for rows.Next() {
		var rowid int64
		v, err := scanView(withRowid{rows, &rowid})
		if err != nil {
			return nil, "", fmt.Errorf("searching messages: %w", err)
		}
		out, rowids = append(out, v), append(rowids, rowid)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("searching messages: %w", err)
	}
	next := ""
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = strconv.FormatInt(rowids[q.Limit-1], 36)
	}
	return out, next, nil
}

// withRowid scans a leading rowid column, then the view's columns.
type withRowid struct {
	sc    interface{ Scan(...any) error }
	rowid *int64
}

func (w withRowid) Scan(dst ...any) error { return w.sc.Scan(append([]any{w.rowid}, dst...)...) }

// Conversation returns every archived message between a business number
// and a customer, oldest first, each with its status history and reviews.
func (x *Index) Conversation(ctx context.Context, business, party sms.Number, limit int) ([]View, error) {
	if limit <= 0 || limit > 5000 {
		limit = 1000
	}
	rows, err := x.db.QueryContext(ctx, `SELECT `+cols+` FROM messages WHERE archived_at > 0 AND
		((direction = 'outbound' AND from_number = ? AND to_number = ?) OR (direction = 'inbound' AND to_number = ? AND from_number = ?))
		ORDER BY id LIMIT ?`, business.E164(), party.E164(), business.E164(), party.E164(), limit)
	if err != nil {
		return nil, fmt.Errorf("reading conversation: %w", err)
	}
	var out []View
	for rows.Next() {
		v, err := scanView(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading conversation: %w", err)
		}
		out = append(out, v)
	}
	rows.Close()
	for i := range out {
		full, err := x.Get(ctx, out[i].ID)
		if err != nil {
			return nil, err
		}
		out[i].Events = full.Events
	}
	return out, nil
}

// Review is a supervisor's review of a message.
type Review struct {
	MessageID sms.MessageID `json:"message_id"`
	Reviewer  string        `json:"reviewer"`
	At        time.Time     `json:"at"`
	Action    string        `json:"action"`
	Comment   string        `json:"comment,omitempty"`
}

// ReviewActions are the outcomes a reviewer can record.
var ReviewActions = []string{"approved", "escalated", "flagged", "no_action"}

// AddReview records a review of an archived message.
func (x *Index) AddReview(ctx context.Context, r Review) error {
	var n int
	if err := x.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE id = ? AND archived_at > 0`, string(r.MessageID)).Scan(&n); err != nil {
		return fmt.Errorf("recording review: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	if _, err := x.db.ExecContext(ctx, insertReview, reviewArgs(r)...); err != nil {
		return fmt.Errorf("recording review: %w", err)
	}
	return nil
}

// insertReview records a review once: the same review arriving again (from
// its reviewed event, or a reindex) is not a second review.
const insertReview = `INSERT INTO reviews (message_id, reviewer, at, action, comment) SELECT ?1, ?2, ?3, ?4, ?5
	WHERE NOT EXISTS (SELECT 1 FROM reviews WHERE message_id = ?1 AND reviewer = ?2 AND at = ?3 AND action = ?4)`

func reviewArgs(r Review) []any {
	return []any{string(r.MessageID), r.Reviewer, r.At.UnixNano(), r.Action, r.Comment}
}

// ReviewEvent is the event that shares r with every node's index
// (ApplyEvents records it as a review).
func ReviewEvent(r Review) sms.Event {
	return sms.Event{MessageID: r.MessageID, Status: sms.StatusReviewed, At: r.At, Actor: r.Reviewer, Detail: r.Action,
		Attrs: map[string]string{"comment": r.Comment}}
}

// Reviews lists the reviews of a message, oldest first.
func (x *Index) Reviews(ctx context.Context, id sms.MessageID) ([]Review, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT reviewer, at, action, comment FROM reviews WHERE message_id = ? ORDER BY at, rowid`, string(id))
	if err != nil {
		return nil, fmt.Errorf("reading reviews: %w", err)
	}
	defer rows.Close()
	out := []Review{}
	for rows.Next() {
		r := Review{MessageID: id}
		var at int64
		if err := rows.Scan(&r.Reviewer, &at, &r.Action, &r.Comment); err != nil {
			return nil, fmt.Errorf("reading reviews: %w", err)
		}
		r.At = time.Unix(0, at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// ResultHash is the SHA-256 (hex) of a result's message ids in order: what
// an audit record keeps of what a search or view returned.
func ResultHash(views []View) string {
	h := sha256.New()
	for _, v := range views {
		h.Write([]byte(v.ID))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// AddHold records that a matter holds these messages (for the held filter).
func (x *Index) AddHold(ctx context.Context, matter string, ids []string) error {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("recording hold: %w", err)
	}
	defer tx.Rollback()
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO holds (message_id, matter) VALUES (?, ?)`, id, matter); err != nil {
			return fmt.Errorf("recording hold: %w", err)
		}
	}
	return tx.Commit()
}

// ReleaseHold forgets a matter's holds.
func (x *Index) ReleaseHold(ctx context.Context, matter string) error {
	if _, err := x.db.ExecContext(ctx, `DELETE FROM holds WHERE matter = ?`, matter); err != nil {
		return fmt.Errorf("releasing hold: %w", err)
	}
	return nil
}

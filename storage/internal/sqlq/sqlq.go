// Package sqlq builds the SELECTs both backends share, so that filtering and
// ordering rules (ties by id, the same way in both directions) are written
// once.
package sqlq

import (
	"fmt"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/subscribers"
)

// Dialect is what differs between SQLite and PostgreSQL here.
type Dialect struct {
	Postgres bool
	// Time converts a time to the column's representation.
	Time func(time.Time) any
}

type builder struct {
	d     Dialect
	where []string
	args  []any
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	if b.d.Postgres {
		return fmt.Sprintf("$%d", len(b.args))
	}
	return "?"
}

func (b *builder) cond(format string, v any) {
	b.where = append(b.where, fmt.Sprintf(format, b.arg(v)))
}

func (b *builder) whereSQL() string {
	if len(b.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(b.where, " AND ")
}

// page writes LIMIT and OFFSET as literals (they are ints, so this is
// safe): with a placeholder PostgreSQL's generic plan cannot see how few
// rows are wanted and may sort the whole table instead of walking an index.
func (b *builder) page(limit, offset int) string {
	var s string
	if limit > 0 {
		s += fmt.Sprintf(" LIMIT %d", limit)
	} else if offset > 0 && !b.d.Postgres {
		s += " LIMIT -1" // SQLite needs a LIMIT before OFFSET
	}
	if offset > 0 {
		s += fmt.Sprintf(" OFFSET %d", offset)
	}
	return s
}

// Articles returns the SELECT of the doc column (or of COUNT(*) when count)
// for q. With a series it walks article_series (an author article_authors,
// a tag article_tags), which carries each
// article's published and status, so that (series, status, published,
// article_id) gives a feed's rows in order; otherwise the articles indexes
// do, (section, status, published, id) for a feed. A series count without a
// section does not read articles at all.
func Articles(d Dialect, q article.Query, count bool) (string, []any) {
	b := &builder{d: d}
	from := "articles a"
	pub, id, status := "a.published", "a.id", "a.status"
	// A series, author or tag feed walks its own table (only one of them
	// filters: Series, then Author, then Tag).
	table, col, key := "", "", ""
	switch {
	case q.Series != "":
		table, col, key = "article_series", "series", q.Series
	case q.Author != "":
		table, col, key = "article_authors", "slug", q.Author
	case q.Tag != "":
		table, col, key = "article_tags", "slug", q.Tag
	}
	if table != "" {
		from = table + " s JOIN articles a ON a.id = s.article_id"
		if count && q.Section == "" {
			from = table + " s"
		}
		pub, id, status = "s.published", "s.article_id", "s.status"
		b.cond("s."+col+" = %s", key)
	}
	if q.Section != "" {
		b.cond("a.section = %s", q.Section)
	}
	if q.Status != "" {
		b.cond(status+" = %s", string(q.Status))
	}
	// One upper bound, the tighter: given both, SQLite bounds the index
	// range by one (published <= now), so counting a day of 2008 walked
	// every story from that day to now and an archive answer took time in
	// proportion to the years after it. Times compare at the columns'
	// resolution, microseconds, as both dialects store them.
	before, until := q.PublishedBefore, q.PublishedUntil
	if !before.IsZero() && !until.IsZero() {
		if until.Truncate(time.Microsecond).After(before.Truncate(time.Microsecond)) {
			until = time.Time{} // published <= before implies published < until
		} else {
			before = time.Time{} // published < until implies published <= before
		}
	}
	if !before.IsZero() {
		b.cond(pub+" <= %s", d.Time(before))
	}
	if !q.PublishedFrom.IsZero() {
		b.cond(pub+" >= %s", d.Time(q.PublishedFrom))
	}
	if !until.IsZero() {
		b.cond(pub+" < %s", d.Time(until))
	}
	if count {
		return "SELECT COUNT(*) FROM " + from + b.whereSQL(), b.args
	}
	dir := " DESC"
	if q.Oldest {
		dir = " ASC"
	}
	sql := "SELECT a.doc FROM " + from + b.whereSQL() +
		" ORDER BY " + pub + dir + ", " + id + dir + b.page(q.Limit, q.Offset)
	return sql, b.args
}

// SubscriberColumns is the column list Subscribers selects, in scan order.
const SubscriberColumns = `s.id, s.email, s.name, s.status, s.consent_at, s.consent_ip, s.consent_user_agent,
	s.consent_source, s.created_at, s.confirmed_at, s.unsubscribed_at, s.bounce_count, s.confirmation_sent_at`

// Subscribers returns the SELECT of SubscriberColumns (or COUNT(*)) for f,
// ordered by id.
func Subscribers(d Dialect, f subscribers.Filter, count bool) (string, []any) {
	b := &builder{d: d}
	if f.Status != "" {
		b.cond("s.status = %s", string(f.Status))
	}
	if f.List != "" {
		active := any(1)
		if d.Postgres {
			active = true
		}
		b.args = append(b.args, f.List)
		listArg := b.arg(active) // placeholders numbered in order of args
		b.where = append(b.where, fmt.Sprintf(
			"EXISTS (SELECT 1 FROM subscriptions l WHERE l.subscriber_id = s.id AND l.list = %s AND l.active = %s)",
			placeholder(d, len(b.args)-1), listArg))
	}
	if !count && f.AfterID > 0 {
		b.cond("s.id > %s", f.AfterID)
	}
	if count {
		return "SELECT COUNT(*) FROM subscribers s" + b.whereSQL(), b.args
	}
	return "SELECT " + SubscriberColumns + " FROM subscribers s" + b.whereSQL() +
		" ORDER BY s.id" + b.page(f.Limit, 0), b.args
}

func placeholder(d Dialect, n int) string {
	if d.Postgres {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

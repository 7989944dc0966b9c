package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage/internal/sqlq"
)

// errRace means another transaction inserted the same id first; the put is
// retried and then sees that row.
var errRace = errors.New("concurrent insert")

// PutArticle stores a following article.Merge, inside one write transaction.
func (s *Store) PutArticle(ctx context.Context, a *article.Article, now time.Time) (article.PutResult, error) {
	res, err := s.PutArticles(ctx, []*article.Article{a}, now)
	if err != nil {
		return article.PutResult{}, err
	}
	return res[0], nil
}

// PutArticles runs PutArticle's rules for every article in one transaction
// (bulk import, benchmark seeding): all are stored, or none when one fails.
// The existing row is read with the dialect's row lock so concurrent writers
// of one id take turns; two inserting a new id at once meet in ON CONFLICT
// and the loser retries as an update.
func (s *Store) PutArticles(ctx context.Context, as []*article.Article, now time.Time) ([]article.PutResult, error) {
	for attempt := 0; ; attempt++ {
		out := make([]article.PutResult, 0, len(as))
		err := s.tx(ctx, func(q db) error {
			var changes []article.Change
			for _, a := range as {
				if a == nil {
					return fmt.Errorf("put article: %w", &article.FieldError{Field: "article", Reason: "is nil"})
				}
				res, ch, err := putArticle(ctx, q, a, now)
				if err != nil {
					return fmt.Errorf("put article %s: %w", a.ID, err)
				}
				if ch != nil {
					changes = append(changes, *ch)
				}
				out = append(out, res)
			}
			if len(changes) > 0 {
				return logArticleChanges(ctx, q, changes)
			}
			return nil
		})
		if errors.Is(err, errRace) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(as) >= bulkRows && s.d.AfterBulkArticles != "" && s.articleMaint.add(len(as)) {
			if err := s.afterBulkArticles(ctx); err != nil {
				return nil, fmt.Errorf("put articles: %w", err)
			}
		}
		return out, nil
	}
}

// afterBulkArticles runs the dialect's AfterBulkArticles and counts the
// articles for the next decision of s.articleMaint.
func (s *Store) afterBulkArticles(ctx context.Context) error {
	var rows int64 = -1
	defer func() { s.articleMaint.done(rows) }()
	if _, err := s.w.ExecContext(ctx, s.d.AfterBulkArticles); err != nil {
		return err
	}
	var n int64
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM articles`).Scan(&n); err != nil {
		return err
	}
	rows = n
	return nil
}

// logArticleChanges increases the articles revision inside the write
// transaction that changed articles (see article.Store.ArticlesRevision)
// and logs the changes under the new revision (article.ChangeLog). It runs
// last, after every article row is locked, so the one revisions row is
// held only from here to commit and always taken after the article rows:
// writers queue on it briefly but cannot deadlock through it. As writers
// commit in revision order, a reader never sees a revision's rows before
// those of an earlier one.
func logArticleChanges(ctx context.Context, q db, changes []article.Change) error {
	changes = mergeChanges(changes)
	var rev int64
	if err := q.row(ctx, `UPDATE revisions SET value = value + 1 WHERE name = 'articles' RETURNING value`).Scan(&rev); err != nil {
		return fmt.Errorf("bump articles revision: %w", err)
	}
	for start := 0; start < len(changes); start += q.d.Batch {
		chunk := changes[start:min(start+q.d.Batch, len(changes))]
		args := make([]any, 0, 5*len(chunk))
		for _, c := range chunk {
			var old any
			if len(c.Published) > 1 {
				old = q.t(c.Published[0])
			}
			args = append(args, rev, c.ID, strings.Join(c.Keys, "\n"), old, q.t(c.Published[len(c.Published)-1]))
		}
		if _, err := q.exec(ctx, `INSERT INTO article_changes (revision, article_id, keys, published_old, published_new) VALUES `+
			values(len(chunk), 5)+``, args...); err != nil {
			return fmt.Errorf("log article changes: %w", err)
		}
	}
	if rev%pruneChangesEvery == 0 {
		if _, err := q.exec(ctx, `DELETE FROM article_changes WHERE revision <= ?`, rev-keepChanges); err != nil {
			return fmt.Errorf("prune article changes: %w", err)
		}
	}
	return nil
}

// mergeChanges makes one change of the changes of one article (a batch
// may write an article twice): every key, the first and last times.
func mergeChanges(changes []article.Change) []article.Change {
	out := changes[:0:0]
	at := map[string]int{}
	for _, c := range changes {
		i, ok := at[c.ID]
		if !ok {
			at[c.ID] = len(out)
			out = append(out, c)
			continue
		}
		m := &out[i]
		for _, k := range c.Keys {
			if !slices.Contains(m.Keys, k) {
				m.Keys = append(m.Keys, k)
			}
		}
		m.Published = []time.Time{m.Published[0], c.Published[len(c.Published)-1]}
	}
	return out
}

// keepChanges is how many revisions of the change log are kept; the rest
// is pruned every pruneChangesEvery revisions. A process more than that
// behind drops all it built (article.ErrChangesPruned).
const (
	keepChanges       = 100_000
	pruneChangesEvery = 1000
)

// ArticleChanges implements article.ChangeLog.
func (s *Store) ArticleChanges(ctx context.Context, after int64, limit int) ([]article.Change, error) {
	q := s.read()
	var cur int64
	var oldest sql.NullInt64
	if err := q.row(ctx, `SELECT r.value, (SELECT MIN(revision) FROM article_changes)
		FROM revisions r WHERE r.name = 'articles'`).Scan(&cur, &oldest); err != nil {
		return nil, fmt.Errorf("article changes: %w", err)
	}
	if after >= cur {
		return nil, nil
	}
	if !oldest.Valid || oldest.Int64 > after+1 {
		return nil, fmt.Errorf("article changes after revision %d: %w", after, article.ErrChangesPruned)
	}
	query := `SELECT revision, article_id, keys, published_old, published_new FROM article_changes
		WHERE revision > ? ORDER BY revision, article_id`
	if limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	out, err := collect(func(r *sql.Rows) (article.Change, error) {
		var c article.Change
		var keys string
		var old, pub time.Time
		if err := r.Scan(&c.Revision, &c.ID, &keys, tm{&old}, tm{&pub}); err != nil {
			return c, err
		}
		if keys != "" {
			c.Keys = strings.Split(keys, "\n")
		}
		if !old.IsZero() {
			c.Published = append(c.Published, old)
		}
		c.Published = append(c.Published, pub)
		return c, nil
	})(q.query(ctx, query, after))
	if err != nil {
		return nil, fmt.Errorf("article changes: %w", err)
	}
	return out, nil
}

// ArticlesRevision returns the counter every changing article write bumps.
func (s *Store) ArticlesRevision(ctx context.Context) (int64, error) {
	var v int64
	if err := s.read().row(ctx, `SELECT value FROM revisions WHERE name = 'articles'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("articles revision: %w", err)
	}
	return v, nil
}

// putArticle stores a following article.Merge and returns what it did and,
// when it changed something, the change to log.
func putArticle(ctx context.Context, q db, a *article.Article, now time.Time) (article.PutResult, *article.Change, error) {
	res, err := putArticleRows(ctx, q, a, now)
	if err != nil || res.Outcome == article.Unchanged {
		return res.PutResult, nil, err
	}
	ch := &article.Change{ID: res.Article.ID}
	if res.existing != nil {
		ch.Keys = res.existing.FeedKeys()
		ch.Published = append(ch.Published, res.existing.Published)
	}
	for _, k := range res.Article.FeedKeys() {
		if !slices.Contains(ch.Keys, k) {
			ch.Keys = append(ch.Keys, k)
		}
	}
	ch.Published = append(ch.Published, res.Article.Published)
	return res.PutResult, ch, nil
}

type putResult struct {
	article.PutResult
	existing *article.Article
}

func putArticleRows(ctx context.Context, q db, a *article.Article, now time.Time) (putResult, error) {
	existing, err := getArticle(ctx, q, a.ID, q.d.ForUpdate)
	if err != nil && !errors.Is(err, article.ErrNotFound) {
		return putResult{}, err
	}
	merged, outcome := article.Merge(existing, a, now)
	res := putResult{PutResult: article.PutResult{Article: merged, Outcome: outcome}, existing: existing}
	if outcome == article.Unchanged {
		return res, nil
	}
	if err := merged.Validate(); err != nil {
		return putResult{}, err
	}
	if existing == nil && merged.GUID == "" {
		return putResult{}, &article.FieldError{Field: "guid", Reason: "is empty"}
	}
	doc, err := json.Marshal(merged)
	if err != nil {
		return putResult{}, err
	}
	pub, upd := q.t(merged.Published), q.t(merged.Updated)
	if existing == nil {
		// No conflict target: a clash on id or on guid both land here.
		n, err := q.execN(ctx, `INSERT INTO articles (id, guid, section, status, published, updated, content_hash, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			merged.ID, merged.GUID, merged.Section, string(merged.Status), pub, upd, merged.ContentHash(), string(doc))
		if err != nil {
			return putResult{}, err
		}
		if n == 0 {
			return putResult{}, insertClash(ctx, q, merged)
		}
	} else {
		_, err = q.exec(ctx, `UPDATE articles SET section = ?, status = ?, published = ?, updated = ?,
			content_hash = ?, doc = ? WHERE id = ?`,
			merged.Section, string(merged.Status), pub, upd, merged.ContentHash(), string(doc), merged.ID)
		if err != nil {
			return putResult{}, err
		}
	}
	if err := putKeyRows(ctx, q, "article_series", "series", merged.ID, uniq(merged.Series), pub, merged.Status); err != nil {
		return putResult{}, err
	}
	if err := putKeyRows(ctx, q, "article_authors", "slug", merged.ID, merged.AuthorSlugs(), pub, merged.Status); err != nil {
		return putResult{}, err
	}
	if err := putKeyRows(ctx, q, "article_tags", "slug", merged.ID, merged.TagSlugs(), pub, merged.Status); err != nil {
		return putResult{}, err
	}
	return res, nil
}

// putKeyRows replaces the rows of article id in table (article_series,
// article_authors, article_tags), one per key, each with the article's
// published time and status.
func putKeyRows(ctx context.Context, q db, table, col, id string, keys []string, pub any, status article.Status) error {
	if _, err := q.exec(ctx, `DELETE FROM `+table+` WHERE article_id = ?`, id); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, 0, 4*len(keys))
	for _, k := range keys {
		args = append(args, k, id, pub, string(status))
	}
	_, err := q.exec(ctx, `INSERT INTO `+table+` (`+col+`, article_id, published, status) VALUES `+values(len(keys), 4), args...)
	return err
}

// insertClash explains an insert that ON CONFLICT skipped: the id was
// inserted concurrently (errRace, retry) or the GUID belongs to another
// article.
func insertClash(ctx context.Context, q db, a *article.Article) error {
	var other string
	err := q.row(ctx, `SELECT id FROM articles WHERE id = ? OR guid = ? ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1`,
		a.ID, a.GUID, a.ID).Scan(&other)
	if err != nil {
		return err
	}
	if other == a.ID {
		return errRace
	}
	return &article.FieldError{Field: "guid", Reason: fmt.Sprintf("%q already belongs to article %s", a.GUID, other)}
}

func getArticle(ctx context.Context, q db, id, lock string) (*article.Article, error) {
	var doc []byte
	err := q.row(ctx, `SELECT doc FROM articles WHERE id = ?`+lock, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, article.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return decodeArticle(doc)
}

func decodeArticle(doc []byte) (*article.Article, error) {
	var a article.Article
	if err := json.Unmarshal(doc, &a); err != nil {
		return nil, fmt.Errorf("decode stored article: %w", err)
	}
	return &a, nil
}

// GetArticle returns article.ErrNotFound when id is unknown.
func (s *Store) GetArticle(ctx context.Context, id string) (*article.Article, error) {
	a, err := getArticle(ctx, s.read(), id, "")
	if err != nil {
		return nil, fmt.Errorf("get article %s: %w", id, err)
	}
	return a, nil
}

// ListArticles returns the articles q selects, newest first unless q.Oldest.
func (s *Store) ListArticles(ctx context.Context, q article.Query) ([]*article.Article, error) {
	query, args := sqlq.Articles(s.d.Query, q, false)
	out, err := collect(func(rows *sql.Rows) (*article.Article, error) {
		var doc sql.RawBytes // decoded before Next, so no copy is needed
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		return decodeArticle(doc)
	})(s.r.QueryContext(ctx, query, args...))
	if err != nil {
		return nil, fmt.Errorf("list articles: %w", err)
	}
	return out, nil
}

// CountArticles counts what ListArticles would return without Limit/Offset.
func (s *Store) CountArticles(ctx context.Context, q article.Query) (int, error) {
	query, args := sqlq.Articles(s.d.Query, q, true)
	return s.count(ctx, "articles", query, args)
}

// NextPublication returns the earliest Published strictly after t among
// published articles, or the zero time.
func (s *Store) NextPublication(ctx context.Context, t time.Time) (time.Time, error) {
	var doc []byte
	q := s.read()
	err := q.row(ctx, `SELECT doc FROM articles WHERE published > ? AND status = ?
		ORDER BY published, id LIMIT 1`, q.t(t), string(article.StatusPublished)).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("next publication: %w", err)
	}
	a, err := decodeArticle(doc)
	if err != nil {
		return time.Time{}, fmt.Errorf("next publication: %w", err)
	}
	// From the document, so the article's own zone comes back.
	return a.Published, nil
}

// uniq drops empty and repeated series slugs, which would break the key.
func uniq(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage/internal/sqlq"
)

// pgTime truncates to microseconds the way the SQLite backend does; left to
// itself PostgreSQL would round, and the two backends would disagree on
// PublishedBefore at the sub-microsecond edge.
func pgTime(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

var dialect = sqlq.Dialect{Postgres: true, Time: func(t time.Time) any { return pgTime(t) }}

// errRace means another transaction inserted the same id first; the put is
// retried and then sees that row.
var errRace = errors.New("concurrent insert")

// PutArticle stores a following article.Merge. The existing row is locked
// with FOR UPDATE so concurrent writers of one id take turns; two inserting
// a new id at once meet in ON CONFLICT and the loser retries as an update.
func (s *Store) PutArticle(ctx context.Context, a *article.Article, now time.Time) (article.PutResult, error) {
	res, err := s.PutArticles(ctx, []*article.Article{a}, now)
	if err != nil {
		return article.PutResult{}, err
	}
	return res[0], nil
}

// PutArticles runs PutArticle's rules for every article in one transaction
// (bulk import, benchmark seeding): all are stored, or none when one fails.
func (s *Store) PutArticles(ctx context.Context, as []*article.Article, now time.Time) ([]article.PutResult, error) {
	for attempt := 0; ; attempt++ {
		out := make([]article.PutResult, 0, len(as))
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			changed := false
			for _, a := range as {
				if a == nil {
					return fmt.Errorf("put article: %w", &article.FieldError{Field: "article", Reason: "is nil"})
				}
				res, err := putArticle(ctx, tx, a, now)
				if err != nil {
					return fmt.Errorf("put article %s: %w", a.ID, err)
				}
				changed = changed || res.Outcome != article.Unchanged
				out = append(out, res)
			}
			if changed {
				return bumpArticlesRevision(ctx, tx)
			}
			return nil
		})
		if errors.Is(err, errRace) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(as) >= analyzeAfter {
			// Fresh statistics after a bulk load; with stale ones the planner
			// sorts every row of a section instead of walking the index
			// backwards for 50. VACUUM sets the visibility map, without
			// which a feed count's index-only scan still visits every heap
			// page. Autovacuum gets there too, later.
			if _, err := s.pool.Exec(ctx, `VACUUM (ANALYZE) articles, article_series`); err != nil {
				return nil, fmt.Errorf("put articles: vacuum: %w", err)
			}
		}
		return out, nil
	}
}

// analyzeAfter is the batch size from which PutArticles and
// InsertSubscribers refresh planner statistics.
const analyzeAfter = 1000

// bumpArticlesRevision increases the articles revision inside the write
// transaction that changed an article (see article.Store.ArticlesRevision).
// It runs last, after every article row is locked, so the one revisions row
// is held only from here to commit and always taken after the article rows:
// writers queue on it briefly (acceptable at a newsroom's write rate) but
// cannot deadlock through it.
func bumpArticlesRevision(ctx context.Context, tx pgx.Tx) error {
	tag, err := tx.Exec(ctx, `UPDATE revisions SET value = value + 1 WHERE name = 'articles'`)
	if err != nil {
		return fmt.Errorf("bump articles revision: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("bump articles revision: %d rows updated, want 1", tag.RowsAffected())
	}
	return nil
}

// ArticlesRevision returns the counter every changing article write bumps.
func (s *Store) ArticlesRevision(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT value FROM revisions WHERE name = 'articles'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("articles revision: %w", err)
	}
	return v, nil
}

func putArticle(ctx context.Context, tx pgx.Tx, a *article.Article, now time.Time) (article.PutResult, error) {
	var existing *article.Article
	var doc []byte
	err := tx.QueryRow(ctx, `SELECT doc FROM articles WHERE id = $1 FOR UPDATE`, a.ID).Scan(&doc)
	switch {
	case err == nil:
		if existing, err = decodeArticle(doc); err != nil {
			return article.PutResult{}, err
		}
	case !isNoRows(err):
		return article.PutResult{}, err
	}
	merged, outcome := article.Merge(existing, a, now)
	res := article.PutResult{Article: merged, Outcome: outcome}
	if outcome == article.Unchanged {
		return res, nil
	}
	if err := merged.Validate(); err != nil {
		return article.PutResult{}, err
	}
	if existing == nil && merged.GUID == "" {
		return article.PutResult{}, &article.FieldError{Field: "guid", Reason: "is empty"}
	}
	doc, err = json.Marshal(merged)
	if err != nil {
		return article.PutResult{}, err
	}
	pub, upd := pgTime(merged.Published), pgTime(merged.Updated)
	if existing == nil {
		// No conflict target: a clash on id or on guid both land here.
		tag, err := tx.Exec(ctx, `INSERT INTO articles (id, guid, section, status, published, updated, content_hash, doc)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
			merged.ID, merged.GUID, merged.Section, string(merged.Status), pub, upd, merged.ContentHash(), doc)
		if err != nil {
			return article.PutResult{}, err
		}
		if tag.RowsAffected() == 0 {
			var other string
			err := tx.QueryRow(ctx, `SELECT id FROM articles WHERE id = $1 OR guid = $2 ORDER BY id = $1 DESC LIMIT 1`,
				merged.ID, merged.GUID).Scan(&other)
			if err != nil {
				return article.PutResult{}, err
			}
			if other == merged.ID {
				return article.PutResult{}, errRace
			}
			return article.PutResult{}, &article.FieldError{Field: "guid",
				Reason: fmt.Sprintf("%q already belongs to article %s", merged.GUID, other)}
		}
	} else {
		_, err = tx.Exec(ctx, `UPDATE articles SET section = $1, status = $2, published = $3, updated = $4,
			content_hash = $5, doc = $6 WHERE id = $7`,
			merged.Section, string(merged.Status), pub, upd, merged.ContentHash(), doc, merged.ID)
		if err != nil {
			return article.PutResult{}, err
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM article_series WHERE article_id = $1`, merged.ID); err != nil {
		return article.PutResult{}, err
	}
	if series := uniq(merged.Series); len(series) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO article_series (series, article_id, published, status)
			SELECT unnest($1::text[]), $2, $3, $4`, series, merged.ID, pub, string(merged.Status)); err != nil {
			return article.PutResult{}, err
		}
	}
	return res, nil
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
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT doc FROM articles WHERE id = $1`, id).Scan(&doc)
	if isNoRows(err) {
		return nil, fmt.Errorf("get article %s: %w", id, article.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get article %s: %w", id, err)
	}
	a, err := decodeArticle(doc)
	if err != nil {
		return nil, fmt.Errorf("get article %s: %w", id, err)
	}
	return a, nil
}

// ListArticles returns the articles q selects, newest first unless q.Oldest.
func (s *Store) ListArticles(ctx context.Context, q article.Query) ([]*article.Article, error) {
	query, args := sqlq.Articles(dialect, q, false)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list articles: %w", err)
	}
	defer rows.Close()
	var out []*article.Article
	for rows.Next() {
		// RawValues avoids a copy; the bytes are only valid until Next.
		a, err := decodeArticle(rows.RawValues()[0])
		if err != nil {
			return nil, fmt.Errorf("list articles: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list articles: %w", err)
	}
	return out, nil
}

// CountArticles counts what ListArticles would return without Limit/Offset.
func (s *Store) CountArticles(ctx context.Context, q article.Query) (int, error) {
	query, args := sqlq.Articles(dialect, q, true)
	var n int
	if err := s.pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count articles: %w", err)
	}
	return n, nil
}

// NextPublication returns the earliest Published strictly after t among
// published articles, or the zero time.
func (s *Store) NextPublication(ctx context.Context, t time.Time) (time.Time, error) {
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT doc FROM articles WHERE published > $1 AND status = $2
		ORDER BY published, id LIMIT 1`, pgTime(t), string(article.StatusPublished)).Scan(&doc)
	if isNoRows(err) {
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

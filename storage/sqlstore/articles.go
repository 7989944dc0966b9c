package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
			changed := false
			for _, a := range as {
				if a == nil {
					return fmt.Errorf("put article: %w", &article.FieldError{Field: "article", Reason: "is nil"})
				}
				res, err := putArticle(ctx, q, a, now)
				if err != nil {
					return fmt.Errorf("put article %s: %w", a.ID, err)
				}
				changed = changed || res.Outcome != article.Unchanged
				out = append(out, res)
			}
			if changed {
				return bumpArticlesRevision(ctx, q)
			}
			return nil
		})
		if errors.Is(err, errRace) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(as) >= bulkRows && s.d.AfterBulkArticles != "" {
			if _, err := s.w.ExecContext(ctx, s.d.AfterBulkArticles); err != nil {
				return nil, fmt.Errorf("put articles: %w", err)
			}
		}
		return out, nil
	}
}

// bumpArticlesRevision increases the articles revision inside the write
// transaction that changed an article (see article.Store.ArticlesRevision).
// It runs last, after every article row is locked, so the one revisions row
// is held only from here to commit and always taken after the article rows:
// writers queue on it briefly but cannot deadlock through it.
func bumpArticlesRevision(ctx context.Context, q db) error {
	n, err := q.execN(ctx, `UPDATE revisions SET value = value + 1 WHERE name = 'articles'`)
	if err != nil {
		return fmt.Errorf("bump articles revision: %w", err)
	}
	if n != 1 {
		return fmt.Errorf("bump articles revision: %d rows updated, want 1", n)
	}
	return nil
}

// ArticlesRevision returns the counter every changing article write bumps.
func (s *Store) ArticlesRevision(ctx context.Context) (int64, error) {
	var v int64
	if err := s.read().row(ctx, `SELECT value FROM revisions WHERE name = 'articles'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("articles revision: %w", err)
	}
	return v, nil
}

func putArticle(ctx context.Context, q db, a *article.Article, now time.Time) (article.PutResult, error) {
	existing, err := getArticle(ctx, q, a.ID, q.d.ForUpdate)
	if err != nil && !errors.Is(err, article.ErrNotFound) {
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
	doc, err := json.Marshal(merged)
	if err != nil {
		return article.PutResult{}, err
	}
	pub, upd := q.t(merged.Published), q.t(merged.Updated)
	if existing == nil {
		// No conflict target: a clash on id or on guid both land here.
		n, err := q.execN(ctx, `INSERT INTO articles (id, guid, section, status, published, updated, content_hash, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			merged.ID, merged.GUID, merged.Section, string(merged.Status), pub, upd, merged.ContentHash(), string(doc))
		if err != nil {
			return article.PutResult{}, err
		}
		if n == 0 {
			return article.PutResult{}, insertClash(ctx, q, merged)
		}
	} else {
		_, err = q.exec(ctx, `UPDATE articles SET section = ?, status = ?, published = ?, updated = ?,
			content_hash = ?, doc = ? WHERE id = ?`,
			merged.Section, string(merged.Status), pub, upd, merged.ContentHash(), string(doc), merged.ID)
		if err != nil {
			return article.PutResult{}, err
		}
	}
	if _, err := q.exec(ctx, `DELETE FROM article_series WHERE article_id = ?`, merged.ID); err != nil {
		return article.PutResult{}, err
	}
	if series := uniq(merged.Series); len(series) > 0 {
		args := make([]any, 0, 4*len(series))
		for _, sr := range series {
			args = append(args, sr, merged.ID, pub, string(merged.Status))
		}
		if _, err := q.exec(ctx, `INSERT INTO article_series (series, article_id, published, status) VALUES `+
			values(len(series), 4), args...); err != nil {
			return article.PutResult{}, err
		}
	}
	return res, nil
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

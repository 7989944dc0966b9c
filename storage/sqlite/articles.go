package sqlite

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

var dialect = sqlq.Dialect{Time: func(t time.Time) any { return micro(t) }}

// PutArticle stores a following article.Merge, inside one write transaction.
func (s *Store) PutArticle(ctx context.Context, a *article.Article, now time.Time) (article.PutResult, error) {
	var res article.PutResult
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		if res, err = putArticle(ctx, tx, a, now); err != nil {
			return err
		}
		if res.Outcome != article.Unchanged {
			return bumpArticlesRevision(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return article.PutResult{}, err
	}
	return res, nil
}

// PutArticles runs PutArticle's rules for every article in one transaction
// (bulk import, benchmark seeding): all are stored, or none when one fails.
func (s *Store) PutArticles(ctx context.Context, as []*article.Article, now time.Time) ([]article.PutResult, error) {
	out := make([]article.PutResult, 0, len(as))
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		changed := false
		for _, a := range as {
			res, err := putArticle(ctx, tx, a, now)
			if err != nil {
				return err
			}
			changed = changed || res.Outcome != article.Unchanged
			out = append(out, res)
		}
		if changed {
			return bumpArticlesRevision(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// bumpArticlesRevision increases the articles revision inside the write
// transaction that changed an article (see article.Store.ArticlesRevision).
func bumpArticlesRevision(ctx context.Context, tx *sql.Tx) error {
	res, err := tx.ExecContext(ctx, `UPDATE revisions SET value = value + 1 WHERE name = 'articles'`)
	if err != nil {
		return fmt.Errorf("bump articles revision: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n != 1 {
		return fmt.Errorf("bump articles revision: %d rows updated, want 1", n)
	}
	return nil
}

// ArticlesRevision returns the counter every changing article write bumps.
func (s *Store) ArticlesRevision(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT value FROM revisions WHERE name = 'articles'`).Scan(&v); err != nil {
		return 0, fmt.Errorf("articles revision: %w", err)
	}
	return v, nil
}

func putArticle(ctx context.Context, tx *sql.Tx, a *article.Article, now time.Time) (article.PutResult, error) {
	if a == nil {
		return article.PutResult{}, fmt.Errorf("put article: %w", &article.FieldError{Field: "article", Reason: "is nil"})
	}
	res, err := putArticleTx(ctx, tx, a, now)
	if err != nil {
		return article.PutResult{}, fmt.Errorf("put article %s: %w", a.ID, err)
	}
	return res, nil
}

func putArticleTx(ctx context.Context, tx *sql.Tx, a *article.Article, now time.Time) (article.PutResult, error) {
	existing, err := getArticle(ctx, tx, a.ID)
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
	if existing == nil {
		if merged.GUID == "" {
			return article.PutResult{}, &article.FieldError{Field: "guid", Reason: "is empty"}
		}
		var other string
		err := tx.QueryRowContext(ctx, `SELECT id FROM articles WHERE guid = ?`, merged.GUID).Scan(&other)
		if err == nil {
			return article.PutResult{}, &article.FieldError{Field: "guid", Reason: fmt.Sprintf("%q already belongs to article %s", merged.GUID, other)}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return article.PutResult{}, err
		}
	}
	doc, err := json.Marshal(merged)
	if err != nil {
		return article.PutResult{}, err
	}
	pub, upd := micro(merged.Published), micro(merged.Updated)
	if existing == nil {
		_, err = tx.ExecContext(ctx, `INSERT INTO articles
			(id, guid, section, status, published, updated, content_hash, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			merged.ID, merged.GUID, merged.Section, string(merged.Status), pub, upd, merged.ContentHash(), string(doc))
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE articles SET section = ?, status = ?, published = ?, updated = ?,
			content_hash = ?, doc = ? WHERE id = ?`,
			merged.Section, string(merged.Status), pub, upd, merged.ContentHash(), string(doc), merged.ID)
	}
	if err != nil {
		return article.PutResult{}, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM article_series WHERE article_id = ?`, merged.ID); err != nil {
		return article.PutResult{}, err
	}
	for _, series := range uniq(merged.Series) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO article_series (series, article_id, published, status) VALUES (?, ?, ?, ?)`,
			series, merged.ID, pub, string(merged.Status)); err != nil {
			return article.PutResult{}, err
		}
	}
	return res, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getArticle(ctx context.Context, q querier, id string) (*article.Article, error) {
	var doc []byte
	err := q.QueryRowContext(ctx, `SELECT doc FROM articles WHERE id = ?`, id).Scan(&doc)
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
	a, err := getArticle(ctx, s.r, id)
	if err != nil {
		return nil, fmt.Errorf("get article %s: %w", id, err)
	}
	return a, nil
}

// ListArticles returns the articles q selects, newest first unless q.Oldest.
func (s *Store) ListArticles(ctx context.Context, q article.Query) ([]*article.Article, error) {
	query, args := sqlq.Articles(dialect, q, false)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list articles: %w", err)
	}
	defer rows.Close()
	var out []*article.Article
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("list articles: %w", err)
		}
		a, err := decodeArticle(doc)
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
	if err := s.r.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count articles: %w", err)
	}
	return n, nil
}

// NextPublication returns the earliest Published strictly after t among
// published articles, or the zero time.
func (s *Store) NextPublication(ctx context.Context, t time.Time) (time.Time, error) {
	var doc []byte
	err := s.r.QueryRowContext(ctx, `SELECT doc FROM articles WHERE published > ? AND status = ?
		ORDER BY published, id LIMIT 1`, micro(t), string(article.StatusPublished)).Scan(&doc)
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

// uniq drops repeated series slugs, which would break the primary key.
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

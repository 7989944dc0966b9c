package article

import (
	"context"
	"time"
)

// Query selects articles. Zero fields do not filter.
type Query struct {
	Section string // section slug
	Series  string // series slug
	Status  Status
	// PublishedBefore keeps articles published at or before this time; it is
	// how future-dated articles stay out of feeds until their time comes.
	PublishedBefore time.Time
	// PublishedFrom keeps articles published at or after this time, and
	// PublishedUntil those published strictly before it: together, the
	// half-open range of an archive month. Zero means no bound.
	PublishedFrom, PublishedUntil time.Time
	// Oldest orders by Published ascending (archive pages); the default is
	// newest first. Ties are broken by ID, the same way in both directions.
	Oldest bool
	Limit  int // 0 means no limit
	Offset int
}

// PutResult reports what PutArticle did.
type PutResult struct {
	Article *Article // as stored (or as it already was when Unchanged)
	Outcome Outcome
}

// Store keeps articles. Implementations run Merge inside the transaction
// that writes its result, so concurrent writers of the same id cannot lose
// an edit or change a GUID.
type Store interface {
	// PutArticle inserts or updates a.ID following Merge; a.GUID must be set
	// for a new article (it is ignored for an existing one).
	PutArticle(ctx context.Context, a *Article, now time.Time) (PutResult, error)
	// GetArticle returns ErrNotFound when id is unknown.
	GetArticle(ctx context.Context, id string) (*Article, error)
	ListArticles(ctx context.Context, q Query) ([]*Article, error)
	// CountArticles counts what ListArticles would return without Limit/Offset.
	CountArticles(ctx context.Context, q Query) (int, error)
	// NextPublication returns the earliest Published strictly after t among
	// published articles, or the zero time when there is none; the feed
	// schedule uses it to know when a future-dated article comes due.
	NextPublication(ctx context.Context, t time.Time) (time.Time, error)
	// ArticlesRevision returns a counter that increases in the same
	// transaction as every write that changes an article (a put whose
	// Outcome is not Unchanged), so that a reader holding feeds built from
	// revision r knows they are stale when it reads anything else. Only
	// equality is meaningful; the value says nothing about how many writes
	// happened.
	ArticlesRevision(ctx context.Context) (int64, error)
}

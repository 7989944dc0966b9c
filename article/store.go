package article

import (
	"context"
	"errors"
	"time"
)

// Query selects articles. Zero fields do not filter.
type Query struct {
	Section string // section slug
	Series  string // series slug
	// Author and Tag select the articles with an author, or a tag, whose
	// Slug is this.
	Author, Tag string
	Status      Status
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

// Change is one article write as the change log keeps it: the feeds the
// article was in before and after it (FeedKeys) and its publication times
// before and after, so that a process holding built feeds drops only what
// the write touched.
type Change struct {
	Revision int64
	ID       string
	// Keys are the feed keys (FeedKeys) of the article before and after
	// the write, without repeats.
	Keys []string
	// Published holds the article's publication time before the write
	// (absent for a new article) and after it.
	Published []time.Time
}

// ErrChangesPruned is returned by ArticleChanges when changes after the
// asked revision were pruned from the log: the caller must assume that
// anything changed.
var ErrChangesPruned = errors.New("article changes pruned from the log")

// ChangeLog is the log of article writes a store keeps for a while (see
// ArticlesRevision); stores that keep one implement it.
type ChangeLog interface {
	// ArticleChanges returns, oldest first, the changes with a revision
	// above after, at most limit of them (0: no limit). It returns
	// ErrChangesPruned (wrapped) when some of them are no longer kept.
	ArticleChanges(ctx context.Context, after int64, limit int) ([]Change, error)
}

// Feed key kinds: a feed key is KIND + ":" + slug ("section:society",
// "series:shanghai-70th", "author:he-wei", "tag:urban-planning").
const (
	KeySection = "section"
	KeySeries  = "series"
	KeyAuthor  = "author"
	KeyTag     = "tag"
)

// FeedKeys lists the feeds the article is in, whatever its status: its
// section, series, authors and tags.
func (a *Article) FeedKeys() []string {
	keys := make([]string, 0, 1+len(a.Series)+len(a.Authors)+len(a.Tags))
	keys = append(keys, KeySection+":"+a.Section)
	for _, s := range a.Series {
		keys = append(keys, KeySeries+":"+s)
	}
	for _, s := range a.AuthorSlugs() {
		keys = append(keys, KeyAuthor+":"+s)
	}
	for _, s := range a.TagSlugs() {
		keys = append(keys, KeyTag+":"+s)
	}
	return keys
}

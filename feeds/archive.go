package feeds

import (
	"context"
	"fmt"
	"time"

	"github.com/syndicated/syndicated/article"
)

// archive answers, for one spec at one instant, which archive document
// holds a story and how the documents chain. The rules, applied to the
// visible stories (published, not after now):
//
//   - A period of the spec's Period kind with at most PageItems stories is
//     one document; one with more is paged by day.
//   - A day with at most PageItems stories is one document; one with more
//     is split in parts of PageItems, oldest first (YYYY-MM-DD-N).
//   - A document is archived, and has a URL, once its period is over; a
//     part of a day is archived once it is full. The stories of documents
//     not archived yet are all in the subscription feed (at most
//     PageItems), so every story is on a document at every moment.
//   - Documents hold at least one story: prev-archive and next-archive
//     skip periods without any.
//
// What a document holds depends only on the stories of its own period (or
// of the period it pages, for a day), so a finished period's document
// changes only when one of its stories does; its links change too when a
// story appears in, or leaves, a period that had none between it and its
// neighbour. Every answer is a few indexed queries.
type archive struct {
	b      *Builder
	s      *Spec
	now    time.Time
	counts map[Period]int
}

func (b *Builder) archive(s *Spec, now time.Time) *archive {
	return &archive{b: b, s: s, now: now, counts: map[Period]int{}}
}

func (v *archive) loc() *time.Location { return v.b.loc }

func (v *archive) query() article.Query { return v.s.query(v.now) }

// count is the number of visible stories published in p.
func (v *archive) count(ctx context.Context, p Period) (int, error) {
	if n, ok := v.counts[p]; ok {
		return n, nil
	}
	q := v.query()
	q.PublishedFrom, q.PublishedUntil = p.Start(v.loc()), p.End(v.loc())
	n, err := v.b.store.CountArticles(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("feeds: %s: count %s: %w", v.s.Slug, p, err)
	}
	v.counts[p] = n
	return n, nil
}

// base is the period of the spec's kind that holds p.
func (v *archive) base(p Period) Period { return p.Within(v.s.Period) }

// byDay reports whether the base period holding day d is paged by day.
func (v *archive) byDay(ctx context.Context, d Period) (bool, error) {
	if v.s.Period == ByDay {
		return true, nil
	}
	n, err := v.count(ctx, v.base(d))
	return n > v.s.PageItems, err
}

// docOf returns the document that holds the visible story published at t
// with id, archived or not.
func (v *archive) docOf(ctx context.Context, t time.Time, id string) (pageRef, error) {
	base := PeriodOf(v.s.Period, t, v.loc())
	if base.Kind != ByDay {
		n, err := v.count(ctx, base)
		if err != nil || n <= v.s.PageItems {
			return pageRef{period: base}, err
		}
	}
	day := PeriodOf(ByDay, t, v.loc())
	n, err := v.count(ctx, day)
	if err != nil || n <= v.s.PageItems {
		return pageRef{period: day}, err
	}
	rank, err := v.rank(ctx, day, t, id)
	if err != nil {
		return pageRef{}, err
	}
	return pageRef{day, rank/v.s.PageItems + 1}, nil
}

// rank is the position of the story (t, id) among day's stories, oldest
// first, ties by id as the store orders them.
func (v *archive) rank(ctx context.Context, day Period, t time.Time, id string) (int, error) {
	q := v.query()
	q.PublishedFrom, q.PublishedUntil = day.Start(v.loc()), t
	before, err := v.b.store.CountArticles(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("feeds: %s: rank in %s: %w", v.s.Slug, day, err)
	}
	q.PublishedFrom, q.PublishedUntil, q.Oldest = t, t.Add(time.Microsecond), true
	same, err := v.b.store.ListArticles(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("feeds: %s: rank in %s: %w", v.s.Slug, day, err)
	}
	for _, a := range same {
		if a.ID < id {
			before++
		}
	}
	return before, nil
}

// archivedParts is how many parts of a day with n stories are archived.
func (v *archive) archivedParts(day Period, n int) int {
	if !day.End(v.loc()).After(v.now) {
		return (n + v.s.PageItems - 1) / v.s.PageItems
	}
	return n / v.s.PageItems
}

// archived reports whether document r (of a story) is archived.
func (v *archive) archived(ctx context.Context, r pageRef) (bool, error) {
	if r.part == 0 {
		return !r.period.End(v.loc()).After(v.now), nil
	}
	n, err := v.count(ctx, r.period)
	return r.part <= v.archivedParts(r.period, n), err
}

// isDoc reports whether r names an archived document.
func (v *archive) isDoc(ctx context.Context, r pageRef) (bool, error) {
	if r.IsZero() || r.period.End(v.loc()).After(v.now) && r.part == 0 {
		return false, nil
	}
	n, err := v.count(ctx, r.period)
	if err != nil || n == 0 {
		return false, err
	}
	switch {
	case r.part > 0:
		if byDay, err := v.byDay(ctx, r.period); err != nil || !byDay {
			return false, err
		}
		return n > v.s.PageItems && r.part <= v.archivedParts(r.period, n), nil
	case r.period.Kind == v.s.Period:
		return n <= v.s.PageItems, nil
	case r.period.Kind == ByDay:
		byDay, err := v.byDay(ctx, r.period)
		return byDay && n <= v.s.PageItems, err
	}
	return false, nil
}

// items are the stories of document r, oldest first.
func (v *archive) items(ctx context.Context, r pageRef) ([]*article.Article, error) {
	q := v.query()
	q.Oldest = true
	q.PublishedFrom, q.PublishedUntil = r.period.Start(v.loc()), r.period.End(v.loc())
	if r.part > 0 {
		q.Limit, q.Offset = v.s.PageItems, (r.part-1)*v.s.PageItems
	}
	arts, err := v.b.store.ListArticles(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("feeds: %s: archive %s: %w", v.s.Slug, r, err)
	}
	return arts, nil
}

// newestBefore is the newest visible story published before t (nil when
// there is none).
func (v *archive) newestBefore(ctx context.Context, t time.Time) (*article.Article, error) {
	q := v.query()
	q.PublishedUntil, q.Limit = t, 1
	arts, err := v.b.store.ListArticles(ctx, q)
	if err != nil || len(arts) == 0 {
		return nil, err
	}
	return arts[0], nil
}

// oldestFrom is the oldest visible story published at or after t.
func (v *archive) oldestFrom(ctx context.Context, t time.Time) (*article.Article, error) {
	q := v.query()
	q.PublishedFrom, q.Limit, q.Oldest = t, 1, true
	arts, err := v.b.store.ListArticles(ctx, q)
	if err != nil || len(arts) == 0 {
		return nil, err
	}
	return arts[0], nil
}

// prevBefore is the document of the newest story before t (zero: none).
func (v *archive) prevBefore(ctx context.Context, t time.Time) (pageRef, error) {
	a, err := v.newestBefore(ctx, t)
	if err != nil || a == nil {
		return pageRef{}, err
	}
	return v.docOf(ctx, a.Published, a.ID)
}

// prev is the archived document before r (zero: none).
func (v *archive) prev(ctx context.Context, r pageRef) (pageRef, error) {
	if r.part > 1 {
		return pageRef{r.period, r.part - 1}, nil
	}
	return v.prevBefore(ctx, r.period.Start(v.loc()))
}

// next is the archived document after r (zero: none, the subscription
// feed comes next).
func (v *archive) next(ctx context.Context, r pageRef) (pageRef, error) {
	if r.part > 0 {
		n, err := v.count(ctx, r.period)
		if err != nil {
			return pageRef{}, err
		}
		if r.part < v.archivedParts(r.period, n) {
			return pageRef{r.period, r.part + 1}, nil
		}
	}
	a, err := v.oldestFrom(ctx, r.period.End(v.loc()))
	if err != nil || a == nil {
		return pageRef{}, err
	}
	d, err := v.docOf(ctx, a.Published, a.ID)
	if err != nil {
		return pageRef{}, err
	}
	if ok, err := v.archived(ctx, d); err != nil || !ok {
		return pageRef{}, err
	}
	return d, nil
}

// frontier returns how many of the newest visible stories are on no
// archived document yet (they are the subscription feed's to hold) and
// the newest archived document (zero: none).
func (v *archive) frontier(ctx context.Context) (open int, last pageRef, err error) {
	base := PeriodOf(v.s.Period, v.now, v.loc())
	if base.Kind != ByDay {
		n, err := v.count(ctx, base)
		if err != nil {
			return 0, pageRef{}, err
		}
		if n <= v.s.PageItems {
			last, err := v.prevBefore(ctx, base.Start(v.loc()))
			return n, last, err
		}
	}
	day := PeriodOf(ByDay, v.now, v.loc())
	n, err := v.count(ctx, day)
	if err != nil {
		return 0, pageRef{}, err
	}
	if n <= v.s.PageItems {
		last, err := v.prevBefore(ctx, day.Start(v.loc()))
		return n, last, err
	}
	k := n / v.s.PageItems
	return n - k*v.s.PageItems, pageRef{day, k}, nil
}

// span is the time range whose article changes may change document r:
// from the start of the base period of the document before it to the end
// of the base period of the one after it (zero times: unbounded), since a
// story appearing or leaving there may add a document between them, or
// page a base period by day or no longer.
func (v *archive) span(prev, next pageRef) (from, to time.Time) {
	if !prev.IsZero() {
		from = v.base(prev.period).Start(v.loc())
	}
	if !next.IsZero() {
		to = v.base(next.period).End(v.loc())
	}
	return from, to
}

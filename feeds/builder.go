package feeds

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/syndicated/syndicated/article"
)

// Doc is one built feed document.
type Doc struct {
	Path    string // URL path: /feeds/society.rss, /feeds/series/shanghai-70th/archive/2019-04.atom
	URL     string // absolute URL (the self link inside the document)
	Format  Format
	Slug    string // the spec's slug
	Archive Month  // the archive page's month; zero for the subscription feed
	// Hub is the spec's WebSub hub, empty when none: served documents
	// carry Link headers naming it and the self URL (WebSub §4).
	Hub string
	// First and End bound the spec's archive at build time: a page for
	// every month from First up to, not including, End (the current
	// month); no archive when First is not before End.
	First, End Month
	Body       []byte
	// Updated is the newest item Updated (the Unix epoch for an empty
	// feed); it is the document's Last-Modified unless that would not
	// move forward over an earlier version (see feedstate.Next).
	Updated time.Time
}

// monthRange is an archive's months: [first, end).
type monthRange struct{ first, end Month }

// earlier returns the earlier of a and b.
func earlier(a, b Month) Month {
	if b.Before(a) {
		return b
	}
	return a
}

func (r monthRange) any() bool { return r.first.Before(r.end) }

func (r monthRange) has(m Month) bool { return !m.Before(r.first) && m.Before(r.end) }

// Options tune a Builder.
type Options struct {
	// Now is the clock; time.Now when nil. Articles published after Now
	// stay out of the feeds until a build runs after their time.
	Now func() time.Time
	// Generator names the software in <generator>; "syndicated" when empty.
	Generator string
	// Version is the generator's version, if any.
	Version string
	// Location is the zone feed times are written in and archive months
	// are counted in: the newsroom's (config newsroom.zone); UTC when nil.
	Location *time.Location
	// Brand is the publisher's identity shown in every feed.
	Brand Brand
	// TTL is the RSS <ttl>, how long readers may keep a feed before
	// fetching it again: the rebuild schedule's interval (see
	// ScheduleInterval). 0 leaves <ttl> out.
	TTL time.Duration
}

// Builder builds the documents of its specs from an article store.
type Builder struct {
	store         article.Store
	specs         []Spec
	now           func() time.Time
	generator     string
	version       string
	loc           *time.Location
	brand         Brand
	ttl           int // minutes
	sectionTitles map[string]string

	mu       sync.Mutex
	rendered map[string]renderedState
}

// renderedState remembers a spec's last subscription documents and the
// inputs they were rendered from; an article edit always moves Updated
// (article.Merge), so equal inputs mean equal bytes.
type renderedState struct {
	key  string
	docs []Doc
}

// renderKey fingerprints what a subscription feed is rendered from.
func renderKey(arts []*article.Article, months monthRange, complete bool) string {
	var b strings.Builder
	b.Grow(len(arts) * 64)
	fmt.Fprintf(&b, "%s|%s|%t|", months.first, months.end, complete)
	for _, a := range arts {
		b.WriteString(a.ID)
		b.WriteByte(' ')
		b.WriteString(a.GUID)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(a.Published.UnixNano(), 36))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(a.Updated.UnixNano(), 36))
		b.WriteByte(' ')
		b.WriteString(string(a.Status))
		b.WriteByte('|')
	}
	return b.String()
}

// NewBuilder checks and normalizes the specs (see Spec.Normalize).
func NewBuilder(store article.Store, specs []Spec, opts Options) (*Builder, error) {
	brand, err := opts.Brand.normalize()
	if err != nil {
		return nil, err
	}
	b := &Builder{store: store, now: opts.Now, generator: opts.Generator, version: opts.Version,
		brand: brand, ttl: ttlMinutes(opts.TTL), sectionTitles: map[string]string{},
		rendered: map[string]renderedState{}}
	if b.now == nil {
		b.now = time.Now
	}
	if b.generator == "" {
		b.generator = "syndicated"
	}
	b.loc = opts.Location
	if b.loc == nil {
		b.loc = time.UTC
	}
	paths := map[string]bool{}
	for _, s := range specs {
		n, err := s.Normalize()
		if err != nil {
			return nil, err
		}
		if paths[n.Path] {
			return nil, fmt.Errorf("feeds: two specs share the path %s", n.Path)
		}
		paths[n.Path] = true
		if n.Kind == KindSection {
			b.sectionTitles[n.Slug] = n.Title
		}
		b.specs = append(b.specs, n)
	}
	return b, nil
}

// Specs returns the normalized specs.
func (b *Builder) Specs() []Spec { return append([]Spec(nil), b.specs...) }

func (s *Spec) query(now time.Time) article.Query {
	q := article.Query{Status: article.StatusPublished, PublishedBefore: now}
	if s.Kind == KindSection {
		q.Section = s.Slug
	} else {
		q.Series = s.Slug
	}
	return q
}

// Build builds the subscription feed of every spec in every format.
func (b *Builder) Build(ctx context.Context) ([]Doc, error) {
	now := b.now()
	docs := make([]Doc, 0, 3*len(b.specs))
	for i := range b.specs {
		d, err := b.buildCurrent(ctx, &b.specs[i], now)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// buildCurrent builds the subscription feed: the Limit newest articles.
// When the current month (whose archive page does not exist until it
// ends) holds more, its older ones are in neither document until then: a
// reader polling the feed sees them pass, and the month's page holds them
// all once it is over. The feed stays Limit items, however busy the month.
func (b *Builder) buildCurrent(ctx context.Context, s *Spec, now time.Time) ([]Doc, error) {
	q := s.query(now)
	q.Limit = s.Limit
	arts, err := b.store.ListArticles(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("feeds: %s: list articles: %w", s.Slug, err)
	}
	end := MonthOf(now, b.loc)
	whole := len(arts) < s.Limit // arts is every visible article
	// The archive exists once the feed no longer fits in the subscription
	// document; until then that document is the complete feed.
	months := monthRange{end, end}
	if !whole {
		oldest, err := b.oldest(ctx, s, now)
		if err != nil {
			return nil, err
		}
		whole = oldest == nil || oldest.ID == arts[len(arts)-1].ID
		if !whole && !s.NoArchive {
			months.first = earlier(MonthOf(oldest.Published, b.loc), end)
		}
	}
	complete := whole
	key := renderKey(arts, months, complete)
	b.mu.Lock()
	last := b.rendered[s.Slug]
	b.mu.Unlock()
	if last.key == key {
		return last.docs, nil
	}
	p := b.newPage(s, arts)
	p.months, p.complete = months, complete
	docs, err := b.renderAll(p)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.rendered[s.Slug] = renderedState{key: key, docs: docs}
	b.mu.Unlock()
	return docs, nil
}

// oldest returns the oldest article visible in s at now (nil when none).
func (b *Builder) oldest(ctx context.Context, s *Spec, now time.Time) (*article.Article, error) {
	q := s.query(now)
	q.Oldest, q.Limit = true, 1
	arts, err := b.store.ListArticles(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("feeds: %s: oldest article: %w", s.Slug, err)
	}
	if len(arts) == 0 {
		return nil, nil
	}
	return arts[0], nil
}

// archiveMonths returns the archive months of s at now, as buildCurrent
// finds them: none while every article fits in the subscription feed.
func (b *Builder) archiveMonths(ctx context.Context, s *Spec, now time.Time) (monthRange, error) {
	end := MonthOf(now, b.loc)
	q := s.query(now)
	q.Limit, q.Offset = 1, s.Limit
	beyond, err := b.store.ListArticles(ctx, q)
	if err != nil {
		return monthRange{}, fmt.Errorf("feeds: %s: list articles: %w", s.Slug, err)
	}
	if len(beyond) == 0 {
		return monthRange{end, end}, nil
	}
	oldest, err := b.oldest(ctx, s, now)
	if err != nil || oldest == nil {
		return monthRange{end, end}, err
	}
	return monthRange{earlier(MonthOf(oldest.Published, b.loc), end), end}, nil
}

// Invalidate forgets the rendered subscription feeds, so that the next
// build renders them again. Builds find every change on their own; this
// only drops memory.
func (b *Builder) Invalidate() {
	b.mu.Lock()
	clear(b.rendered)
	b.mu.Unlock()
}

// MovedError is returned by BuildArchive for a URL of the numbered archive
// that month pages replaced: Path is where that page's oldest item is now.
type MovedError struct{ From, Path string }

func (e *MovedError) Error() string { return "feeds: " + e.From + " moved to " + e.Path }

// BuildArchive builds the archive page of one month (in chronological
// order) of the spec whose archive URL path is path, in all three formats.
// It returns an error wrapping ErrNotFound when path names no archive page
// or a month outside the archive (before the oldest article's, or not over
// yet), and a *MovedError for a numbered page of the old archive.
func (b *Builder) BuildArchive(ctx context.Context, path string) ([]Doc, error) {
	for i := range b.specs {
		s := &b.specs[i]
		if s.NoArchive {
			continue
		}
		if ref, ok := s.parseArchivePath(path); ok {
			if ref.legacy > 0 {
				return nil, b.moved(ctx, s, path, ref)
			}
			return b.buildArchive(ctx, s, ref.month)
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
}

// moved finds where numbered page ref.legacy went: the month page of its
// oldest item, or the subscription feed when that month is not over yet.
func (b *Builder) moved(ctx context.Context, s *Spec, path string, ref archiveRef) error {
	now := b.now()
	q := s.query(now)
	q.Oldest, q.Limit, q.Offset = true, 1, (ref.legacy-1)*s.ArchivePageSize
	arts, err := b.store.ListArticles(ctx, q)
	if err != nil {
		return fmt.Errorf("feeds: %s: numbered archive page %d: %w", s.Slug, ref.legacy, err)
	}
	if len(arts) == 0 {
		return fmt.Errorf("%w: %s (numbered archive page past the end)", ErrNotFound, path)
	}
	m := MonthOf(arts[0].Published, b.loc)
	if m.Before(MonthOf(now, b.loc)) {
		return &MovedError{From: path, Path: s.ArchivePath(ref.format, m)}
	}
	return &MovedError{From: path, Path: s.FeedPath(ref.format)}
}

func (b *Builder) buildArchive(ctx context.Context, s *Spec, m Month) ([]Doc, error) {
	now := b.now()
	months, err := b.archiveMonths(ctx, s, now)
	if err != nil {
		return nil, err
	}
	if !months.has(m) {
		return nil, fmt.Errorf("%w: %s archive %s (archive months: %s to %s)", ErrNotFound, s.Slug, m, months.first, months.end)
	}
	q := s.query(now)
	q.Oldest = true
	q.PublishedFrom, q.PublishedUntil = m.Start(b.loc), m.Next().Start(b.loc)
	arts, err := b.store.ListArticles(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("feeds: %s: archive %s: %w", s.Slug, m, err)
	}
	p := b.newPage(s, arts)
	p.archive, p.months = m, months
	return b.renderAll(p)
}

func (b *Builder) newPage(s *Spec, arts []*article.Article) *page {
	p := &page{spec: s, generator: b.generator, version: b.version, entries: make([]*entry, len(arts)),
		brand: &b.brand, brandURLs: b.brand.urls(s.BaseURL), ttl: b.ttl}
	for i, a := range arts {
		p.entries[i] = newEntry(s, b.sectionTitles, b.loc, a)
	}
	p.updated, p.published = newest(p.entries)
	return p
}

func (b *Builder) renderAll(p *page) ([]Doc, error) {
	docs := make([]Doc, 0, len(Formats))
	updated := p.updated
	if updated.IsZero() {
		updated = epoch()
	}
	for _, f := range Formats {
		body, err := p.render(f)
		if err != nil {
			return nil, fmt.Errorf("feeds: %s %s: %w", p.spec.Slug, f, err)
		}
		docs = append(docs, Doc{Path: p.path(f), URL: p.selfURL(f), Format: f, Slug: p.spec.Slug,
			Archive: p.archive, Hub: p.spec.HubURL, First: p.months.first, End: p.months.end, Body: body, Updated: updated})
	}
	return docs, nil
}

// Render renders articles (in the given order) as the subscription feed of
// spec in format f, without a store: for previews and tests. No RFC 5005
// links are added; the feed is marked complete.
func Render(spec Spec, articles []*article.Article, f Format, opts Options) ([]byte, error) {
	b, err := NewBuilder(nil, []Spec{spec}, opts)
	if err != nil {
		return nil, err
	}
	p := b.newPage(&b.specs[0], articles)
	p.complete = true
	return p.render(f)
}

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
	Path    string // URL path: /feeds/society.rss, /feeds/series/shanghai-70th/archive/3.atom
	URL     string // absolute URL (the self link inside the document)
	Format  Format
	Slug    string // the spec's slug
	Archive int    // archive page number; 0 for the subscription feed
	// Hub is the spec's WebSub hub, empty when none: served documents
	// carry Link headers naming it and the self URL (WebSub §4).
	Hub string
	// Pages is the number of complete archive pages of the spec at build time.
	Pages int
	Body  []byte
	// Updated is the newest item Updated (the Unix epoch for an empty
	// feed); it is the document's Last-Modified, stable across restarts.
	Updated time.Time
}

// Options tune a Builder.
type Options struct {
	// Now is the clock; time.Now when nil. Articles published after Now
	// stay out of the feeds until a build runs after their time.
	Now func() time.Time
	// Generator names the software in <generator>; "syndicated" when empty.
	Generator string
	// Version is the generator's version, if any.
	Version string
	// Location is the zone feed times are written in: the newsroom's
	// (config newsroom.zone); UTC when nil.
	Location *time.Location
	// Brand is the publisher's identity shown in every feed.
	Brand Brand
	// TTL is the RSS <ttl>, how long readers may keep a feed before
	// fetching it again: the rebuild schedule's interval (see
	// ScheduleInterval). 0 leaves <ttl> out.
	TTL time.Duration
	// RecountEvery bounds how long the Builder carries an article count
	// forward instead of counting again (see Builder.Invalidate); 30
	// minutes when 0, measured on the Now clock.
	RecountEvery time.Duration
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
	recountEvery  time.Duration

	mu       sync.Mutex
	counts   map[string]countState // by spec slug
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
func renderKey(arts []*article.Article, pages int, complete bool) string {
	var b strings.Builder
	b.Grow(len(arts) * 64)
	fmt.Fprintf(&b, "%d|%t|", pages, complete)
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

// countState carries a spec's visible-article count from one build to the
// next, so that a scheduled build does not count the whole archive: the
// count as of asOf plus the articles published since, which are at the top
// of the newest-first list the build fetches anyway.
type countState struct {
	asOf    time.Time // the build clock when total was right
	counted time.Time // when total was last counted in full
	total   int
}

// NewBuilder checks and normalizes the specs (see Spec.Normalize).
func NewBuilder(store article.Store, specs []Spec, opts Options) (*Builder, error) {
	brand, err := opts.Brand.normalize()
	if err != nil {
		return nil, err
	}
	b := &Builder{store: store, now: opts.Now, generator: opts.Generator, version: opts.Version,
		brand: brand, ttl: ttlMinutes(opts.TTL), sectionTitles: map[string]string{}, recountEvery: opts.RecountEvery, counts: map[string]countState{},
		rendered: map[string]renderedState{}}
	if b.recountEvery <= 0 {
		b.recountEvery = 30 * time.Minute
	}
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

func (b *Builder) buildCurrent(ctx context.Context, s *Spec, now time.Time) ([]Doc, error) {
	q := s.query(now)
	q.Limit = s.Limit
	arts, err := b.store.ListArticles(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("feeds: %s: list articles: %w", s.Slug, err)
	}
	total, err := b.total(ctx, s, q, arts, now)
	if err != nil {
		return nil, err
	}
	pages := 0
	if !s.NoArchive {
		pages = total / s.ArchivePageSize
	}
	complete := total <= s.Limit && pages == 0
	key := renderKey(arts, pages, complete)
	b.mu.Lock()
	last := b.rendered[s.Slug]
	b.mu.Unlock()
	if last.key == key {
		return last.docs, nil
	}
	p := b.newPage(s, arts)
	p.pages, p.complete = pages, complete
	docs, err := b.renderAll(p)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.rendered[s.Slug] = renderedState{key: key, docs: docs}
	b.mu.Unlock()
	return docs, nil
}

// Invalidate forgets the carried-forward article counts, so that the next
// build counts again. Call it when the store changed in a way that moves
// articles published before the last build: an article withdrawn,
// back-dated or moved to another section or series. (New articles and
// future-dated ones coming due are counted without it.)
func (b *Builder) Invalidate() {
	b.mu.Lock()
	clear(b.counts)
	clear(b.rendered)
	b.mu.Unlock()
}

// total returns how many articles q selects at now, given arts, the newest
// Limit of them.
func (b *Builder) total(ctx context.Context, s *Spec, q article.Query, arts []*article.Article, now time.Time) (int, error) {
	b.mu.Lock()
	c, ok := b.counts[s.Slug]
	b.mu.Unlock()
	total := len(arts)
	switch {
	case len(arts) < s.Limit:
		c.counted = now // the list is the whole feed: an exact count
	case ok && !now.Before(c.asOf) && now.Sub(c.counted) < b.recountEvery:
		newer := 0
		for _, a := range arts {
			if a.Published.After(c.asOf) {
				newer++
			}
		}
		if newer < len(arts) {
			total = c.total + newer
			break
		}
		fallthrough
	default:
		q.Limit = 0
		n, err := b.store.CountArticles(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("feeds: %s: count articles: %w", s.Slug, err)
		}
		total, c.counted = n, now
	}
	b.mu.Lock()
	b.counts[s.Slug] = countState{asOf: now, counted: c.counted, total: total}
	b.mu.Unlock()
	return total, nil
}

// archivePages returns how many complete archive pages s has now.
func (b *Builder) archivePages(ctx context.Context, s *Spec, now time.Time) (int, error) {
	if s.NoArchive {
		return 0, nil
	}
	total, err := b.store.CountArticles(ctx, s.query(now))
	if err != nil {
		return 0, fmt.Errorf("feeds: %s: count articles: %w", s.Slug, err)
	}
	return total / s.ArchivePageSize, nil
}

// BuildArchive builds archive page n (1 = the oldest ArchivePageSize
// items, in chronological order) of the spec whose archive URL path is
// path, in all three formats. It returns an error wrapping ErrNotFound when
// path names no archive page, or a page that is not complete yet.
func (b *Builder) BuildArchive(ctx context.Context, path string) ([]Doc, error) {
	for i := range b.specs {
		s := &b.specs[i]
		if s.NoArchive {
			continue
		}
		if _, n, ok := s.parseArchivePath(path); ok {
			return b.buildArchive(ctx, s, n)
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
}

func (b *Builder) buildArchive(ctx context.Context, s *Spec, n int) ([]Doc, error) {
	now := b.now()
	pages, err := b.archivePages(ctx, s, now)
	if err != nil {
		return nil, err
	}
	if n > pages {
		return nil, fmt.Errorf("%w: %s archive page %d (%d complete pages)", ErrNotFound, s.Slug, n, pages)
	}
	q := s.query(now)
	q.Oldest = true
	q.Limit = s.ArchivePageSize
	q.Offset = (n - 1) * s.ArchivePageSize
	arts, err := b.store.ListArticles(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("feeds: %s: archive page %d: %w", s.Slug, n, err)
	}
	p := b.newPage(s, arts)
	p.archive, p.pages = n, pages
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
			Archive: p.archive, Hub: p.spec.HubURL, Pages: p.pages, Body: body, Updated: updated})
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

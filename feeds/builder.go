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
	Path   string // URL path: /feeds/society.rss, /feeds/series/shanghai-70th/archive/2019-04.atom
	URL    string // absolute URL (the self link inside the document)
	Format Format
	Slug   string // the spec's slug
	Key    string // the spec's feed key (Spec.Key)
	// Archive names the archive document ("2019-04", "2019-W17",
	// "2019-04-24", "2019-04-24-2"); empty for the subscription feed.
	Archive string
	// Prev is, for the subscription feed, its prev-archive document (the
	// newest archived one); empty when the feed has no archive.
	Prev string
	// Hub is the spec's WebSub hub, empty when none: served documents
	// carry Link headers naming it and the self URL (WebSub §4).
	Hub  string
	Body []byte
	// Updated is the newest item Updated (the Unix epoch for an empty
	// feed); it is the document's Last-Modified unless that would not
	// move forward over an earlier version (see feedstate.Next).
	Updated time.Time
	// SpanFrom and SpanTo bound, for an archive document, the publication
	// times whose article changes may change it (zero: unbounded).
	SpanFrom, SpanTo time.Time
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
	// Location is the zone feed times are written in and archive periods
	// are counted in: the newsroom's (config newsroom.zone); UTC when nil.
	Location *time.Location
	// Brand is the publisher's identity shown in every feed.
	Brand Brand
	// TTL is the RSS <ttl>, how long readers may keep a feed before
	// fetching it again: the rebuild schedule's interval (see
	// ScheduleInterval). 0 leaves <ttl> out.
	TTL time.Duration
	// People, when not nil, turns on a feed for every author and every tag
	// (/feeds/authors/SLUG.rss, /feeds/tags/SLUG.rss), built on request:
	// its BaseURL, Language, HubURL, Limit, PageItems, Period and Author
	// apply to each; Slug, Kind, Path, Title and Description are each
	// feed's own.
	People *Spec
	// Webfeeds adds Feedly's webfeeds elements (icon, logo, accent colour)
	// to RSS and Atom documents. The W3C feed validator warns about their
	// namespace, so they are off by default.
	Webfeeds bool
}

// Builder builds the documents of its specs from an article store.
type Builder struct {
	store         article.Store
	specs         []Spec
	people        *Spec
	now           func() time.Time
	generator     string
	version       string
	loc           *time.Location
	brand         Brand
	ttl           int // minutes
	webfeeds      bool
	sectionTitles map[string]string

	mu       sync.Mutex
	rendered map[string]renderedState
	// frontiers remember each spec's frontier (see archive.frontier) as of
	// an articles revision, a day and a newest story: a scheduled build
	// that finds all three unchanged needs none of its queries. rev is
	// the revision Set.Rebuild read before building (-1: unknown).
	frontiers map[string]frontierMemo
	rev       int64
}

type frontierMemo struct {
	rev    int64
	day    Period
	newest string
	open   int
	last   pageRef
}

// renderedState remembers a spec's last subscription documents and the
// inputs they were rendered from; an article edit always moves Updated
// (article.Merge), so equal inputs mean equal bytes.
type renderedState struct {
	key  string
	docs []Doc
}

// renderKey fingerprints what a subscription feed is rendered from.
func renderKey(arts []*article.Article, prev pageRef, complete bool) string {
	var b strings.Builder
	b.Grow(len(arts) * 64)
	fmt.Fprintf(&b, "%s|%t|", prev, complete)
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
		brand: brand, ttl: ttlMinutes(opts.TTL), webfeeds: opts.Webfeeds, sectionTitles: map[string]string{},
		rendered: map[string]renderedState{}, frontiers: map[string]frontierMemo{}, rev: -1}
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
		if n.Kind == KindAuthor || n.Kind == KindTag {
			return nil, fmt.Errorf("feeds: spec %s: author and tag feeds come from Options.People", n.Slug)
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
	if opts.People != nil {
		p := *opts.People
		p.Slug, p.Kind, p.Path = "people", KindAuthor, ""
		n, err := p.Normalize()
		if err != nil {
			return nil, fmt.Errorf("feeds: author and tag feeds: %w", err)
		}
		b.people = &n
	}
	return b, nil
}

// Specs returns the normalized specs.
func (b *Builder) Specs() []Spec { return append([]Spec(nil), b.specs...) }

func (s *Spec) query(now time.Time) article.Query {
	q := article.Query{Status: article.StatusPublished, PublishedBefore: now}
	switch s.Kind {
	case KindSection:
		q.Section = s.Slug
	case KindSeries:
		q.Series = s.Slug
	case KindAuthor:
		q.Author = s.Slug
	case KindTag:
		q.Tag = s.Slug
	}
	return q
}

// Build builds the subscription feed of every spec in every format.
func (b *Builder) Build(ctx context.Context) ([]Doc, error) {
	now := b.now()
	docs := make([]Doc, 0, 3*len(b.specs))
	for i := range b.specs {
		d, err := b.buildCurrent(ctx, &b.specs[i], now, nil)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// buildCurrent builds the subscription feed: the Limit newest stories,
// or more when the stories not on an archived document yet are more (at
// most PageItems; see archive). A feed whose every story fits is complete
// and has no archive. arts, when not nil, are the newest stories already
// listed (Limit+1 of them at most).
func (b *Builder) buildCurrent(ctx context.Context, s *Spec, now time.Time, arts []*article.Article) ([]Doc, error) {
	v := b.archive(s, now)
	size := s.Limit
	var last pageRef
	if arts == nil {
		q := s.query(now)
		q.Limit = size + 1 // one more says whether the feed is complete
		var err error
		if arts, err = b.store.ListArticles(ctx, q); err != nil {
			return nil, fmt.Errorf("feeds: %s: list articles: %w", s.Slug, err)
		}
	}
	if !s.NoArchive {
		b.mu.Lock()
		old, ok := b.frontiers[s.Path]
		memo := frontierMemo{rev: b.rev, day: PeriodOf(ByDay, now, b.loc)}
		b.mu.Unlock()
		if len(arts) > 0 {
			memo.newest = arts[0].ID
		}
		if ok && memo.rev >= 0 && old.rev == memo.rev && old.day == memo.day && old.newest == memo.newest {
			memo = old
		} else {
			var err error
			if memo.open, memo.last, err = v.frontier(ctx); err != nil {
				return nil, err
			}
			if s.Kind == KindSection || s.Kind == KindSeries {
				b.mu.Lock()
				b.frontiers[s.Path] = memo
				b.mu.Unlock()
			}
		}
		size, last = max(size, memo.open), memo.last
	}
	if len(arts) > size+1 || len(arts) == s.Limit+1 && size > s.Limit {
		q := s.query(now)
		q.Limit = size + 1
		var err error
		if arts, err = b.store.ListArticles(ctx, q); err != nil {
			return nil, fmt.Errorf("feeds: %s: list articles: %w", s.Slug, err)
		}
	}
	complete := len(arts) <= size
	arts = arts[:min(len(arts), size)]
	var prev pageRef
	if !complete {
		prev = last
	}
	key := s.Path + "|" + renderKey(arts, prev, complete)
	b.mu.Lock()
	memo := b.rendered[s.Path]
	b.mu.Unlock()
	if memo.key == key {
		return memo.docs, nil
	}
	p := b.newPage(s, arts)
	p.prev, p.complete = prev, complete
	docs, err := b.renderAll(p)
	if err != nil {
		return nil, err
	}
	if s.Kind == KindSection || s.Kind == KindSeries {
		b.mu.Lock()
		b.rendered[s.Path] = renderedState{key: key, docs: docs}
		b.mu.Unlock()
	}
	return docs, nil
}

// Invalidate forgets the rendered subscription feeds, so that the next
// build renders them again. Builds find every change on their own; this
// only drops memory.
func (b *Builder) Invalidate() {
	b.mu.Lock()
	clear(b.rendered)
	clear(b.frontiers)
	b.mu.Unlock()
}

// MovedError is returned by BuildArchive for an archive URL that names no
// document (a month now paged by day, an empty period, a numbered page of
// old releases): Path is where its stories, or the next ones, are now.
type MovedError struct{ From, Path string }

func (e *MovedError) Error() string { return "feeds: " + e.From + " moved to " + e.Path }

// BuildArchive builds the archive document whose URL path is path (its
// stories in chronological order) in all three formats. It returns an
// error wrapping ErrNotFound when path names no archive document and none
// to send the reader to, and a *MovedError when it names a period that
// is not a document (see MovedError).
func (b *Builder) BuildArchive(ctx context.Context, path string) ([]Doc, error) {
	s, ar, err := b.archiveSpec(ctx, path)
	if err != nil {
		return nil, err
	}
	now := b.now()
	v := b.archive(s, now)
	if ar.legacy > 0 {
		return nil, b.moved(ctx, v, path, ar)
	}
	ok, err := v.isDoc(ctx, ar.ref)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, b.redirect(ctx, v, path, ar)
	}
	if fits, err := b.fits(ctx, s, now); err != nil || fits {
		if err == nil {
			err = fmt.Errorf("%w: %s (the feed is complete: it has no archive)", ErrNotFound, path)
		}
		return nil, err
	}
	arts, err := v.items(ctx, ar.ref)
	if err != nil {
		return nil, err
	}
	prev, err := v.prev(ctx, ar.ref)
	if err != nil {
		return nil, err
	}
	next, err := v.next(ctx, ar.ref)
	if err != nil {
		return nil, err
	}
	p := b.newPage(s, arts)
	p.archive, p.prev, p.next = ar.ref, prev, next
	docs, err := b.renderAll(p)
	if err != nil {
		return nil, err
	}
	from, to := v.span(prev, next)
	for i := range docs {
		docs[i].SpanFrom, docs[i].SpanTo = from, to
	}
	return docs, nil
}

// fits reports whether every visible story of s fits in its subscription
// feed, which is then complete and the archive empty.
func (b *Builder) fits(ctx context.Context, s *Spec, now time.Time) (bool, error) {
	q := s.query(now)
	q.Limit, q.Offset = 1, s.Limit
	beyond, err := b.store.ListArticles(ctx, q)
	if err != nil {
		return false, fmt.Errorf("feeds: %s: list articles: %w", s.Slug, err)
	}
	return len(beyond) == 0, nil
}

// archiveSpec finds the spec whose archive path is path.
func (b *Builder) archiveSpec(ctx context.Context, path string) (*Spec, archiveRef, error) {
	for i := range b.specs {
		s := &b.specs[i]
		if s.NoArchive {
			continue
		}
		if ar, ok := s.parseArchivePath(path); ok {
			return s, ar, nil
		}
	}
	if s, rest, ok := b.personSpec(path); ok {
		if ar, ok := s.parseArchivePath(s.Path + rest); ok {
			if err := b.canonical(s, path, rest); err != nil {
				return nil, archiveRef{}, err
			}
			if _, err := b.named(ctx, s, b.now(), 1); err != nil {
				return nil, archiveRef{}, err
			}
			return s, ar, nil
		}
	}
	return nil, archiveRef{}, fmt.Errorf("%w: %s", ErrNotFound, path)
}

// redirect finds where an archive URL that names no document sends the
// reader: the document of the oldest story at or after its period's
// start, or the subscription feed when that story's document is not
// archived yet (or no story follows but some came before). A period
// before the feed's first story or not begun yet is not found.
func (b *Builder) redirect(ctx context.Context, v *archive, path string, ar archiveRef) error {
	s := v.s
	start := ar.ref.period.Start(b.loc)
	notFound := fmt.Errorf("%w: %s", ErrNotFound, path)
	if ar.ref.IsZero() || start.After(v.now) {
		return notFound
	}
	if ar.ref.part > 0 {
		// A part of a day: the story that would open it, if there is one.
		q := s.query(v.now)
		q.PublishedFrom, q.PublishedUntil = start, ar.ref.period.End(b.loc)
		q.Oldest, q.Limit, q.Offset = true, 1, (ar.ref.part-1)*s.PageItems
		arts, err := b.store.ListArticles(ctx, q)
		if err != nil {
			return fmt.Errorf("feeds: %s: %w", path, err)
		}
		if len(arts) > 0 {
			return b.movedTo(ctx, v, path, ar.format, arts[0])
		}
	}
	a, err := v.oldestFrom(ctx, start)
	if err != nil {
		return err
	}
	if a == nil {
		before, err := v.newestBefore(ctx, start)
		if err != nil || before == nil {
			return cmpErr(err, notFound)
		}
		return &MovedError{From: path, Path: s.FeedPath(ar.format)}
	}
	if !a.Published.Before(ar.ref.period.End(b.loc)) {
		// An empty period: only within the feed's life.
		before, err := v.newestBefore(ctx, start)
		if err != nil || before == nil {
			return cmpErr(err, notFound)
		}
	}
	return b.movedTo(ctx, v, path, ar.format, a)
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// movedTo is a MovedError to the document holding a, or to the
// subscription feed when it is not archived.
func (b *Builder) movedTo(ctx context.Context, v *archive, path string, f Format, a *article.Article) error {
	d, err := v.docOf(ctx, a.Published, a.ID)
	if err != nil {
		return err
	}
	ok, err := v.archived(ctx, d)
	if err != nil {
		return err
	}
	if fits, err := b.fits(ctx, v.s, v.now); err != nil || !ok || fits {
		return cmpErr(err, &MovedError{From: path, Path: v.s.FeedPath(f)})
	}
	return &MovedError{From: path, Path: v.s.archivePath(f, d)}
}

// moved finds where numbered page ar.legacy of old went: the document of
// its oldest item, or the subscription feed.
func (b *Builder) moved(ctx context.Context, v *archive, path string, ar archiveRef) error {
	s := v.s
	q := s.query(v.now)
	q.Oldest, q.Limit, q.Offset = true, 1, (ar.legacy-1)*s.ArchivePageSize
	arts, err := b.store.ListArticles(ctx, q)
	if err != nil {
		return fmt.Errorf("feeds: %s: numbered archive page %d: %w", s.Slug, ar.legacy, err)
	}
	if len(arts) == 0 {
		return fmt.Errorf("%w: %s (numbered archive page past the end)", ErrNotFound, path)
	}
	return b.movedTo(ctx, v, path, ar.format, arts[0])
}

// ArchiveDocs lists, newest first, the archive documents of spec slug
// (nil when it has none): "2019-04", "2019-04-24-2", … as Doc.Archive
// names them. It walks the chain, a few queries a document.
func (b *Builder) archiveDocs(ctx context.Context, s *Spec) ([]pageRef, error) {
	now := b.now()
	if s.NoArchive {
		return nil, nil
	}
	if fits, err := b.fits(ctx, s, now); err != nil || fits {
		return nil, err
	}
	v := b.archive(s, now)
	_, r, err := v.frontier(ctx)
	var out []pageRef
	for err == nil && !r.IsZero() {
		out = append(out, r)
		r, err = v.prev(ctx, r)
	}
	return out, err
}

func (b *Builder) newPage(s *Spec, arts []*article.Article) *page {
	p := &page{spec: s, generator: b.generator, version: b.version, entries: make([]*entry, len(arts)),
		brand: &b.brand, brandURLs: b.brand.urls(s.BaseURL), ttl: b.ttl, webfeeds: b.webfeeds}
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
		d := Doc{Path: p.path(f), URL: p.selfURL(f), Format: f, Slug: p.spec.Slug, Key: p.spec.Key(),
			Hub: p.spec.HubURL, Body: body, Updated: updated}
		if !p.archive.IsZero() {
			d.Archive = p.archive.String()
		} else if !p.prev.IsZero() {
			d.Prev = p.prev.String()
		}
		docs = append(docs, d)
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

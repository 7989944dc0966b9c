// Package feeds builds the RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents of
// a section or a series with github.com/gorilla/feeds (extended where it
// falls short), pages them back through an RFC 5005 archive, holds the
// built bytes in memory for an http.Handler, and mirrors them to a
// directory for a static server.
//
// Wiring, as the daemon does it:
//
//	b, _ := feeds.NewBuilder(store, specs, feeds.Options{Version: v})
//	set := feeds.NewSet(b, feeds.SetOptions{MaxAge: cfg.HTTP.CacheMaxAge, State: store})
//	mux.Handle("/feeds/", set)              // serves feeds and archive pages
//	// on start-up, on the schedule and after any ingest:
//	changes, err := set.Rebuild(ctx)        // bytes built once per change
//	_, err = set.WriteDir(ctx, outDir)      // when an output dir is set
//	err = pub.Publish(ctx, urlsOf(changes)...) // websub, when a hub is set
//	err = set.MarkPublished(ctx, changes, time.Now()) // not announced again
//
// Set.Invalidate is called after an ingest changed the store; with a
// store that keeps the article change log it costs nothing, as Rebuild
// reads the log and drops exactly the documents built on request that the
// changes may have touched.
//
// URL scheme: Spec.Path + ".rss|.atom|.json" for the subscription feed
// (/feeds/society.rss, /feeds/series/shanghai-70th.atom, and, with
// Options.People, /feeds/authors/SLUG.json and /feeds/tags/SLUG.rss) and
// Spec.Path + "/archive/NAME.ext" for an RFC 5005 archive document: one
// per period of publication in the newsroom's zone (Options.Location), a
// month (2019-04), ISO week (2019-W17) or day (2019-04-24) as Spec.Period
// says, paged by day when a period holds more than Spec.PageItems
// stories and in parts (2019-04-24-2) when a day does; see archive for
// the rules. URLs naming no document, such as the numbered pages of
// earlier releases (archive/N.ext), are redirected to the document of
// their first story.
package feeds

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/syndicated/syndicated/article"
)

// Where the author and tag feeds live: AuthorsPath + slug + ".rss".
const (
	AuthorsPath = "/feeds/authors/"
	TagsPath    = "/feeds/tags/"
)

// Kind says what a feed selects.
type Kind string

const (
	KindSection Kind = "section" // articles whose Section is the slug
	KindSeries  Kind = "series"  // articles whose Series contains the slug
	KindAuthor  Kind = "author"  // articles with an author whose article.Slug is the slug
	KindTag     Kind = "tag"     // articles with a tag whose article.Slug is the slug
)

// Format is one of the three feed formats.
type Format int

const (
	RSS Format = iota
	Atom
	JSON
)

// Formats lists every format, in the order documents are built.
var Formats = [...]Format{RSS, Atom, JSON}

// Ext is the file extension of the format, without the dot.
func (f Format) Ext() string {
	switch f {
	case RSS:
		return "rss"
	case Atom:
		return "atom"
	default:
		return "json"
	}
}

// ContentType is the Content-Type served for the format.
func (f Format) ContentType() string {
	switch f {
	case RSS:
		return "application/rss+xml; charset=utf-8"
	case Atom:
		return "application/atom+xml; charset=utf-8"
	default:
		return "application/feed+json; charset=utf-8"
	}
}

// MediaType is ContentType without parameters (for <link type=…>).
func (f Format) MediaType() string {
	ct, _, _ := strings.Cut(f.ContentType(), ";")
	return ct
}

func (f Format) String() string { return f.Ext() }

// Name is the format's name as readers know it (for links on pages).
func (f Format) Name() string {
	switch f {
	case RSS:
		return "RSS"
	case Atom:
		return "Atom"
	default:
		return "JSON Feed"
	}
}

// DefaultLimit is how many items a subscription feed carries by default.
const DefaultLimit = 50

// DefaultPageItems bounds the items of an archive document by default.
const DefaultPageItems = 100

// Spec describes one logical feed (served in the three formats). Config
// maps onto it.
type Spec struct {
	Slug        string // "society", "shanghai-70th"
	Kind        Kind
	Title       string
	Description string
	// BaseURL is the public root of the site ("https://news.example"); feed
	// URLs, self links and item fallback links are built from it.
	BaseURL string
	// Path is the URL path of the feed without extension. Empty means
	// /feeds/SLUG for a section and /feeds/series/SLUG for a series.
	Path string
	// SiteURL is the HTML page the feed belongs to; BaseURL + "/" when empty.
	SiteURL string
	// Language of the feed (RFC 5646, "en"); items carry their own.
	Language string
	// HubURL is the WebSub hub; empty leaves hub links out.
	HubURL string
	// Limit is the number of items of the subscription feed (DefaultLimit
	// when 0).
	Limit int
	// ArchivePageSize was the number of items of a numbered archive page
	// (archive/N.ext, N = 1 the oldest), before the archive became one page
	// per period; 0 means Limit. It maps those old URLs onto period pages.
	ArchivePageSize int
	// Period is what one archive document covers by default: a month
	// (the zero value), an ISO week or a day. A period holding more than
	// PageItems stories is paged by day instead, and a day holding more in
	// parts of PageItems (see the package documentation).
	Period PeriodKind
	// PageItems bounds the items of an archive document (DefaultPageItems
	// when 0). The subscription feed holds up to this many too, when the
	// current period has more than Limit stories.
	PageItems int
	// NoArchive leaves the RFC 5005 archive out.
	NoArchive bool
	// Author names the feed as a whole (Atom requires one when an entry has
	// none); Title is used when empty.
	Author string
}

// Normalize fills defaults and checks the spec.
func (s Spec) Normalize() (Spec, error) {
	if s.Slug == "" || strings.ContainsAny(s.Slug, "/?#% ") {
		return s, fmt.Errorf("feeds: spec slug %q is empty or not a path segment", s.Slug)
	}
	switch s.Kind {
	case KindSection, KindSeries, KindAuthor, KindTag:
	default:
		return s, fmt.Errorf("feeds: spec %s: kind %q is not section, series, author or tag", s.Slug, s.Kind)
	}
	u, err := url.Parse(s.BaseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return s, fmt.Errorf("feeds: spec %s: base URL %q is not an absolute URL", s.Slug, s.BaseURL)
	}
	s.BaseURL = strings.TrimRight(s.BaseURL, "/")
	if s.Path == "" {
		switch s.Kind {
		case KindSection:
			s.Path = "/feeds/" + s.Slug
		case KindSeries:
			s.Path = "/feeds/series/" + s.Slug
		case KindAuthor:
			s.Path = AuthorsPath + s.Slug
		case KindTag:
			s.Path = TagsPath + s.Slug
		}
	}
	if !strings.HasPrefix(s.Path, "/") {
		s.Path = "/" + s.Path
	}
	if s.SiteURL == "" {
		s.SiteURL = s.BaseURL + "/"
	}
	if s.Title == "" {
		s.Title = s.Slug
	}
	if s.Description == "" {
		s.Description = s.Title
	}
	if s.Language == "" {
		s.Language = "en"
	}
	if s.Limit <= 0 {
		s.Limit = DefaultLimit
	}
	if s.ArchivePageSize <= 0 || s.ArchivePageSize > s.Limit {
		s.ArchivePageSize = s.Limit
	}
	if s.PageItems <= 0 {
		s.PageItems = DefaultPageItems
	}
	if s.Author == "" {
		s.Author = s.Title
	}
	return s, nil
}

// FeedPath is the URL path of the subscription feed in format f.
func (s *Spec) FeedPath(f Format) string { return s.Path + "." + f.Ext() }

// FeedURL is the absolute URL of the subscription feed in format f.
func (s *Spec) FeedURL(f Format) string { return s.abs(s.FeedPath(f)) }

// abs is the absolute URL of a URL path of the spec's (percent-encoded
// where an author's or a tag's name is not ASCII).
func (s *Spec) abs(path string) string {
	return s.BaseURL + (&url.URL{Path: path}).EscapedPath()
}

// ArchivePath is the URL path of archive document ref in format f.
func (s *Spec) archivePath(f Format, ref pageRef) string {
	return s.Path + "/archive/" + ref.String() + "." + f.Ext()
}

// archiveURL is the absolute URL of archive document ref in format f.
func (s *Spec) archiveURL(f Format, ref pageRef) string { return s.abs(s.archivePath(f, ref)) }

// ArchivePath is the URL path of the archive page of period p (a month,
// week or day, see Period.String) in format f.
func (s *Spec) ArchivePath(f Format, p Period) string { return s.archivePath(f, pageRef{period: p}) }

// ArchiveURL is the absolute URL of the archive page of period p in format f.
func (s *Spec) ArchiveURL(f Format, p Period) string { return s.abs(s.ArchivePath(f, p)) }

// Key is the spec's feed key, as article.Article.FeedKeys names feeds.
func (s *Spec) Key() string {
	switch s.Kind {
	case KindSeries:
		return article.KeySeries + ":" + s.Slug
	case KindAuthor:
		return article.KeyAuthor + ":" + s.Slug
	case KindTag:
		return article.KeyTag + ":" + s.Slug
	}
	return article.KeySection + ":" + s.Slug
}

// archiveRef is what an archive URL path names: a document of the period
// archive, or (legacy > 0) page N of the numbered archive of old releases.
type archiveRef struct {
	format Format
	ref    pageRef
	legacy int
}

// parseArchivePath matches p against s's archive URL scheme: periods and
// parts of days, and the numbered pages of old.
func (s *Spec) parseArchivePath(p string) (archiveRef, bool) {
	rest, ok := strings.CutPrefix(p, s.Path+"/archive/")
	if !ok {
		return archiveRef{}, false
	}
	name, ext, ok := strings.Cut(rest, ".")
	if !ok || name == "" {
		return archiveRef{}, false
	}
	var ar archiveRef
	found := false
	for _, f := range Formats {
		if f.Ext() == ext {
			ar.format, found = f, true
		}
	}
	if !found {
		return archiveRef{}, false
	}
	if ref, err := parsePageRef(name); err == nil {
		ar.ref = ref
		return ar, true
	}
	if name[0] == '0' || len(name) > 9 {
		return archiveRef{}, false
	}
	n, err := strconv.Atoi(name)
	if err != nil || n < 1 {
		return archiveRef{}, false
	}
	ar.legacy = n
	return ar, true
}

// ErrNotFound is returned (wrapped) for an unknown feed or archive page.
var ErrNotFound = errors.New("feeds: no such feed")

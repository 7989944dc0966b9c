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
// After an ingest that withdrew, back-dated or reclassified an article, call
// set.Invalidate() before Rebuild (new and edited articles need nothing).
//
// URL scheme: Spec.Path + ".rss|.atom|.json" for the subscription feed
// (/feeds/society.rss, /feeds/series/shanghai-70th.atom) and
// Spec.Path + "/archive/YYYY-MM.ext" for the RFC 5005 archive page of one
// calendar month of publication in the newsroom's zone (Options.Location).
// Every month from the one of the oldest article to the last complete one
// has a page, empty or not, so an article added or withdrawn changes only
// its month's page; the subscription feed links the last complete month
// as prev-archive. The numbered pages of old (archive/N.ext) redirect to
// the month of their oldest item.
package feeds

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Kind says what a feed selects.
type Kind string

const (
	KindSection Kind = "section" // articles whose Section is the slug
	KindSeries  Kind = "series"  // articles whose Series contains the slug
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
	// per month; 0 means Limit. It maps those old URLs onto month pages.
	ArchivePageSize int
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
	if s.Kind != KindSection && s.Kind != KindSeries {
		return s, fmt.Errorf("feeds: spec %s: kind %q is not section or series", s.Slug, s.Kind)
	}
	u, err := url.Parse(s.BaseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return s, fmt.Errorf("feeds: spec %s: base URL %q is not an absolute URL", s.Slug, s.BaseURL)
	}
	s.BaseURL = strings.TrimRight(s.BaseURL, "/")
	if s.Path == "" {
		if s.Kind == KindSection {
			s.Path = "/feeds/" + s.Slug
		} else {
			s.Path = "/feeds/series/" + s.Slug
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
	if s.Author == "" {
		s.Author = s.Title
	}
	return s, nil
}

// FeedPath is the URL path of the subscription feed in format f.
func (s *Spec) FeedPath(f Format) string { return s.Path + "." + f.Ext() }

// FeedURL is the absolute URL of the subscription feed in format f.
func (s *Spec) FeedURL(f Format) string { return s.BaseURL + s.FeedPath(f) }

// Month is a calendar month of publication in the newsroom's zone: the
// unit of the RFC 5005 archive. The zero Month is no month.
type Month struct {
	Year  int
	Month time.Month
}

// MonthOf is the month t falls in, in loc.
func MonthOf(t time.Time, loc *time.Location) Month {
	t = t.In(loc)
	return Month{t.Year(), t.Month()}
}

// ParseMonth parses "2019-04".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != len("2006-01") {
		return Month{}, fmt.Errorf("feeds: %q is not a month (YYYY-MM)", s)
	}
	return Month{t.Year(), t.Month()}, nil
}

// IsZero reports whether m is the zero Month.
func (m Month) IsZero() bool { return m == Month{} }

// String is "2019-04".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Start is the first instant of m in loc.
func (m Month) Start(loc *time.Location) time.Time {
	return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, loc)
}

// Next is the month after m; Prev the month before.
func (m Month) Next() Month { return m.add(1) }

// Prev is the month before m.
func (m Month) Prev() Month { return m.add(-1) }

func (m Month) add(n int) Month {
	t := time.Date(m.Year, m.Month+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	return Month{t.Year(), t.Month()}
}

// Before reports whether m is earlier than o.
func (m Month) Before(o Month) bool {
	return m.Year < o.Year || m.Year == o.Year && m.Month < o.Month
}

// ArchivePath is the URL path of the archive page of month m in format f.
func (s *Spec) ArchivePath(f Format, m Month) string {
	return s.Path + "/archive/" + m.String() + "." + f.Ext()
}

// ArchiveURL is the absolute URL of the archive page of month m in format f.
func (s *Spec) ArchiveURL(f Format, m Month) string { return s.BaseURL + s.ArchivePath(f, m) }

// archiveRef is what an archive URL path names: a month page, or (legacy
// > 0) page N of the numbered archive that month pages replaced.
type archiveRef struct {
	format Format
	month  Month
	legacy int
}

// parseArchivePath matches p against s's archive URL scheme, the month
// pages and the numbered pages before them.
func (s *Spec) parseArchivePath(p string) (archiveRef, bool) {
	rest, ok := strings.CutPrefix(p, s.Path+"/archive/")
	if !ok {
		return archiveRef{}, false
	}
	name, ext, ok := strings.Cut(rest, ".")
	if !ok || name == "" {
		return archiveRef{}, false
	}
	var ref archiveRef
	found := false
	for _, f := range Formats {
		if f.Ext() == ext {
			ref.format, found = f, true
		}
	}
	if !found {
		return archiveRef{}, false
	}
	if m, err := ParseMonth(name); err == nil && m.Year >= 1 {
		ref.month = m
		return ref, true
	}
	if name[0] == '0' || len(name) > 9 {
		return archiveRef{}, false
	}
	n, err := strconv.Atoi(name)
	if err != nil || n < 1 {
		return archiveRef{}, false
	}
	ref.legacy = n
	return ref, true
}

// ErrNotFound is returned (wrapped) for an unknown feed or archive page.
var ErrNotFound = errors.New("feeds: no such feed")

// Package feeds builds the RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents of
// a section or a series with github.com/gorilla/feeds (extended where it
// falls short), pages them back through an RFC 5005 archive, holds the
// built bytes in memory for an http.Handler, and mirrors them to a
// directory for a static server.
//
// Wiring, as the daemon does it:
//
//	b, _ := feeds.NewBuilder(store, specs, feeds.Options{Version: v})
//	set := feeds.NewSet(b, feeds.SetOptions{MaxAge: cfg.HTTP.CacheMaxAge})
//	mux.Handle("/feeds/", set)              // serves feeds and archive pages
//	// on start-up, on the schedule and after any ingest:
//	changes, err := set.Rebuild(ctx)        // bytes built once per change
//	_, err = set.WriteDir(ctx, outDir)      // when an output dir is set
//	err = pub.Publish(ctx, urlsOf(changes)...) // websub, when a hub is set
//
// After an ingest that withdrew, back-dated or reclassified an article, call
// set.Invalidate() before Rebuild (new and edited articles need nothing).
//
// URL scheme: Spec.Path + ".rss|.atom|.json" for the subscription feed
// (/feeds/society.rss, /feeds/series/shanghai-70th.atom) and
// Spec.Path + "/archive/N.ext" for RFC 5005 archive page N, 1 being the
// oldest ArchivePageSize articles; only complete pages exist, and the
// subscription feed links the newest of them as prev-archive.
package feeds

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
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
	// ArchivePageSize is the number of items of an RFC 5005 archive page;
	// 0 means Limit. It is capped at Limit so that the subscription feed
	// always holds every item newer than the newest complete page.
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

// ArchivePath is the URL path of archive page n (1 = oldest) in format f.
func (s *Spec) ArchivePath(f Format, n int) string {
	return s.Path + "/archive/" + strconv.Itoa(n) + "." + f.Ext()
}

// ArchiveURL is the absolute URL of archive page n in format f.
func (s *Spec) ArchiveURL(f Format, n int) string { return s.BaseURL + s.ArchivePath(f, n) }

// parseArchivePath matches p against s's archive URL scheme.
func (s *Spec) parseArchivePath(p string) (Format, int, bool) {
	rest, ok := strings.CutPrefix(p, s.Path+"/archive/")
	if !ok {
		return 0, 0, false
	}
	num, ext, ok := strings.Cut(rest, ".")
	if !ok || num == "" || num[0] == '0' || len(num) > 9 {
		return 0, 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return 0, 0, false
	}
	for _, f := range Formats {
		if f.Ext() == ext {
			return f, n, true
		}
	}
	return 0, 0, false
}

// ErrNotFound is returned (wrapped) for an unknown feed or archive page.
var ErrNotFound = errors.New("feeds: no such feed")

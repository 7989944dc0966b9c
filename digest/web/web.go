// Package web serves the digest's HTTP pages: the archive of a series'
// issues (GET /digests/{series}, newest first, with an Atom feed of them at
// /digests/{series}.atom) and the "view in browser" copy of one issue
// (GET /digests/{series}/{week}).
package web

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/server/response"
	"github.com/syndicated/syndicated/templates"
)

// Handler serves the digest pages.
type Handler struct {
	svc   *digest.Service
	log   *slog.Logger
	pages *templates.Renderer
	err   error
}

// New returns the handler with plain pages (no brand, the service's
// zone); log may be nil. NewWithPages takes the site's renderer.
func New(svc *digest.Service, log *slog.Logger) *Handler {
	site := templates.Site{Zone: svc.Zone(), BaseURL: strings.TrimSuffix(svc.ViewURL(""), "/digests/")}
	for _, s := range svc.AllSeries() {
		site.Digests = append(site.Digests, templates.Feed{Slug: s.Slug, Title: s.Title, Description: s.Description, Series: true})
	}
	pages, err := templates.New(site)
	h := NewWithPages(svc, log, pages)
	h.err = err
	return h
}

// NewWithPages returns the handler rendering with pages; log may be nil.
func NewWithPages(svc *digest.Service, log *slog.Logger, pages *templates.Renderer) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, log: log, pages: pages}
}

// Register adds the routes. Use as a server.Options.Register entry.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.err != nil { // embedded templates that do not parse: a build defect
		panic(h.err)
	}
	mux.HandleFunc("GET /digests/{series}", h.serveSeries)
	mux.HandleFunc("GET /digests/{series}/{week}", h.serveIssue)
}

// issueView is one issue in the archive and the feed.
type issueView struct {
	ID, Heading    string
	Created, Until time.Time
}

func heading(iss *digest.Issue) string {
	return fmt.Sprintf("Week %d, %d", iss.Week.Num, iss.Week.Year)
}

type listPage struct {
	Series   templates.Feed
	FeedPath string
	Issues   []issueView
}

func (h *Handler) series(slug string) (templates.Feed, error) {
	s, err := h.svc.Series(slug)
	if err != nil {
		return templates.Feed{}, err
	}
	return templates.Feed{Slug: s.Slug, Title: s.Title, Description: s.Description, Series: true}, nil
}

// serveSeries is the archive page, or its Atom feed for "SLUG.atom".
func (h *Handler) serveSeries(w http.ResponseWriter, r *http.Request) {
	slug, atom := strings.CutSuffix(r.PathValue("series"), ".atom")
	se, err := h.series(slug)
	var issues []*digest.Issue
	if err == nil {
		issues, err = h.svc.Issues(r.Context(), slug)
	}
	if err != nil {
		if atom {
			response.Text(w, r, h.log, err)
			return
		}
		response.Page(w, r, h.log, h.pages, err)
		return
	}
	page := listPage{Series: se, FeedPath: "/digests/" + slug + ".atom"}
	for _, iss := range issues {
		page.Issues = append(page.Issues, issueView{ID: iss.ID, Heading: heading(iss), Created: iss.CreatedAt, Until: iss.Until})
	}
	if atom {
		h.serveAtom(w, r, page)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	err = h.pages.Render(w, http.StatusOK, "digest_list", templates.Page{
		Title: se.Title + ": past issues", Nav: "digests",
		Alternates: []templates.Alternate{{Title: se.Title + ": digest issues", Path: page.FeedPath, Type: "application/atom+xml"}},
		Data:       page,
	})
	if err != nil {
		h.log.Error("render digest list", "series", slug, "err", err)
	}
}

type issuePage struct {
	Series       templates.Feed
	Heading      string
	Since, Until time.Time
	Stories      []story
}

type story struct {
	*article.Article
	URL string
}

// serveIssue is the "view in browser" copy of a stored issue (without any
// recipient's unsubscribe link); unknown issues are 404.
func (h *Handler) serveIssue(w http.ResponseWriter, r *http.Request) {
	slug, week := r.PathValue("series"), r.PathValue("week")
	wk, err := digest.ParseWeek(week)
	if err != nil || wk.String() != week {
		response.Page(w, r, h.log, h.pages, digest.ErrNotFound)
		return
	}
	se, err := h.series(slug)
	var p *digest.Plan
	if err == nil {
		p, err = h.svc.Stored(r.Context(), slug, wk)
	}
	if err != nil {
		response.Page(w, r, h.log, h.pages, err)
		return
	}
	page := issuePage{Series: se, Heading: heading(&p.Issue), Since: p.Issue.Since, Until: p.Issue.Until}
	for _, a := range p.Articles {
		page.Stories = append(page.Stories, story{Article: a, URL: h.svc.ArticleURL(a)})
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	if err := h.pages.Render(w, http.StatusOK, "digest_issue", templates.Page{Title: se.Title + ": " + page.Heading, Nav: "digests", Data: page}); err != nil {
		h.log.Error("render digest issue", "issue", p.Issue.ID, "err", err)
	}
}

// The Atom feed of a series' issues (RFC 4287).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Sub     string      `xml:"subtitle,omitempty"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID        string   `xml:"id"`
	Title     string   `xml:"title"`
	Published string   `xml:"published"`
	Updated   string   `xml:"updated"`
	Link      atomLink `xml:"link"`
	Summary   atomText `xml:"summary"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

func (h *Handler) serveAtom(w http.ResponseWriter, r *http.Request, page listPage) {
	site := h.pages.Site()
	base := site.BaseURL
	zone := site.Zone
	stamp := func(t time.Time) string { return t.In(zone).Format(time.RFC3339) }
	f := atomFeed{
		Lang:  site.Lang,
		ID:    base + "/digests/" + page.Series.Slug,
		Title: page.Series.Title + ": weekly digest",
		Sub:   page.Series.Description,
		// An archive with no issue yet: the epoch is as good as any, and stable.
		Updated: stamp(time.Unix(0, 0)),
		Author:  atomPerson{Name: site.Brand.Name},
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: base + page.FeedPath},
			{Rel: "alternate", Type: "text/html", Href: base + "/digests/" + page.Series.Slug},
		},
	}
	var newest time.Time
	for _, iss := range page.Issues {
		if iss.Created.After(newest) {
			newest = iss.Created
		}
		f.Entries = append(f.Entries, atomEntry{
			ID:        base + "/digests/" + iss.ID,
			Title:     page.Series.Title + ": " + iss.Heading,
			Published: stamp(iss.Created),
			Updated:   stamp(iss.Created),
			Link:      atomLink{Rel: "alternate", Type: "text/html", Href: base + "/digests/" + iss.ID},
			Summary:   atomText{Type: "text", Text: iss.Heading + " of the " + page.Series.Title + " digest, with the stories published up to " + h.pages.Date(iss.Until) + "."},
		})
	}
	if !newest.IsZero() {
		f.Updated = stamp(newest)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		response.Text(w, r, h.log, fmt.Errorf("digest feed %s: %w", page.Series.Slug, err))
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Header().Set("Cache-Control", "public, max-age=300")
	if !newest.IsZero() {
		w.Header().Set("Last-Modified", newest.UTC().Format(http.TimeFormat))
	}
	_, _ = w.Write(buf.Bytes())
}

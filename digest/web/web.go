// Package web serves the digest's HTTP pages: the archive of a series'
// issues (GET /digests/{series}, newest first, with an Atom feed of them at
// /digests/{series}.atom) and the "view in browser" copy of one issue
// (GET /digests/{series}/{week}).
package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/server/response"
	"github.com/syndicated/syndicated/templates"
)

// Handler serves the digest pages.
type Handler struct {
	svc   *digest.Service
	log   *slog.Logger
	pages *templates.Renderer
}

// New returns the handler rendering with pages; log may be nil.
func New(svc *digest.Service, log *slog.Logger, pages *templates.Renderer) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, log: log, pages: pages}
}

// Register adds the routes. Use as a server.Options.Register entry.
func (h *Handler) Register(mux *http.ServeMux) {
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

// serveAtom writes the Atom feed of a series' issues through package
// feeds, which writes every Atom document the site serves.
func (h *Handler) serveAtom(w http.ResponseWriter, r *http.Request, page listPage) {
	site := h.pages.Site()
	base := site.BaseURL
	l := feeds.List{
		ID:           base + "/digests/" + page.Series.Slug,
		Title:        page.Series.Title + ": weekly digest",
		Subtitle:     page.Series.Description,
		Lang:         site.Lang,
		Author:       site.Brand.Name,
		SelfURL:      base + page.FeedPath,
		AlternateURL: base + "/digests/" + page.Series.Slug,
		Zone:         site.Zone,
	}
	for _, iss := range page.Issues {
		if iss.Created.After(l.Updated) {
			l.Updated = iss.Created
		}
		l.Entries = append(l.Entries, feeds.ListEntry{
			ID:        base + "/digests/" + iss.ID,
			Title:     page.Series.Title + ": " + iss.Heading,
			URL:       base + "/digests/" + iss.ID,
			Summary:   iss.Heading + " of the " + page.Series.Title + " digest, with the stories published up to " + h.pages.Date(iss.Until) + ".",
			Published: iss.Created,
			Updated:   iss.Created,
		})
	}
	body, err := l.Atom()
	if err != nil {
		response.Text(w, r, h.log, fmt.Errorf("digest feed %s: %w", page.Series.Slug, err))
		return
	}
	w.Header().Set("Content-Type", feeds.Atom.ContentType())
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", "public, max-age=300")
	if !l.Updated.IsZero() {
		w.Header().Set("Last-Modified", l.Updated.UTC().Format(http.TimeFormat))
	}
	_, _ = w.Write(body)
}

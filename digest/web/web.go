// Package web serves the digest's HTTP pages: the archive of a series'
// issues of every cadence (GET /digests/{series}, newest first, each
// marked weekly, daily or story, with an Atom feed of them at
// /digests/{series}.atom) and the "view in browser" copy of one issue as
// it was frozen (GET /digests/{series}/2019-W17, /digests/{series}/2019-04-24,
// /digests/{series}/story/{id}).
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
	mux.HandleFunc("GET /digests/{series}/story/{id}", h.serveIssue)
}

// issueView is one issue in the archive and the feed.
type issueView struct {
	ID, Path, Heading string
	Cadence           string // "Weekly", "Daily", "Each story"
	Created, Until    time.Time
}

func (h *Handler) heading(iss *digest.Issue) string {
	return digest.IssueTitle(iss, h.pages.Site().Zone)
}

func (h *Handler) view(iss *digest.Issue) issueView {
	return issueView{ID: iss.ID, Path: "/digests/" + digest.IssuePath(iss.ID), Heading: h.heading(iss),
		Cadence: iss.Cadence().Label(), Created: iss.CreatedAt, Until: iss.Until}
}

// archivePage is how many issues a page of the archive lists.
const archivePage = 50

type listPage struct {
	Series   templates.Feed
	FeedPath string
	Issues   []issueView
	// Older is the path of the next page of older issues ("" on the
	// last); Newer of the previous.
	Older, Newer string
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
	page := 0
	if p := r.URL.Query().Get("page"); p != "" && !atom {
		if page, err = strconv.Atoi(p); err != nil || page < 1 || strconv.Itoa(page) != p {
			err = digest.ErrNotFound
		}
		page-- // ?page=2 is the second
	}
	var issues []*digest.Issue
	if err == nil {
		issues, err = h.svc.IssuesPage(r.Context(), slug, archivePage+1, page*archivePage)
	}
	if err == nil && page > 0 && len(issues) == 0 {
		err = digest.ErrNotFound
	}
	if err != nil {
		if atom {
			response.Text(w, r, h.log, err)
			return
		}
		response.Page(w, r, h.log, h.pages, err)
		return
	}
	list := listPage{Series: se, FeedPath: "/digests/" + slug + ".atom"}
	if len(issues) > archivePage {
		issues = issues[:archivePage]
		list.Older = fmt.Sprintf("/digests/%s?page=%d", slug, page+2)
	}
	switch {
	case page == 1:
		list.Newer = "/digests/" + slug
	case page > 1:
		list.Newer = fmt.Sprintf("/digests/%s?page=%d", slug, page)
	}
	for _, iss := range issues {
		list.Issues = append(list.Issues, h.view(iss))
	}
	if atom {
		h.serveAtom(w, r, list)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	err = h.pages.Render(w, http.StatusOK, "digest_list", templates.Page{
		Title: se.Title + ": past issues", Nav: "digests",
		Alternates: []templates.Alternate{{Title: se.Title + ": digest issues", Path: list.FeedPath, Type: "application/atom+xml"}},
		Data:       list,
	})
	if err != nil {
		h.log.Error("render digest list", "series", slug, "err", err)
	}
}

type issuePage struct {
	Series       templates.Feed
	Heading      string
	Cadence      string
	Since, Until time.Time
	Stories      []story
}

// story is one story of an issue as the issue was frozen.
type story = digest.ArticleView

// serveIssue is the "view in browser" copy of a stored issue as it was
// frozen when it was made, whatever has happened to its articles since
// (without any recipient's links); unknown issues are 404.
func (h *Handler) serveIssue(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("series")
	id := slug + "/" + r.PathValue("week")
	if sid := r.PathValue("id"); sid != "" {
		id = digest.StoryID(slug, sid)
	} else if wk, err := digest.ParseWeek(r.PathValue("week")); err == nil && wk.String() == r.PathValue("week") {
		id = digest.IssueID(slug, wk)
	} else if _, err := digest.ParseDay(r.PathValue("week"), time.UTC); err != nil {
		response.Page(w, r, h.log, h.pages, digest.ErrNotFound)
		return
	}
	se, err := h.series(slug)
	var p *digest.Plan
	if err == nil {
		p, err = h.svc.StoredIssue(r.Context(), id)
	}
	if err != nil {
		response.Page(w, r, h.log, h.pages, err)
		return
	}
	page := issuePage{Series: se, Heading: h.heading(&p.Issue), Cadence: p.Issue.Cadence().Label(),
		Since: p.Issue.Since, Until: p.Issue.Until}
	if frozen := h.svc.Frozen(&p.Issue); frozen != nil {
		page.Stories = frozen.Articles
	} else { // stored before content was kept: its articles as they are
		for _, a := range p.Articles {
			page.Stories = append(page.Stories, story{URL: h.svc.ArticleURL(a), Headline: a.Headline, Deck: a.Deck,
				Byline: article.Byline(a.Authors), Photo: a.Photo, Section: a.Section, Lang: a.Language,
				Date: h.pages.Date(a.Published), DateTime: h.pages.DateTime(a.Published), Published: a.Published})
		}
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
		Title:        page.Series.Title + ": digest issues",
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
			ID:        base + iss.Path,
			Title:     page.Series.Title + ": " + iss.Heading,
			URL:       base + iss.Path,
			Summary:   atomSummary(page.Series.Title, iss, h.pages.Date(iss.Until)),
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

// atomSummary says what an issue of the archive's feed is.
func atomSummary(series string, iss issueView, until string) string {
	switch iss.Cadence {
	case "Each story":
		return "A story email of the " + series + ": " + iss.Heading + "."
	case "Daily":
		return "The daily digest of the " + series + " of " + iss.Heading + ", with the stories published up to " + until + "."
	}
	return iss.Heading + " of the " + series + " digest, with the stories published up to " + until + "."
}

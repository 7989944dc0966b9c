package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest/source"
)

// DryRunReport is what an import would read, article by article, without
// storing anything: `syndicated import --dry-run`.
type DryRunReport struct {
	Articles []ArticleReport
	// Zone is the newsroom zone times are shown in.
	Zone *time.Location
}

// ArticleReport is what the importer read of one article (one file, or
// the page files of one text article), or why it refused it.
type ArticleReport struct {
	File   string
	Files  []string
	Format string
	// Article is the article as it would be stored (ID, GUID, section and
	// series set); nil when refused.
	Article *article.Article
	// Err says why the article is refused (file, line, reason).
	Err error
	// SectionFrom says where the section came from: the breadcrumb, a
	// field, a label above the headline, or the default.
	SectionFrom string
	// Dropped lists every line of a text page left out as chrome.
	Dropped []DroppedLine
	// Warnings say what looks wrong although it is kept: a copy cut short.
	Warnings []string
	// Truncated is set when a page looks cut short.
	Truncated bool
}

// DroppedLine is one line a text page's parser left out, and why.
type DroppedLine struct {
	File string
	Line int
	Text string
	Why  string
}

// DryRun reads paths as ImportPaths does (the default section applies)
// and reports what it read per article. It stores nothing and reads
// nothing from the store. The error is non-nil only when ctx ends.
func (im *Importer) DryRun(ctx context.Context, paths ...string) (DryRunReport, error) {
	rep, inputs := collect(paths)
	out := DryRunReport{Zone: im.opts.Zone}
	for _, f := range rep.Files {
		out.Articles = append(out.Articles, ArticleReport{File: f.File, Files: f.Files, Format: f.Format, Err: f.Err})
	}
	seen := map[string]string{}
	for _, g := range groupInputs(inputs) {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("dry run: %w", err)
		}
		out.Articles = append(out.Articles, im.dryRunGroup(ctx, g, seen)...)
	}
	return out, nil
}

func (im *Importer) dryRunGroup(ctx context.Context, g group, seen map[string]string) []ArticleReport {
	r := ArticleReport{File: g.files[0].name, Format: g.format}
	for _, f := range g.files {
		r.Files = append(r.Files, f.name)
	}
	p, bad, err := im.parseGroup(ctx, g)
	var out []ArticleReport
	for _, b := range bad {
		out = append(out, ArticleReport{File: b.File, Files: b.Files, Format: b.Format, Err: b.Err})
	}
	if err == nil {
		err = im.prepare(p, r.File, g.format, im.opts.DefaultSection)
	}
	if err == nil {
		if other, ok := seen[p.a.ID]; ok {
			err = source.Errorf(r.File, 0, "id", "%q is also the id of %s", p.a.ID, other)
		}
	}
	if err != nil {
		r.Err = err
		return append([]ArticleReport{r}, out...)
	}
	seen[p.a.ID] = r.File
	if p.a.Published.IsZero() {
		// As the first import does (article.Merge).
		p.a.Published = p.a.Updated
	}
	r.Article, r.Warnings, r.Truncated = p.a, p.warnings, len(p.warnings) > 0
	r.SectionFrom = p.sectionFrom
	for _, pf := range p.pages {
		for _, d := range pf.doc.Dropped {
			r.Dropped = append(r.Dropped, DroppedLine{File: pf.file, Line: d.Line, Text: d.Text, Why: d.Why})
		}
	}
	for _, t := range p.settled {
		r.Dropped = append(r.Dropped, DroppedLine{File: r.File, Text: t, Why: "repeated at the top of a later page"})
	}
	return append([]ArticleReport{r}, out...)
}

// Err joins the errors of the refused articles; nil when none is.
func (r DryRunReport) Err() error {
	var errs []error
	for _, a := range r.Articles {
		if a.Err != nil {
			errs = append(errs, a.Err)
		}
	}
	return errors.Join(errs...)
}

// WriteText writes the report for a person: one block per article.
func (r DryRunReport) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	read, refused := 0, 0
	for _, a := range r.Articles {
		if a.Err != nil {
			refused++
			ew.printf("REFUSED %s\n  %v\n\n", a.File, a.Err)
			continue
		}
		read++
		r.writeArticle(ew, a)
	}
	ew.printf("%d articles read, %d refused; nothing stored (dry run)\n", read, refused)
	return ew.err
}

func (r DryRunReport) writeArticle(ew *errWriter, ar ArticleReport) {
	a := ar.Article
	field := func(name, value string) {
		if value != "" {
			ew.printf("  %-12s %s\n", name, value)
		}
	}
	ew.printf("%s", ar.File)
	if len(ar.Files) > 1 {
		ew.printf(" (%d files: %s)", len(ar.Files), strings.Join(ar.Files, ", "))
	}
	ew.printf(" [%s]\n", ar.Format)
	field("id", a.ID)
	field("headline", a.Headline)
	field("deck", a.Deck)
	var authors []string
	for _, au := range a.Authors {
		if au.Place != "" {
			authors = append(authors, au.Name+" (in "+au.Place+")")
		} else {
			authors = append(authors, au.Name)
		}
	}
	field("authors", orNone(strings.Join(authors, ", ")))
	field("place", a.Dateline)
	field("publication", orNone(a.Publication))
	field("published", r.time(a.Published))
	field("updated", r.time(a.Updated))
	field("section", a.Section+" (from the "+ar.SectionFrom+")")
	field("series", orNone(strings.Join(a.Series, ", ")))
	field("note", a.EditorsNote)
	field("language", a.Language)
	field("pages", pagesText(a))
	for _, ph := range photos(a) {
		field("photo p"+strconv.Itoa(ph.Page), ph.text())
	}
	paras := a.Paragraphs()
	if len(paras) > 0 {
		field("first", strconv.Quote(paras[0]))
		field("last", strconv.Quote(paras[len(paras)-1]))
	}
	field("paragraphs", strconv.Itoa(len(paras)))
	for _, wn := range ar.Warnings {
		field("WARNING", wn)
	}
	for _, d := range ar.Dropped {
		where := d.File
		if d.Line > 0 {
			where += ":" + strconv.Itoa(d.Line)
		}
		field("dropped", fmt.Sprintf("%s %q (%s)", where, d.Text, d.Why))
	}
	ew.printf("\n")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// time shows t in the newsroom zone with its offset and the zone's name.
func (r DryRunReport) time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	zone := r.Zone
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format("2006-01-02 15:04 -07:00") + " (" + zone.String() + ")"
}

// pagesText is "1, 2 of 3 (missing: 3)".
func pagesText(a *article.Article) string {
	var have []string
	for _, pg := range a.Body {
		have = append(have, strconv.Itoa(pg.Number))
	}
	s := orNone(strings.Join(have, ", ")) + " of " + strconv.Itoa(max(a.TotalPages, len(a.Body)))
	if m := a.MissingPages(); len(m) > 0 {
		var ms []string
		for _, n := range m {
			ms = append(ms, strconv.Itoa(n))
		}
		s += " (missing: " + strings.Join(ms, ", ") + ")"
	}
	return s
}

// photoReport is one photo of an article, lead photo first.
type photoReport struct {
	Page    int    `json:"page"`
	Lead    bool   `json:"lead,omitempty"`
	URL     string `json:"url,omitempty"`
	Caption string `json:"caption,omitempty"`
	Credit  string `json:"credit,omitempty"`
}

func (p photoReport) text() string {
	s := p.Caption
	if p.Credit != "" {
		s += " [" + p.Credit + "]"
	}
	if p.URL != "" {
		s += " <" + p.URL + ">"
	}
	if p.Lead {
		s = "(lead) " + s
	}
	return s
}

// photos lists an article's photos: the lead photo, then each page's.
func photos(a *article.Article) []photoReport {
	var out []photoReport
	if a.Photo != nil {
		page := 0
		if len(a.Body) > 0 {
			page = a.Body[0].Number
		}
		out = append(out, photoReport{Page: page, Lead: true, URL: a.Photo.URL, Caption: a.Photo.Caption, Credit: a.Photo.Credit})
	}
	for _, pg := range a.Body {
		for _, ph := range pg.Photos {
			out = append(out, photoReport{Page: pg.Number, URL: ph.URL, Caption: ph.Caption, Credit: ph.Credit})
		}
	}
	return out
}

// jsonArticle is one article of the JSON report.
type jsonArticle struct {
	File        string        `json:"file"`
	Files       []string      `json:"files"`
	Format      string        `json:"format"`
	Error       string        `json:"error,omitempty"`
	ID          string        `json:"id,omitempty"`
	GUID        string        `json:"guid,omitempty"`
	Headline    string        `json:"headline,omitempty"`
	Deck        string        `json:"deck,omitempty"`
	Authors     []string      `json:"authors,omitempty"`
	Place       string        `json:"place,omitempty"`
	Publication string        `json:"publication,omitempty"`
	Published   string        `json:"published,omitempty"`
	Updated     string        `json:"updated,omitempty"`
	Zone        string        `json:"zone,omitempty"`
	Section     string        `json:"section,omitempty"`
	SectionFrom string        `json:"section_from,omitempty"`
	Series      []string      `json:"series,omitempty"`
	EditorsNote string        `json:"editors_note,omitempty"`
	Language    string        `json:"language,omitempty"`
	Pages       []int         `json:"pages,omitempty"`
	TotalPages  int           `json:"total_pages,omitempty"`
	Missing     []int         `json:"missing_pages,omitempty"`
	Photos      []photoReport `json:"photos,omitempty"`
	Paragraphs  int           `json:"paragraphs"`
	First       string        `json:"first_paragraph,omitempty"`
	Last        string        `json:"last_paragraph,omitempty"`
	Warnings    []string      `json:"warnings,omitempty"`
	Truncated   bool          `json:"truncated,omitempty"`
	Dropped     []jsonDropped `json:"dropped,omitempty"`
}

type jsonDropped struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Text string `json:"text"`
	Why  string `json:"why"`
}

// WriteJSON writes the report as a JSON array, one object per article, for
// a CMS team's tests of their exports. Times are RFC 3339 in the newsroom
// zone.
func (r DryRunReport) WriteJSON(w io.Writer) error {
	zone := r.Zone
	if zone == nil {
		zone = time.UTC
	}
	out := make([]jsonArticle, 0, len(r.Articles))
	for _, ar := range r.Articles {
		j := jsonArticle{File: ar.File, Files: ar.Files, Format: ar.Format}
		if ar.Err != nil {
			j.Error = ar.Err.Error()
			out = append(out, j)
			continue
		}
		a := ar.Article
		j.ID, j.GUID, j.Headline, j.Deck = a.ID, a.GUID, a.Headline, a.Deck
		for _, au := range a.Authors {
			j.Authors = append(j.Authors, au.Name)
		}
		j.Place, j.Publication = a.Dateline, a.Publication
		j.Published, j.Updated, j.Zone = a.Published.In(zone).Format(time.RFC3339), a.Updated.In(zone).Format(time.RFC3339), zone.String()
		j.Section, j.SectionFrom, j.Series = a.Section, ar.SectionFrom, a.Series
		j.EditorsNote, j.Language = a.EditorsNote, a.Language
		for _, pg := range a.Body {
			j.Pages = append(j.Pages, pg.Number)
		}
		j.TotalPages, j.Missing, j.Photos = max(a.TotalPages, len(a.Body)), a.MissingPages(), photos(a)
		paras := a.Paragraphs()
		j.Paragraphs = len(paras)
		if len(paras) > 0 {
			j.First, j.Last = paras[0], paras[len(paras)-1]
		}
		j.Warnings, j.Truncated = ar.Warnings, ar.Truncated
		for _, d := range ar.Dropped {
			j.Dropped = append(j.Dropped, jsonDropped(d))
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// ErrRefused says a dry run refused some articles; the report names them.
var ErrRefused = errors.New("articles refused")

// RunDryRun reads paths without storing anything and writes what it read
// to w, as text or json: `syndicated import --dry-run`. The error wraps
// ErrRefused when some article would be refused.
func RunDryRun(ctx context.Context, im *Importer, w io.Writer, format string, paths ...string) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("--format %q: want text or json", format)
	}
	rep, err := im.DryRun(ctx, paths...)
	if err != nil {
		return err
	}
	if format == "json" {
		err = rep.WriteJSON(w)
	} else {
		err = rep.WriteText(w)
	}
	if err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	refused := 0
	for _, a := range rep.Articles {
		if a.Err != nil {
			refused++
		}
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d %w (nothing stored)", refused, len(rep.Articles), ErrRefused)
	}
	return nil
}

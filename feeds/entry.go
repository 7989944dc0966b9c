package feeds

import (
	"html"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
)

// entry is what every format says about one article, derived once.
type entry struct {
	a          *article.Article
	link       string // canonical URL, or BASE/articles/ID
	guid       string // article.GUID (ID when empty)
	permalink  bool   // guid is an http(s) URL
	atomID     string // guid when it is an IRI, else a tag: URI built from it
	title      string
	summary    string // plain text
	content    string // HTML
	authors    []string
	categories []string
	language   string
	photo      *article.Photo
	photoType  string
	published  time.Time // in the newsroom zone
	updated    time.Time // in the newsroom zone; Published when unset
}

func newEntry(s *Spec, sectionTitles map[string]string, loc *time.Location, a *article.Article) *entry {
	e := &entry{a: a, title: a.Headline, language: a.Language, photo: a.Photo,
		published: a.Published.In(loc), updated: a.Updated.In(loc)}
	if a.Updated.IsZero() {
		e.updated = e.published
	}
	e.link = a.CanonicalURL
	if e.link == "" {
		e.link = s.BaseURL + "/articles/" + url.PathEscape(a.ID)
	}
	e.guid = a.GUID
	if e.guid == "" {
		e.guid = a.ID
	}
	u, err := url.Parse(e.guid)
	switch {
	case err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		e.permalink = true
		e.atomID = e.guid
	case err == nil && u.Scheme != "" && u.Opaque+u.Path+u.Host != "":
		e.atomID = e.guid // tag:, urn: …: already an IRI
	default:
		host := s.BaseURL
		if bu, err := url.Parse(s.BaseURL); err == nil {
			host = bu.Hostname()
		}
		e.atomID = "tag:" + host + ",2019:" + url.PathEscape(e.guid)
	}
	if e.language == "" {
		e.language = s.Language
	}
	paras := a.Paragraphs()
	e.summary = strings.TrimSpace(a.Deck)
	if e.summary == "" && len(paras) > 0 {
		e.summary = strings.TrimSpace(paras[0])
	}
	if e.summary == "" {
		e.summary = a.Headline
	}
	e.authors = a.AuthorNames()
	if len(e.authors) == 0 && a.Publication != "" {
		e.authors = []string{a.Publication}
	}
	seen := make(map[string]bool, len(a.Tags)+1)
	add := func(c string) {
		c = strings.TrimSpace(c)
		if c != "" && !seen[strings.ToLower(c)] {
			seen[strings.ToLower(c)] = true
			e.categories = append(e.categories, c)
		}
	}
	for _, t := range a.Tags {
		add(t)
	}
	if t, ok := sectionTitles[a.Section]; ok {
		add(t)
	} else {
		add(a.Section)
	}
	if e.photo != nil {
		e.photoType = photoType(e.photo)
	}
	e.content = contentHTML(a, e.link, paras)
	return e
}

// photoType is the photo's media type, guessed from its URL when unknown.
func photoType(p *article.Photo) string {
	if p.Type != "" {
		return p.Type
	}
	ext := ""
	if u, err := url.Parse(p.URL); err == nil {
		ext = strings.ToLower(path.Ext(u.Path))
	}
	switch ext {
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	}
	if t := mime.TypeByExtension(ext); strings.HasPrefix(t, "image/") {
		t, _, _ = strings.Cut(t, ";")
		return t
	}
	return "image/jpeg"
}

// contentHTML is the full article as HTML: lead photo with caption and
// credit, editor's note, then every paragraph; all text escaped.
func contentHTML(a *article.Article, link string, paras []string) string {
	var b strings.Builder
	esc := html.EscapeString
	if p := a.Photo; p != nil {
		b.WriteString(`<figure><img src="`)
		b.WriteString(esc(p.URL))
		b.WriteString(`" alt="`)
		b.WriteString(esc(p.Caption))
		b.WriteString(`">`)
		if p.Caption != "" || p.Credit != "" {
			b.WriteString(`<figcaption>`)
			b.WriteString(esc(p.Caption))
			if p.Credit != "" {
				if p.Caption != "" {
					b.WriteString(" ")
				}
				b.WriteString(`<small class="credit">`)
				b.WriteString(esc(p.Credit))
				b.WriteString(`</small>`)
			}
			b.WriteString(`</figcaption>`)
		}
		b.WriteString("</figure>\n")
	}
	if n := strings.TrimSpace(a.EditorsNote); n != "" {
		b.WriteString(`<p class="editors-note"><em>Editor&#39;s note: `)
		b.WriteString(esc(n))
		b.WriteString("</em></p>\n")
	}
	for _, p := range paras {
		b.WriteString("<p>")
		b.WriteString(esc(p))
		b.WriteString("</p>\n")
	}
	if missing := a.MissingPages(); len(missing) > 0 {
		b.WriteString(`<p class="continued"><a href="`)
		b.WriteString(esc(link))
		b.WriteString(`">Continued on page `)
		b.WriteString(strconv.Itoa(missing[0]))
		b.WriteString(" at the publisher&#39;s site</a></p>\n")
	}
	return b.String()
}

// newest returns the latest updated and the latest published time among
// the entries; both zero when there are none.
func newest(es []*entry) (updated, published time.Time) {
	for _, e := range es {
		if e.updated.After(updated) {
			updated = e.updated
		}
		if e.published.After(published) {
			published = e.published
		}
	}
	return updated, published
}

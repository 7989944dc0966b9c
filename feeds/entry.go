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
	photo      *article.Photo // the lead photo; nil when there is none or it has no URL
	photoType  string
	published  time.Time // in the newsroom zone
	updated    time.Time // in the newsroom zone; Published when unset
}

func newEntry(s *Spec, sectionTitles map[string]string, loc *time.Location, a *article.Article) *entry {
	e := &entry{a: a, title: a.Headline, language: a.Language,
		published: a.Published.In(loc), updated: a.Updated.In(loc)}
	if a.Photo != nil && a.Photo.URL != "" {
		e.photo = a.Photo
	}
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
	e.summary = strings.TrimSpace(a.Deck)
	if e.summary == "" {
		e.summary = firstParagraph(a)
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
	e.content = contentHTML(a)
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

// contentHTML is the full article as HTML: the lead photo in a <figure>
// with its caption and credit (a caption paragraph when there is a caption
// but no photo URL), the editor's note, then the body, sub-heads as <h3>
// and the first paragraph opening with the dateline, and a note naming
// pages the source lacked; all text escaped.
func contentHTML(a *article.Article) string {
	var b strings.Builder
	esc := html.EscapeString
	if a.Photo != nil {
		writePhoto(&b, a.Photo)
	}
	if n := strings.TrimSpace(a.EditorsNote); n != "" {
		b.WriteString(`<p class="editors-note"><em>Editor&#39;s note: `)
		b.WriteString(esc(n))
		b.WriteString("</em></p>\n")
	}
	dateline := datelineFor(a.Dateline, firstParagraph(a))
	for _, pg := range a.Body {
		for _, bl := range pg.Blocks() {
			switch {
			case bl.Photo != nil:
				writePhoto(&b, bl.Photo)
			case bl.Subhead:
				b.WriteString("<h3>")
				b.WriteString(esc(bl.Text))
				b.WriteString("</h3>\n")
			default:
				b.WriteString("<p>")
				if dateline != "" {
					b.WriteString(`<span class="dateline">`)
					b.WriteString(esc(dateline))
					b.WriteString(" —</span> ")
					dateline = ""
				}
				b.WriteString(esc(bl.Text))
				b.WriteString("</p>\n")
			}
		}
	}
	if missing := a.MissingPages(); len(missing) > 0 {
		total := max(a.TotalPages, missing[len(missing)-1])
		b.WriteString(`<p class="continued">`)
		b.WriteString(esc(missingText(missing, total)))
		if a.CanonicalURL != "" {
			b.WriteString(` not included here: <a href="`)
			b.WriteString(esc(a.CanonicalURL))
			b.WriteString(`">read the whole article at the publisher&#39;s site</a>.`)
		} else if len(missing) == 1 {
			b.WriteString(" has not been imported yet.")
		} else {
			b.WriteString(" have not been imported yet.")
		}
		b.WriteString("</p>\n")
	}
	return b.String()
}

// writePhoto writes a photo in a <figure> with its caption and credit, or,
// without a URL, its caption as a paragraph.
func writePhoto(b *strings.Builder, p *article.Photo) {
	esc := html.EscapeString
	if p.URL != "" {
		b.WriteString(`<figure><img src="`)
		b.WriteString(esc(p.URL))
		b.WriteString(`" alt="`)
		b.WriteString(esc(p.Caption))
		b.WriteString(`">`)
		if p.Caption != "" || p.Credit != "" {
			b.WriteString(`<figcaption>`)
			writeCaption(b, p)
			b.WriteString(`</figcaption>`)
		}
		b.WriteString("</figure>\n")
	} else if p.Caption != "" || p.Credit != "" {
		b.WriteString(`<p class="caption">`)
		writeCaption(b, p)
		b.WriteString("</p>\n")
	}
}

// writeCaption writes a photo's caption and credit, escaped.
func writeCaption(b *strings.Builder, p *article.Photo) {
	b.WriteString(html.EscapeString(p.Caption))
	if p.Credit != "" {
		if p.Caption != "" {
			b.WriteString(" ")
		}
		b.WriteString(`<small class="credit">`)
		b.WriteString(html.EscapeString(p.Credit))
		b.WriteString(`</small>`)
	}
}

// firstParagraph is the body's first paragraph that is not a sub-head,
// trimmed; empty when there is none.
func firstParagraph(a *article.Article) string {
	for _, pg := range a.Body {
		for i, p := range pg.Paragraphs {
			if !pg.IsSubhead(i) {
				return strings.TrimSpace(p)
			}
		}
	}
	return ""
}

// datelineFor is the dateline to print before the first paragraph, in
// capitals as the publisher prints it ("SHANGHAI"); empty when there is
// none, or when the copy already opens with it ("NANJING -- Passenger…",
// as agency copy does).
func datelineFor(dateline, first string) string {
	d := strings.ToUpper(strings.TrimSpace(dateline))
	if d == "" || first == "" {
		return ""
	}
	if len(first) >= len(d) && strings.EqualFold(first[:len(d)], d) {
		rest := strings.TrimLeft(first[len(d):], " \u00a0")
		for _, dash := range []string{"--", "—", "–", "-", ":", ","} {
			if strings.HasPrefix(rest, dash) {
				return ""
			}
		}
	}
	return d
}

// missingText names the missing pages: "Page 2 of 2", "Pages 2 and 3 of 4",
// "Pages 2, 3 and 5 of 5".
func missingText(missing []int, total int) string {
	nums := make([]string, len(missing))
	for i, n := range missing {
		nums[i] = strconv.Itoa(n)
	}
	if len(nums) == 1 {
		return "Page " + nums[0] + " of " + strconv.Itoa(total)
	}
	return "Pages " + strings.Join(nums[:len(nums)-1], ", ") + " and " + nums[len(nums)-1] + " of " + strconv.Itoa(total)
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

// Package templates renders syndicated's HTML pages: one layout (masthead
// with the brand and navigation, footer) around every page, one embedded
// stylesheet, dates in one format in the newsroom's zone, sections and
// series by their titles. Each page is a file in html/ that defines a
// "content" block; New parses them all with html/layout.html.
package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
)

// FS holds html/*.html and static/site.css.
//
//go:embed html static
var FS embed.FS

// Brand is the publisher's identity on every page.
type Brand struct {
	Name string
	// Link is the publisher's own site, linked from the footer.
	Link string
	// Logo is the URL of a logo image shown in the masthead; empty: the
	// name is set as a wordmark.
	Logo string
	// Color is the masthead and accent colour, "#rgb" or "#rrggbb";
	// empty or malformed: DefaultColor.
	Color     string
	Copyright string
}

// DefaultColor is the accent colour when brand.color is not set.
const DefaultColor = "#8c1515"

// FeedLink is one format of one feed.
type FeedLink struct {
	Format string // "RSS", "Atom", "JSON Feed"
	Path   string // e.g. /feeds/society.rss
	Type   string // media type without parameters
}

// Alternate is a <link rel="alternate"> in the page's head.
type Alternate struct {
	Title, Path, Type string
}

// linkHeader announces alts in a Link header (RFC 8288), as the page's
// <link rel="alternate"> elements do: one value per feed, a non-ASCII
// title as title* (RFC 8187).
func (r *Renderer) linkHeader(alts []Alternate) []string {
	out := make([]string, len(alts))
	for i, a := range alts {
		u := r.site.BaseURL + (&url.URL{Path: a.Path}).EscapedPath()
		v := "<" + u + `>; rel="alternate"; type="` + a.Type + `"`
		if isPlainASCII(a.Title) {
			v += `; title="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a.Title) + `"`
		} else {
			v += "; title*=UTF-8''" + url.PathEscape(a.Title)
		}
		out[i] = v
	}
	return out
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// FeedAlternates are the autodiscovery links of feeds, every format.
func FeedAlternates(feeds []Feed) []Alternate {
	var out []Alternate
	for _, f := range feeds {
		for _, l := range f.Links {
			out = append(out, Alternate{Title: f.Title + " (" + l.Format + ")", Path: l.Path, Type: l.Type})
		}
	}
	return out
}

// Alternates are the autodiscovery links of every feed of the site.
func (s *Site) Alternates() []Alternate {
	var out []Alternate
	for _, f := range s.Feeds {
		for _, l := range f.Links {
			out = append(out, Alternate{Title: f.Title + " (" + l.Format + ")", Path: l.Path, Type: l.Type})
		}
	}
	return out
}

// Feed is one section or series and its feeds in every format.
type Feed struct {
	Slug, Title, Description string
	Series                   bool
	Links                    []FeedLink
	// Cadences a series' readers may choose (weekly, daily, story); none
	// or one: the weekly digest.
	Cadences []string
}

// Site is what every page knows about the newsroom.
type Site struct {
	Brand Brand
	// Lang is the language of the site's own words (default "en").
	Lang string
	// Zone is the newsroom's zone (config newsroom.zone): every date is
	// shown in it. Nil: UTC.
	Zone *time.Location
	// BaseURL is the public URL without a trailing slash.
	BaseURL string
	// Feeds lists the sections, then the series, with their feeds.
	Feeds []Feed
	// Digests lists the series that have an email digest (slug, title).
	Digests []Feed
}

// Page is one page to render.
type Page struct {
	// Title goes before " · Brand" in <title>; empty: the brand alone.
	Title string
	// Lang is the language of the content; empty: Site.Lang.
	Lang string
	// Nav names the current navigation item: "home", "feeds", "digests",
	// "subscribe".
	Nav string
	// Alternates are <link rel="alternate"> of the page (feed
	// autodiscovery), also sent as a Link header; nil: the site's feeds.
	Alternates []Alternate
	// Data is what the page's content block reads.
	Data any

	Site *Site // set by Render
}

// FullTitle is the document title.
func (p *Page) FullTitle() string {
	if p.Title == "" {
		return p.Site.Brand.Name
	}
	return p.Title + " · " + p.Site.Brand.Name
}

// Renderer holds the parsed pages of one site.
type Renderer struct {
	site Site
	// alternates are the site's feeds, announced by every page that
	// names none of its own.
	alternates []Alternate
	pages      map[string]*template.Template
	css        template.CSS
	csp        string
}

// Pages are the page names New parses (html/NAME.html).
var Pages = []string{"index", "article", "error", "subscribe", "subscribe_sent", "subscribe_confirm", "subscribe_confirmed",
	"subscribe_unsubscribe", "subscribe_unsubscribed", "digest_issue", "digest_list", "preferences", "preferences_erased"}

var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}){1,2}$`)

// New parses every page for site.
func New(site Site) (*Renderer, error) {
	if site.Lang == "" {
		site.Lang = "en"
	}
	if site.Zone == nil {
		site.Zone = time.UTC
	}
	if site.Brand.Name == "" {
		site.Brand.Name = "Syndicated"
	}
	if !hexColor.MatchString(site.Brand.Color) {
		site.Brand.Color = DefaultColor
	}
	site.BaseURL = strings.TrimRight(site.BaseURL, "/")
	css, err := fs.ReadFile(FS, "static/site.css")
	if err != nil {
		return nil, err
	}
	r := &Renderer{site: site, pages: map[string]*template.Template{}}
	r.alternates = r.site.Alternates()
	bg, ink, link := palette(site.Brand.Color)
	r.css = template.CSS(fmt.Sprintf(":root{--brand:%s;--brand-ink:%s;--brand-link:%s}\n", bg, ink, link) + string(css))
	funcs := template.FuncMap{
		"date":     r.Date,
		"datetime": r.DateTime,
		"byline":   article.Byline,
		"section":  r.sectionTitle,
		"series":   r.series,
		"mask":     MaskEmail,
		"abs":      func(path string) string { return r.site.BaseURL + path },
		"css":      func() template.CSS { return r.css },
		"zonename": func() string { return r.site.Zone.String() },
		"idfor":    idFor,
	}
	if r.csp, err = contentSecurityPolicy(string(r.css), site.Brand.Logo); err != nil {
		return nil, err
	}
	for _, name := range Pages {
		t, err := template.New(name).Funcs(funcs).ParseFS(FS, "html/layout.html", "html/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("templates: parse %s: %w", name, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// Site is the site the pages are rendered for.
func (r *Renderer) Site() *Site { return &r.site }

// Date formats t the one way every page shows a date: in the newsroom's
// zone, with the zone's offset ("22 April 2019, 09:00 UTC+8").
func (r *Renderer) Date(t time.Time) string { return article.Date(t, r.site.Zone) }

// DateTime is t in the newsroom's zone as RFC 3339, for <time datetime>.
func (r *Renderer) DateTime(t time.Time) string { return t.In(r.site.Zone).Format(time.RFC3339) }

// ZoneLabel names the newsroom's zone for readers: "Asia/Shanghai, UTC+8".
func (r *Renderer) ZoneLabel(now time.Time) string {
	return r.site.Zone.String() + ", " + article.UTCOffset(now.In(r.site.Zone))
}

func (r *Renderer) sectionTitle(slug string) string {
	for _, f := range r.site.Feeds {
		if !f.Series && f.Slug == slug {
			return f.Title
		}
	}
	return slug
}

func (r *Renderer) series(slug string) *Feed {
	for i, f := range r.site.Feeds {
		if f.Series && f.Slug == slug {
			return &r.site.Feeds[i]
		}
	}
	for i, f := range r.site.Digests {
		if f.Slug == slug {
			return &r.site.Digests[i]
		}
	}
	return nil
}

var notIDChar = regexp.MustCompile(`[^a-z0-9]+`)

// idFor makes an element id from a path: "/feeds/society.rss" →
// "feeds-society-rss".
func idFor(path string) string {
	return strings.Trim(notIDChar.ReplaceAllString(strings.ToLower(path), "-"), "-")
}

// MaskEmail shows enough of an address for its owner to recognise it:
// "h•••@example.com".
func MaskEmail(addr string) string {
	local, domain, ok := strings.Cut(strings.TrimSpace(addr), "@")
	if !ok || local == "" {
		return "•••"
	}
	first := []rune(local)[0]
	return string(first) + "•••@" + domain
}

// Render writes page name with status. The page is rendered to a buffer
// first, so that a template error is a clean 500, never half a page.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, p Page) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("templates: no page %q", name)
	}
	p.Site = &r.site
	if p.Lang == "" {
		p.Lang = r.site.Lang
	}
	if p.Alternates == nil {
		p.Alternates = r.alternates
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", &p); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return fmt.Errorf("templates: render %s: %w", name, err)
	}
	if len(p.Alternates) > 0 {
		w.Header()["Link"] = r.linkHeader(p.Alternates)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// CSP is the Content-Security-Policy of every page: nothing may load or
// run but the inline stylesheet and the pages' inline scripts (allowed by
// their SHA-256 hashes), images from this site, any https: address (the
// photos of articles) and the brand logo's origin, forms posted to this site; no page may be framed.
func (r *Renderer) CSP() string { return r.csp }

// inlineScript finds the pages' inline scripts (fixed text, no template
// actions inside).
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

func contentSecurityPolicy(css, logo string) (string, error) {
	hash := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	scripts := []string{}
	err := fs.WalkDir(FS, "html", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS, path)
		if err != nil {
			return err
		}
		for _, m := range inlineScript.FindAllSubmatch(b, -1) {
			if bytes.Contains(m[1], []byte("{{")) {
				return fmt.Errorf("templates: %s: an inline script must be fixed text", path)
			}
			scripts = append(scripts, hash(string(m[1])))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	img := "'self' https:"
	if u, err := url.Parse(logo); err == nil && u.Host != "" && u.Scheme != "https" {
		img += " " + u.Scheme + "://" + u.Host
	}
	script := "'none'"
	if len(scripts) > 0 {
		script = strings.Join(scripts, " ")
	}
	return "default-src 'none'; style-src " + hash(css) + "; script-src " + script + "; img-src " + img +
		"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'", nil
}

// ErrorData is what the error page shows.
type ErrorData struct {
	Status  int
	Heading string
	Message string
}

// ErrorPage answers an error page with status; heading and message
// default to words for the status. (server/response.Page answers an
// error with its status from the error table.)
func (r *Renderer) ErrorPage(w http.ResponseWriter, status int, heading, message string) {
	if heading == "" || message == "" {
		h, m := statusWords(status)
		if heading == "" {
			heading = h
		}
		if message == "" {
			message = m
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	_ = r.Render(w, status, "error", Page{Title: heading, Data: ErrorData{Status: status, Heading: heading, Message: message}})
}

func statusWords(status int) (string, string) {
	switch {
	case status == http.StatusNotFound:
		return "Page not found", "There is no page at this address. It may have been moved, or the story withdrawn."
	case status == http.StatusTooManyRequests:
		return "Too many requests", "Please wait a few minutes and try again."
	case status == http.StatusRequestEntityTooLarge:
		return "Request too large", "The request is larger than this site accepts."
	case status >= 500:
		return "Something went wrong", "Something went wrong on our side. Please try again later."
	}
	return "Bad request", "This address or form could not be understood."
}

// palette picks the masthead colour (brand, darkened when neither white
// nor near-black text reads on it), the ink on it, and a link colour dark
// enough on the page background: WCAG AA, 4.5:1, whatever brand.color is.
func palette(brand string) (bg, ink, link string) {
	white, dark := [3]float64{1, 1, 1}, parseHex("#111111")
	c := parseHex(brand)
	switch {
	case contrast(c, white) >= 4.5:
		ink = "#ffffff"
	case contrast(c, dark) >= 4.5:
		ink = "#111111"
	default:
		ink = "#ffffff"
		c = darkenUntil(c, white)
	}
	l := darkenUntil(parseHex(brand), parseHex("#fbfaf7"))
	return toHex(c), ink, toHex(l)
}

// darkenUntil darkens c until it reaches 4.5:1 against the lighter on.
func darkenUntil(c, on [3]float64) [3]float64 {
	for contrast(c, on) < 4.5 {
		c = [3]float64{c[0] * .9, c[1] * .9, c[2] * .9}
	}
	return c
}

func toHex(c [3]float64) string {
	return fmt.Sprintf("#%02x%02x%02x", int(math.Round(c[0]*255)), int(math.Round(c[1]*255)), int(math.Round(c[2]*255)))
}

func parseHex(s string) [3]float64 {
	s = strings.TrimPrefix(s, "#")
	if len(s) == 3 {
		s = string([]byte{s[0], s[0], s[1], s[1], s[2], s[2]})
	}
	var c [3]float64
	for i := range 3 {
		v, _ := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		c[i] = float64(v) / 255
	}
	return c
}

func luminance(c [3]float64) float64 {
	var l [3]float64
	for i, v := range c {
		if v <= 0.03928 {
			l[i] = v / 12.92
		} else {
			l[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

func contrast(a, b [3]float64) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

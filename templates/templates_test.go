package templates

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestDateIsOneFormatInTheNewsroomZone(t *testing.T) {
	at := time.Date(2019, 5, 27, 0, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		zone      string
		date, iso string
	}{
		{"Asia/Shanghai", "27 May 2019, 08:30 UTC+8", "2019-05-27T08:30:00+08:00"},
		{"Asia/Kolkata", "27 May 2019, 06:00 UTC+5:30", "2019-05-27T06:00:00+05:30"},
		{"America/New_York", "26 May 2019, 20:30 UTC-4", "2019-05-26T20:30:00-04:00"},
		{"UTC", "27 May 2019, 00:30 UTC", "2019-05-27T00:30:00Z"},
	} {
		r, err := New(Site{Zone: zone(t, c.zone)})
		if err != nil {
			t.Fatal(err)
		}
		// The same instant given in another zone shows the same.
		if got := r.Date(at.In(zone(t, "Europe/Paris"))); got != c.date {
			t.Errorf("%s: Date = %q, want %q", c.zone, got, c.date)
		}
		if got := r.DateTime(at); got != c.iso {
			t.Errorf("%s: DateTime = %q, want %q", c.zone, got, c.iso)
		}
	}
}

// Whatever brand.color is, the masthead text and the links keep WCAG AA
// contrast.
func TestPaletteKeepsContrast(t *testing.T) {
	bg := parseHex("#fbfaf7")
	for _, brand := range []string{"#8c1515", "#ffd700", "#ffffff", "#000000", "#0af", "#3a7bd5"} {
		back, ink, link := palette(brand)
		if c := contrast(parseHex(back), parseHex(ink)); c < 4.5 {
			t.Errorf("%s: ink %s contrast %.2f on %s", brand, ink, c, back)
		}
		if c := contrast(parseHex(link), bg); c < 4.5 {
			t.Errorf("%s: link %s contrast %.2f on the page", brand, link, c)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"reader@example.com": "r•••@example.com",
		"Ünal@example.de":    "Ü•••@example.de",
		"no-at-sign":         "•••",
		"@example.com":       "•••",
	} {
		if got := MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderLayout(t *testing.T) {
	r, err := New(Site{
		Brand:   Brand{Name: "Example <Daily>", Logo: "https://static.example.com/logo.svg", Color: "not-a-colour", Link: "https://www.example.com/"},
		Zone:    zone(t, "Asia/Shanghai"),
		BaseURL: "https://news.example",
		Feeds:   []Feed{{Slug: "society", Title: "Society"}, {Slug: "s70", Title: "Seventy", Series: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	a := &article.Article{ID: "a", Section: "society", Series: []string{"s70"}, Headline: "Headline", Language: "zh",
		Authors:   []article.Author{{Name: "Huang Yi", Place: "Shanghai"}, {Name: "Pan Rui", Place: "Shanghai"}},
		Published: time.Date(2019, 5, 27, 0, 0, 0, 0, time.UTC), Updated: time.Date(2019, 5, 27, 0, 0, 0, 0, time.UTC)}
	follow := []Feed{{Title: "Stories by 黄毅", Links: []FeedLink{{Format: "RSS", Path: "/feeds/authors/黄毅.rss", Type: "application/rss+xml"}}},
		{Title: `Stories tagged "R&D"`, Links: []FeedLink{{Format: "Atom", Path: "/feeds/tags/r-d.atom", Type: "application/atom+xml"}}}}
	if err := r.Render(w, http.StatusOK, "article", Page{Title: a.Headline, Lang: "zh", Alternates: FeedAlternates(follow), Data: struct {
		A       *article.Article
		Missing []int
		Follow  []Feed
	}{A: a, Follow: follow}}); err != nil {
		t.Fatal(err)
	}
	// The page's feeds are announced in a Link header too (RFC 8288; a
	// non-ASCII title as title*, RFC 8187).
	if got, want := w.Header()["Link"], []string{
		`<https://news.example/feeds/authors/%E9%BB%84%E6%AF%85.rss>; rel="alternate"; type="application/rss+xml"; title*=UTF-8''Stories%20by%20%E9%BB%84%E6%AF%85%20%28RSS%29`,
		`<https://news.example/feeds/tags/r-d.atom>; rel="alternate"; type="application/atom+xml"; title="Stories tagged \"R&D\" (Atom)"`,
	}; !slices.Equal(got, want) {
		t.Errorf("Link header\n%q\nwant\n%q", got, want)
	}
	body := w.Body.String()
	for _, want := range []string{`<a href="/feeds/authors/%e9%bb%84%e6%af%85.rss" type="application/rss&#43;xml">RSS</a>`,
		`<link rel="alternate" type="application/atom&#43;xml" title="Stories tagged &#34;R&amp;D&#34; (Atom)" href="https://news.example/feeds/tags/r-d.atom">`} {
		if !strings.Contains(body, want) {
			t.Errorf("article page lacks %q", want)
		}
	}
	for _, want := range []string{
		`<html lang="zh">`, `<header class="masthead" lang="en">`, // the site's words keep their language
		`<title>Headline · Example &lt;Daily&gt;</title>`,
		`<img src="https://static.example.com/logo.svg" alt="Example &lt;Daily&gt;">`,
		"--brand:" + DefaultColor + ";", // a malformed colour falls back
		"By Huang Yi and Pan Rui in Shanghai", "<span>Society</span> · Seventy", "27 May 2019, 08:00 UTC&#43;8",
		`href="https://www.example.com/"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("article page lacks %q", want)
		}
	}
	if err := r.Render(httptest.NewRecorder(), 200, "nope", Page{}); err == nil {
		t.Error("rendering an unknown page succeeded")
	}
}

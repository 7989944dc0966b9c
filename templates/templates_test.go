package templates

import (
	"net/http"
	"net/http/httptest"
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
		Brand: Brand{Name: "Example <Daily>", Logo: "https://static.example.com/logo.svg", Color: "not-a-colour", Link: "https://www.example.com/"},
		Zone:  zone(t, "Asia/Shanghai"),
		Feeds: []Feed{{Slug: "society", Title: "Society"}, {Slug: "s70", Title: "Seventy", Series: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	a := &article.Article{ID: "a", Section: "society", Series: []string{"s70"}, Headline: "Headline", Language: "zh",
		Authors:   []article.Author{{Name: "Huang Yi", Place: "Shanghai"}, {Name: "Pan Rui", Place: "Shanghai"}},
		Published: time.Date(2019, 5, 27, 0, 0, 0, 0, time.UTC), Updated: time.Date(2019, 5, 27, 0, 0, 0, 0, time.UTC)}
	if err := r.Render(w, http.StatusOK, "article", Page{Title: a.Headline, Lang: "zh", Data: struct {
		A       *article.Article
		Missing []int
	}{A: a}}); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
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

package hermes_test

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/internal/browsertest"
	"github.com/syndicated/syndicated/internal/mailpittest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/subscribers"
)

// htmlCheck is the part of Mailpit's html-check answer the test reads:
// the share of the HTML and CSS features used that mail clients support.
type htmlCheck struct {
	Total struct {
		Supported   float64 `json:"Supported"`
		Partial     float64 `json:"Partial"`
		Unsupported float64 `json:"Unsupported"`
	} `json:"Total"`
	Warnings []struct {
		Title   string `json:"Title"`
		Results []struct {
			Family  string `json:"Family"`
			Support string `json:"Support"`
		} `json:"Results"`
		Score struct {
			Supported, Partial, Unsupported float64
		} `json:"Score"`
	} `json:"Warnings"`
}

// TestEmailsPassMailpitHTMLCheck sends the digest, the confirmation and
// the welcome email through Mailpit over SMTP and asks Mailpit's
// html-check (the caniemail.com data) how well mail clients support their
// HTML and CSS: above 90% for each. The emails are then looked at in headless Chromium
// at a phone's and a desktop's width (screenshots kept as artifacts).
func TestEmailsPassMailpitHTMLCheck(t *testing.T) {
	mp := mailpittest.Start(t)
	bctx := browsertest.Chromium(t)
	shots := browsertest.ArtifactsDir(t, "emails")
	mailer, err := smtp.New(smtp.Config{URL: "smtp://" + mp.SMTP + "?tls=none", From: "Shanghai Daily <news@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	defer mailer.Close()
	// The photo comes from a local server, so that the screenshots show it.
	photos := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		img := image.NewRGBA(image.Rect(0, 0, 560, 315))
		draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{0x5b, 0x7f, 0x95, 0xff}}, image.Point{}, draw.Src)
		w.Header().Set("Content-Type", "image/png")
		_ = png.Encode(w, img)
	}))
	defer photos.Close()
	r := hermes.New(hermes.Brand{Name: "Shanghai Daily", Link: "https://www.example.com/", Copyright: "© Shanghai Daily", Color: "#8c1515"})

	html, text, err := r.RenderDigest(sampleDigest(photos.URL + "/tram.png"))
	if err != nil {
		t.Fatal(err)
	}
	digestMsg := &mail.Message{To: "digest@example.com", Subject: "Shanghai 70th anniversary series: 22–28 April 2019", HTML: html, Text: text}
	confirm, err := r.RenderConfirmation(subscribers.ConfirmationData{Lists: []string{"Shanghai 70th anniversary series"},
		Link: "https://www.example.com/confirm?token=abc", TTL: 72 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	confirm.To = "confirm@example.com"
	welcome, err := r.RenderWelcome(subscribers.WelcomeData{Name: "Li Wei", PreferencesURL: "https://www.example.com/preferences?token=def",
		UnsubscribeURL: "https://www.example.com/unsubscribe?token=ghi", Lists: []subscribers.WelcomeList{
			{Title: "Shanghai 70th anniversary series", Cadence: subscribers.CadenceDaily,
				Latest: &subscribers.IssueLink{Title: "Week 18, 2019", URL: "https://www.example.com/digests/shanghai-70th/2019-W18"}},
			{Title: "City lights", Cadence: subscribers.CadenceWeekly}}})
	if err != nil {
		t.Fatal(err)
	}
	welcome.To = "welcome@example.com"

	for _, m := range []*mail.Message{digestMsg, confirm, welcome} {
		if err := mailer.Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		got := mp.WaitFor(t, m.To)
		var hc htmlCheck
		if err := mp.GetJSON(t.Context(), "/api/v1/message/"+got.ID+"/html-check", &hc); err != nil {
			t.Fatal(err)
		}
		var warn []string
		for _, w := range hc.Warnings {
			warn = append(warn, fmt.Sprintf("%s (%.0f%% supported, %.0f%% partial)", w.Title, w.Score.Supported, w.Score.Partial))
		}
		t.Logf("%s: html-check %.1f%% supported, %.1f%% partial, %.1f%% unsupported; warnings: %s",
			m.To, hc.Total.Supported, hc.Total.Partial, hc.Total.Unsupported, strings.Join(warn, "; "))
		if hc.Total.Supported <= 90 {
			t.Errorf("%s: Mailpit html-check gives %.1f%% supported, want above 90%%; warnings: %s",
				m.To, hc.Total.Supported, strings.Join(warn, "; "))
		}
		name := strings.TrimSuffix(m.To, "@example.com")
		for _, width := range []int64{390, 1280} {
			if err := chromedp.Do(bctx, chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(mp.API+"/view/"+got.ID+".html"), chromedp.WaitVisible(chromedp.CSS("body"))); err != nil {
				t.Fatalf("view %s: %v", name, err)
			}
			overflow, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
			if err != nil {
				t.Fatal(err)
			}
			if overflow {
				t.Errorf("%s at %d px is wider than the window", name, width)
			}
			if m == digestMsg {
				// Headlines look like links: underlined, in the brand's colour.
				looks, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("h2 a[href]")).map(a => getComputedStyle(a).textDecorationLine + " " + getComputedStyle(a).color)`))
				if err != nil {
					t.Fatal(err)
				}
				if len(looks) != 3 || strings.Count(strings.Join(looks, ","), "underline rgb(140, 21, 21)") != 3 {
					t.Errorf("headline links at %d px look like %q, want 3 underlined in #8c1515", width, looks)
				}
			}
			browsertest.Screenshot(t, bctx, shots, fmt.Sprintf("%s-%d", name, width))
		}
	}
	t.Logf("screenshots in %s", shots)
}

// sampleDigest is an issue of three original stories, one with a photo.
func sampleDigest(photo string) *digest.Email {
	return &digest.Email{
		Title:   "Shanghai 70th anniversary series",
		Intros:  []string{"Stories commemorating the 70th anniversary of the liberation of Shanghai.", "3 new stories since Monday 22 April 2019."},
		Name:    "Li Wei",
		ViewURL: "https://www.example.com/digests/shanghai-70th/2019-W18", UnsubscribeURL: "https://www.example.com/unsubscribe?token=xyz",
		Articles: []digest.ArticleView{
			{URL: "https://www.example.com/a/3", Headline: "Tram line 3 runs again along the riverside", Deck: "The restored line carries its first passengers since 1975.",
				Byline: article.Byline([]article.Author{{Name: "Zhou Min", Place: "Shanghai"}, {Name: "Gao Lin", Place: "Shanghai"}}),
				Date:   "28 April 2019, 18:30 UTC+8", DateTime: "2019-04-28T18:30:00+08:00",
				Photo: &article.Photo{URL: photo, Caption: "A restored tram at the depot", Credit: "Photo by Chen Hao"}},
			{URL: "https://www.example.com/a/2", Headline: "A library that never closes", Deck: "Night readers fill the new reading room in Yangpu.",
				Byline: "By Xu Ping", Date: "25 April 2019, 10:00 UTC+8", DateTime: "2019-04-25T10:00:00+08:00"},
			{URL: "https://www.example.com/a/1", Headline: "Seventy years of the Bund skyline", Deck: "How the waterfront changed, decade by decade.",
				Date: "22 April 2019, 09:00 UTC+8", DateTime: "2019-04-22T09:00:00+08:00"},
		},
	}
}

package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/syndicated/syndicated/internal/browsertest"
)

// The index page, as a browser sees it on a fresh start: one autodiscovery
// link per feed (each resolving to a feed that answers), the latest
// headlines, and article pages behind them.
func TestPagesInBrowser(t *testing.T) {
	ctx := browsertest.Chromium(t)
	shots := browsertest.ArtifactsDir(t, "pages")
	base, _ := serving(t, []string{"SYNDICATED_BASE_URL=http://127.0.0.1:8080"})

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("ul.headlines"))); err != nil {
		t.Fatalf("open index: %v", err)
	}
	browsertest.Screenshot(t, ctx, shots, "index")
	alternates, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]string](
		`[...document.querySelectorAll('link[rel="alternate"]')].map(l => ({type: l.type, href: l.getAttribute('href'), title: l.title}))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(alternates) != 6 {
		t.Fatalf("%d autodiscovery links, want 6: %v", len(alternates), alternates)
	}
	for _, l := range alternates {
		path := strings.TrimPrefix(l["href"], "http://127.0.0.1:8080")
		resp, _ := get(t, base+path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), l["type"]) {
			t.Errorf("autodiscovery %s (%s): %d %s", l["href"], l["type"], resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	headlines, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('ul.headlines a')].map(a => a.getAttribute('href'))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(headlines) < 5 {
		t.Fatalf("index shows %d headlines", len(headlines))
	}
	// Follow the first headline that has a page of ours.
	var articlePath string
	for _, h := range headlines {
		if strings.HasPrefix(h, "/articles/") {
			articlePath = h
			break
		}
	}
	if articlePath == "" {
		t.Fatalf("no headline links to an article page: %v", headlines)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+articlePath), chromedp.WaitVisible(chromedp.CSS("article h1"))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, shots, "article")
	paragraphs, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('article p').length`))
	if err != nil || paragraphs < 3 {
		t.Errorf("article page shows %d paragraphs (%v)", paragraphs, err)
	}
	// The Chinese sample declares its language so that readers pick the right fonts.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/articles/society-2019-05-22-elevator-retrofit-zh"), chromedp.WaitVisible(chromedp.CSS("article h1"))); err != nil {
		t.Fatal(err)
	}
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	if err != nil || lang != "zh" {
		t.Errorf("Chinese article page lang = %q (%v)", lang, err)
	}
	browsertest.Screenshot(t, ctx, shots, "article-zh")
	t.Logf("screenshots in %s", shots)
}

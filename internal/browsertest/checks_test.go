package browsertest

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The browser checks find what they are for: a page with an image
// without alt text, a box wider than the screen and a tiny button fails
// each; the same page fixed passes.
func TestBrowserChecksFindFaults(t *testing.T) {
	axe := Axe(t)
	ctx := Chromium(t)
	if err := SetWidth(ctx, 390); err != nil {
		t.Fatal(err)
	}
	open := func(body string) {
		t.Helper()
		page := `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>T</title></head><body><main><h1>T</h1>` + body + `</main></body></html>`
		if err := chromedp.Do(ctx, chromedp.Navigate("data:text/html,"+url.PathEscape(page)), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatal(err)
		}
	}
	open(`<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10" height="10"><div style="width:600px;height:10px"></div><button style="font-size:8px;padding:0">x</button>`)
	vs, err := RunAxe(ctx, axe)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	if !strings.Contains(strings.Join(ids, " "), "image-alt") {
		t.Errorf("axe did not find the image without alt: %v", vs)
	}
	if over, err := Overflowing(ctx); err != nil || len(over) == 0 {
		t.Errorf("a 600 px box on a 390 px screen: overflow %v, %v", over, err)
	}
	if small, err := SmallTargets(ctx); err != nil || len(small) != 1 {
		t.Errorf("a tiny button: small targets %v, %v", small, err)
	}

	open(`<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10" height="10" alt="A dot"><div style="max-width:600px;height:10px"></div><button style="min-width:44px;min-height:44px">Go</button>`)
	if vs, err := RunAxe(ctx, axe); err != nil || len(vs) != 0 {
		t.Errorf("fixed page: axe %v, %v", vs, err)
	}
	if over, err := Overflowing(ctx); err != nil || len(over) != 0 {
		t.Errorf("fixed page: overflow %v, %v", over, err)
	}
	if small, err := SmallTargets(ctx); err != nil || len(small) != 0 {
		t.Errorf("fixed page: small targets %v, %v", small, err)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/syndicated/syndicated/internal/browsertest"
)

// pagesSite is a daemon with every kind of page to show: the samples, an
// article of two writers in one city with a photo and an editor's note, a
// sent digest issue, a pending sign-up (its confirmation link) and an
// active subscriber (the unsubscribe link from the digest they got).
type pagesSite struct {
	base, data           string
	confirm, unsubscribe string // paths with their tokens
}

const pagesArticle = "pages-two-writers"

func newPagesSite(t *testing.T) *pagesSite {
	t.Helper()
	const token = "pages-test-token-0123456789"
	env := []string{"SYNDICATED_HTTP_API_TOKEN=" + token}
	s := &pagesSite{data: t.TempDir()}
	ctx := context.Background()
	if code, _, errs := run(t, ctx, env, "import", "--data", s.data, "../../samples"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	if code, _, errs := run(t, ctx, env, "subscribers", "add", "--data", s.data, "--confirmed", "--list", "shanghai-70th", "reader@example.com"); code != 0 {
		t.Fatalf("subscribers add: %s", errs)
	}
	if code, out, errs := run(t, ctx, env, "digest", "send", "--data", s.data, "--week", "2019-W22", "--since", "2019-05-01"); code != 0 {
		t.Fatalf("digest send: %s %s", out, errs)
	}
	s.unsubscribe = linkIn(t, s.data, regexp.MustCompile(`/unsubscribe\?token=[A-Za-z0-9_.~%-]+`))
	s.base = servingIn(t, env, s.data)

	// Original fixture text.
	art := `{"id":"` + pagesArticle + `","section":"society","headline":"Night school on the Bund keeps its lamps lit",
	"deck":"Two retired teachers run free evening classes for delivery riders","authors":[{"name":"Huang Yi","place":"Shanghai"},{"name":"Pan Rui","place":"Shanghai"}],
	"publication":"Example Daily","published":"2019-05-28T19:30:00+08:00","tags":["shanghai-70th"],
	"editors_note":"This year marks the 70th anniversary of the liberation of Shanghai. This series follows the people who keep the city learning.",
	"photo":{"url":"https://static.example.com/fixtures/night-school.jpg","caption":"Riders practise English after their evening shift.","credit":"Pan Rui / Example Daily","type":"image/jpeg","length":1000},
	"body":["The classroom is a borrowed office above a noodle shop, and the lessons start when the dinner rush ends.","Most students ride for delivery platforms; many left school at fifteen.","\"They come tired and they still come,\" said one of the teachers, who taught physics for thirty years."]}`
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/articles", strings.NewReader(art))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push fixture article: %d", resp.StatusCode)
	}

	// A sign-up; its confirmation is sent in the background.
	resp, err = http.Post(s.base+"/subscribe", "application/json", strings.NewReader(`{"email":"new.reader@example.org","lists":["shanghai-70th"]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	within(t, 10*time.Second, "the confirmation email", func() bool {
		return tryLinkIn(s.data, confirmLink) != ""
	})
	s.confirm = tryLinkIn(s.data, confirmLink)
	return s
}

// tryLinkIn finds the first match of re in the spooled emails (finished
// ones only: the spool writes a dot-file first), quoted-printable decoded.
func tryLinkIn(data string, re *regexp.Regexp) string {
	files, _ := filepath.Glob(filepath.Join(data, "mail", "*.eml"))
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		decoded, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
		if m := re.Find(decoded); m != nil {
			return string(m)
		}
	}
	return ""
}

func linkIn(t *testing.T, data string, re *regexp.Regexp) string {
	t.Helper()
	l := tryLinkIn(data, re)
	if l == "" {
		t.Fatalf("no %s in the mail spool", re)
	}
	return l
}

// formPost submits the sign-up form as a browser would: the page's CSRF
// token, form encoding.
func formPost(t *testing.T, base string, values url.Values) (*http.Response, []byte) {
	t.Helper()
	_, form := get(t, base+"/subscribe")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(form)
	if m == nil {
		t.Fatal("no csrf token in the sign-up form")
	}
	values.Set("csrf", string(m[1]))
	resp, err := http.PostForm(base+"/subscribe", values)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// A page as the tests see it: where it is and what it must say.
type pageCase struct {
	name, path string
	status     int
	contains   []string
}

func (s *pagesSite) pages() []pageCase {
	return []pageCase{
		{"index", "/", 200, []string{"What is a feed?", "http://127.0.0.1:8080/feeds/society.rss", `href="/digests/shanghai-70th"`, `href="/subscribe?list=shanghai-70th"`}},
		{"article", "/articles/" + pagesArticle, 200, []string{"By Huang Yi and Pan Rui in Shanghai", ">Society<", "Shanghai 70th anniversary series",
			"Editor's note", `href="/feeds/series/shanghai-70th.rss"`, `href="/subscribe?list=shanghai-70th"`, "Pan Rui / Example Daily"}},
		{"article-zh", "/articles/society-2019-05-22-elevator-retrofit-zh", 200, nil},
		{"subscribe", "/subscribe", 200, []string{`<label for="email">`}},
		{"confirm", s.confirm, 200, []string{"Shanghai 70th anniversary series", "n•••@example.org", ">Confirm</button>"}},
		{"unsubscribe", s.unsubscribe, 200, []string{"Shanghai 70th anniversary series", "r•••@example.com"}},
		{"digest-issue", "/digests/shanghai-70th/2019-W22", 200, []string{"Week 22, 2019", "Four decades on the Huangpu ferry"}},
		{"digest-list", "/digests/shanghai-70th", 200, []string{`href="/digests/shanghai-70th/2019-W22"`, `href="/digests/shanghai-70th.atom"`}},
		{"not-found", "/no-such-page", 404, []string{"Page not found"}},
		{"bad-link", "/confirm?token=forged", 400, []string{"not valid"}},
	}
}

// dateText is the one date format of every page: newsroom zone, offset shown.
var dateText = regexp.MustCompile(`^\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4}, \d{2}:\d{2} UTC\+8$`)

// checkPage applies the checks that need no browser to a page's bytes.
func checkPage(t *testing.T, name string, body []byte, contains []string) {
	t.Helper()
	for _, e := range browsertest.CheckHTML(body) {
		t.Errorf("%s: HTML: %s", name, e)
	}
	for _, c := range contains {
		if !bytes.Contains(body, []byte(c)) {
			t.Errorf("%s: page lacks %q", name, c)
		}
	}
	for _, leak := range []string{"reader@example.com", "new.reader@example.org"} {
		if bytes.Contains(body, []byte(leak)) {
			t.Errorf("%s: page shows the whole address %s", name, leak)
		}
	}
	for _, m := range regexp.MustCompile(`<time datetime="([^"]+)">([^<]+)</time>`).FindAllSubmatch(body, -1) {
		shown, stamp := html.UnescapeString(string(m[2])), html.UnescapeString(string(m[1]))
		if !dateText.MatchString(shown) || !strings.HasSuffix(stamp, "+08:00") {
			t.Errorf("%s: date %q (%s) is not in the one format in the newsroom's zone", name, shown, stamp)
		}
	}
	for _, brand := range []string{`class="masthead"`, `href="/subscribe"`, `class="site-footer"`} {
		if !bytes.Contains(body, []byte(brand)) {
			t.Errorf("%s: page lacks the layout's %s", name, brand)
		}
	}
}

// Every page in one layout, valid HTML, with the words the reader needs;
// then in Chromium at 320, 390 and 1280 px: nothing wider than the
// screen, tap targets of 44 px, no axe-core violation, and screenshots at
// 390 and 1280 px.
func TestPages(t *testing.T) {
	s := newPagesSite(t)
	pages := s.pages()
	for _, p := range pages {
		resp, body := get(t, s.base+p.path)
		if resp.StatusCode != p.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s, want %d text/html", p.name, resp.StatusCode, resp.Header.Get("Content-Type"), p.status)
		}
		checkPage(t, p.name, body, p.contains)
	}
	// The pages behind the two forms.
	resp, body := formPost(t, s.base, url.Values{"email": {"form.reader@example.net"}, "list": {"shanghai-70th"}})
	if resp.StatusCode != 200 {
		t.Errorf("sign-up form: %d", resp.StatusCode)
	}
	checkPage(t, "subscribe-sent", body, []string{"Check your inbox", "What happens next"})
	resp, body = formPost(t, s.base, url.Values{"email": {"not an address"}})
	if resp.StatusCode != 400 {
		t.Errorf("bad sign-up: %d", resp.StatusCode)
	}
	checkPage(t, "subscribe-invalid", body, []string{`role="alert"`})

	// Every autodiscovery link of the index answers with its feed.
	_, index := get(t, s.base+"/")
	alternates := regexp.MustCompile(`<link rel="alternate" type="([^"]+)" title="[^"]+" href="http://127.0.0.1:8080([^"]+)">`).FindAllSubmatch(index, -1)
	if len(alternates) != 6 {
		t.Errorf("%d autodiscovery links on the index, want 6 (2 feeds × 3 formats)", len(alternates))
	}
	for _, l := range alternates {
		resp, _ := get(t, s.base+string(l[2]))
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), html.UnescapeString(string(l[1]))) {
			t.Errorf("autodiscovery %s (%s): %d %s", l[2], l[1], resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	// The Chinese sample declares its language, so that readers pick the right fonts.
	if _, zh := get(t, s.base+"/articles/society-2019-05-22-elevator-retrofit-zh"); !bytes.Contains(zh, []byte(`<html lang="zh">`)) {
		t.Error(`the Chinese article's page is not <html lang="zh">`)
	}

	// A feed opened by a browser still gets the feed.
	resp, body = get(t, s.base+"/feeds/series/shanghai-70th.rss", "Accept", "text/html,application/xhtml+xml")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/rss+xml") || !bytes.Contains(body, []byte("<rss")) {
		t.Errorf("feed for a browser: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	checkDigestAtom(t, s.base)

	ctx := browsertest.Chromium(t)
	browserPages(t, ctx, s, pages)
}

func browserPages(t *testing.T, ctx context.Context, s *pagesSite, pages []pageCase) {
	axe := browsertest.Axe(t)
	shots := browsertest.ArtifactsDir(t, "pages")
	browsertest.StandInImages(t, ctx, "https://static.example.com/*")
	// The unsubscribe button and the form's result are pages too.
	pages = append(pages, pageCase{name: "unsubscribed", path: s.unsubscribe + "#click=unsubscribe"},
		pageCase{name: "confirmed", path: s.confirm + "#click=confirm"},
		pageCase{name: "subscribe-sent", path: "/subscribe#submit"})
	violations := map[string]int{}
	for _, width := range []int64{320, 390, 1280} {
		if err := browsertest.SetWidth(ctx, width); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if err := openPage(ctx, s.base, p, width); err != nil {
				t.Errorf("%s at %d px: %v", p.name, width, err)
				continue
			}
			over, err := browsertest.Overflowing(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range over {
				t.Errorf("%s at %d px: overflows: %s", p.name, width, o)
			}
			if width == 320 {
				continue // overflow only: the other checks run at 390 and 1280
			}
			small, err := browsertest.SmallTargets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range small {
				t.Errorf("%s at %d px: tap target under 44 px: %s", p.name, width, o)
			}
			vs, err := browsertest.RunAxe(ctx, axe)
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			violations[fmt.Sprintf("%s@%d", p.name, width)] = len(vs)
			for _, v := range vs {
				t.Errorf("%s at %d px: axe: %s", p.name, width, v)
			}
			browsertest.Screenshot(t, ctx, shots, fmt.Sprintf("%s-%d", p.name, width))
		}
	}
	t.Logf("axe violations per page: %v; screenshots in %s", violations, shots)
}

// openPage shows p: a GET, or for "#click=ID" the page and then its
// button, for "#submit" the sign-up form filled in and sent.
func openPage(ctx context.Context, base string, p pageCase, width int64) error {
	path, action, _ := strings.Cut(p.path, "#")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(action, "click="):
		return chromedp.Do(ctx, chromedp.Click(chromedp.ID(strings.TrimPrefix(action, "click="))), chromedp.WaitVisible(chromedp.CSS(`main [role="status"]`)))
	case action == "submit":
		return chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("email"), fmt.Sprintf("browser.%d@example.net", width)),
			chromedp.SendKeys(chromedp.ID("name"), "Browser Reader"),
			chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`main [role="status"]`)))
	}
	return nil
}

// The digest archive's Atom feed: parsed back by gofeed, and the RFC 4287
// rules the W3C validator checks.
func checkDigestAtom(t *testing.T, base string) {
	t.Helper()
	resp, body := get(t, base+"/digests/shanghai-70th.atom")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/atom+xml; charset=utf-8" {
		t.Fatalf("digest feed: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	f := parseFeed(t, body)
	if f.FeedType != "atom" || len(f.Items) != 1 || f.Items[0].Link != "http://127.0.0.1:8080/digests/shanghai-70th/2019-W22" {
		t.Fatalf("digest feed: %s with %d items", f.FeedType, len(f.Items))
	}
	var doc struct {
		XMLName xml.Name
		Lang    string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Author  string `xml:"author>name"`
		Links   []struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Entries []struct {
			ID        string `xml:"id"`
			Title     string `xml:"title"`
			Updated   string `xml:"updated"`
			Published string `xml:"published"`
			Summary   string `xml:"summary"`
			Link      struct {
				Rel  string `xml:"rel,attr"`
				Href string `xml:"href,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	rfc3339 := func(what, v string) {
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			t.Errorf("digest feed %s %q is not RFC 3339", what, v)
		}
	}
	iri := func(what, v string) {
		if u, err := url.Parse(v); err != nil || u.Scheme == "" {
			t.Errorf("digest feed %s %q is not an IRI", what, v)
		}
	}
	if doc.XMLName.Space != "http://www.w3.org/2005/Atom" || doc.XMLName.Local != "feed" || doc.Lang == "" || doc.Title == "" || doc.Author == "" {
		t.Errorf("digest feed root: %v lang %q title %q author %q", doc.XMLName, doc.Lang, doc.Title, doc.Author)
	}
	iri("id", doc.ID)
	rfc3339("updated", doc.Updated)
	rels := map[string]string{}
	for _, l := range doc.Links {
		iri("link", l.Href)
		rels[l.Rel] = l.Href
	}
	if rels["self"] != "http://127.0.0.1:8080/digests/shanghai-70th.atom" || rels["alternate"] != "http://127.0.0.1:8080/digests/shanghai-70th" {
		t.Errorf("digest feed links: %v", rels)
	}
	for _, e := range doc.Entries {
		iri("entry id", e.ID)
		rfc3339("entry updated", e.Updated)
		rfc3339("entry published", e.Published)
		if e.Title == "" || e.Summary == "" || e.Link.Rel != "alternate" {
			t.Errorf("digest feed entry %s: title %q summary %q link %+v", e.ID, e.Title, e.Summary, e.Link)
		}
	}
}

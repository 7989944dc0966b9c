package feeds

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// conformanceArticles are the seed articles plus one withdrawn and one
// future-dated article, which no feed may show at fixedNow.
func conformanceArticles() []*article.Article {
	arts := seedArticles()
	w := *arts[1]
	w.ID, w.GUID, w.Headline, w.Status = "withdrawn-story", "tag:syndicated.example,2019:withdrawn-story", "Withdrawn", article.StatusWithdrawn
	f := *arts[0]
	f.ID, f.GUID, f.Headline = "future-story", "tag:syndicated.example,2019:future-story", "From the future"
	f.Published = fixedNow.Add(time.Hour)
	f.Updated = f.Published
	return append(arts, &w, &f)
}

func TestFeedsConformance(t *testing.T) {
	sch := jsonFeedSchema(t)
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		arts := conformanceArticles()
		seed(t, st, arts)
		set := newTestSet(t, st, testSpecs("https://hub.example/websub"), func() time.Time { return fixedNow })
		for _, spec := range set.b.specs {
			want := visible(arts, spec, fixedNow)
			if len(want) == 0 {
				t.Fatalf("%s: fixture selects nothing", spec.Slug)
			}
			for _, f := range Formats {
				t.Run(spec.Slug+"."+f.Ext(), func(t *testing.T) {
					body, gotF, err := set.Get(context.Background(), spec.FeedPath(f))
					if err != nil || gotF != f {
						t.Fatalf("Get: %v %v", gotF, err)
					}
					switch f {
					case RSS:
						checkRSSRules(t, body, spec.FeedURL(RSS), spec.HubURL)
					case Atom:
						checkAtomRules(t, body, spec.FeedURL(Atom), spec.HubURL)
					case JSON:
						validateJSONFeed(t, sch, body)
						checkJSONKeys(t, body)
					}
					feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
					if err != nil {
						t.Fatalf("gofeed: %v", err)
					}
					checkFeed(t, f, &spec, feed, spec.FeedURL(f))
					checkItems(t, f, &spec, feed, want)
				})
			}
		}
	})
}

// TestEmptyFeed: an empty series still validates; JSON keeps "items": [].
func TestEmptyFeed(t *testing.T) {
	sch := jsonFeedSchema(t)
	st := storagetest.SQLite(t)
	set := newTestSet(t, st, testSpecs(""), func() time.Time { return fixedNow })
	spec := set.b.specs[1]
	for _, f := range Formats {
		body, _, err := set.Get(context.Background(), spec.FeedPath(f))
		if err != nil {
			t.Fatal(err)
		}
		switch f {
		case RSS:
			checkRSSRules(t, body, spec.FeedURL(f), "")
		case Atom:
			checkAtomRules(t, body, spec.FeedURL(f), "")
		case JSON:
			validateJSONFeed(t, sch, body)
			if !bytes.Contains(body, []byte(`"items":[]`)) {
				t.Errorf("empty JSON feed lacks \"items\": []:\n%s", body)
			}
		}
		if _, err := gofeed.NewParser().Parse(bytes.NewReader(body)); err != nil {
			t.Errorf("%s: gofeed: %v", f, err)
		}
	}
}

func checkFeed(t *testing.T, f Format, spec *Spec, feed *gofeed.Feed, self string) {
	t.Helper()
	if feed.Title != spec.Title {
		t.Errorf("feed title %q, want %q", feed.Title, spec.Title)
	}
	if feed.Description != spec.Description {
		t.Errorf("feed description %q, want %q", feed.Description, spec.Description)
	}
	if feed.Link != spec.SiteURL {
		t.Errorf("feed link %q, want %q", feed.Link, spec.SiteURL)
	}
	if feed.FeedLink != self {
		t.Errorf("feed self link %q, want %q", feed.FeedLink, self)
	}
	if feed.Language != spec.Language {
		t.Errorf("feed language %q, want %q", feed.Language, spec.Language)
	}
	if feed.UpdatedParsed == nil && f != JSON {
		t.Errorf("feed has no updated time")
	}
}

func itemLink(a *article.Article) string {
	if a.CanonicalURL != "" {
		return a.CanonicalURL
	}
	return testBase + "/articles/" + a.ID
}

// checkItems asserts, for every item, what gofeed reads back: title, link,
// GUID, published and updated (with zone), authors, categories, full
// content, summary, lead image and language.
func checkItems(t *testing.T, f Format, spec *Spec, feed *gofeed.Feed, want []*article.Article) {
	t.Helper()
	if len(feed.Items) != len(want) {
		t.Fatalf("%d items, want %d", len(feed.Items), len(want))
	}
	for i, it := range feed.Items {
		a := want[i]
		errorf := func(format string, args ...any) { t.Errorf(a.ID+": "+format, args...) }
		if it.Title != a.Headline {
			errorf("title %q, want %q", it.Title, a.Headline)
		}
		if it.Link != itemLink(a) {
			errorf("link %q, want %q", it.Link, itemLink(a))
		}
		if it.GUID != a.GUID {
			errorf("guid %q, want %q", it.GUID, a.GUID)
		}
		if it.PublishedParsed == nil || !it.PublishedParsed.Equal(a.Published) {
			errorf("published %v, want %v", it.PublishedParsed, a.Published)
		} else if !inNewsroomZone(it.Published) {
			errorf("published %q lost the newsroom zone", it.Published)
		}
		if it.UpdatedParsed == nil || !it.UpdatedParsed.Equal(a.Updated) {
			errorf("updated %v, want %v", it.UpdatedParsed, a.Updated)
		} else if !inNewsroomZone(it.Updated) {
			errorf("updated %q lost the newsroom zone", it.Updated)
		}
		wantAuthors := a.AuthorNames()
		if len(wantAuthors) == 0 {
			wantAuthors = []string{a.Publication}
		}
		var gotAuthors []string
		if f == RSS {
			if it.DublinCoreExt != nil {
				gotAuthors = it.DublinCoreExt.Creator
			}
		} else {
			for _, p := range it.Authors {
				gotAuthors = append(gotAuthors, p.Name)
			}
		}
		if !slices.Equal(gotAuthors, wantAuthors) {
			errorf("authors %q, want %q", gotAuthors, wantAuthors)
		}
		for _, c := range append(slices.Clone(a.Tags), "Society") {
			if !slices.Contains(it.Categories, c) {
				errorf("categories %q lack %q", it.Categories, c)
			}
		}
		content := it.Content
		for i, p := range a.Paragraphs() {
			lead := "<p>"
			if i == 0 && a.Dateline != "" {
				lead = `<p><span class="dateline">` + strings.ToUpper(a.Dateline) + " —</span> "
			}
			if !strings.Contains(content, lead+html.EscapeString(p)+"</p>") {
				errorf("content lacks paragraph %q", lead+p)
			}
		}
		if a.EditorsNote != "" && !strings.Contains(content, html.EscapeString(a.EditorsNote)) {
			errorf("content lacks the editor's note")
		}
		if ph := a.Photo; ph != nil {
			if !strings.Contains(content, `<img src="`+html.EscapeString(ph.URL)+`"`) ||
				!strings.Contains(content, html.EscapeString(ph.Caption)) ||
				!strings.Contains(content, html.EscapeString(ph.Credit)) {
				errorf("content lacks the photo figure with caption and credit")
			}
		}
		wantSummary := a.Deck
		if wantSummary == "" {
			wantSummary = a.Paragraphs()[0]
		}
		gotSummary := it.Description
		if f == RSS {
			gotSummary = html.UnescapeString(gotSummary) // RSS description is HTML
		}
		if gotSummary != wantSummary {
			errorf("summary %q, want %q", gotSummary, wantSummary)
		}
		var img string
		if it.Image != nil {
			img = it.Image.URL
		} else if len(it.Enclosures) > 0 && strings.HasPrefix(it.Enclosures[0].Type, "image/") {
			img = it.Enclosures[0].URL
		}
		if a.Photo == nil {
			if img != "" || len(it.Enclosures) > 0 {
				errorf("image %q without a photo", img)
			}
		} else {
			if img != a.Photo.URL {
				errorf("lead image %q, want %q", img, a.Photo.URL)
			}
			if len(it.Enclosures) != 1 || it.Enclosures[0].URL != a.Photo.URL || !strings.HasPrefix(it.Enclosures[0].Type, "image/") {
				errorf("enclosures %+v, want the photo", it.Enclosures)
			} else {
				wantLen := "" // Atom and JSON Feed leave an unknown size out
				if a.Photo.Length > 0 || f == RSS {
					wantLen = itoa64(a.Photo.Length) // RSS requires it: 0 when unknown
				}
				if it.Enclosures[0].Length != wantLen {
					errorf("enclosure length %q, want %q", it.Enclosures[0].Length, wantLen)
				}
			}
		}
		wantLang := a.Language
		if wantLang == "" {
			wantLang = spec.Language
		}
		if f == RSS && (it.DublinCoreExt == nil || !slices.Equal(it.DublinCoreExt.Language, []string{wantLang})) {
			errorf("dc:language missing or not %q", wantLang)
		}
	}
}

// inNewsroomZone reports whether a date as written (gofeed normalizes the
// parsed time to UTC) carries the +08:00 offset.
func inNewsroomZone(s string) bool {
	return strings.HasSuffix(s, "+08:00") || strings.HasSuffix(s, "+0800")
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func mustRFC822(t *testing.T, what, v string) {
	t.Helper()
	if _, err := time.Parse(time.RFC1123Z, v); err != nil {
		t.Errorf("%s %q is not an RFC 822 date: %v", what, v, err)
	}
}

func mustRFC3339(t *testing.T, what, v string) {
	t.Helper()
	if _, err := time.Parse(time.RFC3339, v); err != nil {
		t.Errorf("%s %q is not an RFC 3339 date: %v", what, v, err)
	}
}

func mustIRI(t *testing.T, what, v string) {
	t.Helper()
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || (u.Opaque == "" && u.Host == "" && u.Path == "") {
		t.Errorf("%s %q is not an absolute IRI", what, v)
	}
}

func nonEmpty(t *testing.T, parent *node, space, local string) string {
	t.Helper()
	n := parent.one(space, local)
	if n == nil || strings.TrimSpace(n.Text) == "" {
		t.Errorf("<%s> lacks a non-empty %s", parent.XMLName.Local, local)
		return ""
	}
	return n.Text
}

// knownNS are the namespaces a feed may use. The W3C validator knows all
// but Feedly's webfeeds, for which it gives the warning "Use of unknown
// namespace" (not an error); webfeeds is there because Feedly reads a
// feed's icon, logo and accent colour nowhere else.
var knownNS = map[string]bool{"": true, nsAtom: true, nsContent: true, nsDC: true, nsMedia: true, nsHistory: true,
	nsWebfeeds: true, "http://www.w3.org/XML/1998/namespace": true, "xmlns": true}

// checkWebfeeds: Feedly's elements hold an absolute URL and RRGGBB.
func checkWebfeeds(t *testing.T, parent *node) {
	t.Helper()
	for _, el := range []string{"icon", "logo"} {
		for _, n := range parent.all(nsWebfeeds, el) {
			mustIRI(t, "webfeeds:"+el, n.Text)
		}
	}
	for _, n := range parent.all(nsWebfeeds, "accentColor") {
		if !regexp.MustCompile(`^[0-9A-F]{6}$`).MatchString(n.Text) {
			t.Errorf("webfeeds:accentColor %q is not RRGGBB", n.Text)
		}
	}
}

// checkNamespaces fails on any element or attribute in a namespace nobody
// declared (the decoder leaves an undeclared prefix as the Space).
func checkNamespaces(t *testing.T, root *node) {
	t.Helper()
	root.walk(func(n *node) {
		if !knownNS[n.XMLName.Space] {
			t.Errorf("element %s:%s in an undeclared or unknown namespace", n.XMLName.Space, n.XMLName.Local)
		}
		for _, a := range n.Attrs {
			if !knownNS[a.Name.Space] {
				t.Errorf("attribute %s:%s in an undeclared namespace", a.Name.Space, a.Name.Local)
			}
		}
	})
}

// checkRSSRules encodes the W3C validator's rules that matter for RSS 2.0.
func checkRSSRules(t *testing.T, body []byte, self, hub string) {
	t.Helper()
	root := parseXML(t, body)
	checkNamespaces(t, root)
	if root.XMLName.Local != "rss" {
		t.Fatalf("root is <%s>", root.XMLName.Local)
	}
	for _, f := range characterDataFindings(body) {
		t.Error(f)
	}
	if v, _ := root.attr("version"); v != "2.0" {
		t.Errorf("rss version %q", v)
	}
	ch := root.one("", "channel")
	if ch == nil {
		t.Fatal("no channel")
	}
	for _, el := range []string{"title", "link", "description", "language", "lastBuildDate", "pubDate", "generator"} {
		nonEmpty(t, ch, "", el)
	}
	mustRFC822(t, "lastBuildDate", ch.one("", "lastBuildDate").Text)
	if img := ch.one("", "image"); img != nil {
		u := nonEmpty(t, img, "", "url")
		mustIRI(t, "image url", u)
		if !rssImageOK(u) {
			t.Errorf("image url %q: ImageUrlFormat: not a JPEG, GIF or PNG address", u)
		}
		// ImageTitleDoesntMatch, ImageLinkDoesntMatch.
		if it := nonEmpty(t, img, "", "title"); it != ch.one("", "title").Text {
			t.Errorf("image title %q is not the channel title", it)
		}
		if il := nonEmpty(t, img, "", "link"); il != ch.one("", "link").Text {
			t.Errorf("image link %q is not the channel link", il)
		}
		for el, most := range map[string]int{"width": 144, "height": 400} {
			if n := img.one("", el); n != nil {
				if v, err := strconv.Atoi(n.Text); err != nil || v <= 0 || v > most {
					t.Errorf("image %s %q is not 1 to %d", el, n.Text, most)
				}
			}
		}
	}
	if ttl := ch.one("", "ttl"); ttl != nil {
		if v, err := strconv.Atoi(ttl.Text); err != nil || v <= 0 {
			t.Errorf("ttl %q is not a positive integer", ttl.Text)
		}
	}
	if c := ch.one("", "copyright"); c != nil && strings.TrimSpace(c.Text) == "" {
		t.Errorf("empty copyright")
	}
	checkWebfeeds(t, ch)
	mustRFC822(t, "pubDate", ch.one("", "pubDate").Text)
	rels := map[string]string{}
	for _, l := range ch.all(nsAtom, "link") {
		r, _ := l.attr("rel")
		h, _ := l.attr("href")
		mustIRI(t, "atom:link href", h)
		rels[r] = h
	}
	if rels["self"] != self {
		t.Errorf("atom:link rel=self %q, want the served URL %q", rels["self"], self)
	}
	if rels["hub"] != hub {
		t.Errorf("atom:link rel=hub %q, want %q", rels["hub"], hub)
	}
	if ch.one("", "managingEditor") != nil {
		t.Errorf("managingEditor must be an e-mail address; none is configured")
	}
	guids := map[string]bool{}
	for _, it := range ch.all("", "item") {
		nonEmpty(t, it, "", "title")
		nonEmpty(t, it, "", "link")
		nonEmpty(t, it, "", "description")
		mustRFC822(t, "item pubDate", nonEmpty(t, it, "", "pubDate"))
		mustRFC3339(t, "item atom:updated", nonEmpty(t, it, nsAtom, "updated"))
		if it.one("", "author") != nil {
			t.Errorf("item <author> must be an e-mail address; names belong in dc:creator")
		}
		if len(it.all(nsDC, "creator")) == 0 {
			t.Errorf("item without dc:creator")
		}
		g := it.one("", "guid")
		if g == nil || g.Text == "" {
			t.Errorf("item without guid")
			continue
		}
		if guids[g.Text] {
			t.Errorf("duplicate guid %s", g.Text)
		}
		guids[g.Text] = true
		isURL := strings.HasPrefix(g.Text, "http://") || strings.HasPrefix(g.Text, "https://")
		if pl, _ := g.attr("isPermaLink"); !isURL && pl != "false" {
			t.Errorf("guid %s is not a URL but isPermaLink=%q", g.Text, pl)
		}
		for _, c := range it.all("", "category") {
			if strings.TrimSpace(c.Text) == "" {
				t.Errorf("empty category")
			}
		}
		for _, e := range it.all("", "enclosure") {
			u, _ := e.attr("url")
			l, hasLen := e.attr("length")
			ty, _ := e.attr("type")
			mustIRI(t, "enclosure url", u)
			if !hasLen || strings.Trim(l, "0123456789") != "" || l == "" {
				t.Errorf("enclosure length %q is not a number", l)
			}
			if !strings.Contains(ty, "/") {
				t.Errorf("enclosure type %q", ty)
			}
		}
		for _, m := range it.all(nsMedia, "content") {
			if u, _ := m.attr("url"); u == "" {
				t.Errorf("media:content without url")
			}
		}
	}
}

// checkAtomRules encodes the W3C validator's rules that matter for Atom.
func checkAtomRules(t *testing.T, body []byte, self, hub string) {
	t.Helper()
	root := parseXML(t, body)
	checkNamespaces(t, root)
	if root.XMLName.Space != nsAtom || root.XMLName.Local != "feed" {
		t.Fatalf("root is {%s}%s", root.XMLName.Space, root.XMLName.Local)
	}
	if root.attrNS("http://www.w3.org/XML/1998/namespace", "lang") == "" {
		t.Errorf("feed without xml:lang")
	}
	mustIRI(t, "feed id", nonEmpty(t, root, nsAtom, "id"))
	nonEmpty(t, root, nsAtom, "title")
	mustRFC3339(t, "feed updated", nonEmpty(t, root, nsAtom, "updated"))
	for _, el := range []string{"icon", "logo"} {
		if n := root.one(nsAtom, el); n != nil {
			mustIRI(t, el, n.Text)
		}
	}
	checkWebfeeds(t, root)
	feedAuthor := root.one(nsAtom, "author") != nil
	if feedAuthor {
		nonEmpty(t, root.one(nsAtom, "author"), nsAtom, "name")
	}
	rels := map[string]string{}
	for _, l := range root.all(nsAtom, "link") {
		r, _ := l.attr("rel")
		h, _ := l.attr("href")
		mustIRI(t, "link href", h)
		rels[r] = h
	}
	if rels["self"] != self {
		t.Errorf("link rel=self %q, want the served URL %q", rels["self"], self)
	}
	if rels["hub"] != hub {
		t.Errorf("link rel=hub %q, want %q", rels["hub"], hub)
	}
	if rels["alternate"] == "" {
		t.Errorf("no alternate link")
	}
	ids := map[string]bool{}
	for _, e := range root.all(nsAtom, "entry") {
		id := nonEmpty(t, e, nsAtom, "id")
		mustIRI(t, "entry id", id)
		if ids[id] {
			t.Errorf("duplicate entry id %s", id)
		}
		ids[id] = true
		nonEmpty(t, e, nsAtom, "title")
		mustRFC3339(t, "entry updated", nonEmpty(t, e, nsAtom, "updated"))
		mustRFC3339(t, "entry published", nonEmpty(t, e, nsAtom, "published"))
		if !feedAuthor && len(e.all(nsAtom, "author")) == 0 {
			t.Errorf("entry %s without author in a feed without author", id)
		}
		for _, a := range e.all(nsAtom, "author") {
			nonEmpty(t, a, nsAtom, "name")
		}
		for _, c := range e.all(nsAtom, "category") {
			if term, _ := c.attr("term"); term == "" {
				t.Errorf("category without term")
			}
		}
		alt := false
		for _, l := range e.all(nsAtom, "link") {
			r, _ := l.attr("rel")
			h, _ := l.attr("href")
			mustIRI(t, "entry link href", h)
			alt = alt || r == "alternate"
			if ln, ok := l.attr("length"); ok && (ln == "" || strings.Trim(ln, "0123456789") != "") {
				t.Errorf("link length %q", ln)
			}
		}
		if !alt {
			t.Errorf("entry %s without alternate link", id)
		}
		if c := e.one(nsAtom, "content"); c != nil {
			if ty, _ := c.attr("type"); ty != "html" {
				t.Errorf("content type %q", ty)
			}
		}
		if s := e.one(nsAtom, "summary"); s == nil || s.Text == "" {
			t.Errorf("entry %s without summary", id)
		}
	}
}

// checkJSONKeys: JSON Feed 1.1 keys, none of gorilla's wrong or deprecated
// ones.
func checkJSONKeys(t *testing.T, body []byte) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["version"] != "https://jsonfeed.org/version/1.1" {
		t.Errorf("version %v", doc["version"])
	}
	for _, k := range []string{"language", "feed_url", "home_page_url", "authors", "items"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("feed lacks %q", k)
		}
	}
	if _, ok := doc["author"]; ok {
		t.Errorf("feed has the deprecated \"author\"")
	}
	for _, it := range doc["items"].([]any) {
		item := it.(map[string]any)
		for _, bad := range []string{"author", "banner_"} {
			if _, ok := item[bad]; ok {
				t.Errorf("item has %q", bad)
			}
		}
		for _, k := range []string{"id", "url", "title", "content_html", "summary", "date_published", "date_modified", "authors", "tags", "language"} {
			if _, ok := item[k]; !ok {
				t.Errorf("item %v lacks %q", item["id"], k)
			}
		}
		if atts, ok := item["attachments"].([]any); ok {
			for _, a := range atts {
				if _, bad := a.(map[string]any)["size"]; bad {
					t.Errorf("attachment has \"size\" instead of \"size_in_bytes\"")
				}
			}
			if _, ok := item["banner_image"]; !ok {
				t.Errorf("item with a photo lacks banner_image")
			}
		}
	}
}

// The W3C validator's CharacterData rule (RSS 2.0, its "experimental RSS
// Profile support" in nonhtml.validate): a plain-text element whose parsed
// text looks like markup or an entity reference, that is matches
// "&#[x0-9]|<[/a-zA-Z]" or holds "&NAME" with NAME an HTML entity, "apos"
// or not all letters, draws the warning 'Encode "&" and "<" in plain text
// using hexadecimal character references' unless one of the source lines
// the element spans contains "&#x". The validator applies it to the
// elements it checks as non-HTML (titles, categories, channel description,
// copyright, image title); this applies it to every text-only element but
// the two that hold HTML (item description, content:encoded), a superset.
var (
	charDataRe = regexp.MustCompile(`&#[x0-9]|<[/a-zA-Z]`)
	entityRe   = regexp.MustCompile(`&(#?\w+)`)
	allAlpha   = regexp.MustCompile(`^[A-Za-z]+$`)
)

func looksLikeMarkup(v string) bool {
	for _, m := range entityRe.FindAllStringSubmatch(v, -1) {
		name := m[1]
		if name == "apos" || !allAlpha.MatchString(name) || html.UnescapeString("&"+name+";") != "&"+name+";" {
			return true
		}
	}
	return charDataRe.MatchString(v)
}

// characterDataFindings lists the CharacterData warnings the validator
// would give an RSS document.
func characterDataFindings(body []byte) []string {
	lines := bytes.Split(body, []byte("\n"))
	hexOn := make([]bool, len(lines)+1) // by 1-based line number
	for i, l := range lines {
		hexOn[i+1] = bytes.Contains(l, []byte("&#x"))
	}
	type open struct {
		name xml.Name
		line int
		text strings.Builder
		kids bool
	}
	var stack []*open
	var out []string
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			return append(out, "not well-formed XML: "+err.Error())
		}
		line, _ := d.InputPos()
		switch tk := tok.(type) {
		case xml.StartElement:
			if len(stack) > 0 {
				stack[len(stack)-1].kids = true
			}
			stack = append(stack, &open{name: tk.Name, line: line})
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(tk)
			}
		case xml.EndElement:
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			isHTML := o.name.Space == nsContent || (o.name.Space == "" && o.name.Local == "description" &&
				len(stack) > 0 && stack[len(stack)-1].name.Local == "item")
			if o.kids || isHTML || !looksLikeMarkup(o.text.String()) {
				continue
			}
			if !slices.Contains(hexOn[o.line:line+1], true) {
				out = append(out, fmt.Sprintf("line %d: <%s> %q: CharacterData: encode \"&\" and \"<\" in plain text using hexadecimal character references",
					o.line, o.name.Local, o.text.String()))
			}
		}
	}
}

// TestCharacterDataRule: the rule above catches what the validator
// catches (so that passing it means something).
func TestCharacterDataRule(t *testing.T) {
	bad := "<rss version=\"2.0\"><channel>\n<title>M&amp;A &lt;b&gt; talks</title>\n<category>R&amp;D2</category>\n" +
		"<item><title>x &amp;amp; y</title>\n<description>&lt;p&gt;HTML is fine here&lt;/p&gt;</description></item>\n</channel></rss>"
	if got := characterDataFindings([]byte(bad)); len(got) != 3 {
		t.Errorf("findings %q, want the title, the category and the item title", got)
	}
	good := strings.NewReplacer("&amp;", "&#x26;", "&lt;", "&#x3C;").Replace(bad)
	if got := characterDataFindings([]byte(good)); len(got) != 0 {
		t.Errorf("hex-encoded: findings %q", got)
	}
	plain := "<rss version=\"2.0\"><channel>\n<title>AT&amp;T and M&amp;A</title>\n</channel></rss>"
	if got := characterDataFindings([]byte(plain)); len(got) != 0 {
		t.Errorf("an & the validator does not flag: %q", got)
	}
}

// TestCharacterDataInFeeds: titles, descriptions, authors and categories
// holding "&" and "<" leave the validator nothing to say in RSS, and read
// back unchanged in every format.
func TestCharacterDataInFeeds(t *testing.T) {
	sch := jsonFeedSchema(t)
	spec := Spec{Slug: "society", Kind: KindSection, Title: "Society & <Culture>", Description: "News &amp; views, a<b & c",
		BaseURL: testBase, Language: "en"}
	t0 := time.Date(2019, 4, 24, 20, 12, 0, 0, shanghai)
	a := &article.Article{ID: "m-and-a", GUID: "tag:syndicated.example,2019:m-and-a", Section: "society",
		Headline: "M&A talks: R&D2 budget <b>not bold & &amp; literal", Deck: "Why x<y & &#x26; matter",
		Authors:   []article.Author{{Name: "Smith & Wesson <desk>"}, {Name: "Lee &amp; Co"}},
		Published: t0, Updated: t0,
		Body: []article.Page{{Number: 1, Paragraphs: []string{"Body & <body>."}}},
		Tags: []string{"M&A", "<tags>", "R&D2"}, Status: article.StatusPublished}
	for _, f := range Formats {
		body, err := Render(spec, []*article.Article{a}, f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		switch f {
		case RSS:
			checkRSSRules(t, body, spec.BaseURL+"/feeds/society.rss", "")
		case Atom:
			checkAtomRules(t, body, spec.BaseURL+"/feeds/society.atom", "")
		case JSON:
			validateJSONFeed(t, sch, body)
		}
		feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: gofeed: %v", f, err)
		}
		if feed.Title != spec.Title || feed.Description != spec.Description {
			t.Errorf("%s: feed title %q, description %q", f, feed.Title, feed.Description)
		}
		it := feed.Items[0]
		if it.Title != a.Headline {
			t.Errorf("%s: title %q, want %q", f, it.Title, a.Headline)
		}
		summary := it.Description
		if f == RSS {
			summary = html.UnescapeString(summary)
		}
		if summary != a.Deck {
			t.Errorf("%s: summary %q, want %q", f, summary, a.Deck)
		}
		var authors []string
		if f == RSS {
			authors = it.DublinCoreExt.Creator
		} else {
			for _, p := range it.Authors {
				authors = append(authors, p.Name)
			}
		}
		if !slices.Equal(authors, a.AuthorNames()) {
			t.Errorf("%s: authors %q, want %q", f, authors, a.AuthorNames())
		}
		for _, c := range a.Tags {
			if !slices.Contains(it.Categories, c) {
				t.Errorf("%s: categories %q lack %q", f, it.Categories, c)
			}
		}
	}
}

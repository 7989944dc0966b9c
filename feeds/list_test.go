package feeds

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

// A List is written as Atom 1.0 that a feed reader parses back whole: the
// self and alternate links, xml:lang, entries with text summaries and
// RFC 3339 times in the list's zone; an empty list is dated the epoch.
func TestListAtom(t *testing.T) {
	created := time.Date(2019, 5, 27, 1, 0, 0, 0, time.UTC)
	l := List{
		ID: "https://news.example/digests/shanghai-70th", Title: "Shanghai 70th: weekly digest", Subtitle: "Stories & more",
		Lang: "en", Author: "Example Daily", SelfURL: "https://news.example/digests/shanghai-70th.atom",
		AlternateURL: "https://news.example/digests/shanghai-70th", Updated: created, Zone: shanghai,
		Entries: []ListEntry{{ID: "https://news.example/digests/shanghai-70th/2019-W22", Title: "Week 22, 2019",
			URL: "https://news.example/digests/shanghai-70th/2019-W22", Summary: "Week 22 <of> the digest.", Published: created, Updated: created}},
	}
	body, err := l.Atom()
	if err != nil {
		t.Fatal(err)
	}
	f, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("gofeed: %v\n%s", err, body)
	}
	if f.FeedType != "atom" || f.Title != l.Title || f.Description != l.Subtitle || f.Language != "en" || f.FeedLink != l.SelfURL || f.Link != l.AlternateURL ||
		len(f.Authors) != 1 || f.Authors[0].Name != "Example Daily" || f.UpdatedParsed == nil || !f.UpdatedParsed.Equal(created) {
		t.Errorf("feed: %+v\n%s", f, body)
	}
	if len(f.Items) != 1 {
		t.Fatalf("%d items", len(f.Items))
	}
	it := f.Items[0]
	if it.GUID != l.Entries[0].ID || it.Link != l.Entries[0].URL || it.Description != "Week 22 <of> the digest." ||
		it.PublishedParsed == nil || !it.PublishedParsed.Equal(created) {
		t.Errorf("item: %+v", it)
	}
	for _, want := range []string{`<updated>2019-05-27T09:00:00+08:00</updated>`, `<published>2019-05-27T09:00:00+08:00</published>`,
		`<summary type="text">`, `xml:lang="en"`, `<feed xmlns="http://www.w3.org/2005/Atom"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("no %s in\n%s", want, body)
		}
	}
	if err := xml.Unmarshal(body, new(struct{})); err != nil {
		t.Errorf("not well-formed: %v", err)
	}

	empty := List{ID: l.ID, Title: l.Title, Author: l.Author, SelfURL: l.SelfURL, AlternateURL: l.AlternateURL}
	body, err = empty.Atom()
	if err != nil || !strings.Contains(string(body), "<updated>1970-01-01T00:00:00Z</updated>") || strings.Contains(string(body), "<entry") {
		t.Errorf("empty list: %v\n%s", err, body)
	}
}

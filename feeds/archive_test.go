package feeds

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// historyLink returns the RFC 5005 link rel of a parsed feed, whatever the
// format: atom:link in RSS, link in Atom, the _rfc5005 object in JSON.
func historyLink(t *testing.T, f Format, body []byte, feed *gofeed.Feed, rel string) string {
	t.Helper()
	switch f {
	case RSS:
		for _, l := range feed.Extensions["atom"]["link"] {
			if l.Attrs["rel"] == rel {
				return l.Attrs["href"]
			}
		}
		return ""
	case Atom:
		root := parseXML(t, body)
		for _, l := range root.all(nsAtom, "link") {
			if r, _ := l.attr("rel"); r == rel {
				h, _ := l.attr("href")
				return h
			}
		}
		return ""
	default:
		var doc struct {
			NextURL string       `json:"next_url"`
			History *jsonHistory `json:"_rfc5005"`
		}
		if err := jsonUnmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.History == nil {
			return ""
		}
		switch rel {
		case "prev-archive":
			if doc.History.PrevArchive != doc.NextURL {
				t.Errorf("next_url %q differs from prev-archive %q", doc.NextURL, doc.History.PrevArchive)
			}
			return doc.History.PrevArchive
		case "next-archive":
			return doc.History.NextArchive
		case "current":
			return doc.History.Current
		}
		return ""
	}
}

func hasMarker(t *testing.T, f Format, body []byte, name string) bool {
	t.Helper()
	if f == JSON {
		return bytes.Contains(body, []byte(`"`+name+`":true`))
	}
	root := parseXML(t, body)
	parent := root
	if f == RSS {
		parent = root.one("", "channel")
	}
	return parent.one(nsHistory, name) != nil
}

// TestArchiveWalk walks prev-archive links from the subscription feed back
// to page 1 with gofeed and checks that it saw every article of the series
// exactly once (archive pages are disjoint; the subscription feed overlaps
// them only with items a reader dedupes by GUID), in the right order.
func TestArchiveWalk(t *testing.T) {
	sch := jsonFeedSchema(t)
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		const n = 137 // 2 complete pages of 50 + 37 newer
		start := time.Date(2019, 1, 1, 8, 0, 0, 0, shanghai)
		arts := manyArticles(n, start)
		seed(t, st, arts)
		now := func() time.Time { return start.Add(1000 * time.Hour) }
		set := newTestSet(t, st, testSpecs(""), now)
		srv := set // served through ServeHTTP below
		ctx := context.Background()
		for _, f := range Formats {
			t.Run(f.Ext(), func(t *testing.T) {
				spec := set.b.specs[1]
				body, _, err := srv.Get(ctx, spec.FeedPath(f))
				if err != nil {
					t.Fatal(err)
				}
				if hasMarker(t, f, body, "complete") || hasMarker(t, f, body, "archive") {
					t.Errorf("subscription feed of an archived feed carries fh:complete or fh:archive")
				}
				cur, err := gofeed.NewParser().Parse(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]int{}
				for _, it := range cur.Items {
					seen[it.GUID]++
				}
				if len(cur.Items) != 50 {
					t.Errorf("subscription feed has %d items, want 50", len(cur.Items))
				}
				archived := map[string]int{}
				next := historyLink(t, f, body, cur, "prev-archive")
				if next != spec.ArchiveURL(f, 2) {
					t.Errorf("prev-archive %q, want the newest complete page %q", next, spec.ArchiveURL(f, 2))
				}
				pageNo := 2
				for next != "" {
					path := next[len(testBase):]
					body, _, err := srv.Get(ctx, path)
					if err != nil {
						t.Fatalf("%s: %v", path, err)
					}
					switch f {
					case RSS:
						checkRSSRules(t, body, next, "")
					case Atom:
						checkAtomRules(t, body, next, "")
					case JSON:
						validateJSONFeed(t, sch, body)
					}
					if !hasMarker(t, f, body, "archive") {
						t.Errorf("%s lacks fh:archive", path)
					}
					page, err := gofeed.NewParser().Parse(bytes.NewReader(body))
					if err != nil {
						t.Fatalf("%s: gofeed: %v", path, err)
					}
					if cur := historyLink(t, f, body, page, "current"); cur != spec.FeedURL(f) {
						t.Errorf("%s: current %q", path, cur)
					}
					wantNext := ""
					if pageNo < 2 {
						wantNext = spec.ArchiveURL(f, pageNo+1)
					}
					if got := historyLink(t, f, body, page, "next-archive"); got != wantNext {
						t.Errorf("%s: next-archive %q, want %q", path, got, wantNext)
					}
					if len(page.Items) != 50 {
						t.Errorf("%s: %d items, want 50", path, len(page.Items))
					}
					for i, it := range page.Items {
						// Page p holds articles (p-1)*50 … p*50-1, oldest first.
						want := arts[(pageNo-1)*50+i]
						if it.GUID != want.GUID {
							t.Errorf("%s item %d: %s, want %s", path, i, it.GUID, want.GUID)
						}
						archived[it.GUID]++
						seen[it.GUID]++
					}
					next = historyLink(t, f, body, page, "prev-archive")
					pageNo--
				}
				if pageNo != 0 {
					t.Errorf("walk stopped before page 1 (at %d)", pageNo+1)
				}
				for g, c := range archived {
					if c != 1 {
						t.Errorf("%s on %d archive pages", g, c)
					}
				}
				for _, a := range arts {
					if seen[a.GUID] == 0 {
						t.Errorf("%s never seen", a.GUID)
					}
				}
				if len(seen) != n {
					t.Errorf("saw %d distinct items, want %d", len(seen), n)
				}
				// The page beyond the complete ones does not exist yet.
				if _, _, err := srv.Get(ctx, spec.ArchivePath(f, 3)); !IsNotFound(err) {
					t.Errorf("incomplete page 3: %v, want not found", err)
				}
			})
		}
	})
}

// TestSmallFeedIsComplete: with fewer items than a page, the subscription
// feed is the whole feed (RFC 5005 §2) and links no archive.
func TestSmallFeedIsComplete(t *testing.T) {
	st := storagetest.SQLite(t)
	seed(t, st, seedArticles())
	set := newTestSet(t, st, testSpecs(""), func() time.Time { return fixedNow })
	for _, f := range Formats {
		body, _, err := set.Get(context.Background(), set.b.specs[1].FeedPath(f))
		if err != nil {
			t.Fatal(err)
		}
		if !hasMarker(t, f, body, "complete") {
			t.Errorf("%s: small feed lacks fh:complete", f)
		}
		if bytes.Contains(body, []byte("prev-archive")) || bytes.Contains(body, []byte("prev_archive")) {
			t.Errorf("%s: small feed links an archive", f)
		}
	}
}

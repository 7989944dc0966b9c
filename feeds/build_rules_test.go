package feeds

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestEveryDocumentOfABuild runs the W3C validator's rules encoded here
// (checkRSSRules, checkAtomRules, the CharacterData rule, namespaces, no
// webfeeds by default) and the JSON Feed 1.1 schema over every document a
// build serves: subscription feeds, every archive document (months, days,
// parts of days) and every author and tag feed.
func TestEveryDocumentOfABuild(t *testing.T) {
	sch := jsonFeedSchema(t)
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		arts := append(seedArticles(), busyStories()...)
		for i, a := range arts[len(seedArticles()):] {
			a.Authors = []article.Author{{Name: []string{"He Wei", "Émile Durand", "王芳", "Li & <Co>"}[i%4]}}
			a.Tags = []string{[]string{"R&D", "urban planning", "<housing>"}[i%3]}
		}
		seed(t, st, arts)
		now := day(2019, 5, 3, 12)
		set := newPeopleSet(t, st, func() time.Time { return now }, 0)
		set.b.specs[0].Limit, set.b.specs[0].PageItems = 3, 5
		if _, err := set.Rebuild(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		archived, err := set.ArchivePaths(ctx)
		if err != nil {
			t.Fatal(err)
		}
		paths := append(set.Paths(), archived...)
		seen := map[string]bool{}
		for _, a := range arts {
			for _, f := range set.ArticleFeeds(a) {
				if strings.HasPrefix(f.Path, AuthorsPath) || strings.HasPrefix(f.Path, TagsPath) {
					for _, ff := range Formats {
						if p := f.Path + "." + ff.Ext(); !seen[p] && a.Visible(now) {
							seen[p] = true
							paths = append(paths, p)
						}
					}
				}
			}
		}
		if len(archived) < 3*8 || len(seen) < 3*7 {
			t.Fatalf("a build of %d archive and %d author and tag documents is too small to say much", len(archived), len(seen))
		}
		for _, p := range paths {
			body, f, err := set.Get(ctx, p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			self := testBase + (&url.URL{Path: p}).EscapedPath()
			hub := ""
			if strings.HasPrefix(p, AuthorsPath) || strings.HasPrefix(p, TagsPath) {
				hub = "https://news.example/websub"
			}
			switch f {
			case RSS:
				checkRSSRules(t, body, self, hub)
			case Atom:
				checkAtomRules(t, body, self, hub)
			case JSON:
				validateJSONFeed(t, sch, body)
				checkJSONKeys(t, body)
			}
			if bytes.Contains(body, []byte(nsWebfeeds)) {
				t.Errorf("%s: Feedly's webfeeds namespace without feeds.webfeeds (the validator warns)", p)
			}
		}
		t.Logf("%d documents checked (%d archive, %d author and tag)", len(paths), len(archived), len(seen))
	})
}

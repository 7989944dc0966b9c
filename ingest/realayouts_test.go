package ingest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// layoutSections is a newsroom that files the layout fixtures: the default
// Society section (with a regional site's "Latest" as an alias), China,
// Opinion, Culture and World. "Services / Updates" is configured nowhere.
func layoutSections(o *ingest.Options) {
	cfg := config.Default()
	rules := cfg.SectionRules()
	rules[0].Aliases = append(rules[0].Aliases, "Latest", "News")
	o.Sections = append(rules,
		article.SectionRule{Slug: "china", Title: "China", Aliases: []string{"National"}},
		article.SectionRule{Slug: "opinion", Title: "Opinion", Aliases: []string{"From the Readers"}},
		article.SectionRule{Slug: "culture", Title: "Culture"},
		article.SectionRule{Slug: "world", Title: "World"})
	o.DefaultSection = "society" // as `import --section society`
}

// TestLayoutsThroughImportAndFeeds imports every layout fixture from one
// folder, as `syndicated import --section society DIR` does, and reads
// them back from the store and from the three feeds, parsed with gofeed:
// each article is filed in its section, keeps every photo and page, and
// carries no chrome; the page whose section is not configured is refused
// naming it and the key to add; the cut-short copy is kept with a warning.
func TestLayoutsThroughImportAndFeeds(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, _ := newImporter(s, layoutSections)
		dir := t.TempDir()
		copyTree(t, filepath.Join("textpage", "testdata", "layouts"), dir)

		rep, err := im.ImportPaths(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if n := rep.FileCount(); n != 33 {
			t.Errorf("report counts %d files, want 33 (gallery 3, reports 2, 28 single pages)", n)
		}
		failed := rep.Failed()
		if len(failed) != 1 || filepath.Base(failed[0].File) != "crumb-angle.txt" {
			t.Fatalf("failed: %v, want crumb-angle.txt alone", rep.Err())
		}
		want := filepath.Join(dir, "crumb-angle.txt") + `:1: section: breadcrumb "Services / Updates" names no configured section (configured: society, china, opinion, culture, world): ` +
			`add "Services / Updates" to the aliases of a [[sections]] entry, or a [[sections]] entry with slug = "updates"`
		if got := failed[0].Err.Error(); got != want {
			t.Errorf("refusal:\n got %s\nwant %s", got, want)
		}
		for _, f := range rep.Files {
			cut := filepath.Base(f.File) == "cut-short.txt" || filepath.Base(f.File) == "table-captions.txt"
			if cut != (len(f.Warnings) > 0) || cut && !strings.Contains(f.Warnings[0], ": the copy looks cut short") {
				t.Errorf("%s: warnings %q", filepath.Base(f.File), f.Warnings)
			}
		}
		if !strings.HasPrefix(rep.String(), "33 files: 29 created, ") || !strings.HasSuffix(rep.String(), "1 failed (2 with warnings)") {
			t.Errorf("report: %s", rep)
		}

		get := func(id string) *article.Article {
			t.Helper()
			a, err := s.GetArticle(ctx, id)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			return a
		}
		sections := map[string]string{"crumb-no-home": "china", "date-line-by-site": "china", "crumb-backslash": "opinion", "label-above": "opinion",
			"crumb-slashes": "culture", "houston-usa": "world", "no-crumb": "society", "numbers-pagination": "society", "comma-place": "society"}
		for id, want := range sections {
			if got := get(id).Section; got != want {
				t.Errorf("%s: section %q, want %q", id, got, want)
			}
		}
		g := get("gallery")
		if g.TotalPages != 3 || len(g.MissingPages()) != 0 || len(g.Body) != 3 {
			t.Errorf("gallery: %d pages of %d, missing %v", len(g.Body), g.TotalPages, g.MissingPages())
		}
		var captions []string
		if g.Photo != nil {
			captions = append(captions, g.Photo.Caption)
		}
		for _, pg := range g.Body {
			for _, ph := range pg.Photos {
				captions = append(captions, ph.Caption)
			}
		}
		if len(captions) != 5 || !strings.HasPrefix(captions[1], "A buffalo rests") || !strings.HasPrefix(captions[4], "Rice straw is stacked") {
			t.Errorf("gallery photos in order: %q", captions)
		}
		if p3 := g.Body[2]; !reflect.DeepEqual(p3.Paragraphs, []string{"The last field was cut on Wednesday."}) || p3.Photos[2].At != 1 {
			t.Errorf("gallery page 3: %+v", p3)
		}
		r := get("reports")
		if !strings.HasSuffix(r.Deck, "Guo Lanting reports.") || len(r.Paragraphs()) != 3 {
			t.Errorf("reports: deck %q, paragraphs %q", r.Deck, r.Paragraphs())
		}
		if c := get("comma-place"); !reflect.DeepEqual(c.Authors, []article.Author{{Name: "Lin Qiao", Place: "Fugou, Yunnan"}, {Name: "Deng Hua"}}) || c.Dateline != "Fugou, Yunnan" {
			t.Errorf("comma place: %+v, dateline %q", c.Authors, c.Dateline)
		}

		specs := []feeds.Spec{}
		for _, sec := range []string{"society", "china", "opinion", "culture", "world"} {
			specs = append(specs, feeds.Spec{Slug: sec, Kind: feeds.KindSection, Title: sec, BaseURL: "https://news.example", Language: "en", Limit: 100})
		}
		b, err := feeds.NewBuilder(s, specs, feeds.Options{Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }, Location: newsroomZone()})
		if err != nil {
			t.Fatal(err)
		}
		set := feeds.NewSet(b, feeds.SetOptions{})
		if _, err := set.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
		chrome := []string{"Share - WeChat", "Today's Top News", "Editor's picks", "Most Viewed", "Make me your Homepage", "left corner", "8.03K",
			"latest-news-mirror", "<div", "Copyright", "Hot Topics", "You are welcome to submit", "Print Mail", "Twitter Facebook", "Previous Page", "Next >>"}
		for _, f := range feeds.Formats {
			items := map[string]*gofeed.Item{}
			for _, sp := range specs {
				body, _, err := set.Get(ctx, "/feeds/"+sp.Slug+"."+f.Ext())
				if err != nil {
					t.Fatal(err)
				}
				feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("%s %s: %v", sp.Slug, f, err)
				}
				for _, it := range feed.Items {
					items[it.Title] = it
				}
			}
			if len(items) != 29 {
				t.Errorf("%s: %d items in the section feeds, want the 29 articles", f, len(items))
			}
			for title, it := range items {
				content := it.Content
				if content == "" {
					content = it.Description
				}
				for _, c := range chrome {
					if strings.Contains(content, c) {
						t.Errorf("%s: %q carries chrome %q", f, title, c)
					}
				}
				if strings.Count(content, title) > 0 && !strings.Contains(title, "Morning papers") {
					t.Errorf("%s: %q repeats its headline in the content", f, title)
				}
			}
			gal := items["Harvest week in the terraced fields"]
			if gal == nil {
				t.Fatalf("%s: no gallery item", f)
			}
			content := gal.Content + gal.Description
			last := -1
			for _, c := range captions {
				i := strings.Index(content, c)
				if i <= last {
					t.Errorf("%s: gallery caption %q missing or out of order", f, c)
				}
				last = i
			}
			if strings.Contains(content, "not been imported") {
				t.Errorf("%s: gallery says pages are missing", f)
			}
			if it := items["A valley school gets its first library"]; it == nil || authorNames(it) != "Lin Qiao, Deng Hua" {
				t.Errorf("%s: comma place authors: %+v", f, it)
			}
		}
	})
}

// authorNames lists an item's authors (RSS carries them as dc:creator).
func authorNames(it *gofeed.Item) string {
	var names []string
	for _, c := range it.Extensions["dc"]["creator"] {
		names = append(names, c.Value)
	}
	if len(names) == 0 {
		for _, a := range it.Authors {
			names = append(names, a.Name)
		}
	}
	return strings.Join(names, ", ")
}

// copyTree copies the files under from to to.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		copyFile(t, p, filepath.Join(to, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

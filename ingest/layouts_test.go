package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestPublisherLayouts imports, in one folder, fixtures imitating the
// publisher's page layouts from 2015 to 2021, a six-page article in six
// files (one a page copy without byline), a later page without its first
// page and a malformed page: every good article is stored right, and each
// bad file is reported with its name, line and reason.
func TestPublisherLayouts(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, _ := newImporter(s, moreSections)
		dir := t.TempDir()
		td := filepath.Join("textpage", "testdata")
		for _, f := range []string{"share-lone.txt", "note-first.txt", "three-line-byline.txt", "layout-2015.txt", "indented.txt", "orphan.p2.txt"} {
			copyFile(t, filepath.Join(td, f), filepath.Join(dir, f))
		}
		lanterns, _ := filepath.Glob(filepath.Join(td, "lantern", "*.txt"))
		if len(lanterns) != 6 {
			t.Fatalf("lantern fixtures: %v", lanterns)
		}
		for _, f := range lanterns {
			copyFile(t, f, filepath.Join(dir, "lantern", filepath.Base(f)))
		}
		bad := "Home / China / Society\nBroken page\nBy A, B and C |\nchinadaily.com.cn |\nUpdated: 2019-10-41 16:03\nBody.\n"
		if err := os.WriteFile(filepath.Join(dir, "broken.txt"), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}

		rep, err := im.ImportPaths(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"share-lone.txt": "created", "note-first.txt": "created", "three-line-byline.txt": "created",
			"layout-2015.txt": "created", "indented.txt": "created", "lantern.txt": "created",
			"orphan.p2.txt": "error", "broken.txt": "error",
		}
		if got := outcomes(rep); !reflect.DeepEqual(got, want) {
			t.Errorf("outcomes = %v\nwant %v", got, want)
		}
		errs := map[string]string{}
		for _, f := range rep.Failed() {
			errs[filepath.Base(f.File)] = f.Err.Error()
		}
		if e := errs["orphan.p2.txt"]; !strings.HasPrefix(e, filepath.Join(dir, "orphan.p2.txt")+": ") || !strings.Contains(e, "page 2 has no byline") || !strings.Contains(e, "orphan.txt") {
			t.Errorf("orphan error = %q, want it to name the file and the page 1 it needs (orphan.txt)", e)
		}
		if e := errs["broken.txt"]; e != filepath.Join(dir, "broken.txt")+`:3: byline: bad 'Updated:' time "2019-10-41 16:03": want YYYY-MM-DD HH:MM` {
			t.Errorf("broken error = %q", e)
		}

		get := func(id string) *articleView {
			a, err := s.GetArticle(ctx, id)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			return &articleView{a.Deck, a.EditorsNote, a.Publication, a.AuthorNames(), a.Paragraphs(), a.TotalPages, a.MissingPages(), len(a.Body), a.Updated, a.GUID}
		}

		sh := get("share-lone")
		if sh.deck != "Growers on the hills west of the city turn to machines as the pickers age" || strings.HasPrefix(sh.paras[0], "Share") {
			t.Errorf("share-lone: deck %q, first paragraph %q", sh.deck, sh.paras[0])
		}
		if n := get("note-first"); n.note != "This series visits craftspeople keeping folk arts alive." || !strings.HasPrefix(n.deck, "Livestreams") {
			t.Errorf("note-first: note %q deck %q", n.note, n.deck)
		}
		three := get("three-line-byline")
		if !reflect.DeepEqual(three.authors, []string{"Zhao Lin", "Qian Yu", "Feng Tao", "Hu Jie", "Mo Xin"}) || three.publication != "China Daily" {
			t.Errorf("three-line byline: authors %q publication %q", three.authors, three.publication)
		}
		y := get("layout-2015")
		if y.publication != "China Daily USA" || !reflect.DeepEqual(y.authors, []string{"Wen Jia"}) ||
			!y.updated.Equal(time.Date(2015, 7, 3, 2, 55, 0, 0, time.UTC)) || y.guid != "tag:syndicated.example,2015-07-03:layout-2015" {
			t.Errorf("2015 layout: %+v", y)
		}

		l := get("lantern")
		if l.pages != 6 || l.total != 6 || len(l.missing) != 0 {
			t.Errorf("lantern: %d pages of %d, missing %v", l.pages, l.total, l.missing)
		}
		if l.note == "" || !strings.HasPrefix(l.deck, "Workshops that nearly closed") || len(l.paras) != 11 {
			t.Errorf("lantern: note %q deck %q, %d paragraphs %q", l.note, l.deck, len(l.paras), l.paras)
		}
		for _, p := range l.paras {
			for _, junk := range []string{"Photo", "PHOTO", "Editor", "Related", "- ", "Top", "FOLLOW", "English", "中文", "Share", "Lantern makers light up"} {
				if strings.Contains(p, junk) {
					t.Errorf("lantern: %q in body paragraph %q", junk, p)
				}
			}
		}
		a, _ := s.GetArticle(ctx, "lantern")
		if a != nil && (len(a.Body) < 2 || !reflect.DeepEqual(a.Body[1].Subheads, []int{1})) {
			t.Errorf("lantern page 2 sub-heads: %+v", a.Body)
		}

		// Alone, through ImportBytes, a page copy without byline is
		// rejected the same way.
		data, err := os.ReadFile(filepath.Join(td, "lantern", "lantern.p3.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := im.ImportBytes(ctx, "lantern.p3.txt", "", data); err == nil || !strings.Contains(err.Error(), "lantern.txt") {
			t.Errorf("ImportBytes(lantern.p3.txt) = %v, want an error naming lantern.txt", err)
		}
	})
}

type articleView struct {
	deck, note, publication string
	authors, paras          []string
	total                   int
	missing                 []int
	pages                   int
	updated                 time.Time
	guid                    string
}

// TestZoneAndSeriesFromOptions: the importer reads zoneless times in the
// zone it is given and classifies by the rules it is given, nothing else.
func TestZoneAndSeriesFromOptions(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		data, err := os.ReadFile(filepath.Join("textpage", "testdata", "editors-note-space.txt"))
		if err != nil {
			t.Fatal(err)
		}
		utc := ingest.New(s, ingest.Options{Zone: time.UTC})
		a, err := utc.Parse("note.txt", "", data)
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2019, 4, 30, 22, 10, 0, 0, time.UTC); !a.Updated.Equal(want) || len(a.Series) != 0 {
			t.Errorf("UTC, no rules: updated %v series %v; want %v and none", a.Updated, a.Series, want)
		}
		newsroom, _ := newImporter(s)
		b, err := newsroom.Parse("note.txt", "", data)
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2019, 4, 30, 14, 10, 0, 0, time.UTC); !b.Updated.Equal(want) || !reflect.DeepEqual(b.Series, []string{seriesSlug}) {
			t.Errorf("newsroom zone and configured series: updated %v series %v; want %v and [%s]", b.Updated, b.Series, want, seriesSlug)
		}
	})
}

// TestBadPageKeepsGoodPages: a malformed later page file is reported with
// its name and line, and costs neither the other pages nor the copy of
// itself accepted before.
func TestBadPageKeepsGoodPages(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, _ := newImporter(s)
		dir := t.TempDir()
		lanterns, _ := filepath.Glob(filepath.Join("textpage", "testdata", "lantern", "*.txt"))
		for _, f := range lanterns {
			copyFile(t, f, filepath.Join(dir, filepath.Base(f)))
		}
		p4 := filepath.Join(dir, "lantern.p4.txt")
		good, err := os.ReadFile(p4)
		if err != nil {
			t.Fatal(err)
		}
		broken := strings.Replace(string(good), "Updated: 2021-01-29 20:15", "Updated: 2021-01-32 20:15", 1)
		check := func(wantOutcome string, wantMissing []int) {
			t.Helper()
			rep, err := im.ImportPaths(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"lantern.txt": wantOutcome, "lantern.p4.txt": "error"}
			if got := outcomes(rep); !reflect.DeepEqual(got, want) {
				t.Errorf("outcomes = %v, want %v", got, want)
			}
			if e := rep.Err(); e == nil || e.Error() != p4+`:6: byline: bad 'Updated:' time "2021-01-32 20:15": want YYYY-MM-DD HH:MM` {
				t.Errorf("error = %v", e)
			}
			a, err := s.GetArticle(ctx, "lantern")
			if err != nil {
				t.Fatal(err)
			}
			if got := a.MissingPages(); !reflect.DeepEqual(got, wantMissing) || a.TotalPages != 6 {
				t.Errorf("missing pages %v of %d, want %v of 6", got, a.TotalPages, wantMissing)
			}
		}

		// New article: stored without page 4, which is recorded as missing.
		if err := os.WriteFile(p4, []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		check("created", []int{4})

		// Page 4 fixed: the article gains it.
		if err := os.WriteFile(p4, good, 0o644); err != nil {
			t.Fatal(err)
		}
		if rep, _ := im.ImportPaths(ctx, dir); rep.Err() != nil || rep.Count(article.Edited) != 1 {
			t.Fatalf("fixed page 4: %v %v", rep, rep.Err())
		}

		// Broken again: the stored page 4 stays, nothing changes.
		if err := os.WriteFile(p4, []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		check("unchanged", nil)
	})
}

package ingest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// An article whose section is not configured gets the same answer whether
// it comes as a file (the content directory, `syndicated import`) or
// through the API; a configured section's title or alias files it there.
func TestSectionRuleAlikeForFilesAndAPI(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, _ := newImporter(s)
		dir := t.TempDir()
		sports := `{"id":"match-report","section":"Sports","headline":"A match","published":"2019-05-01T10:00:00+08:00","body":["Text."]}`
		page := "Home / Sports / Football\n\nA match\n\nBy Ren Haoyu | China Daily | Updated: 2019-05-01 10:00\n\nText.\n"
		if err := os.WriteFile(filepath.Join(dir, "match-report.json"), []byte(sports), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "match-page.txt"), []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := im.ImportPaths(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		_, apiErr := im.PushArticle(ctx, []byte(sports))
		const why = `"Sports" is not a configured section (configured: society): add "Sports" to the aliases of a [[sections]] entry, or a [[sections]] entry with slug = "sports"`
		errs := map[string]string{}
		for _, f := range rep.Files {
			if f.Err != nil {
				errs[filepath.Base(f.File)] = f.Err.Error()
			}
		}
		if got, want := errs["match-report.json"], filepath.Join(dir, "match-report.json")+":1: section: "+why; got != want {
			t.Errorf("file:\n got %s\nwant %s", got, want)
		}
		if apiErr == nil || apiErr.Error() != "request body:1: section: "+why {
			t.Errorf("API: %v\nwant request body:1: section: %s", apiErr, why)
		}
		var fe *article.FieldError
		if !errors.As(apiErr, &fe) || fe.Field != "section" || !errors.Is(apiErr, article.ErrInvalid) {
			t.Errorf("API error %v is not a section field error (the API answers 400 naming the field)", apiErr)
		}
		if got := errs["match-page.txt"]; !strings.HasPrefix(got, filepath.Join(dir, "match-page.txt")+`:1: section: breadcrumb "Sports / Football" names no configured section (configured: society)`) {
			t.Errorf("text page: %s", got)
		}
		if n, _ := s.CountArticles(ctx, article.Query{}); n != 0 {
			t.Errorf("%d articles stored in no feed", n)
		}

		// Title, alias and breadcrumb path name the configured section.
		for i, name := range []string{"Society", "社会", "China / Society", "china/society"} {
			body := strings.Replace(strings.Replace(sports, `"Sports"`, `"`+name+`"`, 1), "match-report", "alias-"+string(rune('a'+i)), 1)
			pr, err := im.PushArticle(ctx, []byte(body))
			if err != nil || pr.Article.Section != "society" {
				t.Errorf("section %q: %v %+v", name, err, pr.Article)
			}
		}
	})
}

// Without configured sections (a library user's importer), any section is
// taken as its slug, as before.
func TestNoSectionRulesTakesAnySection(t *testing.T) {
	im := ingest.New(nil, ingest.Options{Zone: newsroomZone()})
	a, err := im.Parse("x.json", "", []byte(`{"id":"x","section":"Sports News","headline":"H","published":"2019-05-01T10:00:00+08:00","body":["T."]}`))
	if err != nil || a.Section != "sports-news" {
		t.Fatalf("%v %+v", err, a)
	}
	page := "Home / World / Americas\n\nH\n\nBy A B | China Daily | Updated: 2019-05-01 10:00\n\nText.\n"
	if a, err := im.Parse("p.txt", "", []byte(page)); err != nil || a.Section != "americas" {
		t.Fatalf("%v %+v", err, a)
	}
}

// A group of page files that fails counts each of its files.
func TestFailedGroupCountsItsFiles(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		im, _ := newImporter(s)
		dir := t.TempDir()
		bad := "Home / China / Society\n\nH\n\nBy A B | China Daily | Updated: 2019-13-01 10:00\n\nText.\n\n1 2 Next >>|\n"
		good := "Home / China / Society\n\nH\n\nBy A B | China Daily | Updated: 2019-05-01 10:00\n\nMore.\n\n|<< Previous 1 2\n"
		for name, text := range map[string]string{"two.txt": bad, "two.p2.txt": good} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := im.ImportPaths(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Files) != 1 || rep.FileCount() != 2 || rep.String() != "2 files: 0 created, 0 edited, 0 reclassified, 0 unchanged, 1 failed" {
			t.Errorf("report %q for %d results", rep, len(rep.Files))
		}
	})
}

// A dry run stores nothing, and reads each article exactly as the import
// then stores it.
func TestDryRunReadsWhatImportStores(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, _ := newImporter(s, layoutSections)
		dir := t.TempDir()
		copyTree(t, filepath.Join("textpage", "testdata", "layouts"), dir)
		dry, err := im.DryRun(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := s.CountArticles(ctx, article.Query{}); n != 0 {
			t.Fatalf("the dry run stored %d articles", n)
		}
		if _, err := im.ImportPaths(ctx, dir); err != nil {
			t.Fatal(err)
		}
		read, refused := 0, 0
		for _, ar := range dry.Articles {
			if ar.Err != nil {
				refused++
				continue
			}
			read++
			stored, err := s.GetArticle(ctx, ar.Article.ID)
			if err != nil {
				t.Fatalf("%s: %v", ar.Article.ID, err)
			}
			if ar.Article.ContentHash() != stored.ContentHash() || ar.Article.GUID != stored.GUID {
				t.Errorf("%s: the dry run read\n%+v\nthe import stored\n%+v", ar.Article.ID, ar.Article, stored)
			}
			if ar.SectionFrom == "" {
				t.Errorf("%s: no section origin", ar.Article.ID)
			}
		}
		if read != 29 || refused != 1 || dry.Err() == nil {
			t.Errorf("dry run read %d, refused %d: %v", read, refused, dry.Err())
		}
	})
}

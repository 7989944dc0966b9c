package ingest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/internal/testkit"
	"github.com/syndicated/syndicated/samples"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// clock is a test clock that moves a minute per call.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time {
	c.t = c.t.Add(time.Minute)
	return c.t
}

// newImporter is set up as the daemon sets it up: series and section
// rules from the default configuration, times in the newsroom zone;
// tweak, when given, changes the options.
func newImporter(s storage.Storage, tweak ...func(*ingest.Options)) (*ingest.Importer, *clock) {
	c := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg := config.Default()
	opts := ingest.Options{GUIDAuthority: "syndicated.example", Now: c.Now,
		Rules: cfg.SeriesRules(), Sections: cfg.SectionRules(), Zone: newsroomZone()}
	for _, t := range tweak {
		t(&opts)
	}
	return ingest.New(s, opts), c
}

// moreSections configures, besides the default Society section, the World
// and Culture sections some fixtures are filed in.
func moreSections(o *ingest.Options) {
	o.Sections = append(o.Sections, article.SectionRule{Slug: "world", Title: "World"}, article.SectionRule{Slug: "culture", Title: "Culture"})
}

func newsroomZone() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}

// seriesSlug is the default configuration's series.
var seriesSlug = config.Default().Series[0].Slug

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func outcomes(rep ingest.Report) map[string]string {
	m := map[string]string{}
	for _, f := range rep.Files {
		if f.Err != nil {
			m[filepath.Base(f.File)] = "error"
		} else {
			m[filepath.Base(f.File)] = f.Outcome.String()
		}
	}
	return m
}

func TestFolderWithBrokenFiles(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, clk := newImporter(s)
		dir := t.TempDir()
		good := map[string]string{
			"caps-two-authors.txt":   "textpage/testdata/caps-two-authors.txt",
			"two-places.txt":         "textpage/testdata/two-places.txt",
			"xinhua.txt":             "textpage/testdata/xinhua.txt",
			"editors-note-space.txt": "textpage/testdata/editors-note-space.txt",
			"sub/no-deck.txt":        "textpage/testdata/no-deck-no-caption.txt",
			"tea.md":                 "structured/testdata/full.md",
			"canal.json":             "structured/testdata/full.json",
		}
		broken := map[string]struct {
			from  string
			line  int
			field string
			why   string
		}{
			"no-updated.txt": {"textpage/testdata/no-updated.txt", 5, "byline", "no 'Updated:' time"},
			"unknown.json":   {"structured/testdata/unknown.json", 5, "subtitle", "unknown field"},
			"sub/badtime.md": {"structured/testdata/badtime.md", 4, "published", "last tuesday"},
		}
		for to, from := range good {
			copyFile(t, from, filepath.Join(dir, to))
		}
		for to, b := range broken {
			copyFile(t, b.from, filepath.Join(dir, to))
		}
		// Something stored before the import must survive it.
		before := &article.Article{ID: "earlier", GUID: "tag:syndicated.example,2019-01-01:earlier", Section: "society",
			Headline: "Earlier", Published: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), Status: article.StatusPublished}
		before.Updated = before.Published
		if _, err := s.PutArticle(ctx, before, clk.Now()); err != nil {
			t.Fatal(err)
		}

		rep, err := im.ImportPaths(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Files) != 10 {
			t.Fatalf("report has %d files, want 10: %v", len(rep.Files), outcomes(rep))
		}
		if n := rep.Count(article.Created); n != 7 {
			t.Errorf("%d created, want 7: %v", n, outcomes(rep))
		}
		if rep.Err() == nil {
			t.Error("Report.Err() = nil with three broken files")
		}
		failed := rep.Failed()
		if len(failed) != 3 {
			t.Fatalf("%d failed, want 3: %v", len(failed), rep.Err())
		}
		for _, f := range failed {
			rel, _ := filepath.Rel(dir, f.File)
			want, ok := broken[filepath.ToSlash(rel)]
			if !ok {
				t.Errorf("unexpected failure %s: %v", f.File, f.Err)
				continue
			}
			var ie *ingest.Error
			if !errors.As(f.Err, &ie) {
				t.Errorf("%s: error %v is not an *ingest.Error", rel, f.Err)
				continue
			}
			if ie.File != f.File || ie.Line != want.line || ie.Field != want.field || !strings.Contains(f.Err.Error(), want.why) {
				t.Errorf("%s: got %q (line %d, field %q); want line %d, field %q, reason containing %q", rel, f.Err, ie.Line, ie.Field, want.line, want.field, want.why)
			}
			if !strings.HasPrefix(f.Err.Error(), f.File+":") {
				t.Errorf("error %q does not start with the file name", f.Err)
			}
		}
		all, err := s.ListArticles(ctx, article.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 8 {
			t.Errorf("store holds %d articles, want 7 imported + 1 earlier", len(all))
		}
		if _, err := s.GetArticle(ctx, "earlier"); err != nil {
			t.Errorf("earlier article lost: %v", err)
		}
		tea, err := s.GetArticle(ctx, "tea-house-reopens")
		if err != nil {
			t.Fatal(err)
		}
		if !tea.InSeries("shanghai-70th") || tea.Photo == nil {
			t.Errorf("tea article: series %v photo %v", tea.Series, tea.Photo)
		}
		xin, err := s.GetArticle(ctx, "xinhua")
		if err != nil {
			t.Fatal(err)
		}
		if xin.GUID != "tag:syndicated.example,2019-07-08:xinhua" {
			t.Errorf("GUID = %q", xin.GUID)
		}
		note, _ := s.GetArticle(ctx, "editors-note-space")
		if note == nil || !note.InSeries("shanghai-70th") {
			t.Errorf("editor's note did not put the article in the series: %+v", note)
		}

		// Same content again: nothing changes.
		stored := map[string]*article.Article{}
		for _, a := range all {
			stored[a.ID] = a
		}
		rep2, err := im.ImportPaths(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if n := rep2.Count(article.Unchanged); n != 7 || len(rep2.Failed()) != 3 {
			t.Errorf("re-import: %v", outcomes(rep2))
		}
		for id, a := range stored {
			now, err := s.GetArticle(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !now.Updated.Equal(a.Updated) || now.GUID != a.GUID {
				t.Errorf("%s: re-import moved updated %v → %v or GUID %q → %q", id, a.Updated, now.Updated, a.GUID, now.GUID)
			}
		}

		// An edit bumps Updated only.
		p := filepath.Join(dir, "two-places.txt")
		b, _ := os.ReadFile(p)
		b = []byte(strings.Replace(string(b), "400 shikumen doorways", "450 shikumen doorways", 1))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		rep3, err := im.ImportPaths(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := outcomes(rep3); got["two-places.txt"] != "edited" || rep3.Count(article.Unchanged) != 6 {
			t.Errorf("after edit: %v", got)
		}
		old := stored["two-places"]
		edited, _ := s.GetArticle(ctx, "two-places")
		if edited.GUID != old.GUID || edited.ID != old.ID || !edited.Published.Equal(old.Published) {
			t.Errorf("edit changed identity: %+v → %+v", old, edited)
		}
		if !edited.Updated.After(old.Updated) {
			t.Errorf("edit did not bump updated: %v → %v", old.Updated, edited.Updated)
		}

		// Breaking a stored article's file keeps the stored version.
		if err := os.WriteFile(p, []byte("Home / China / Society\n\nno byline here\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		rep4, _ := im.ImportPaths(ctx, dir)
		if outcomes(rep4)["two-places.txt"] != "error" {
			t.Errorf("broken edit not reported: %v", outcomes(rep4))
		}
		kept, err := s.GetArticle(ctx, "two-places")
		if err != nil || kept.ContentHash() != edited.ContentHash() {
			t.Errorf("stored article changed by a broken file: %v", err)
		}
	})
}

func TestMultiPageFiles(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, _ := newImporter(s)
		dir := t.TempDir()
		for _, f := range []string{"garden.txt", "garden.p2.txt", "garden.p3.txt", "runtogether.txt"} {
			copyFile(t, filepath.Join("textpage", "testdata", f), filepath.Join(dir, f))
		}
		rep, err := im.ImportPaths(ctx, dir)
		if err != nil || rep.Err() != nil {
			t.Fatal(err, rep.Err())
		}
		if len(rep.Files) != 2 {
			t.Fatalf("want 2 articles, got %v", outcomes(rep))
		}
		if got := rep.Files[0].Files; len(got) != 3 {
			t.Errorf("garden read from %v", got)
		}
		a, err := s.GetArticle(ctx, "garden")
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Body) != 3 || a.TotalPages != 3 || len(a.MissingPages()) != 0 || a.Deck == "" {
			t.Errorf("garden: %d pages of %d, missing %v, deck %q", len(a.Body), a.TotalPages, a.MissingPages(), a.Deck)
		}
		r, _ := s.GetArticle(ctx, "runtogether")
		if r == nil || len(r.Body) != 2 {
			t.Errorf("run-together pages: %+v", r)
		}

		// Only pages 1 and 3: page 2 is recorded as missing.
		dir2 := t.TempDir()
		copyFile(t, filepath.Join("textpage", "testdata", "garden.txt"), filepath.Join(dir2, "kitchens.txt"))
		copyFile(t, filepath.Join("textpage", "testdata", "garden.p3.txt"), filepath.Join(dir2, "kitchens.p3.txt"))
		if rep, _ := im.ImportPaths(ctx, dir2); rep.Err() != nil {
			t.Fatal(rep.Err())
		}
		k, _ := s.GetArticle(ctx, "kitchens")
		if k == nil || len(k.MissingPages()) != 1 || k.MissingPages()[0] != 2 {
			t.Errorf("kitchens missing pages: %+v", k)
		}
	})
}

// seedPath is the publisher's real page in ../shared/seeds (copyrighted,
// so never copied here).
func seedPath(t *testing.T) string {
	return testkit.Shared(t, "seeds/society-2019-04-24-powerhouse-in-the-making.txt")
}

func TestSeedInSeries(t *testing.T) {
	seed := seedPath(t)
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, _ := newImporter(s)
		rep, err := im.ImportPaths(ctx, seed)
		if err != nil || rep.Err() != nil {
			t.Fatal(err, rep.Err())
		}
		id := "society-2019-04-24-powerhouse-in-the-making"
		a, err := s.GetArticle(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !a.InSeries(seriesSlug) {
			t.Errorf("seed not in series: %v", a.Series)
		}
		if a.GUID != "tag:syndicated.example,2019-04-24:"+id {
			t.Errorf("GUID = %q", a.GUID)
		}
		if want := time.Date(2019, 4, 24, 12, 12, 0, 0, time.UTC); !a.Published.Equal(want) || !a.Updated.Equal(want) {
			t.Errorf("published = %v, updated = %v", a.Published, a.Updated)
		}
		if a.TotalPages != 2 || len(a.MissingPages()) != 1 {
			t.Errorf("pages: total %d missing %v", a.TotalPages, a.MissingPages())
		}
	})
}

func TestSamples(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, clk := newImporter(s)
		rep, err := im.ImportFS(ctx, samples.FS, ".")
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.Err(); err != nil {
			t.Fatalf("samples fail to import: %v", err)
		}
		all, err := s.ListArticles(ctx, article.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) < 6 || len(all) > 10 {
			t.Errorf("%d sample articles, want 6 to 10", len(all))
		}
		formats := map[string]int{}
		for _, f := range rep.Files {
			formats[f.Format]++
		}
		var zh, withdrawn, photo, series, multi int
		for _, a := range all {
			if a.Section != "society" {
				t.Errorf("%s: section %q", a.ID, a.Section)
			}
			if a.Published.After(clk.t) {
				t.Errorf("%s: dated in the future (%v)", a.ID, a.Published)
			}
			if a.Language == "zh" {
				zh++
			}
			if a.Status == article.StatusWithdrawn {
				withdrawn++
			}
			if a.Photo != nil && strings.HasPrefix(a.Photo.URL, "https://static.example.com/") {
				photo++
			}
			if a.InSeries(seriesSlug) {
				series++
			}
			if len(a.Body) > 1 {
				multi++
			}
		}
		if zh != 1 || withdrawn != 1 || photo < 1 || series < 2 || multi < 1 {
			t.Errorf("samples: %d zh, %d withdrawn, %d with photo, %d in series, %d multi-page", zh, withdrawn, photo, series, multi)
		}
		if formats[ingest.FormatText] < 3 || formats[ingest.FormatMarkdown] < 1 || formats[ingest.FormatJSON] < 1 {
			t.Errorf("formats: %v", formats)
		}
		rep2, err := im.ImportFS(ctx, samples.FS, ".")
		if err != nil || rep2.Changed() {
			t.Errorf("re-import of samples changed something: %v %v", err, rep2)
		}
	})
}

func TestImportBytesAndWithdraw(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, _ := newImporter(s)
		body := []byte(`{"section":"society","headline":"Pushed","published":"2019-05-01T10:00:00+08:00",
			"canonical_url":"https://www.example.com/a/2019/pushed-story.html","body":["One."]}`)
		pr, err := im.PushArticle(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Outcome != article.Created || pr.Article.ID != "pushed-story" || pr.Article.GUID != "tag:syndicated.example,2019-05-01:pushed-story" {
			t.Errorf("push: %v %+v", pr.Outcome, pr.Article)
		}
		if pr, err = im.PushArticle(ctx, body); err != nil || pr.Outcome != article.Unchanged {
			t.Errorf("second push: %v %v", pr.Outcome, err)
		}

		_, err = im.PushArticle(ctx, []byte(`{"section":"society","headline":"No id","published":"2019-05-01T10:00:00+08:00"}`))
		var fe *article.FieldError
		if !errors.As(err, &fe) || fe.Field != "id" || !errors.Is(err, article.ErrInvalid) {
			t.Errorf("missing id: %v", err)
		}
		_, err = im.PushArticle(ctx, []byte("{\n\"id\": \"x\",\n\"colour\": 1}"))
		if !errors.As(err, &fe) || fe.Field != "colour" || !strings.Contains(err.Error(), "request body:3:") {
			t.Errorf("unknown field: %v", err)
		}
		_, err = im.PushArticle(ctx, []byte(`{"id":"x","headline":"H","published":"2019-05-01T10:00:00+08:00"}`))
		if !errors.As(err, &fe) || fe.Field != "section" {
			t.Errorf("missing section: %v", err)
		}

		// Withdraw through the API; an unchanged file does not bring it back.
		dir := t.TempDir()
		copyFile(t, filepath.Join("textpage", "testdata", "xinhua.txt"), filepath.Join(dir, "ferry.txt"))
		if rep, _ := im.ImportPaths(ctx, dir); rep.Count(article.Created) != 1 {
			t.Fatal(rep.Err())
		}
		w, err := im.Withdraw(ctx, "ferry")
		if err != nil || w.Outcome != article.Edited || w.Article.Status != article.StatusWithdrawn {
			t.Fatalf("withdraw: %v %+v", err, w)
		}
		if again, err := im.Withdraw(ctx, "ferry"); err != nil || again.Outcome != article.Unchanged {
			t.Errorf("second withdraw: %v %v", again.Outcome, err)
		}
		rep, _ := im.ImportPaths(ctx, dir)
		if got, _ := s.GetArticle(ctx, "ferry"); got.Status != article.StatusWithdrawn || rep.Changed() {
			t.Errorf("re-scan republished a withdrawn article: %v", rep)
		}
		if _, err := im.Withdraw(ctx, "no-such"); !errors.Is(err, article.ErrNotFound) {
			t.Errorf("withdraw unknown: %v", err)
		}
	})
}

func TestDuplicateIDsAndCancel(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		im, _ := newImporter(s)
		dir := t.TempDir()
		copyFile(t, filepath.Join("structured", "testdata", "full.json"), filepath.Join(dir, "a.json"))
		copyFile(t, filepath.Join("structured", "testdata", "full.json"), filepath.Join(dir, "b.json"))
		rep, err := im.ImportPaths(ctx, dir, filepath.Join(dir, "missing.md"))
		if err != nil {
			t.Fatal(err)
		}
		if got := outcomes(rep); got["a.json"] != "created" || got["b.json"] != "error" || got["missing.md"] != "error" {
			t.Errorf("outcomes: %v", got)
		}
		if !strings.Contains(rep.Err().Error(), "also the id of") {
			t.Errorf("err: %v", rep.Err())
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := im.ImportPaths(cctx, dir); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled import: %v", err)
		}
	})
}

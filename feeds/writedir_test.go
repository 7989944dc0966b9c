package feeds

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage/storagetest"
)

func TestWriteDir(t *testing.T) {
	st := storagetest.SQLite(t)
	arts := seedArticles()
	seed(t, st, arts)
	set := newTestSet(t, st, testSpecs(""), func() time.Time { return fixedNow })
	ctx := context.Background()
	dir := t.TempDir()
	res, err := set.WriteDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(res.Written)
	want := []string{"feeds/icon.png", "feeds/series/shanghai-70th.atom", "feeds/series/shanghai-70th.json", "feeds/series/shanghai-70th.rss",
		"feeds/society.atom", "feeds/society.json", "feeds/society.rss"}
	if len(res.Written) != len(want) {
		t.Fatalf("wrote %v, want %v", res.Written, want)
	}
	for i, w := range want {
		if res.Written[i] != w {
			t.Errorf("wrote %s, want %s", res.Written[i], w)
		}
		got, err := os.ReadFile(filepath.Join(dir, w))
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		set.ServeHTTP(rec, httptest.NewRequest("GET", "/"+w, nil))
		if served := rec.Body.Bytes(); rec.Code != 200 || !bytes.Equal(got, served) {
			t.Errorf("%s differs from the served bytes", w)
		}
	}
	// Unchanged: nothing rewritten (mtime and inode kept).
	st0, _ := os.Stat(filepath.Join(dir, "feeds/society.rss"))
	res, err = set.WriteDir(ctx, dir)
	if err != nil || len(res.Written) != 0 || res.Unchanged != 7 {
		t.Fatalf("second write: %+v %v", res, err)
	}
	st1, _ := os.Stat(filepath.Join(dir, "feeds/society.rss"))
	if !os.SameFile(st0, st1) || !st0.ModTime().Equal(st1.ModTime()) {
		t.Errorf("unchanged file rewritten")
	}
	// Withdraw an article of the society section only: exactly those three
	// files are replaced, and no temporary file is left behind.
	w := *arts[2]
	w.Status = article.StatusWithdrawn
	if _, err := st.PutArticle(ctx, &w, fixedNow); err != nil {
		t.Fatal(err)
	}
	if _, err := set.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = set.WriteDir(ctx, dir)
	if err != nil || len(res.Written) != 3 || res.Unchanged != 4 {
		t.Fatalf("after withdrawal: %+v %v", res, err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "feeds/society.atom"))
	if bytes.Contains(got, []byte("Agency report")) {
		t.Errorf("withdrawn article still in the written feed")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "feeds"))
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	// Cancelled context: an error wrapping it.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := set.WriteDir(cctx, t.TempDir()); err == nil {
		t.Errorf("WriteDir with a cancelled context succeeded")
	}
}

func TestWriteArchives(t *testing.T) {
	st := storagetest.SQLite(t)
	start := time.Date(2019, 1, 1, 8, 0, 0, 0, shanghai)
	seed(t, st, manyArticles(120, start))
	set := newTestSet(t, st, testSpecs(""), func() time.Time { return start.Add(500 * time.Hour) })
	dir := t.TempDir()
	res, err := set.WriteArchives(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// Two complete pages for the series and for the section, 3 formats.
	if len(res.Written) != 12 {
		t.Fatalf("wrote %v", res.Written)
	}
	got, err := os.ReadFile(filepath.Join(dir, "feeds/series/shanghai-70th/archive/2.atom"))
	if err != nil {
		t.Fatal(err)
	}
	served, _, _ := set.Get(context.Background(), "/feeds/series/shanghai-70th/archive/2.atom")
	if !bytes.Equal(got, served) {
		t.Errorf("archive file differs from the served page")
	}
}

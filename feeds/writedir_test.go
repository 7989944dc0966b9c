package feeds

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage"
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
	var want []string
	for _, f := range []string{"feeds/series/shanghai-70th", "feeds/society"} {
		for _, ext := range []string{".atom", ".atom.gz", ".json", ".json.gz", ".rss", ".rss.gz"} {
			want = append(want, f+ext)
		}
	}
	want = append([]string{"feeds/icon.png"}, want...)
	if len(res.Written) != len(want) {
		t.Fatalf("wrote %v, want %v", res.Written, want)
	}
	for i, w := range want {
		if res.Written[i] != w {
			t.Errorf("wrote %s, want %s", res.Written[i], w)
		}
		checkWritten(t, set, dir, w)
	}
	// Unchanged: nothing rewritten (mtime and inode kept).
	st0, _ := os.Stat(filepath.Join(dir, "feeds/society.rss"))
	res, err = set.WriteDir(ctx, dir)
	if err != nil || len(res.Written) != 0 || res.Unchanged != 13 {
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
	if err != nil || len(res.Written) != 6 || res.Unchanged != 7 {
		t.Fatalf("after withdrawal: %+v %v", res, err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "feeds/society.atom"))
	if bytes.Contains(got, []byte("Agency report")) {
		t.Errorf("withdrawn article still in the written feed")
	}
	checkWritten(t, set, dir, "feeds/society.atom.gz")
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

// checkWritten checks that the file at rel under dir holds what the Set
// serves at its URL: the plain bytes, or for FILE.gz the gzip bytes served
// to a client that accepts gzip, which unzip to the plain ones.
func checkWritten(t *testing.T, set *Set, dir, rel string) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	urlPath, gz := strings.CutSuffix("/"+rel, ".gz")
	req := httptest.NewRequest("GET", urlPath, nil)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	rec := httptest.NewRecorder()
	set.ServeHTTP(rec, req)
	if served := rec.Body.Bytes(); rec.Code != 200 || !bytes.Equal(got, served) {
		t.Errorf("%s differs from the served bytes (status %d)", rel, rec.Code)
	}
	if !gz {
		return
	}
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Errorf("%s: the server sent no gzip to compare with", rel)
	}
	zr, err := gzip.NewReader(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	want, _, _ := set.Get(context.Background(), urlPath)
	if !bytes.Equal(plain, want) {
		t.Errorf("%s does not unzip to the document", rel)
	}
}

func TestWriteArchives(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		start := time.Date(2019, 1, 10, 8, 0, 0, 0, shanghai)
		seed(t, st, dailyArticles(60, start)) // 2019-01-10 … 2019-03-10
		set := newTestSet(t, st, testSpecs(""), func() time.Time { return time.Date(2019, 3, 20, 0, 0, 0, 0, shanghai) })
		dir := t.TempDir()
		res, err := set.WriteArchives(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		// January and February, for the series and for the section, 3
		// formats, each with its .gz.
		if len(res.Written) != 24 {
			t.Fatalf("wrote %v", res.Written)
		}
		for _, rel := range res.Written {
			checkWritten(t, set, dir, rel)
		}
		if _, err := os.Stat(filepath.Join(dir, "feeds/series/shanghai-70th/archive/2019-02.atom")); err != nil {
			t.Error(err)
		}
	})
}

// WriteSite (feeds build) builds, then writes the subscription feeds and
// every archive page, naming each file it wrote, then the counts; a second
// run writes nothing and says so.
func TestWriteSite(t *testing.T) {
	st := storagetest.SQLite(t)
	seed(t, st, dailyArticles(60, time.Date(2019, 1, 10, 8, 0, 0, 0, shanghai))) // 2019-01-10 … 2019-03-10
	set := newTestSet(t, st, testSpecs(""), func() time.Time { return time.Date(2019, 3, 20, 0, 0, 0, 0, shanghai) })
	dir := t.TempDir()
	var report bytes.Buffer
	if err := set.WriteSite(context.Background(), dir, &report); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(report.String(), "\n"), "\n")
	// 13 subscription files (two feeds × three formats with .gz, the
	// icon), 24 archive files (two months).
	if len(lines) != 38 || lines[37] != "37 files written, 0 unchanged, in "+dir {
		t.Fatalf("report of %d lines, last %q:\n%s", len(lines), lines[len(lines)-1], report.String())
	}
	for _, l := range lines[:37] {
		rel, ok := strings.CutPrefix(l, "wrote "+dir+string(filepath.Separator))
		if !ok {
			t.Fatalf("line %q does not name a file under %s", l, dir)
		}
		checkWritten(t, set, dir, rel)
	}
	if !slices.Contains(lines, "wrote "+filepath.Join(dir, "feeds/series/shanghai-70th/archive/2019-02.atom")) {
		t.Error("the February archive page is not reported")
	}
	report.Reset()
	if err := set.WriteSite(context.Background(), dir, &report); err != nil || report.String() != "0 files written, 37 unchanged, in "+dir+"\n" {
		t.Errorf("second run: %v, %q", err, report.String())
	}
}

// Pages name the formats as readers know them.
func TestFormatNames(t *testing.T) {
	var got []string
	for _, f := range Formats {
		got = append(got, f.Name())
	}
	if strings.Join(got, ", ") != "RSS, Atom, JSON Feed" {
		t.Errorf("format names: %v", got)
	}
}

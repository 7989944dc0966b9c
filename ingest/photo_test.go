package ingest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/samples"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// A photo given without its size gets it from the image server, once; the
// learned size survives re-imports that do not know it, and a server that
// cannot answer never blocks the import.
func TestPhotoSizeIsLearned(t *testing.T) {
	var heads atomic.Int32
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing.jpg" {
			http.NotFound(w, r)
			return
		}
		heads.Add(1)
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Length", "48213")
	}))
	defer img.Close()
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		heads.Store(0)
		c := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
		im := ingest.New(s, ingest.Options{Now: c.Now, PhotoProbe: ingest.HTTPPhotoProbe(img.Client())}) // the test server's own client: no address guard
		doc := `{"id":"with-photo","section":"society","headline":"Photo story","published":"2019-05-01T10:00:00+08:00",` +
			`"photo":{"url":"` + img.URL + `/lead.jpg","caption":"A caption"},"body":["Text."]}`
		ctx := context.Background()
		res, err := im.ImportBytes(ctx, "a.json", ingest.FormatJSON, []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if ph := res.Article.Photo; ph.Length != 48213 || ph.Type != "image/jpeg" {
			t.Fatalf("photo %+v", ph)
		}
		res, err = im.ImportBytes(ctx, "a.json", ingest.FormatJSON, []byte(doc))
		if err != nil || res.Outcome != article.Unchanged || res.Article.Photo.Length != 48213 {
			t.Fatalf("re-import: %v %v %+v", err, res.Outcome, res.Article.Photo)
		}
		if heads.Load() != 1 {
			t.Errorf("probed %d times, want once", heads.Load())
		}
		missing := `{"id":"missing-photo","section":"society","headline":"Photo gone","published":"2019-05-01T10:00:00+08:00",` +
			`"photo":{"url":"` + img.URL + `/missing.jpg"},"body":["Text."]}`
		res, err = im.ImportBytes(ctx, "b.json", ingest.FormatJSON, []byte(missing))
		if err != nil || res.Outcome != article.Created || res.Article.Photo.Length != 0 {
			t.Fatalf("unreachable photo: %v %v", err, res)
		}
	})
}

func TestProgressCountsEveryArticle(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		var calls [][2]int
		im := ingest.New(s, ingest.Options{Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }})
		rep, err := im.ImportFS(context.Background(), samples.FS, ".")
		if err != nil {
			t.Fatal(err)
		}
		n := len(rep.Files)
		if n == 0 || len(calls) != n || calls[n-1] != [2]int{n, n} {
			t.Errorf("progress calls %v for %d articles", calls, n)
		}
	})
}

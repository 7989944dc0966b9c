package feeds

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/syndicated/syndicated/storage/storagetest"
)

// discard is a ResponseWriter that keeps nothing but a reusable header map,
// so the benchmark measures the handler, not the recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkServe compares Set.ServeHTTP with a minimal handler writing the
// same bytes from memory (the wrk baseline), for a plain GET, a gzip GET
// and a conditional GET answered 304.
func BenchmarkServe(b *testing.B) {
	st := storagetest.SQLite(b)
	start := time.Date(2019, 1, 1, 8, 0, 0, 0, shanghai)
	seed(b, st, manyArticles(60, start))
	set := newTestSet(b, st, testSpecs(""), func() time.Time { return start.Add(100 * time.Hour) })
	res := set.snap.Load().byPath["/feeds/society.rss"]
	body := res.plain.body
	minimal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		_, _ = w.Write(body)
	})
	cases := []struct {
		name string
		hdr  map[string]string
	}{
		{"plain", nil},
		{"gzip", map[string]string{"Accept-Encoding": "gzip, deflate, br"}},
		{"304", map[string]string{"If-None-Match": res.plain.etag}},
	}
	for _, c := range cases {
		req := httptest.NewRequest("GET", "/feeds/society.rss", nil)
		for k, v := range c.hdr {
			req.Header.Set(k, v)
		}
		for _, h := range []struct {
			name string
			h    http.Handler
		}{{"set", set}, {"minimal", minimal}} {
			b.Run(c.name+"/"+h.name, func(b *testing.B) {
				w := &discard{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					h.h.ServeHTTP(w, req)
				}
			})
		}
	}
}

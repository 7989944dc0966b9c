package audience_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/syndicated/syndicated/feeds/audience"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// BenchmarkHandler is what counting adds to a feed request (an individual
// reader's poll, the common case), against the handler alone.
func BenchmarkHandler(b *testing.B) {
	st := storagetest.SQLite(b)
	c, _ := audience.NewCounter(audience.Options{Store: st})
	c.Prepare(context.Background())
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	feedOf := func(string) (string, string, bool) { return "/feeds/society", "rss", true }
	req := httptest.NewRequest("GET", "/feeds/society.rss", nil)
	req.Header.Set("User-Agent", "NetNewsWire (RSS Reader; https://netnewswire.com/)")
	w := httptest.NewRecorder()
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", next}, {"counted", c.Handler(next, feedOf)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					bc.h.ServeHTTP(w, req)
				}
			})
		})
	}
}

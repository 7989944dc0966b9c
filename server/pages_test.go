package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/browsertest"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// Unknown pages and missing articles answer the site's HTML error page with
// the status from the error table; the API keeps its 405 and JSON.
func TestErrorPages(t *testing.T) {
	s := newServer(t, storagetest.SQLite(t), time.Date(2019, 6, 1, 12, 0, 0, 0, time.UTC))
	for _, c := range []struct {
		path   string
		status int
		words  string
	}{
		{"/no-such-page", 404, "Page not found"},
		{"/articles/unknown", 404, "Page not found"},
		{"/digests", 404, "Page not found"},
	} {
		rec := do(s, "GET", c.path, "")
		if rec.Code != c.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), c.words) {
			t.Errorf("GET %s: %d %s", c.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		for _, e := range browsertest.CheckHTML(rec.Body.Bytes()) {
			t.Errorf("GET %s: HTML: %s", c.path, e)
		}
	}
	if rec := do(s, "GET", "/api/articles", ""); rec.Code != 405 {
		t.Errorf("GET /api/articles: %d, want 405", rec.Code)
	}
	if rec := do(s, "POST", "/no-such-page", ""); rec.Code != 404 {
		t.Errorf("POST /no-such-page: %d, want 404", rec.Code)
	}
}

// The article page of a minimal article (no deck, photo, authors or
// series) is valid HTML too.
func TestMinimalArticlePage(t *testing.T) {
	s := newServer(t, storagetest.SQLite(t), time.Date(2019, 6, 1, 12, 0, 0, 0, time.UTC))
	body := `{"id":"bare","section":"society","headline":"Bare","published":"2019-05-02T10:00:00+08:00","body":["Only text."]}`
	if rec := do(s, "POST", "/api/articles", body, "Authorization", "Bearer "+token); rec.Code != 201 {
		t.Fatalf("push: %d %s", rec.Code, rec.Body)
	}
	rec := do(s, "GET", "/articles/bare", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Only text.") {
		t.Fatalf("article page: %d", rec.Code)
	}
	for _, e := range browsertest.CheckHTML(rec.Body.Bytes()) {
		t.Errorf("HTML: %s", e)
	}
	rec = do(s, "GET", "/", "")
	for _, e := range browsertest.CheckHTML(rec.Body.Bytes()) {
		t.Errorf("index HTML: %s", e)
	}
}

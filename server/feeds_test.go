package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/server"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/templates"
)

// newFeedServer wires the edge to a real feed Set over a real store.
func newFeedServer(t *testing.T) *httptest.Server {
	t.Helper()
	st := storagetest.SQLite(t)
	specs := []feeds.Spec{{Slug: "society", Kind: feeds.KindSection, Title: "Society", BaseURL: "http://news.example"}}
	b, err := feeds.NewBuilder(st, specs, feeds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	set := feeds.NewSet(b, feeds.SetOptions{})
	if _, err := set.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	pages, err := templates.New(templates.Site{Brand: templates.Brand{Name: "Test"}, BaseURL: "http://news.example",
		Feeds: []templates.Feed{{Slug: "society", Title: "Society", Links: []templates.FeedLink{{Format: "RSS", Path: "/feeds/society.rss", Type: "application/rss+xml"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Options{
		BaseURL: "http://news.example", Product: "Test", Feeds: set, Favicon: set.Favicon(), Pages: pages,
		Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

// TestFeedsDirectoryLeadsToIndex: /feeds and /feeds/ are no documents;
// they lead to the index page that lists every feed, never to a 404.
func TestFeedsDirectoryLeadsToIndex(t *testing.T) {
	srv := newFeedServer(t)
	noFollow := *srv.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, path := range []string{"/feeds", "/feeds/"} {
		for _, method := range []string{"GET", "HEAD"} {
			req, _ := http.NewRequest(method, srv.URL+path, nil)
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
				t.Errorf("%s %s: %d to %q, want 302 to /", method, path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `/feeds/society.rss"`) {
			t.Errorf("GET %s followed: %d, index lists no feed:\n%s", path, resp.StatusCode, body)
		}
	}
	resp, err := srv.Client().Get(srv.URL + "/feeds/society.rss")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/rss+xml") {
		t.Errorf("feed: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, err := srv.Client().Get(srv.URL + "/feeds/nothing.rss"); err != nil || resp.StatusCode != 404 {
		t.Errorf("unknown feed: %v %v", resp.StatusCode, err)
	}
}

// TestFavicon: /favicon.ico is served (the feeds' default icon), not 404.
func TestFavicon(t *testing.T) {
	srv := newFeedServer(t)
	for _, method := range []string{"GET", "HEAD"} {
		req, _ := http.NewRequest(method, srv.URL+"/favicon.ico", nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/x-icon" || resp.Header.Get("ETag") == "" {
			t.Errorf("%s /favicon.ico: %d %v", method, resp.StatusCode, resp.Header)
		}
		if method == "GET" && !strings.HasPrefix(string(body), "\x00\x00\x01\x00") {
			t.Errorf("favicon is not an ICO file")
		}
	}
}

package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/server"
	"github.com/syndicated/syndicated/server/clientip"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

const token = "server-test-token-0123456789"

// newServer wires the edge to a real store and importer, as serve does.
func newServer(t *testing.T, st storage.Storage, now time.Time) *server.Server {
	t.Helper()
	im := ingest.New(st, ingest.Options{Now: func() time.Time { return now }})
	s, err := server.New(server.Options{
		BaseURL: "http://news.example", Product: "Test", APIToken: token, MaxBodyBytes: 2048,
		Articles: im, Article: st.GetArticle, Ready: st.Ping, Registry: prometheus.NewRegistry(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(s http.Handler, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestArticleAPIEdgeCases(t *testing.T) {
	now := time.Date(2019, 6, 1, 12, 0, 0, 0, time.UTC)
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		s := newServer(t, st, now)
		auth := []string{"Authorization", "Bearer " + token, "Content-Type", "application/json"}
		good := `{"id":"edge-story","section":"society","headline":"Edge","published":"2019-05-01T10:00:00+08:00","body":["Text."]}`
		cases := []struct {
			name, method, path, body string
			hdr                      []string
			want                     int
			wantInBody               string
		}{
			{"no token", "POST", "/api/articles", good, []string{"Content-Type", "application/json"}, 401, "bearer token"},
			{"token in the wrong scheme", "POST", "/api/articles", good, []string{"Authorization", "Basic " + token}, 401, ""},
			{"not JSON", "POST", "/api/articles", good, []string{"Authorization", "Bearer " + token, "Content-Type", "text/plain"}, 415, "application/json"},
			{"too large", "POST", "/api/articles", `{"body":["` + strings.Repeat("x", 3000) + `"]}`, auth, 413, "2048"},
			{"unknown field named", "POST", "/api/articles", `{"id":"x","section":"society","headline":"h","published":"2019-05-01","colour":"red"}`, auth, 400, "colour"},
			{"a number for a string", "POST", "/api/articles", `{"id":"num","section":"society","headline":123,"published":"2019-05-01"}`, auth, 400, `"field":"headline"`},
			{"year 2", "POST", "/api/articles", `{"id":"old","section":"society","headline":"Old","published":"0002-05-01"}`, auth, 400, `"field":"published"`},
			{"created", "POST", "/api/articles", good, auth, 201, `"outcome":"created"`},
			{"same again", "POST", "/api/articles", good, auth, 200, `"outcome":"unchanged"`},
			{"withdraw unknown", "POST", "/api/articles/nope/withdraw", "", auth, 404, "no such article"},
			{"withdraw without token", "DELETE", "/api/articles/edge-story", "", nil, 401, ""},
			{"GET not allowed on the API", "GET", "/api/articles", "", auth, 405, ""},
		}
		for _, tc := range cases {
			rec := do(s, tc.method, tc.path, tc.body, tc.hdr...)
			if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.wantInBody) {
				t.Errorf("%s: %d %s, want %d with %q", tc.name, rec.Code, rec.Body, tc.want, tc.wantInBody)
			}
		}
		// A rejected push left the stored article as it was.
		a, err := st.GetArticle(context.Background(), "edge-story")
		if err != nil || a.Headline != "Edge" {
			t.Fatalf("stored article: %+v %v", a, err)
		}
		if rec := do(s, "GET", "/articles/edge-story", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "<h1>Edge</h1>") {
			t.Errorf("article page: %d", rec.Code)
		}
		if rec := do(s, "DELETE", "/api/articles/edge-story", "", auth...); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"withdrawn"`) {
			t.Errorf("withdraw: %d %s", rec.Code, rec.Body)
		}
		if rec := do(s, "GET", "/articles/edge-story", ""); rec.Code != 404 {
			t.Errorf("withdrawn article page: %d, want 404", rec.Code)
		}
	})
}

// Future-dated articles have no page until their time, like in feeds.
func TestArticlePageHidesFutureArticles(t *testing.T) {
	now := time.Date(2019, 6, 1, 12, 0, 0, 0, time.UTC)
	st := storagetest.SQLite(t)
	s := newServer(t, st, now)
	future := `{"id":"tomorrow","section":"society","headline":"Tomorrow","published":"2019-06-02T10:00:00+08:00","body":["Text."]}`
	if rec := do(s, "POST", "/api/articles", future, "Authorization", "Bearer "+token); rec.Code != 201 {
		t.Fatalf("push: %d %s", rec.Code, rec.Body)
	}
	if rec := do(s, "GET", "/articles/tomorrow", ""); rec.Code != 404 {
		t.Errorf("future article page: %d, want 404", rec.Code)
	}
}

func TestReadinessAndMetricLabels(t *testing.T) {
	st := storagetest.SQLite(t)
	s := newServer(t, st, time.Now())
	if rec := do(s, "GET", "/readyz", ""); rec.Code != 200 {
		t.Errorf("readyz: %d", rec.Code)
	}
	// Clients choose paths and methods; metrics must not grow a series per choice.
	for _, m := range []string{"BREW", "PROPFIND", "GET"} {
		do(s, m, "/no/such/path/"+m, "")
	}
	body := doFrom(s, "127.0.0.1:9999", "GET", "/metrics").Body.String()
	for _, want := range []string{`route="unmatched"`, `method="other"`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, leak := range []string{"BREW", "PROPFIND", "/no/such/path"} {
		if strings.Contains(body, leak) {
			t.Errorf("metrics carry the client-chosen %q", leak)
		}
	}
	st.Close()
	if rec := do(s, "GET", "/readyz", ""); rec.Code != 503 {
		t.Errorf("readyz with the database closed: %d, want 503", rec.Code)
	}
}

func TestHTTPServerHasTimeouts(t *testing.T) {
	s := newServer(t, storagetest.SQLite(t), time.Now())
	hs := s.HTTPServer("127.0.0.1:0", 10*time.Second, 30*time.Second, time.Minute)
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes <= 0 {
		t.Errorf("timeouts: %+v", hs)
	}
}

// doFrom is do from a client at remote (HOST:PORT), with headers.
func doFrom(s http.Handler, remote, method, path string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

// /metrics on the public listener: for loopback clients only unless
// configured public; the client found behind trusted proxies, and a
// request relayed by a proxy not trusted is no loopback client; with an
// admin listener, never.
func TestMetricsExposure(t *testing.T) {
	trusted, err := clientip.New([]netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}, "")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(o func(*server.Options)) *server.Server {
		opts := server.Options{BaseURL: "http://news.example", Product: "Test", Registry: prometheus.NewRegistry(),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Clients: trusted}
		if o != nil {
			o(&opts)
		}
		s, err := server.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	def := mk(nil)
	public := mk(func(o *server.Options) { o.PublicMetrics = true })
	admin := mk(func(o *server.Options) { o.AdminMetrics = true })
	for _, c := range []struct {
		name   string
		s      *server.Server
		remote string
		hdr    []string
		want   int
	}{
		{"default, a remote client", def, "192.0.2.1:1", nil, 404},
		{"default, loopback", def, "127.0.0.1:1", nil, 200},
		{"default, IPv6 loopback", def, "[::1]:1", nil, 200},
		{"default, relayed by a proxy not trusted", def, "127.0.0.1:1", []string{"X-Forwarded-For", "203.0.113.9"}, 404},
		{"default, relayed with Forwarded", def, "127.0.0.1:1", []string{"Forwarded", "for=127.0.0.1"}, 404},
		{"default, a remote client behind a trusted proxy", def, "10.0.0.1:1", []string{"X-Forwarded-For", "203.0.113.9"}, 404},
		{"default, a loopback client behind a trusted proxy", def, "10.0.0.1:1", []string{"X-Forwarded-For", "127.0.0.1"}, 200},
		{"default, a forged loopback hop from a remote client", def, "192.0.2.1:1", []string{"X-Forwarded-For", "127.0.0.1"}, 404},
		{"public", public, "192.0.2.1:1", nil, 200},
		{"admin listener, loopback", admin, "127.0.0.1:1", nil, 404},
	} {
		rec := doFrom(c.s, c.remote, "GET", "/metrics", c.hdr...)
		if rec.Code != c.want || (c.want == 200) != strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d, want %d", c.name, rec.Code, c.want)
		}
	}
	if rec := doFrom(admin.Admin(), "192.0.2.1:1", "GET", "/metrics"); rec.Code != 200 {
		t.Errorf("the admin listener: %d", rec.Code)
	}
}

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/server"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// lockedBuffer collects log output written from handler goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The edge over a real store and importer, served by a real listener,
// logging at debug level into the returned buffer.
func edgeServer(t *testing.T, opts server.Options, importer ...ingest.Options) (*server.Server, string, *lockedBuffer) {
	t.Helper()
	st := storagetest.SQLite(t)
	logs := &lockedBuffer{}
	var io ingest.Options
	if len(importer) > 0 {
		io = importer[0]
	}
	opts.BaseURL, opts.Product, opts.APIToken = "http://news.example", "Test", token
	opts.Articles, opts.Article, opts.Ready = ingest.New(st, io), st.GetArticle, st.Ping
	opts.Headlines = func(ctx context.Context) ([]*article.Article, error) {
		return st.ListArticles(ctx, article.Query{Limit: 10})
	}
	opts.Registry = prometheus.NewRegistry()
	opts.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL, logs
}

func send(t *testing.T, method, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestEveryPageHasSecurityHeaders(t *testing.T) {
	_, base, _ := edgeServer(t, server.Options{})
	for _, path := range []string{"/", "/no-such-page", "/articles/unknown"} {
		resp, body := send(t, "GET", base+path, "")
		if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %s is no page", path, resp.Header.Get("Content-Type"))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "script-src 'sha256-", "style-src 'sha256-", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code: %s", path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
		if strings.Contains(body, "<style>") != strings.Contains(csp, "style-src") {
			t.Errorf("%s: inline style and CSP disagree", path)
		}
	}
}

// Absolute links come from base_url, whatever Host the request names.
func TestAbsoluteLinksIgnoreTheHostHeader(t *testing.T) {
	_, base, _ := edgeServer(t, server.Options{})
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Host = "attacker.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "attacker.example") {
		t.Errorf("the page uses the request's Host in a link")
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	_, base, _ := edgeServer(t, server.Options{})
	good := `{"id":"lower-bearer","section":"society","headline":"Lower","published":"2019-05-01T10:00:00+08:00","body":["Text."]}`
	for i, auth := range []string{"bearer " + token, "BEARER " + token} {
		body := strings.Replace(good, "lower-bearer", "lower-bearer-"+string(rune('a'+i)), 1)
		if resp, b := send(t, "POST", base+"/api/articles", body, "Authorization", auth, "Content-Type", "application/json"); resp.StatusCode != 201 {
			t.Errorf("%q: %d %s", strings.Fields(auth)[0], resp.StatusCode, b)
		}
	}
	if resp, _ := send(t, "POST", base+"/api/articles", good, "Authorization", "bearer wrong-token"); resp.StatusCode != 401 {
		t.Errorf("a wrong token in lower case: %d", resp.StatusCode)
	}
}

func TestPushWithoutBodyOrWithUnknownSectionIsRefused(t *testing.T) {
	// The importer refuses an unconfigured section, as it does for files.
	_, base, _ := edgeServer(t, server.Options{}, ingest.Options{Sections: []article.SectionRule{{Slug: "society", Title: "Society", Aliases: []string{"社会"}}}})
	auth := []string{"Authorization", "Bearer " + token, "Content-Type", "application/json"}
	cases := []struct{ name, body, field, inError string }{
		{"no body", "", "body", "empty"},
		{"blank body", " \n", "body", "empty"},
		{"unknown section", `{"id":"sports-1","section":"Sports","headline":"H","published":"2019-05-01T10:00:00+08:00","body":["T."]}`, "section", `"Sports" is not a configured section (configured: society): add "Sports" to the aliases`},
		{"no section", `{"id":"none-1","headline":"H","published":"2019-05-01T10:00:00+08:00","body":["T."]}`, "section", "missing"},
	}
	for _, tc := range cases {
		resp, b := send(t, "POST", base+"/api/articles", tc.body, auth...)
		var e struct{ Error, Field string }
		_ = json.Unmarshal([]byte(b), &e)
		if resp.StatusCode != 400 || e.Field != tc.field || !strings.Contains(e.Error, tc.inError) {
			t.Errorf("%s: %d %s, want 400 naming %s", tc.name, resp.StatusCode, b, tc.field)
		}
	}
	if resp, _ := send(t, "GET", base+"/articles/sports-1", ""); resp.StatusCode != 404 {
		t.Errorf("the refused article has a page: %d", resp.StatusCode)
	}
	// A configured section written as its title or an alias is the same
	// slug.
	for i, name := range []string{"Society", "社会"} {
		ok := fmt.Sprintf(`{"id":"society-%d","section":%q,"headline":"H","published":"2019-05-01T10:00:00+08:00","body":["T."]}`, i, name)
		if resp, b := send(t, "POST", base+"/api/articles", ok, auth...); resp.StatusCode != 201 {
			t.Errorf("configured section %q: %d %s", name, resp.StatusCode, b)
		}
		if resp, b := send(t, "GET", base+fmt.Sprintf("/articles/society-%d", i), ""); resp.StatusCode != 200 {
			t.Errorf("article filed under %q: %d %s", name, resp.StatusCode, b)
		}
	}
}

func TestAdminMetricsLeaveThePublicListener(t *testing.T) {
	s, base, _ := edgeServer(t, server.Options{AdminMetrics: true})
	if resp, _ := send(t, "GET", base+"/metrics", ""); resp.StatusCode != 404 {
		t.Errorf("public /metrics with an admin listener: %d, want 404", resp.StatusCode)
	}
	send(t, "GET", base+"/", "")
	admin := httptest.NewServer(s.Admin())
	defer admin.Close()
	// The request is counted once its handler returns, which may be just
	// after the client has the answer.
	var resp *http.Response
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, body = send(t, "GET", admin.URL+"/metrics", "")
		if strings.Contains(body, `syndicated_http_requests_total{code="200",method="GET",route="GET /{$}"}`) || time.Now().After(deadline) {
			break
		}
	}
	if resp.StatusCode != 200 || !strings.Contains(body, `syndicated_http_requests_total{code="200",method="GET",route="GET /{$}"}`) {
		t.Errorf("admin /metrics: %d\n%.400s", resp.StatusCode, body)
	}
	if resp, _ := send(t, "GET", admin.URL+"/", ""); resp.StatusCode != 404 {
		t.Errorf("the admin listener serves pages: %d", resp.StatusCode)
	}
	_, base2, _ := edgeServer(t, server.Options{})
	if resp, _ := send(t, "GET", base2+"/metrics", ""); resp.StatusCode != 200 {
		t.Errorf("public /metrics without an admin listener: %d", resp.StatusCode)
	}
}

// A request the client gave up on is logged at debug level, not as an
// ERROR; every request has a debug access-log line without its query.
func TestCancelledRequestIsNoErrorAndAccessLog(t *testing.T) {
	s, base, logs := edgeServer(t, server.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", "/", nil))
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, "GET", "/articles/some-id", nil))
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a cancelled request logged an ERROR:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "request cancelled") {
		t.Errorf("the cancelled request left no debug line:\n%s", logs)
	}
	send(t, "GET", base+"/subscribe-nothing?token=secret-value", "")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "path=/subscribe-nothing status=404") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	line := logs.String()
	if !strings.Contains(line, `level=DEBUG msg="http request" method=GET path=/subscribe-nothing status=404`) {
		t.Errorf("no access-log line:\n%s", line)
	}
	if strings.Contains(line, "secret-value") {
		t.Errorf("the access log carries the query string")
	}
}

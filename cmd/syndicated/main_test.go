package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/syndicated/syndicated/internal/testkit"
)

// run runs one command line in-process and returns exit code and output.
func run(t *testing.T, ctx context.Context, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{stdout: &out, stderr: &errb, environ: environ}
	code := c.main(ctx, args)
	return code, out.String(), errb.String()
}

// serving starts `serve` on a free port with its own data dir and returns
// the base URL; the daemon is stopped (as by SIGTERM) at cleanup and must
// shut down cleanly.
func serving(t *testing.T, environ []string) (string, string) {
	t.Helper()
	data := t.TempDir()
	return servingIn(t, environ, data), data
}

// servingIn is serving with a given data directory, which several daemons
// may share.
func servingIn(t *testing.T, environ []string, data string) string {
	t.Helper()
	base, _ := servingLogged(t, environ, data)
	return base
}

// servingLogged is servingIn that also gives the daemon's log.
func servingLogged(t *testing.T, environ []string, data string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	errb := &syncBuffer{}
	c := &cli{stdout: io.Discard, stderr: errb, environ: environ, onServing: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() { done <- c.main(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0"}) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case code := <-done:
		t.Fatalf("serve exited with %d before listening:\n%s", code, errb.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start:\n%s", errb.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d on shutdown:\n%s", code, errb.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not shut down within 30 s of its context ending")
		}
	})
	return base, errb
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func parseFeed(t *testing.T, body []byte) *gofeed.Feed {
	t.Helper()
	f, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("gofeed: %v\n%s", err, body)
	}
	return f
}

// A fresh checkout with no config serves real-looking feeds at once.
func TestServeFreshStartServesSampleFeeds(t *testing.T) {
	base, _ := serving(t, nil)
	wantTypes := map[string]string{".rss": "application/rss+xml; charset=utf-8", ".atom": "application/atom+xml; charset=utf-8", ".json": "application/feed+json; charset=utf-8"}
	for _, p := range []string{"/feeds/society", "/feeds/series/shanghai-70th"} {
		for ext, ct := range wantTypes {
			resp, body := get(t, base+p+ext)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ct {
				t.Fatalf("%s%s: %d %q", p, ext, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			f := parseFeed(t, body)
			if len(f.Items) == 0 {
				t.Errorf("%s%s has no items", p, ext)
			}
			for _, it := range f.Items {
				if it.Title == "" || it.GUID == "" || it.PublishedParsed == nil {
					t.Errorf("%s%s: item %+v lacks title, guid or date", p, ext, it)
				}
				// Links without a canonical URL point at our own article page: it must exist.
				if strings.HasPrefix(it.Link, "http://127.0.0.1:8080/articles/") {
					resp, _ := get(t, base+strings.TrimPrefix(it.Link, "http://127.0.0.1:8080"))
					if resp.StatusCode != 200 {
						t.Errorf("item link %s: %d", it.Link, resp.StatusCode)
					}
				}
			}
			if p == "/feeds/society" && ext == ".rss" {
				for _, it := range f.Items {
					if strings.Contains(strings.ToLower(it.Title), "withdrawn") {
						t.Errorf("withdrawn sample in feed: %s", it.Title)
					}
				}
			}
		}
	}
	resp, body := get(t, base+"/")
	if resp.StatusCode != 200 || strings.Count(string(body), `rel="alternate"`) != 6 {
		t.Errorf("index: %d, %d alternate links", resp.StatusCode, strings.Count(string(body), `rel="alternate"`))
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, _ := get(t, base+p); resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	if _, body := get(t, base+"/metrics"); !bytes.Contains(body, []byte(`syndicated_http_requests_total{code="200",method="GET",route="/feeds/"}`)) {
		t.Errorf("metrics lack feed requests:\n%.2000s", body)
	}
	if resp, _ := get(t, base+"/feeds/nope.rss"); resp.StatusCode != 404 {
		t.Errorf("unknown feed: %d", resp.StatusCode)
	}
}

// A CMS push shows in the feeds right away, is idempotent, and a
// withdrawal takes the article out again.
func TestArticleAPIPushAndWithdraw(t *testing.T) {
	const token = "test-token-0123456789"
	base, _ := serving(t, []string{"SYNDICATED_HTTP_API_TOKEN=" + token, "SYNDICATED_HTTP_MAX_BODY_BYTES=4096"})
	body := `{"id":"api-pushed-story","section":"society","headline":"Pushed from the CMS","published":"2019-07-01T09:00:00+08:00","tags":["shanghai-70th"],"body":["First paragraph."]}`
	post := func(auth, payload string) (int, map[string]string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/articles", strings.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, _ := post("", body); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, _ := post("wrong-token-0123456789", body); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	if code, m := post(token, body); code != 201 || m["outcome"] != "created" {
		t.Fatalf("push: %d %v", code, m)
	}
	if code, m := post(token, body); code != 200 || m["outcome"] != "unchanged" {
		t.Errorf("same push again: %d %v", code, m)
	}
	if code, m := post(token, strings.Replace(body, `"headline":"Pushed from the CMS"`, `"headline":"Pushed from the CMS"`, 1)[:40]); code != 400 {
		t.Errorf("truncated JSON: %d %v", code, m)
	}
	if code, m := post(token, strings.Replace(body, `"headline":"Pushed from the CMS",`, `"headline":"",`, 1)); code != 400 || m["field"] != "headline" {
		t.Errorf("empty headline: %d %v", code, m)
	}
	if code, _ := post(token, `{"id":"x","body":["`+strings.Repeat("a", 5000)+`"]}`); code != 413 {
		t.Errorf("oversized body: %d", code)
	}
	waitFor(t, "pushed article in the series feed", func() bool {
		_, b := get(t, base+"/feeds/series/shanghai-70th.atom")
		return bytes.Contains(b, []byte("Pushed from the CMS"))
	})
	req, _ := http.NewRequest(http.MethodDelete, base+"/api/articles/api-pushed-story", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("withdraw: %v %v", err, resp)
	}
	resp.Body.Close()
	waitFor(t, "withdrawn article gone from the feed", func() bool {
		_, b := get(t, base+"/feeds/series/shanghai-70th.atom")
		return !bytes.Contains(b, []byte("Pushed from the CMS"))
	})
	req, _ = http.NewRequest(http.MethodDelete, base+"/api/articles/no-such-story", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, _ := http.DefaultClient.Do(req); resp == nil || resp.StatusCode != 404 {
		t.Errorf("withdraw unknown: %v", resp)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Importing a folder of ten files with three broken ones stores the seven
// good ones, names each broken file with its line, and exits non-zero;
// nothing stored before is lost.
func TestImportFolderWithBrokenFiles(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	good := func(i int) string {
		return fmt.Sprintf(`{"id":"story-%02d","section":"society","headline":"Story %d","published":"2019-05-%02dT10:00:00+08:00","body":["Text %d."]}`, i, i, i, i)
	}
	for i := 1; i <= 7; i++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("story-%02d.json", i)), good(i))
	}
	writeFile(t, filepath.Join(dir, "broken-json.json"), "{\n  \"headline\": \"x\",\n  \"section\": \n}")
	writeFile(t, filepath.Join(dir, "broken-field.json"), "{\n  \"section\": \"society\",\n  \"headline\": \"x\",\n  \"published\": \"yesterday\"\n}")
	writeFile(t, filepath.Join(dir, "broken-page.txt"), "Home / China / Society\n\nJust a headline and nothing else\n")

	// Something stored before the broken import must survive it.
	prior := filepath.Join(t.TempDir(), "prior.json")
	writeFile(t, prior, good(9))
	if code, _, errs := run(t, context.Background(), nil, "import", "--data", data, prior); code != 0 {
		t.Fatalf("prior import: %d %s", code, errs)
	}

	code, out, errs := run(t, context.Background(), nil, "import", "--data", data, dir)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, name := range []string{"broken-json.json:", "broken-field.json:4", "broken-page.txt"} {
		if !strings.Contains(errs, name) {
			t.Errorf("stderr does not name %q:\n%s", name, errs)
		}
	}
	if !strings.Contains(out, "7 created") {
		t.Errorf("stdout: %s", out)
	}
	// Re-import: the seven are unchanged, still exit 1 for the broken three.
	_, out, _ = run(t, context.Background(), nil, "import", "--data", data, dir)
	if !strings.Contains(out, "7 unchanged") {
		t.Errorf("second import: %s", out)
	}
	outDir := t.TempDir()
	if code, _, errs := run(t, context.Background(), []string{"SYNDICATED_SAMPLES=false"}, "feeds", "build", "--data", data, "--out", outDir); code != 0 {
		t.Fatalf("feeds build: %s", errs)
	}
	b, err := os.ReadFile(filepath.Join(outDir, "feeds", "society.json"))
	if err != nil {
		t.Fatal(err)
	}
	f := parseFeed(t, b)
	if len(f.Items) != 8 {
		t.Errorf("feed has %d items, want the 7 good ones and the prior one", len(f.Items))
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfigCheck(t *testing.T) {
	code, out, _ := run(t, context.Background(), []string{"SYNDICATED_SMTP_URL=smtp://user:hunter2@mail.example.org:587"}, "config", "check")
	if code != 0 || !strings.Contains(out, "config OK") || !strings.Contains(out, "shanghai-70th") {
		t.Errorf("config check: %d\n%s", code, out)
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("config check printed the SMTP password:\n%s", out)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	writeFile(t, bad, "[feeds]\nitems = 0\n")
	code, _, errs := run(t, context.Background(), nil, "config", "check", "--config", bad)
	if code != 1 || !strings.Contains(errs, "feeds.items") {
		t.Errorf("bad config: %d %s", code, errs)
	}
	if code, _, _ := run(t, context.Background(), nil, "no-such-command"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	example := filepath.Join(t.TempDir(), "example.toml")
	_, ex, _ := run(t, context.Background(), nil, "config", "example")
	writeFile(t, example, ex)
	if code, _, errs := run(t, context.Background(), nil, "config", "check", "--config", example); code != 0 {
		t.Errorf("the printed example does not check: %s", errs)
	}
}

func TestSubscribersCommands(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	csvPath := filepath.Join(t.TempDir(), "in.csv")
	testkit.Step(t, "add", func(t *testing.T) {
		if code, out, errs := run(t, ctx, nil, "subscribers", "add", "--data", data, "--confirmed", "--name", "Li Na", "Li.Na@Example.COM"); code != 0 || !strings.Contains(out, "Li.Na@example.com active") {
			t.Fatalf("add: %d %s %s", code, out, errs)
		}
		if code, out, _ := run(t, ctx, nil, "subscribers", "add", "--data", data, "pending@example.org"); code != 0 || !strings.Contains(out, "pending") {
			t.Fatalf("add pending: %d %s", code, out)
		}
		// Without SMTP the confirmation went to the .eml spool.
		if ms, _ := filepath.Glob(filepath.Join(data, "mail", "*.eml")); len(ms) != 1 {
			t.Errorf("spooled confirmation emails: %v", ms)
		}
	})
	testkit.Step(t, "import with a bad row", func(t *testing.T) {
		writeFile(t, csvPath, "Subscribers export\nemail,name\nok1@example.org,One\nnot-an-address,Two\nok2@example.org,Three\n")
		code, out, errs := run(t, ctx, nil, "subscribers", "import", "--data", data, csvPath)
		if code != 1 || !strings.Contains(errs, "in.csv:4") || !strings.Contains(out, "2 added") {
			t.Errorf("import: %d\n%s\n%s", code, out, errs)
		}
	})
	testkit.Step(t, "list --status active", func(t *testing.T) {
		_, out, _ := run(t, ctx, nil, "subscribers", "list", "--data", data, "--status", "active")
		for _, want := range []string{"Li.Na@example.com", "ok1@example.org", "ok2@example.org"} {
			if !strings.Contains(out, want) {
				t.Errorf("list lacks %s:\n%s", want, out)
			}
		}
		if strings.Contains(out, "pending@example.org") {
			t.Errorf("--status active listed a pending address")
		}
	})
	testkit.Step(t, "remove suppresses", func(t *testing.T) {
		if code, _, errs := run(t, ctx, nil, "subscribers", "remove", "--data", data, "ok1@example.org"); code != 0 {
			t.Fatalf("remove: %s", errs)
		}
		// A removed address cannot come back through an import.
		writeFile(t, csvPath, "email\nok1@example.org\n")
		_, out, _ := run(t, ctx, nil, "subscribers", "import", "--data", data, csvPath)
		if !strings.Contains(out, "1 suppressed") {
			t.Errorf("re-import of a removed address: %s", out)
		}
	})
	testkit.Step(t, "export", func(t *testing.T) {
		_, out, _ := run(t, ctx, nil, "subscribers", "export", "--data", data)
		if strings.Contains(out, "ok1@example.org") || !strings.Contains(out, "ok2@example.org") {
			t.Errorf("export:\n%s", out)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines to log into.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// Files dropped into content_dir show up in the feeds at the next
// scheduled build, and the output directory gets the same bytes as served.
func TestContentDirScannedOnSchedule(t *testing.T) {
	content, out := t.TempDir(), t.TempDir()
	base, _ := serving(t, []string{
		"SYNDICATED_CONTENT_DIR=" + content,
		"SYNDICATED_FEEDS_SCHEDULE=@every 1s",
		"SYNDICATED_FEEDS_OUTPUT_DIR=" + out,
		"SYNDICATED_SAMPLES=false",
	})
	writeFile(t, filepath.Join(content, "dropped-in.md"), "---\nsection: society\nheadline: Dropped into the content directory\npublished: 2019-08-01T10:00:00+08:00\n---\nA paragraph of original text.\n")
	writeFile(t, filepath.Join(content, "broken.json"), "{")
	waitFor(t, "dropped-in article in the served feed", func() bool {
		_, b := get(t, base+"/feeds/society.json")
		return bytes.Contains(b, []byte("Dropped into the content directory"))
	})
	waitFor(t, "output directory holding the served bytes", func() bool {
		_, served := get(t, base+"/feeds/society.json")
		written, err := os.ReadFile(filepath.Join(out, "feeds", "society.json"))
		return err == nil && bytes.Equal(served, written)
	})
}

package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
)

// The daemon serve runs builds a future-dated (embargoed) article into
// the feeds when it comes due: its feed runner is given the store's
// NextPublication. The schedule is once a year and nothing else changes
// the store, so only that timer can build it.
func TestDaemonBuildsAFutureDatedArticleWhenItComesDue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "syndicated.toml")
	toml := "samples = false\n[feeds]\nschedule = \"0 0 1 1 *\"\npoll_interval = \"0s\"\n"
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a, err := Open(context.Background(), Options{ConfigPath: path, DataDir: t.TempDir(), Logs: &logs})
	if err != nil {
		t.Fatalf("Open: %v\n%s", err, logs.String())
	}
	defer a.Close()
	due := time.Now().Add(2 * time.Second).Truncate(time.Second)
	if _, err := a.Store.PutArticle(context.Background(), &article.Article{ID: "embargoed", GUID: "urn:test:embargoed",
		Section: "society", Headline: "Under embargo for two seconds", Published: due, Updated: due, Language: "en",
		Body: []article.Page{{Number: 1, Paragraphs: []string{"Text."}}}, Status: article.StatusPublished}, time.Now()); err != nil {
		t.Fatal(err)
	}

	d, err := NewDaemon(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- d.Serve(ctx, "127.0.0.1:0", func(s string) { addr <- s }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	var base string
	select {
	case base = <-addr:
	case err := <-done:
		t.Fatalf("Serve: %v\n%s", err, logs.String())
	}
	feed := func() string {
		t.Helper()
		resp, err := http.Get("http://" + base + "/feeds/society.atom")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if time.Now().Before(due) && strings.Contains(feed(), "Under embargo") {
		t.Fatal("the article is served before its publication time")
	}
	deadline := due.Add(20 * time.Second)
	for !strings.Contains(feed(), "Under embargo") {
		if time.Now().After(deadline) {
			t.Fatalf("the article is not served after its publication time\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

package ingest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// Every way into the importer tells its hooks what it stored or refused,
// once per call, after the store was written: a scan of files as one
// event, an API push or withdrawal as one event of one article.
func TestHooksHearEveryChange(t *testing.T) {
	st := storagetest.SQLite(t)
	var mu sync.Mutex
	var events []ingest.Event
	hook := func(ctx context.Context, e ingest.Event) {
		// The store was written before the hook is told.
		for _, f := range e.Files {
			if f.Err == nil {
				if _, err := st.GetArticle(ctx, f.ID); err != nil {
					t.Errorf("hook told of %s before it was stored: %v", f.ID, err)
				}
			}
		}
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	im := ingest.New(st, ingest.Options{Zone: newsroomZone(), Hooks: []ingest.Hook{hook}})
	take := func() []ingest.Event {
		mu.Lock()
		defer mu.Unlock()
		out := events
		events = nil
		return out
	}
	ctx := t.Context()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"good.json":   `{"id":"good","section":"society","headline":"Good","published":"2019-05-01T10:00:00+08:00","body":["One."]}`,
		"broken.json": `{"id":"broken",`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		do      func() error
		source  ingest.Source
		files   int
		changed bool
	}{
		{"scan", func() error { _, err := im.ImportPaths(ctx, dir); return err }, ingest.SourceFiles, 2, true},
		{"scan again", func() error { return im.Scan(ctx, dir) }, ingest.SourceFiles, 2, false},
		{"push", func() error {
			_, err := im.PushArticle(ctx, []byte(`{"id":"pushed","section":"society","headline":"Pushed","published":"2019-05-01T10:00:00+08:00","body":["One."]}`))
			return err
		}, ingest.SourceAPI, 1, true},
		{"bad push", func() error {
			if _, err := im.PushArticle(ctx, []byte(`{"id":"x"`)); !errors.Is(err, article.ErrInvalid) {
				return errors.New("a broken push was not refused as invalid")
			}
			return nil
		}, ingest.SourceAPI, 1, false},
		{"withdraw", func() error { _, err := im.Withdraw(ctx, "pushed"); return err }, ingest.SourceAPI, 1, true},
		{"withdraw unknown", func() error {
			if _, err := im.Withdraw(ctx, "no-such"); !errors.Is(err, article.ErrNotFound) {
				return errors.New("withdrawing an unknown id did not say not found")
			}
			return nil
		}, ingest.SourceAPI, 1, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.do(); err != nil {
				t.Fatal(err)
			}
			got := take()
			if len(got) != 1 {
				t.Fatalf("%d events, want 1", len(got))
			}
			e := got[0]
			if e.Source != s.source || len(e.Files) != s.files || e.Changed() != s.changed {
				t.Errorf("event: source %q, %d files, changed %v; want %q, %d, %v", e.Source, len(e.Files), e.Changed(), s.source, s.files, s.changed)
			}
		})
	}
}

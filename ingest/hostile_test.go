package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// importWithin runs ImportPaths and fails the test when it has not
// returned within d (a read that blocks would hang it for ever).
func importWithin(t *testing.T, d time.Duration, im *ingest.Importer, paths ...string) ingest.Report {
	t.Helper()
	type out struct {
		rep ingest.Report
		err error
	}
	done := make(chan out, 1)
	go func() {
		rep, err := im.ImportPaths(context.Background(), paths...)
		done <- out{rep, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			t.Fatal(o.err)
		}
		return o.rep
	case <-time.After(d):
		t.Fatalf("ImportPaths(%v) has not returned after %s", paths, d)
	}
	return ingest.Report{}
}

// A content directory with a FIFO, a link to /dev/zero, a file over the
// size limit and an alias bomb beside good files: the good ones are
// stored, each bad one is reported with its name and why, and the import
// returns at once. Named on the command line, the FIFO and the link are
// refused the same way.
func TestSpecialFilesNeverBlockTheOthers(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		dir := t.TempDir()
		copyFile(t, filepath.Join("structured", "testdata", "full.json"), filepath.Join(dir, "canal.json"))
		copyFile(t, filepath.Join("structured", "testdata", "full.md"), filepath.Join(dir, "tea.md"))
		if err := syscall.Mkfifo(filepath.Join(dir, "stuck.md"), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		if err := os.Symlink("/dev/zero", filepath.Join(dir, "z.json")); err != nil {
			t.Fatal(err)
		}
		big := `{"section":"society","headline":"Big","body":["` + strings.Repeat("word ", 3000) + `"]}`
		if err := os.WriteFile(filepath.Join(dir, "big.json"), []byte(big), 0o644); err != nil {
			t.Fatal(err)
		}
		bomb := "---\nsection: society\nheadline: Bomb\ntags:\n  - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
		for i, prev := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
			name := string(rune('b' + i))
			bomb += fmt.Sprintf("  - &%s [*%[2]s, *%[2]s, *%[2]s, *%[2]s, *%[2]s, *%[2]s, *%[2]s, *%[2]s, *%[2]s]\n", name, prev)
		}
		bomb += "---\nBody.\n"
		if err := os.WriteFile(filepath.Join(dir, "bomb.md"), []byte(bomb), 0o644); err != nil {
			t.Fatal(err)
		}
		c := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
		cfg := config.Default()
		im := ingest.New(s, ingest.Options{Now: c.Now, Rules: cfg.SeriesRules(), Zone: newsroomZone(), MaxFileBytes: 8 << 10})

		rep := importWithin(t, 20*time.Second, im, dir)
		if got := rep.Count(article.Created); got != 2 {
			t.Errorf("%d created, want the two good files: %v", got, outcomes(rep))
		}
		why := map[string]string{
			"stuck.md": "not a regular file but a named pipe",
			"z.json":   "not a regular file but a character device",
			"big.json": "more than the limit of 8192",
			"bomb.md":  "expands to more than 10000 values",
		}
		failed := map[string]error{}
		for _, f := range rep.Failed() {
			failed[filepath.Base(f.File)] = f.Err
		}
		if len(failed) != len(why) {
			t.Errorf("failed: %v, want %d", failed, len(why))
		}
		for name, reason := range why {
			err := failed[name]
			var ie *ingest.Error
			if !errors.As(err, &ie) || ie.File != filepath.Join(dir, name) || !strings.Contains(err.Error(), reason) ||
				!errors.Is(err, article.ErrInvalid) {
				t.Errorf("%s: err = %v, want it named with %q", name, err, reason)
			}
		}
		if !strings.Contains(rep.String(), "4 failed") {
			t.Errorf("summary: %s", rep.String())
		}
		if _, err := s.GetArticle(context.Background(), "canal-clean-up"); err != nil {
			t.Errorf("the good JSON file was not stored: %v", err)
		}

		// The same files named on the command line.
		rep = importWithin(t, 20*time.Second, im, filepath.Join(dir, "stuck.md"), filepath.Join(dir, "z.json"))
		if len(rep.Failed()) != 2 {
			t.Errorf("named FIFO and link: %v", outcomes(rep))
		}
		for _, f := range rep.Failed() {
			if !strings.Contains(f.Err.Error(), "not a regular file") {
				t.Errorf("%s: %v", f.File, f.Err)
			}
		}
	})
}

// blockingFS is a file system whose file "stuck.json" never finishes
// opening (a stalled network mount), until release is closed.
type blockingFS struct {
	fstest.MapFS
	release chan struct{}
}

func (b blockingFS) Open(name string) (fs.File, error) {
	if name == "stuck.json" {
		<-b.release
	}
	return b.MapFS.Open(name)
}

// A file whose read blocks costs a scan ReadTimeout and no more: the
// other files are imported; and when the context ends (SIGTERM) the
// import returns at once.
func TestBlockedReadNeverBlocksScanOrShutdown(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		good, err := os.ReadFile(filepath.Join("structured", "testdata", "full.json"))
		if err != nil {
			t.Fatal(err)
		}
		fsys := blockingFS{MapFS: fstest.MapFS{
			"canal.json": {Data: good},
			"stuck.json": {Data: []byte(`{"section":"society","headline":"Stuck"}`)},
		}, release: make(chan struct{})}
		t.Cleanup(func() { close(fsys.release) })
		c := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
		im := ingest.New(s, ingest.Options{Now: c.Now, Zone: newsroomZone(), ReadTimeout: 200 * time.Millisecond})

		start := time.Now()
		rep, err := im.ImportFS(context.Background(), fsys, ".")
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("the scan took %s", took)
		}
		if rep.Count(article.Created) != 1 || len(rep.Failed()) != 1 || !strings.Contains(rep.Failed()[0].Err.Error(), "stuck.json: not read within 200ms") {
			t.Errorf("report: %v %v", outcomes(rep), rep.Err())
		}

		// Shutdown: the context ends while the read blocks.
		im = ingest.New(s, ingest.Options{Now: c.Now, Zone: newsroomZone(), ReadTimeout: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		done := make(chan error, 1)
		go func() {
			_, err := im.ImportFS(ctx, fsys, ".")
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled import: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a blocked read held the import after its context ended")
		}
	})
}

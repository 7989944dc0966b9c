package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/internal/netguard"
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

// imageServer answers HEAD for an image, counting the requests it gets.
func imageServer(t *testing.T, addr string, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits
}

func jpeg(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", "48213")
}

// The photo probe never asks a loopback, private or link-local address,
// whatever the URL names (an address, a name that resolves to one) and
// wherever a redirect leads, unless the address is allowed; the article
// is stored all the same, its photo size unknown.
func TestPhotoProbeRefusesInternalAddresses(t *testing.T) {
	img, hits := imageServer(t, "127.0.0.1:0", jpeg)
	_, port, _ := net.SplitHostPort(img.Listener.Addr().String())
	probe := ingest.HTTPPhotoProbe(nil)
	ctx := context.Background()
	for _, u := range []string{img.URL + "/lead.jpg", "http://localhost:" + port + "/lead.jpg", "http://[::ffff:127.0.0.1]:" + port + "/lead.jpg"} {
		if _, _, err := probe(ctx, u); !errors.Is(err, netguard.ErrRefused) {
			t.Errorf("probe %s: %v, want refused", u, err)
		}
	}
	for _, a := range []string{"10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "fd00::1", "fe80::1", "::1"} {
		if err := (netguard.Policy{}).Check(netip.MustParseAddr(a)); !errors.Is(err, netguard.ErrRefused) {
			t.Errorf("%s: %v, want refused", a, err)
		}
	}
	if err := (netguard.Policy{}).Check(netip.MustParseAddr("93.184.216.34")); err != nil {
		t.Errorf("a public address: %v", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the loopback image server got %d requests", hits.Load())
	}

	// Allowed: the internal image server answers; a redirect from it to
	// another loopback address, not allowed, is refused.
	inner, innerHits := imageServer(t, "127.0.0.2:0", jpeg)
	redirect, _ := imageServer(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL+"/lead.jpg", http.StatusFound)
	})
	allowed := ingest.HTTPPhotoProbe(ingest.PhotoProbeClient([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}))
	if n, mt, err := allowed(ctx, img.URL+"/lead.jpg"); err != nil || n != 48213 || mt != "image/jpeg" {
		t.Errorf("allowed address: %d %q %v", n, mt, err)
	}
	if _, _, err := allowed(ctx, redirect.URL+"/lead.jpg"); !errors.Is(err, netguard.ErrRefused) || innerHits.Load() != 0 {
		t.Errorf("redirect to a loopback address not allowed: %v (%d requests there)", err, innerHits.Load())
	}

	// Through the importer: stored, size unknown.
	hits.Store(0)
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		c := &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
		im := ingest.New(s, ingest.Options{Now: c.Now, PhotoProbe: probe})
		doc := `{"id":"inner-photo","section":"society","headline":"Photo story","published":"2019-05-01T10:00:00+08:00",` +
			`"photo":{"url":"http://localhost:` + port + `/lead.jpg"},"body":["Text."]}`
		res, err := im.ImportBytes(ctx, "a.json", ingest.FormatJSON, []byte(doc))
		if err != nil || res.Outcome != article.Created || res.Article.Photo.Length != 0 {
			t.Errorf("import: %v %+v", err, res)
		}
	})
	if hits.Load() != 0 {
		t.Errorf("the loopback image server got %d requests", hits.Load())
	}
}

// Dates outside the accepted range are refused with the field named: a
// year-2 article would open an archive page for every month since.
func TestDatesOutOfRange(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
		im := ingest.New(s, ingest.Options{Now: func() time.Time { return now }, Zone: newsroomZone()})
		doc := func(published, updated string) []byte {
			return []byte(`{"id":"dated","section":"society","headline":"Dated","published":"` + published + `","updated":"` + updated + `","body":["Text."]}`)
		}
		for _, tc := range []struct{ published, updated, field, why string }{
			{"0002-04-24T08:00:00+08:00", "2019-04-24T08:00:00+08:00", "published", "before 1980-01-01"},
			{"2019-04-24T08:00:00+08:00", "2219-04-24T08:00:00+08:00", "updated", "after 2025-03-02"},
		} {
			_, err := im.ImportBytes(ctx, "dated.json", ingest.FormatJSON, doc(tc.published, tc.updated))
			var fe *article.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), "dated.json: "+tc.field+": ") || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("%s/%s: %v, want %s refused (%s)", tc.published, tc.updated, err, tc.field, tc.why)
			}
		}
		if n, _ := s.CountArticles(ctx, article.Query{}); n != 0 {
			t.Errorf("%d articles stored", n)
		}
		// The bounds are configurable; within them, the article is stored.
		im = ingest.New(s, ingest.Options{Now: func() time.Time { return now }, Earliest: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), MaxAhead: 24 * time.Hour})
		if _, err := im.ImportBytes(ctx, "dated.json", ingest.FormatJSON, doc("2019-04-24T08:00:00+08:00", "2019-04-25T08:00:00+08:00")); err == nil || !strings.Contains(err.Error(), "before 2020-01-01") {
			t.Errorf("configured earliest: %v", err)
		}
		if _, err := im.ImportBytes(ctx, "dated.json", ingest.FormatJSON, doc("2024-02-24T08:00:00+08:00", "2024-03-02T08:00:00+08:00")); err != nil {
			t.Errorf("within the bounds: %v", err)
		}
	})
}

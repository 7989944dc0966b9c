package ingest_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// What "syndicated import" shows: a line per stored file (outcome, id,
// file), each rejected file on the error stream with its file and line,
// then the counts.
func TestReportWrite(t *testing.T) {
	im, _ := newImporter(storagetest.SQLite(t))
	dir := t.TempDir()
	copyFile(t, filepath.Join("textpage", "testdata", "xinhua.txt"), filepath.Join(dir, "ferry.txt"))
	bad := "{\n\"id\": \"broken\",\n\"colour\": 1}"
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := im.ImportPaths(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	rep.Write(&out, &errs)
	want := "created      ferry (" + filepath.Join(dir, "ferry.txt") + ")\n" +
		"2 files: 1 created, 0 edited, 0 reclassified, 0 unchanged, 1 failed\n"
	if out.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), want)
	}
	if e := errs.String(); !strings.HasPrefix(e, "error: "+filepath.Join(dir, "broken.json")+":3:") || strings.Count(e, "\n") != 1 {
		t.Errorf("stderr: %q", e)
	}
}

// The import command hears only what the importer changed in a file it
// kept (an image left out of a Markdown body), with file and line; the
// per-file lines are its own.
func TestOnlyParseWarnings(t *testing.T) {
	var logs bytes.Buffer
	st := storagetest.SQLite(t)
	cfg := config.Default()
	im := ingest.New(st, ingest.Options{GUIDAuthority: "syndicated.example", Rules: cfg.SeriesRules(), Zone: newsroomZone(),
		Logger: slog.New(ingest.OnlyParseWarnings(slog.NewTextHandler(&logs, nil))).With("run", 1)})
	dir := t.TempDir()
	md := "---\nid: chart\nsection: society\nheadline: A chart\npublished: 2019-04-30T10:00:00+08:00\n---\n" +
		"![a chart](https://example.com/chart.png) Chart above.\n"
	if err := os.WriteFile(filepath.Join(dir, "chart.md"), []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := im.ImportPaths(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	got := logs.String()
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, `level=WARN msg="`+ingest.ParseWarning+`" run=1`) ||
		!strings.Contains(got, `chart.md:7: image \"https://example.com/chart.png\" left out`) {
		t.Errorf("log:\n%s", got)
	}
}

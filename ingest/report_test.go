package ingest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

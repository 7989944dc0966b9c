package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// Backup copies a SQLite database with an article into a file that passes
// the integrity check, opens as a store holding the article, and is at
// the source's schema version; a PostgreSQL URL gets the pg_dump answer
// without its password.
func TestBackup(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	st, err := storage.Open(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	pub := time.Date(2019, 5, 27, 9, 0, 0, 0, time.UTC)
	if _, err := st.PutArticle(ctx, &article.Article{ID: "backed-up", GUID: "urn:test:backed-up", Section: "society", Headline: "Kept in the copy",
		Published: pub, Updated: pub, Status: article.StatusPublished, Body: []article.Page{{Number: 1, Paragraphs: []string{"Text."}}}}, pub); err != nil {
		t.Fatal(err)
	}
	// The copy is taken while the store is open, as while serve runs.
	defer st.Close()
	out := filepath.Join(t.TempDir(), "copy.db")
	res, err := storage.Backup(ctx, "", data, out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := storage.SchemaVersion(ctx, "", data)
	if err != nil || want == 0 {
		t.Fatalf("schema version of the source: %d, %v", want, err)
	}
	if got, wantLine := res.String(), fmt.Sprintf("backed up %s to %s (%d bytes, schema version %d, integrity ok)", res.From, out, res.Bytes, want); got != wantLine {
		t.Errorf("the report says %q, want %q", got, wantLine)
	}
	if res.To != out || res.From != filepath.Join(data, storage.DefaultSQLiteFile) || res.Bytes == 0 || res.SchemaVersion != want {
		t.Errorf("result %+v, want the copy of %s at version %d", res, filepath.Join(data, storage.DefaultSQLiteFile), want)
	}
	if _, err := os.Stat(out + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary copy was left behind: %v", err)
	}
	restored := t.TempDir()
	if err := os.Rename(out, filepath.Join(restored, storage.DefaultSQLiteFile)); err != nil {
		t.Fatal(err)
	}
	cp, err := storage.Open(ctx, "", restored)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if a, err := cp.GetArticle(ctx, "backed-up"); err != nil || a.Headline != "Kept in the copy" {
		t.Errorf("the copy's article: %+v, %v", a, err)
	}

	_, err = storage.Backup(ctx, "postgres://u:secretpw@db.invalid/x", data, out)
	if !errors.Is(err, storage.ErrUsePgDump) || strings.Contains(err.Error(), "secretpw") {
		t.Errorf("backup of PostgreSQL: %v", err)
	}
	if _, err := storage.Backup(ctx, "", t.TempDir(), out); err == nil {
		t.Error("backup of a data directory without a database succeeded")
	}
}

// Migrate creates the schema of a new database and reports 0 → N, then
// N → N; SchemaVersion reads N without migrating. On both backends.
func TestMigrateAndSchemaVersion(t *testing.T) {
	for _, backend := range []struct {
		name string
		url  func(tb testing.TB) string
	}{
		{"sqlite", func(testing.TB) string { return "" }},
		{"postgres", storagetest.PostgresURL},
	} {
		t.Run(backend.name, func(t *testing.T) {
			ctx := t.Context()
			dbURL, data := backend.url(t), filepath.Join(t.TempDir(), "new")
			if _, err := storage.SchemaVersion(ctx, dbURL, data); err == nil {
				t.Error("a schema version for a database never migrated")
			}
			first, err := storage.Migrate(ctx, dbURL, data)
			after := first.After
			if err != nil || first.Before != 0 || after == 0 {
				t.Fatalf("first migrate: %d → %d, %v", first.Before, after, err)
			}
			if want := fmt.Sprintf("%s: migrated from schema version 0 to %d", storage.Describe(dbURL, data), after); first.String() != want {
				t.Errorf("first migrate says %q, want %q", first, want)
			}
			again, err := storage.Migrate(ctx, dbURL, data)
			if err != nil || again.Before != after || again.After != after {
				t.Errorf("second migrate: %d → %d, %v; want %d → %d", again.Before, again.After, err, after, after)
			}
			if want := fmt.Sprintf("%s: schema version %d, up to date", storage.Describe(dbURL, data), after); again.String() != want {
				t.Errorf("second migrate says %q, want %q", again, want)
			}
			if v, err := storage.SchemaVersion(ctx, dbURL, data); err != nil || v != after {
				t.Errorf("SchemaVersion = %d, %v; want %d", v, err, after)
			}
		})
	}
}

// Without a configured secret, the key comes from DATA/secret when an
// earlier version left one there, else from the store; the configured one
// wins over both.
func TestHMACKeyResolutionOrder(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	st := storagetest.SQLite(t)

	fromDB, src, err := storage.HMACKey(ctx, "", data, st)
	if err != nil || src != "database" || len(fromDB) != 64 {
		t.Fatalf("no config, no file: %d bytes from %q, %v; want 64 hex characters from the database", len(fromDB), src, err)
	}
	if _, err := os.Stat(filepath.Join(data, "secret")); err == nil {
		t.Error("a generated secret was written to DATA/secret")
	}
	again, _, err := storage.HMACKey(ctx, "", t.TempDir(), st)
	if err != nil || !bytes.Equal(again, fromDB) {
		t.Errorf("second resolution on the same store (another data dir) differs: %v", err)
	}

	legacy := strings.Repeat("ab", 32)
	if err := os.WriteFile(filepath.Join(data, "secret"), []byte(legacy+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, src, err := storage.HMACKey(ctx, "", data, st)
	if err != nil || string(got) != legacy || !strings.HasPrefix(src, "file ") {
		t.Errorf("existing DATA/secret: %q from %q, %v; want the file's key", got, src, err)
	}

	const configured = "configured-secret-0123"
	got, src, err = storage.HMACKey(ctx, configured, data, st)
	if err != nil || string(got) != configured || src != "config" {
		t.Errorf("configured: %q from %q, %v", got, src, err)
	}
	if _, _, err := storage.HMACKey(ctx, "too-short", data, st); err == nil {
		t.Error("a configured secret under 16 characters was accepted")
	}
}

func TestCheckDataDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir, want string // want "" = usable
	}{
		{dir, ""},
		{filepath.Join(dir, "to-create"), ""},
		{file, "is not a directory"},
		{filepath.Join(dir, "a", "b"), "is not a directory to create it in"},
	} {
		err := storage.CheckDataDir(c.dir)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckDataDir(%s) = %v, want %q", c.dir, err, c.want)
		}
	}
}

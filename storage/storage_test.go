package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syndicated/syndicated/storage"
)

func TestOpenSQLiteURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "abs.db")
	cases := map[string]string{
		"":                   filepath.Join(dir, "d1", "syndicated.db"),
		"sqlite:":            filepath.Join(dir, "d2", "syndicated.db"),
		"sqlite:my.db":       filepath.Join(dir, "d3", "my.db"),
		"sqlite://sub/my.db": filepath.Join(dir, "d4", "sub", "my.db"),
		"file:x.db?mode=rwc": filepath.Join(dir, "d5", "x.db"),
		"sqlite://" + abs:    abs,
	}
	i := 0
	for u, want := range cases {
		i++
		data := filepath.Dir(want)
		if strings.HasPrefix(u, "sqlite://sub") {
			data = filepath.Dir(data)
		}
		if strings.Contains(u, abs) {
			data = filepath.Join(dir, "unused")
		}
		s, err := storage.Open(ctx, u, data)
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Error(err)
		}
		s.Close()
		if _, err := os.Stat(want); err != nil {
			t.Errorf("Open(%q): %v", u, err)
		}
	}
	// Reopening applies no migration twice.
	s, err := storage.Open(ctx, "", filepath.Join(dir, "d1"))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s.Close()
}

func TestOpenUnknownSchemeRedacts(t *testing.T) {
	_, err := storage.Open(context.Background(), "mysql://user:s3cret@db/x", t.TempDir())
	if !errors.Is(err, storage.ErrUnsupportedURL) || !strings.Contains(err.Error(), `"mysql"`) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("password leaked: %v", err)
	}
	_, err = storage.Open(context.Background(), "postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=1", t.TempDir())
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("postgres error leaks or nil: %v", err)
	}
	if got := storage.Redact("postgres://u:pw@h/db?password=pw2"); strings.Contains(got, "pw") && !strings.Contains(got, "xxxxx") {
		t.Errorf("Redact = %s", got)
	}
	if got := storage.Redact("postgres://u:pw@h/db?password=pw2"); strings.Contains(got, ":pw@") || strings.Contains(got, "pw2") {
		t.Errorf("Redact = %s", got)
	}
}

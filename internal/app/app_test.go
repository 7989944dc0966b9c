package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/mail"
)

// A configuration of one section and two series, the built-in hub, and
// no SMTP server.
const testTOML = `
base_url = "https://news.example.org/"
samples = false

[feeds]
hub = "builtin"

[[sections]]
slug = "business"
title = "Business"

[[series]]
slug = "harbour"
title = "The harbour series"
tags = ["harbour"]
cadences = ["weekly", "daily"]

[[series]]
slug = "river"
title = "The river series"
tags = ["river"]
`

// open opens an App from testTOML on a fresh data directory (SQLite).
func open(t *testing.T, data string, logs *bytes.Buffer) *App {
	t.Helper()
	path := filepath.Join(t.TempDir(), "syndicated.toml")
	if err := os.WriteFile(path, []byte(testTOML), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := Open(context.Background(), Options{ConfigPath: path, Environ: []string{"SYNDICATED_LOG_LEVEL=debug"},
		DataDir: data, Logs: logs, Version: "v1.2.3-test"})
	if err != nil {
		t.Fatalf("Open: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Error(err)
		}
	})
	return a
}

// Open creates the data directory, opens the SQLite store in it and
// generates a secret once, kept in the store (not logged, not in a file):
// opening again resolves the same one.
func TestOpenGeneratesTheSecretOnce(t *testing.T) {
	data := filepath.Join(t.TempDir(), "not-yet")
	var logs bytes.Buffer
	first := open(t, data, &logs)
	if len(first.Secret) < 32 {
		t.Fatalf("secret of %d bytes, want at least 32", len(first.Secret))
	}
	if bytes.Contains(logs.Bytes(), first.Secret) {
		t.Errorf("the secret was logged:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(data, "syndicated.db")); err != nil {
		t.Errorf("no SQLite database in the data directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "secret")); err == nil {
		t.Error("the generated secret was written to a file")
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if again := open(t, data, &bytes.Buffer{}); !bytes.Equal(again.Secret, first.Secret) {
		t.Error("a second Open on the same store resolved another secret")
	}
}

// Open reports a configuration that does not load, naming the key.
func TestOpenRefusesABadConfig(t *testing.T) {
	_, err := Open(context.Background(), Options{Environ: []string{"SYNDICATED_FEEDS_ITEMS=many"}, DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "feeds.items") {
		t.Fatalf("Open = %v, want an error naming feeds.items", err)
	}
}

// FeedSpecs follow the configuration: every section, then every series,
// each naming the built-in hub under base_url.
func TestFeedSpecsFollowTheConfig(t *testing.T) {
	a := open(t, t.TempDir(), &bytes.Buffer{})
	var got []string
	for _, s := range a.FeedSpecs() {
		n, err := s.Normalize()
		if err != nil {
			t.Fatalf("%s: %v", s.Slug, err)
		}
		got = append(got, n.Path)
		if n.HubURL != "https://news.example.org/websub" {
			t.Errorf("%s: hub %q, want the built-in one under base_url", n.Slug, n.HubURL)
		}
	}
	want := []string{"/feeds/business", "/feeds/series/harbour", "/feeds/series/river"}
	if !slices.Equal(got, want) {
		t.Errorf("feeds %q, want %q", got, want)
	}
	if a.HubURL() != "https://news.example.org/websub" {
		t.Errorf("HubURL = %q", a.HubURL())
	}
	// The built set serves each of them, with the version as generator.
	set, err := a.FeedSet()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	body, _, err := set.Get(context.Background(), "/feeds/series/river.atom")
	if err != nil || !bytes.Contains(body, []byte("v1.2.3-test")) || !bytes.Contains(body, []byte("The river series")) {
		t.Errorf("river.atom: %v\n%s", err, body)
	}
	if _, f, ok := set.FeedOf("/feeds/business.json"); !ok || f != feeds.JSON {
		t.Errorf("FeedOf(/feeds/business.json) = %v, %v", f, ok)
	}
}

// Without smtp.url, mail goes to .eml files under SpoolDir, and a command
// that sends says so in its log.
func TestMailerWithoutSMTPWritesTheSpool(t *testing.T) {
	data := t.TempDir()
	var logs bytes.Buffer
	a := open(t, data, &logs)
	m, err := a.Mailer(true)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !strings.Contains(logs.String(), SpoolDir(data)) {
		t.Errorf("the log does not say where mail goes:\n%s", logs.String())
	}
	if err := m.Send(context.Background(), &mail.Message{To: "reader@example.org", Subject: "Hello", Text: "Hi."}); err != nil {
		t.Fatal(err)
	}
	ms, _ := filepath.Glob(filepath.Join(SpoolDir(data), "[^.]*.eml"))
	if len(ms) != 1 {
		t.Errorf("spool holds %v, want one message", ms)
	}
}

// DescribeBounce names what bounce.* turns on, without secrets.
func TestDescribeBounce(t *testing.T) {
	if got := DescribeBounce(config.Bounce{}); !strings.HasPrefix(got, "off") {
		t.Errorf("nothing set: %q", got)
	}
	b := config.Bounce{Address: "bounces@news.example.org", Mailbox: "imaps://box:s3cret@mail.example.org/INBOX"}
	b.Mailgun.SigningKey = "key-s3cret"
	got := DescribeBounce(b)
	for _, want := range []string{"bounces+TOKEN@news.example.org", "mailbox imaps://box@mail.example.org/INBOX", "/mailgun"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "s3cret") {
		t.Errorf("%q reveals a secret", got)
	}
}

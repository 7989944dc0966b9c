package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/internal/smtptest"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// Two daemons on one store, as two replicas on one database: an article
// pushed or withdrawn through replica A reaches replica B's feeds within a
// few poll intervals, long before B's next scheduled build (every five
// minutes by default, left so here).
func TestReplicasFollowStoreRevision(t *testing.T) {
	const token = "replica-token-0123456789"
	env := []string{
		"SYNDICATED_HTTP_API_TOKEN=" + token,
		"SYNDICATED_FEEDS_POLL_INTERVAL=200ms",
		"SYNDICATED_SAMPLES=false",
	}
	t.Run("sqlite", func(t *testing.T) {
		// One data directory, so one SQLite file (WAL) opened by both.
		data := t.TempDir()
		a := servingIn(t, env, data)
		b := servingIn(t, env, data)
		checkReplicas(t, token, a, b)
	})
	t.Run("postgres", func(t *testing.T) {
		// Registered first, so the schema is dropped after both daemons stop.
		db := storagetest.PostgresURL(t)
		env := append(env[:len(env):len(env)], "SYNDICATED_DATABASE_URL="+db)
		a := servingIn(t, env, t.TempDir())
		b := servingIn(t, env, t.TempDir())
		checkReplicas(t, token, a, b)
	})
}

func checkReplicas(t *testing.T, token, a, b string) {
	t.Helper()
	const headline = "Pushed through replica A"
	feed := "/feeds/series/shanghai-70th.atom"
	inFeed := func(base string) bool {
		_, body := get(t, base+feed)
		return bytes.Contains(body, []byte(headline))
	}
	if inFeed(b) {
		t.Fatal("replica B serves the article before it was pushed")
	}
	body := `{"id":"replica-story","section":"society","headline":"` + headline + `","published":"2019-07-01T09:00:00+08:00","tags":["shanghai-70th"],"body":["First paragraph."]}`
	// A builds on its own push (the importer's hook), B once its poll sees
	// the revision move. Neither waits for the other: with both in one
	// busy process, B's build can end first, so each is waited for.
	send(t, http.MethodPost, a+"/api/articles", token, body, http.StatusCreated)
	within(t, 5*time.Second, "pushed article in replica B's feed", func() bool { return inFeed(b) })
	within(t, 5*time.Second, "pushed article in replica A's feed", func() bool { return inFeed(a) })

	send(t, http.MethodDelete, a+"/api/articles/replica-story", token, "", http.StatusOK)
	within(t, 5*time.Second, "withdrawn article gone from replica B's feed", func() bool { return !inFeed(b) })
	within(t, 5*time.Second, "withdrawn article gone from replica A's feed", func() bool { return !inFeed(a) })
}

func send(t *testing.T, method, url, token, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d", method, url, resp.StatusCode, want)
	}
}

func within(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two serve replicas on one PostgreSQL database, the digest schedule
// firing every second on both and both running delivery workers: one
// issue is created and every subscriber gets exactly one copy.
func TestReplicasSendDigestOnce(t *testing.T) {
	const (
		token = "replica-token-0123456789"
		n     = 300
	)
	db := storagetest.PostgresURL(t)
	srv := smtptest.Start(t, smtptest.Script{})
	env := []string{
		"SYNDICATED_HTTP_API_TOKEN=" + token,
		"SYNDICATED_SAMPLES=false",
		"SYNDICATED_DATABASE_URL=" + db,
		"SYNDICATED_SMTP_URL=" + srv.URL(),
		"SYNDICATED_BASE_URL=https://news.example.com", // real mail is refused with a loopback base_url
		"SYNDICATED_SMTP_RATE_PER_SECOND=0",
		"SYNDICATED_SERIES_0_DIGEST_SCHEDULE=@every 1s",
	}
	st, subs := seedReaders(t, db, t.TempDir(), "replica", n)
	a := servingIn(t, env, t.TempDir())
	b := servingIn(t, env, t.TempDir())
	published := time.Now().Add(-time.Hour).Format(time.RFC3339)
	body := `{"id":"replica-digest-story","section":"society","headline":"A story for the digest","published":"` + published +
		`","tags":["shanghai-70th"],"body":["First paragraph."]}`
	send(t, http.MethodPost, a+"/api/articles", token, body, http.StatusCreated)
	within(t, 60*time.Second, "the issue sent", func() bool {
		issues, err := st.ListIssues(t.Context(), digest.IssueSent)
		return err == nil && len(issues) == 1
	})
	all, _ := st.ListIssues(t.Context(), "")
	if len(all) != 1 {
		t.Fatalf("%d issues, want 1", len(all))
	}
	if resp, _ := get(t, b+"/digests/"+all[0].ID); resp.StatusCode != http.StatusOK {
		t.Errorf("replica B does not serve the issue: %d", resp.StatusCode)
	}
	got := srv.MessageIDs()
	total := 0
	for _, s := range subs {
		if n := len(got[s.Email]); n != 1 {
			t.Errorf("%s got %d copies, want 1", s.Email, n)
		}
	}
	for _, ids := range got {
		total += len(ids)
	}
	if total != n {
		t.Errorf("the server received %d messages, want %d", total, n)
	}
}

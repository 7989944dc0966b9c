package digest_test

import (
	"errors"
	"io"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/digest/digesttest"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestIssueFrozenAtCreation: readers of one issue get the same email even
// when its articles are withdrawn mid-send; an issue nobody would get is
// not created.
func TestIssueFrozenAtCreation(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, "https://news.example.com")
	f.seedArticles(t)
	p, err := f.dg.Plan(t.Context(), series, digest.WeekOf(now0, newsroom), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.dg.Create(t.Context(), p); !errors.Is(err, digest.ErrNoRecipients) {
		t.Fatalf("Create with no subscribers: %v, want ErrNoRecipients", err)
	}
	f.subscribe(t, "first@example.com")
	f.subscribe(t, "second@example.com")
	iss := f.createIssue(t)
	srv := startSMTP(t)
	// The first copy goes out; then every article of the issue is
	// withdrawn; then the rest is sent.
	s := digest.NewSender(digest.SenderConfig{Store: st, Compose: f.dg.Compose, Transport: srv.transport(t),
		Workers: 1, Batch: 1, Worker: "w", Now: f.clock.Now})
	first, err := digesttest.Claim(t.Context(), st, iss.ID, "other", 1, f.clock.Now(), time.Hour)
	if err != nil || len(first) != 1 {
		t.Fatalf("claim = %v, %v", first, err)
	}
	if rep, err := s.SendIssue(t.Context(), iss, nil); err != nil || rep.Sent != 1 {
		t.Fatalf("first send = %+v, %v", rep, err)
	}
	for _, a := range p.Articles {
		a.Status = article.StatusWithdrawn
		f.put(t, a)
	}
	if _, err := st.ReleaseDeliveries(t.Context(), iss.ID, "other", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	stored, err := f.dg.Stored(t.Context(), series, iss.Week)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Articles) != 0 {
		t.Fatalf("the articles are still listed: %d", len(stored.Articles))
	}
	f.dg = newFixture(t, st, "https://news.example.com").dg // a new process: nothing cached
	s = digest.NewSender(digest.SenderConfig{Store: st, Compose: f.dg.Compose, Transport: srv.transport(t),
		Worker: "w2", Now: f.clock.Now})
	if rep, err := s.SendIssue(t.Context(), &stored.Issue, nil); err != nil || rep.Sent != 1 || !rep.Finished {
		t.Fatalf("second send = %+v, %v", rep, err)
	}
	var subjects, bodies []string
	for _, to := range []string{"first@example.com", "second@example.com"} {
		got := srv.received(to)
		if len(got) != 1 {
			t.Fatalf("%s got %d messages", to, len(got))
		}
		b, _ := io.ReadAll(got[0].Body)
		subj, err := new(mime.WordDecoder).DecodeHeader(got[0].Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, subj)
		bodies = append(bodies, string(b))
	}
	// The subject names the dates of the issue's three stories, which are
	// no longer listed.
	if subjects[0] != subjects[1] || iss.Content == nil || subjects[0] != iss.Content.Subject || !strings.HasSuffix(subjects[0], ": 23–27 April 2019") {
		t.Errorf("subjects %q: want the same, the issue's stored one, with its stories' dates", subjects)
	}
	for i, b := range bodies {
		if !strings.Contains(b, "Headline second") {
			t.Errorf("copy %d lacks the issue's articles", i+1)
		}
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/internal/smtptest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// TestCadencesSurviveKills: a weekly, a daily and a story issue are due at
// once, each for its own readers, and serve sends them while it is
// SIGKILLed at random moments ten times and restarted each time. Every
// reader gets the issue of their cadence and no other; extra copies stay
// within the messages in flight at the kills; the outbox agrees with what
// the SMTP server received.
func TestCadencesSurviveKills(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the binary for about a minute")
	}
	t.Parallel()
	const (
		perCadence = 300
		kills      = 10
		conns      = 4
	)
	srv := smtptest.Start(t, smtptest.Script{})
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := []string{
		"SYNDICATED_SMTP_URL=" + srv.URL(),
		"SYNDICATED_BASE_URL=https://news.example.com",
		fmt.Sprintf("SYNDICATED_SMTP_CONNECTIONS=%d", conns),
		"SYNDICATED_SMTP_RATE_PER_SECOND=120",
		"SYNDICATED_LOG_LEVEL=warn",
		"SYNDICATED_SERIES_0_CADENCES=weekly,daily,story",
		"SYNDICATED_DIGEST_CATCH_UP=0s",
	}
	samples, err := filepath.Abs("../../samples")
	if err != nil {
		t.Fatal(err)
	}
	if r := runBinary(t, dir, env, "import", "--data", data, samples); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	// The readers, a third of each cadence.
	st, subs := seedReaders(t, "", data, "reader", 3*perCadence)
	cadence := func(i int) subscribers.Cadence { return subscribers.Cadences[i%3] }
	prefs := map[string]subscribers.Preferences{}
	for i, s := range subs {
		if c := cadence(i); c != subscribers.CadenceWeekly {
			prefs[s.Email] = subscribers.Preferences{Cadences: map[string]subscribers.Cadence{"shanghai-70th": c}}
		}
	}
	if err := st.SetImportedPreferences(t.Context(), prefs, subs[0].CreatedAt); err != nil {
		t.Fatal(err)
	}
	// The three issues, made as their jobs would, before any process
	// sends.
	ids := createCadenceIssues(t, env, data, st)

	serveArgs := []string{"serve", "--data", data, "--listen", "127.0.0.1:0"}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 22))
	total := 3 * perCadence
	killed := 0
	for round := 0; killed < kills; round++ {
		if round > 3*kills {
			t.Fatalf("only %d of %d kills landed mid-send", killed, kills)
		}
		cmd := exec.Command(binary(t), serveArgs...)
		cmd.Dir = dir
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		before := srv.Count()
		deadline := time.Now().Add(30 * time.Second)
		for srv.Count() == before && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok && ee.Sys().(syscall.WaitStatus).Signaled() {
			killed++
		}
		if srv.Count() >= total {
			t.Fatalf("everything was sent after %d kills; the rate is too high for the test", killed)
		}
	}
	// The last run finishes the three issues, waiting for the dead
	// processes' leases to run out.
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), serveArgs...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		for {
			iss, err := st.GetIssue(ctx, id)
			if err == nil && iss.Status == digest.IssueSent {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("serve did not finish %s within 120 s", id)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve exited with %v", err)
	}
	t.Logf("%d kills; the last run finished in %s", killed, time.Since(start).Round(time.Millisecond))

	emails := map[int64]string{}
	want := map[string]string{} // address → the issue of its cadence
	for i, s := range subs {
		got, err := st.GetSubscriber(t.Context(), s.Email)
		if err != nil {
			t.Fatal(err)
		}
		emails[got.ID] = got.Email
		want[got.Email] = ids[cadence(i)]
	}
	got := srv.MessageIDs()
	extra := 0
	for c, id := range ids {
		ds, err := st.ListDeliveries(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != perCadence {
			t.Errorf("%s has %d deliveries, want %d (its cadence's readers)", id, len(ds), perCadence)
		}
		for _, d := range ds {
			to := emails[d.SubscriberID]
			if want[to] != id {
				t.Errorf("%s (%s) is a recipient of the %s issue %s", to, want[to], c, id)
			}
			if d.State != digest.StateSent {
				t.Errorf("%s: delivery of %s %s", to, id, d.State)
			}
		}
	}
	for to, msgs := range got {
		if len(msgs) == 0 {
			continue
		}
		for _, m := range msgs {
			if !strings.HasPrefix(m, "digest."+strings.ReplaceAll(want[to], "/", ".")+".") {
				t.Errorf("%s (of %s) received %s", to, want[to], m)
			}
			if m != msgs[0] {
				t.Errorf("%s received two different messages: %s and %s", to, msgs[0], m)
			}
		}
		extra += len(msgs) - 1
	}
	for to := range want {
		if len(got[to]) == 0 {
			t.Errorf("%s received nothing", to)
		}
	}
	t.Logf("%d messages for %d readers, %d extra copies (bound %d)", srv.Count(), total, extra, conns*killed)
	if extra > conns*killed {
		t.Errorf("%d extra copies after %d kills, more than %d connections × kills", extra, killed, conns)
	}
}

// createCadenceIssues makes, in-process, the week's and a day's issue of
// the samples and a story issue of a story published five minutes ago,
// each for its readers, and returns their ids by cadence.
func createCadenceIssues(t *testing.T, env []string, data string, st storage.Storage) map[subscribers.Cadence]string {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	fresh := &article.Article{ID: "kill-test-fresh-story", GUID: "urn:test:kill-test-fresh-story", Section: "society",
		Series: []string{"shanghai-70th"}, Headline: "A story that has just come in", Deck: "Within minutes of publication.",
		Authors: []article.Author{{Name: "Wu Qiong"}}, Published: now.Add(-5 * time.Minute), Updated: now.Add(-5 * time.Minute),
		Body: []article.Page{{Number: 1, Paragraphs: []string{"Text."}}}, Status: article.StatusPublished}
	if _, err := st.PutArticle(ctx, fresh, now); err != nil {
		t.Fatal(err)
	}
	c := &cli{stdout: io.Discard, stderr: io.Discard, environ: env, dataDir: data}
	var ids map[subscribers.Cadence]string
	if err := c.withDigest(ctx, func(con *digest.Console) error {
		ids = makeCadenceIssues(t, con.Service)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// makeCadenceIssues is createCadenceIssues on the open service dg.
func makeCadenceIssues(t *testing.T, dg *digest.Service) map[subscribers.Cadence]string {
	ctx := t.Context()
	now := dg.Now()
	ids := map[subscribers.Cadence]string{}
	week, err := dg.Plan(ctx, "shanghai-70th", digest.Week{Year: 2019, Num: 22}, time.Date(2019, 5, 1, 0, 0, 0, 0, dg.Zone()))
	if err != nil {
		t.Fatal(err)
	}
	day, err := dg.PlanDay(ctx, "shanghai-70th", time.Date(2019, 5, 27, 0, 0, 0, 0, dg.Zone()), time.Date(2019, 5, 26, 0, 0, 0, 0, dg.Zone()), now)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*digest.Plan{week, day} {
		iss, created, err := dg.Create(ctx, p)
		if err != nil || !created {
			t.Fatalf("create %s: %v, %v", p.Issue.ID, created, err)
		}
		ids[iss.Cadence()] = iss.ID
	}
	jobs, err := dg.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Cadence != subscribers.CadenceStory {
			continue
		}
		r, err := dg.RunJob(ctx, j, now)
		if err != nil || r.Issue == nil || !r.Created {
			t.Fatalf("story issue: %+v, %v", r, err)
		}
		ids[subscribers.CadenceStory] = r.Issue.ID
	}
	return ids
}

package main

import (
	"bufio"
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

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/internal/smtptest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// TestDigestSurvivesKills sends an issue to 1,000 subscribers while the
// sending process is SIGKILLed at random moments ten times and restarted
// each time: every subscriber gets the issue, extra copies stay within
// the messages in flight at the kills, and the outbox agrees with what
// the SMTP server received. Once with digest send as the sender, once
// with serve.
func TestDigestSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the binary for about a minute")
	}
	for _, sender := range []string{"digest-send", "serve"} {
		t.Run(sender, func(t *testing.T) {
			t.Parallel()
			killTest(t, sender)
		})
	}
}

func killTest(t *testing.T, sender string) {
	const (
		n     = 1000
		kills = 10
		conns = 4
	)
	srv := smtptest.Start(t, smtptest.Script{})
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := []string{
		"SYNDICATED_SMTP_URL=" + srv.URL(),
		"SYNDICATED_BASE_URL=https://news.example.com", // real mail is refused with a loopback base_url
		fmt.Sprintf("SYNDICATED_SMTP_CONNECTIONS=%d", conns),
		// Slow enough that the kills land mid-issue.
		"SYNDICATED_SMTP_RATE_PER_SECOND=120",
		"SYNDICATED_LOG_LEVEL=warn",
	}
	if r := runBinary(t, dir, env, "feeds", "build", "--data", data, "--out", filepath.Join(dir, "public")); r.code != 0 {
		t.Fatalf("feeds build: %s", r.stderr)
	}
	st, subs := seedReaders(t, "", data, "reader", n)
	sendArgs := []string{"digest", "send", "--data", data, "--series", "shanghai-70th", "--week", "2019-W22", "--since", "2019-04-01"}
	serveArgs := []string{"serve", "--data", data, "--listen", "127.0.0.1:0"}
	args := sendArgs
	if sender == "serve" {
		args = serveArgs
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	killed := 0
	for round := 0; killed < kills; round++ {
		if round > 3*kills {
			t.Fatalf("only %d of %d kills landed mid-issue", killed, kills)
		}
		a := args
		if round == 0 {
			a = sendArgs // the issue is created by digest send in both cases
		}
		cmd := exec.Command(binary(t), a...)
		cmd.Dir = dir
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill once it is sending: a random moment after the first
		// messages of this round reach the server.
		before := srv.Count()
		deadline := time.Now().Add(20 * time.Second)
		for srv.Count() == before && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		for range lines {
		}
		if ee, ok := err.(*exec.ExitError); ok && ee.Sys().(syscall.WaitStatus).Signaled() {
			killed++
		}
		if done, _ := st.DeliveryCounts(t.Context(), "shanghai-70th/2019-W22"); done[digest.StateSent] == n {
			t.Fatalf("the issue was finished after %d kills; the rate is too high for the test", killed)
		}
	}
	// The last run finishes the issue, waiting for the dead processes'
	// leases to run out.
	start := time.Now()
	if sender == "digest-send" {
		r := runBinary(t, dir, env, sendArgs...)
		if r.code != 0 || !strings.Contains(r.stdout, "finished") {
			t.Fatalf("final digest send (code %d):\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	} else {
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary(t), serveArgs...)
		cmd.Dir = dir
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for {
			iss, err := st.GetIssue(ctx, "shanghai-70th/2019-W22")
			if err == nil && iss.Status == digest.IssueSent {
				break
			}
			if ctx.Err() != nil {
				t.Fatal("serve did not finish the issue within 90 s")
			}
			time.Sleep(200 * time.Millisecond)
		}
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("serve exited with %v", err)
		}
	}
	t.Logf("%s: %d kills; the last run finished in %s", sender, killed, time.Since(start).Round(time.Millisecond))

	ds, err := st.ListDeliveries(t.Context(), "shanghai-70th/2019-W22")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != n {
		t.Fatalf("%d deliveries, want %d", len(ds), n)
	}
	emails := map[int64]string{}
	for _, s := range subs {
		got, err := st.GetSubscriber(t.Context(), s.Email)
		if err != nil {
			t.Fatal(err)
		}
		emails[got.ID] = got.Email
	}
	got := srv.MessageIDs()
	extra := 0
	for _, d := range ds {
		to := emails[d.SubscriberID]
		ids := got[to]
		if d.State != digest.StateSent {
			t.Errorf("%s: delivery %s", to, d.State)
			continue
		}
		if len(ids) == 0 {
			t.Errorf("%s: recorded sent, never received", to)
			continue
		}
		for _, id := range ids {
			if id != d.MessageID {
				t.Errorf("%s: received Message-ID %s, the outbox says %s", to, id, d.MessageID)
			}
		}
		extra += len(ids) - 1
	}
	total := 0
	for _, ids := range got {
		total += len(ids)
	}
	if total != n+extra {
		t.Errorf("server received %d messages for %d subscribers and %d extra copies: some went to no subscriber", total, n, extra)
	}
	t.Logf("%s: %d messages for %d subscribers, %d extra copies (bound %d)", sender, total, n, extra, conns*killed)
	if extra > conns*killed {
		t.Errorf("%d extra copies after %d kills, more than %d connections × kills", extra, killed, conns)
	}
}

// seedReaders opens the store of dbURL (or data) and adds n active
// subscribers of shanghai-70th in bulk, prefix0000@example.com on.
func seedReaders(t *testing.T, dbURL, data, prefix string, n int) (storage.Storage, []*subscribers.Subscriber) {
	t.Helper()
	st, err := storage.Open(t.Context(), dbURL, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var subs []*subscribers.Subscriber
	now := time.Now().UTC()
	for i := range n {
		subs = append(subs, &subscribers.Subscriber{Email: fmt.Sprintf("%s%04d@example.com", prefix, i), Status: subscribers.StatusActive,
			CreatedAt: now, Lists: []subscribers.Subscription{{List: "shanghai-70th", Active: true, ChangedAt: now}}})
	}
	if _, _, err := st.InsertSubscribers(t.Context(), subs); err != nil {
		t.Fatal(err)
	}
	return st, subs
}

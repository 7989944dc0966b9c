package digest_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/internal/testkit"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// recordingTransport keeps what it is given.
type recordingTransport struct {
	mu   sync.Mutex
	msgs []*mail.Message
}

func (r *recordingTransport) Send(_ context.Context, m *mail.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	return nil
}

// consoleRun is one command's output.
type consoleRun struct {
	out, errs string
	err       error
}

// console returns a function that runs one command on a Console over f's
// service (with the store as its Admin), sending through srv.
func (f *fixture) console(t *testing.T, st storage.Storage, srv *smtpServer, copies mail.Transport) func(fn func(ctx context.Context, c *digest.Console) error) consoleRun {
	cfg := f.cfg
	cfg.Admin = st
	dg, err := digest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sender := f.sender(srv.transport(t), st, "console")
	return func(fn func(ctx context.Context, c *digest.Console) error) consoleRun {
		var out, errs bytes.Buffer
		err := fn(t.Context(), &digest.Console{Service: dg, Stdout: &out, Stderr: &errs, Transport: copies, Sender: sender})
		return consoleRun{out.String(), errs.String(), err}
	}
}

// The operator's digest commands, as "syndicated digest …" runs them
// (cmd only turns flags into a Selection): each step checks what the
// operator reads, line for line.
func TestConsole(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, "https://news.example.com")
	f.seedArticles(t)
	f.subscribe(t, "li@example.com")
	f.subscribe(t, "perm@example.com") // the server refuses it for good
	srv := startSMTP(t)
	copies := &recordingTransport{}
	run := f.console(t, st, srv, copies)
	this := digest.Selection{Series: []string{series}} // the current week: 2019-W18, Monday 09:00
	w10 := digest.Week{Year: 2019, Num: 10}
	empty := digest.Selection{Series: []string{series}, Week: &w10}
	const articles = "  article  2019-04-27 09:00:00  escaped  Tom & Jerry <script>alert(1)</script>\n" +
		"  article  2019-04-26 09:00:00  second  Headline second\n" +
		"  article  2019-04-23 09:00:00  first  Headline first\n"

	testkit.Step(t, "select", func(t *testing.T) {
		if sel, err := f.dg.Select("", ""); err != nil || len(sel.Series) != 1 || sel.Series[0] != series || sel.Week != nil {
			t.Errorf("every series, no week: %+v, %v", sel, err)
		}
		if sel, err := f.dg.Select(" "+series+" ", "2019-w10"); err != nil || len(sel.Series) != 1 || sel.Series[0] != series || *sel.Week != w10 {
			t.Errorf("one series, spaced, and a week: %+v, %v", sel, err)
		}
		for _, bad := range [][2]string{{series + ",nope", ""}, {"", "2019-W54"}} {
			if _, err := f.dg.Select(bad[0], bad[1]); !errors.Is(err, cmdline.ErrUsage) {
				t.Errorf("%q: %v, want a usage error", bad, err)
			}
		}
		if _, err := f.dg.Select("nope", ""); !errors.Is(err, digest.ErrUnknownSeries) || err.Error() != `usage: unknown series "nope"` {
			t.Errorf("an unknown series: %v", err)
		}
	})
	testkit.Step(t, "preview", func(t *testing.T) {
		var doc bytes.Buffer
		r := run(func(ctx context.Context, c *digest.Console) error { return c.Preview(ctx, &doc, this, true) })
		text := doc.String()
		if r.err != nil || r.errs != "" || !strings.HasPrefix(text, "Subject: ") ||
			!strings.Contains(text, "Headline first") || strings.Contains(text, "Headline old") {
			t.Errorf("text preview: %v, stderr %q:\n%s", r.err, r.errs, text)
		}
		doc.Reset()
		r = run(func(ctx context.Context, c *digest.Console) error { return c.Preview(ctx, &doc, this, false) })
		if r.err != nil || !strings.Contains(doc.String(), "<html") || !strings.Contains(doc.String(), "Headline second") {
			t.Errorf("HTML preview: %v", r.err)
		}
		r = run(func(ctx context.Context, c *digest.Console) error { return c.Preview(ctx, &doc, empty, true) })
		if want := "shanghai-70th/2019-W10: no new articles since 2019-03-04 00:00:00: no issue would be sent\n"; r.err != nil || r.errs != want {
			t.Errorf("preview of an empty week: %v, stderr %q, want %q", r.err, r.errs, want)
		}
	})
	testkit.Step(t, "dry run", func(t *testing.T) {
		r := run(func(ctx context.Context, c *digest.Console) error {
			return c.Send(ctx, this, digest.SendOptions{DryRun: true})
		})
		want := "shanghai-70th/2019-W18: articles published 2019-04-22 09:00:00 – 2019-04-29 09:00:00 (Asia/Shanghai)\n" + articles +
			"  to       li@example.com\n  to       perm@example.com\n" +
			"  3 articles, 2 recipients (dry run: nothing stored or sent)\n"
		if r.err != nil || r.out != want || r.errs != "" {
			t.Errorf("dry run: %v, stderr %q, stdout:\n%s\nwant:\n%s", r.err, r.errs, r.out, want)
		}
		if srv.total() != 0 {
			t.Errorf("a dry run sent %d messages", srv.total())
		}
	})
	testkit.Step(t, "one copy", func(t *testing.T) {
		r := run(func(ctx context.Context, c *digest.Console) error {
			return c.Send(ctx, this, digest.SendOptions{To: "Editor@Example.COM"})
		})
		if want := "shanghai-70th/2019-W18: sent one copy to Editor@example.com (3 articles; no issue created)\n"; r.err != nil || r.out != want {
			t.Errorf("--to: %v, stdout %q, want %q", r.err, r.out, want)
		}
		if len(copies.msgs) != 1 || copies.msgs[0].To != "Editor@example.com" || copies.msgs[0].MessageID != "" {
			t.Errorf("the copy: %+v", copies.msgs)
		}
		r = run(func(ctx context.Context, c *digest.Console) error {
			return c.Send(ctx, this, digest.SendOptions{To: "not an address"})
		})
		if !errors.Is(r.err, cmdline.ErrUsage) || !strings.Contains(r.err.Error(), "--to") {
			t.Errorf("a bad --to: %v", r.err)
		}
	})
	testkit.Step(t, "no issue yet", func(t *testing.T) {
		r := run(func(ctx context.Context, c *digest.Console) error { return c.Status(ctx, this) })
		if r.err != nil || r.out != "shanghai-70th: no issue\n" {
			t.Errorf("status: %v, %q", r.err, r.out)
		}
	})
	testkit.Step(t, "send", func(t *testing.T) {
		r := run(func(ctx context.Context, c *digest.Console) error { return c.Send(ctx, this, digest.SendOptions{}) })
		want := "shanghai-70th/2019-W18: created, 3 articles, 2 recipients\n" +
			"shanghai-70th/2019-W18: sent 1, retry later 0, failed 0, bounced 1, skipped 0\n" +
			"shanghai-70th/2019-W18: finished\n"
		if r.err != nil || r.out != want {
			t.Errorf("send: %v, stdout:\n%s\nwant:\n%s", r.err, r.out, want)
		}
		if !strings.HasPrefix(r.errs, "shanghai-70th/2019-W18: 1 failed: ") || !strings.Contains(r.errs, "no such user") {
			t.Errorf("the bounce's reply on stderr: %q", r.errs)
		}
		if len(srv.received("li@example.com")) != 1 {
			t.Errorf("li@example.com got %d copies, want 1", len(srv.received("li@example.com")))
		}
	})
	testkit.Step(t, "deliveries", func(t *testing.T) {
		r := run(func(ctx context.Context, c *digest.Console) error { return c.Deliveries(ctx, this, "") })
		lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
		if r.err != nil || len(lines) != 2 {
			t.Fatalf("deliveries: %v, stdout:\n%s", r.err, r.out)
		}
		// One line each, in subscriber order: li sent, perm failed.
		li, perm := strings.Split(lines[0], "\t"), strings.Split(lines[1], "\t")
		if len(li) != 6 || len(perm) != 6 {
			t.Fatalf("want 6 tab-separated fields a line:\n%s", r.out)
		}
		got := srv.received("li@example.com")
		if li[0] != "li@example.com" || li[1] != "sent" || li[2] != "1" || li[5] != "" || len(got) != 1 ||
			"<"+li[4]+">" != got[0].Header.Get("Message-Id") {
			t.Errorf("li's delivery: %q, want its Message-ID as received", li)
		}
		if _, err := time.Parse(time.RFC3339, li[3]); err != nil || !strings.HasSuffix(li[3], "+08:00") {
			t.Errorf("li's sent_at %q: %v", li[3], err)
		}
		if perm[0] != "perm@example.com" || perm[1] != "failed" || perm[3] != "-" || !strings.Contains(perm[5], "no such user") {
			t.Errorf("perm's delivery: %q", perm)
		}
		r = run(func(ctx context.Context, c *digest.Console) error { return c.Deliveries(ctx, this, digest.StateFailed) })
		if r.err != nil || r.out != lines[1]+"\n" {
			t.Errorf("--state failed: %v, %q, want %q", r.err, r.out, lines[1])
		}
		r = run(func(ctx context.Context, c *digest.Console) error {
			return c.Deliveries(ctx, digest.Selection{Issues: []string{"shanghai-70th/2019-W18"}}, digest.StateSent)
		})
		if r.err != nil || r.out != lines[0]+"\n" {
			t.Errorf("--issue, --state sent: %v, %q, want %q", r.err, r.out, lines[0])
		}
		r = run(func(ctx context.Context, c *digest.Console) error {
			return c.Deliveries(ctx, digest.Selection{Issues: []string{"a/2019-W18", "b/2019-W18"}}, "")
		})
		if !errors.Is(r.err, cmdline.ErrUsage) {
			t.Errorf("two issues: %v, want a usage error", r.err)
		}
		if _, err := digest.ParseState("delivered"); !errors.Is(err, cmdline.ErrUsage) {
			t.Errorf("ParseState(delivered) = %v, want a usage error", err)
		}
	})
	testkit.Step(t, "send again", func(t *testing.T) {
		r := run(func(ctx context.Context, c *digest.Console) error { return c.Send(ctx, this, digest.SendOptions{}) })
		want := "shanghai-70th/2019-W18: resumed, 3 articles, 2 recipients\n" +
			"shanghai-70th/2019-W18: sent 0, retry later 0, failed 0, bounced 0, skipped 0\n" +
			"shanghai-70th/2019-W18: finished\n"
		if r.err != nil || r.out != want || r.errs != "" {
			t.Errorf("second send: %v, stderr %q, stdout:\n%s", r.err, r.errs, r.out)
		}
		r = run(func(ctx context.Context, c *digest.Console) error {
			return c.Send(ctx, this, digest.SendOptions{DryRun: true})
		})
		if !strings.HasSuffix(r.out, articles+"  issue exists (sent): deliveries map[failed:1 sent:1]\n") {
			t.Errorf("a dry run of the sent issue:\n%s", r.out)
		}
		r = run(func(ctx context.Context, c *digest.Console) error { return c.Send(ctx, empty, digest.SendOptions{}) })
		// Since the last issue's cut-off, as a week after it would be.
		if want := "shanghai-70th/2019-W10: no new articles since 2019-04-29 09:00:00: nothing to send\n"; r.err != nil || r.out != want {
			t.Errorf("an empty week: %v, %q", r.err, r.out)
		}
	})
	testkit.Step(t, "status", func(t *testing.T) {
		r := run(func(ctx context.Context, c *digest.Console) error {
			return c.Status(ctx, digest.Selection{Series: []string{series}})
		})
		if !strings.HasPrefix(r.out, "shanghai-70th/2019-W18: sent, created 2019-04-29 09:00:00\n  sent 1, pending 0, sending 0, failed 1, skipped 0\n") ||
			!strings.Contains(r.out, "  1 failed: ") {
			t.Errorf("status of the latest issue: %v\n%s", r.err, r.out)
		}
		r = run(func(ctx context.Context, c *digest.Console) error { return c.Status(ctx, empty) })
		if r.out != "shanghai-70th: no issue\n" {
			t.Errorf("status of a week without an issue: %q", r.out)
		}
	})
	testkit.Step(t, "retry failed", func(t *testing.T) {
		r := run(func(ctx context.Context, c *digest.Console) error { return c.RetryFailed(ctx, this) })
		want := `shanghai-70th/2019-W18: 1 failed deliveries are pending again (sent by "syndicated serve" or "syndicated digest send --week 2019-W18"; bounced subscribers are skipped: unbounce them first)` + "\n"
		if r.err != nil || r.out != want {
			t.Errorf("retry-failed: %v, %q", r.err, r.out)
		}
	})
	testkit.Step(t, "send after retry-failed", func(t *testing.T) {
		r := run(func(ctx context.Context, c *digest.Console) error { return c.Send(ctx, this, digest.SendOptions{}) })
		want := "shanghai-70th/2019-W18: resumed, 3 articles, 2 recipients\n" +
			"shanghai-70th/2019-W18: sent 0, retry later 0, failed 0, bounced 0, skipped 1\n" +
			"shanghai-70th/2019-W18: finished\n"
		if r.err != nil || r.out != want {
			t.Errorf("send after retry-failed: %v, stdout:\n%s\nwant:\n%s", r.err, r.out, want)
		}
	})
}

// A send that could send nothing (the only reader's server defers) says
// what waits and why, and fails.
func TestConsoleNothingSent(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, "https://news.example.com")
	f.seedArticles(t)
	f.subscribe(t, "temp9@example.com") // 451 for its first nine attempts
	run := f.console(t, st, startSMTP(t), nopTransport{})
	r := run(func(ctx context.Context, c *digest.Console) error {
		return c.Send(ctx, digest.Selection{Series: []string{series}}, digest.SendOptions{})
	})
	want := "shanghai-70th/2019-W18: created, 3 articles, 1 recipients\n" +
		"shanghai-70th/2019-W18: sent 0, retry later 1, failed 0, bounced 0, skipped 0\n" +
		"shanghai-70th/2019-W18: 1 wait for a retry (the next at 2019-04-29 09:01:00 CST); \"syndicated serve\" or another \"digest send\" resumes them\n"
	if r.out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.out, want)
	}
	if !strings.HasPrefix(r.errs, "shanghai-70th/2019-W18: 1 to retry: ") || !strings.Contains(r.errs, "try again later") ||
		!strings.Contains(r.errs, "shanghai-70th: nothing could be sent (1 to retry later, 0 failed, 0 bounced)\n") {
		t.Errorf("stderr: %q", r.errs)
	}
	if r.err == nil || r.err.Error() != "1 of 1 series failed: see the errors above" || !errors.Is(r.err, cmdline.ErrReported) {
		t.Errorf("error: %v", r.err)
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// issueFlags pick the issues a digest command works on.
type issueFlags struct{ series, week string }

func (f *issueFlags) flags(fs *flag.FlagSet, weekDefault string) {
	fs.StringVar(&f.series, "series", "", "series slug(s), comma-separated (default every configured series)")
	fs.StringVar(&f.week, "week", "", "ISO week, e.g. 2019-W17 (default "+weekDefault+")")
}

// pick returns the series (every configured one without --series) and
// the week (the current one without --week).
func (f *issueFlags) pick(dg *digest.Service, args []string) ([]string, digest.Week, error) {
	if len(args) > 0 {
		return nil, digest.Week{}, fmt.Errorf("%w: unexpected arguments %q", cmdline.ErrUsage, args)
	}
	var series []string
	for _, s := range dg.AllSeries() {
		series = append(series, s.Slug)
	}
	if f.series != "" {
		series = nil
		for _, s := range strings.Split(f.series, ",") {
			if _, err := dg.Series(strings.TrimSpace(s)); err != nil {
				return nil, digest.Week{}, fmt.Errorf("%w: %v", cmdline.ErrUsage, err)
			}
			series = append(series, strings.TrimSpace(s))
		}
	}
	if f.week == "" {
		return series, dg.Week(dg.Now()), nil
	}
	w, err := digest.ParseWeek(f.week)
	if err != nil {
		return nil, w, fmt.Errorf("%w: %v", cmdline.ErrUsage, err)
	}
	return series, w, nil
}

// planFlags are issueFlags with --since, for the commands that plan an
// issue.
type planFlags struct {
	issueFlags
	since string
}

func (f *planFlags) flags(fs *flag.FlagSet) {
	f.issueFlags.flags(fs, "the current week in newsroom.zone")
	fs.StringVar(&f.since, "since", "", "for a first issue: articles published after this date (YYYY-MM-DD) instead of the past 7 days")
}

func (f *planFlags) pick(dg *digest.Service, args []string) ([]string, digest.Week, time.Time, error) {
	series, w, err := f.issueFlags.pick(dg, args)
	if err != nil || f.since == "" {
		return series, w, time.Time{}, err
	}
	since, err := parseTime("since", f.since, dg.Zone())
	return series, w, since, err
}

// openDigest opens what the digest commands need.
func (c *cli) openDigest(ctx context.Context) (*app, mail.Mailer, *digest.Service, error) {
	a, err := c.openApp(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := c.mailer(a)
	if err == nil {
		var subs *subscribers.Service
		if subs, err = a.subscriberService(m, true); err == nil {
			var dg *digest.Service
			if dg, err = a.digestService(subs); err == nil {
				return a, m, dg, nil
			}
		}
		m.Close()
	}
	a.Close()
	return nil, nil, nil, err
}

// sampleReader is who preview and --to render for. Its id belongs to no
// subscriber (ids count up from 1), and the token binds the address too,
// so its unsubscribe link works for nobody.
func sampleReader(email string) *subscribers.Subscriber {
	return &subscribers.Subscriber{ID: math.MaxInt64, Email: email, Name: "Reader", Status: subscribers.StatusActive}
}

func at(dg *digest.Service, t time.Time) string { return t.In(dg.Zone()).Format(time.DateTime) }

type digestPreviewCmd struct {
	planFlags
	format, out string
}

func (p *digestPreviewCmd) flags(fs *flag.FlagSet) {
	p.planFlags.flags(fs)
	fs.StringVar(&p.format, "format", "html", "html or text")
	fs.StringVar(&p.out, "out", "", "write to this file instead of stdout (needs one --series)")
}

func (p *digestPreviewCmd) run(ctx context.Context, c *cli, args []string) error {
	if p.format != "html" && p.format != "text" {
		return fmt.Errorf("%w: --format must be html or text", cmdline.ErrUsage)
	}
	a, m, dg, err := c.openDigest(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	defer m.Close()
	series, w, since, err := p.pick(dg, args)
	if err != nil {
		return err
	}
	if p.out != "" && len(series) != 1 {
		return fmt.Errorf("%w: --out needs one --series", cmdline.ErrUsage)
	}
	var out io.Writer = c.stdout
	if p.out != "" {
		f, err := os.Create(p.out)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	for _, s := range series {
		plan, err := dg.Plan(ctx, s, w, since)
		if err != nil {
			return err
		}
		if len(plan.Articles) == 0 {
			fmt.Fprintf(c.stderr, "%s: no new articles since %s: no issue would be sent\n", plan.Issue.ID, at(dg, plan.Issue.Since))
		}
		msg, err := dg.Message(plan, sampleReader("reader@example.com"))
		if err != nil {
			return err
		}
		body := msg.HTML
		if p.format == "text" {
			body = "Subject: " + msg.Subject + "\n\n" + msg.Text
		}
		if _, err := io.WriteString(out, body+"\n"); err != nil {
			return err
		}
	}
	if p.out != "" {
		fmt.Fprintf(c.stderr, "wrote %s\n", p.out)
	}
	return nil
}

type digestSendCmd struct {
	planFlags
	dryRun bool
	to     string
}

func (s *digestSendCmd) flags(fs *flag.FlagSet) {
	s.planFlags.flags(fs)
	fs.BoolVar(&s.dryRun, "dry-run", false, "list the articles and recipients; store and send nothing")
	fs.StringVar(&s.to, "to", "", "send one copy to this address only, without creating the issue")
}

func (s *digestSendCmd) sendsMail() bool { return !s.dryRun }

func (s *digestSendCmd) run(ctx context.Context, c *cli, args []string) error {
	a, m, dg, err := c.openDigest(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	defer m.Close()
	series, w, since, err := s.pick(dg, args)
	if err != nil {
		return err
	}
	if s.to != "" {
		if s.to, err = subscribers.Normalize(s.to); err != nil {
			return fmt.Errorf("%w: --to: %v", cmdline.ErrUsage, err)
		}
	}
	var errs []error
	for _, se := range series {
		if err := s.sendOne(ctx, c, a, m, dg, se, w, since); err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "%s: %v\n", se, err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d series failed: %w", len(errs), len(series), errReported)
	}
	return nil
}

func (s *digestSendCmd) sendOne(ctx context.Context, c *cli, a *app, m mail.Mailer, dg *digest.Service, series string, w digest.Week, since time.Time) error {
	p, err := dg.Plan(ctx, series, w, since)
	if err != nil {
		return err
	}
	// A stored issue is sent as it was created, whatever has happened to
	// its articles since.
	if len(p.Articles) == 0 && !p.Stored {
		fmt.Fprintf(c.stdout, "%s: no new articles since %s: nothing to send\n", p.Issue.ID, at(dg, p.Issue.Since))
		return nil
	}
	switch {
	case s.to != "":
		msg, err := dg.Message(p, sampleReader(s.to))
		if err != nil {
			return err
		}
		msg.MessageID = "" // a test copy is not the issue's message
		if err := m.Send(ctx, msg); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: sent one copy to %s (%d articles; no issue created)\n", p.Issue.ID, s.to, len(p.Articles))
		return nil
	case s.dryRun:
		return dryRun(ctx, c, dg, p)
	}
	iss, created, err := dg.Create(ctx, p)
	if errors.Is(err, digest.ErrNoRecipients) {
		fmt.Fprintf(c.stdout, "%s: no active subscribers: nothing to send\n", p.Issue.ID)
		return nil
	}
	if err != nil {
		return err
	}
	articles := len(p.Articles)
	if iss.Content != nil {
		articles = len(iss.Content.Email.Articles)
	}
	counts, err := dg.DeliveryCounts(ctx, iss.ID)
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	fmt.Fprintf(c.stdout, "%s: %s, %d articles, %d recipients\n", iss.ID, map[bool]string{true: "created", false: "resumed"}[created], articles, total)
	prog := c.progress("sending "+iss.ID, total)
	done := counts[digest.StateSent] + counts[digest.StateFailed] + counts[digest.StateSkipped]
	rep, err := a.digestSender(dg, m, nil).SendIssue(ctx, iss, func(r digest.Report) {
		prog.Set(done + r.Sent + r.Failed + r.Bounced + r.Skipped)
	})
	prog.Done()
	fmt.Fprintf(c.stdout, "%s: sent %d, retry later %d, failed %d, bounced %d, skipped %d\n",
		iss.ID, rep.Sent, rep.Retry, rep.Failed, rep.Bounced, rep.Skipped)
	return afterSend(ctx, c, dg, iss, rep, err)
}

// dryRun lists what sending p would do.
func dryRun(ctx context.Context, c *cli, dg *digest.Service, p *digest.Plan) error {
	fmt.Fprintf(c.stdout, "%s: articles published %s – %s (%s)\n", p.Issue.ID, at(dg, p.Issue.Since), at(dg, p.Issue.Until), dg.Zone())
	for _, art := range p.Articles {
		fmt.Fprintf(c.stdout, "  article  %s  %s  %s\n", at(dg, art.Published), art.ID, art.Headline)
	}
	if p.Stored {
		counts, err := dg.DeliveryCounts(ctx, p.Issue.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "  issue exists (%s): deliveries %v\n", p.Issue.Status, counts)
		return nil
	}
	subs, err := dg.Recipients(ctx, p.Issue.Series)
	if err != nil {
		return err
	}
	for _, s := range subs {
		fmt.Fprintf(c.stdout, "  to       %s\n", s.Email)
	}
	fmt.Fprintf(c.stdout, "  %d articles, %d recipients (dry run: nothing stored or sent)\n", len(p.Articles), len(subs))
	return nil
}

// afterSend reports what a digest send left behind and decides the exit:
// the failures and the servers' replies go to stderr whenever there were
// any; an error (exit 1) when the run was stopped or nothing could be sent.
func afterSend(ctx context.Context, c *cli, dg *digest.Service, iss *digest.Issue, rep digest.Report, sendErr error) error {
	st, err := dg.Status(ctx, iss)
	if err != nil {
		return errors.Join(sendErr, err)
	}
	if rep.Finished {
		fmt.Fprintf(c.stdout, "%s: finished\n", iss.ID)
	} else {
		st.WriteWaiting(c.stdout, dg.Zone())
	}
	failures := rep.Retry + rep.Failed + rep.Bounced
	if failures > 0 || sendErr != nil {
		st.WriteFailures(c.stderr, 5)
	}
	if sendErr != nil {
		return sendErr
	}
	if rep.Sent == 0 && failures > 0 {
		return fmt.Errorf("nothing could be sent (%d to retry later, %d failed, %d bounced)", rep.Retry, rep.Failed, rep.Bounced)
	}
	return nil
}

// forIssues runs fn on the --week's issue of each --series, or on each
// series' latest.
func (f *issueFlags) forIssues(ctx context.Context, c *cli, args []string, fn func(dg *digest.Service, iss *digest.Issue) error) error {
	a, m, dg, err := c.openDigest(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	defer m.Close()
	series, w, err := f.pick(dg, args)
	if err != nil {
		return err
	}
	week := &w
	if f.week == "" {
		week = nil
	}
	for _, s := range series {
		iss, err := dg.Issue(ctx, s, week)
		if errors.Is(err, digest.ErrNotFound) {
			fmt.Fprintf(c.stdout, "%s: no issue\n", s)
			continue
		}
		if err == nil {
			err = fn(dg, iss)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type digestStatusCmd struct{ issueFlags }

func (s *digestStatusCmd) flags(fs *flag.FlagSet) {
	s.issueFlags.flags(fs, "each series' latest issue")
}

func (s *digestStatusCmd) run(ctx context.Context, c *cli, args []string) error {
	return s.forIssues(ctx, c, args, func(dg *digest.Service, iss *digest.Issue) error {
		st, err := dg.Status(ctx, iss)
		if err == nil {
			st.WriteStatus(c.stdout, dg.Zone())
		}
		return err
	})
}

type digestRetryCmd struct{ issueFlags }

func (r *digestRetryCmd) flags(fs *flag.FlagSet) { r.issueFlags.flags(fs, "each series' latest issue") }

func (r *digestRetryCmd) run(ctx context.Context, c *cli, args []string) error {
	return r.forIssues(ctx, c, args, func(dg *digest.Service, iss *digest.Issue) error {
		n, err := dg.RetryFailed(ctx, iss.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: %d failed deliveries are pending again (sent by \"syndicated serve\" or \"syndicated digest send --week %s\"; bounced subscribers are skipped: unbounce them first)\n",
			iss.ID, n, iss.Week)
		return nil
	})
}

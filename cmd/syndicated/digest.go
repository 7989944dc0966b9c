package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// digestPoll is how often the daemon's delivery workers look for due
// deliveries (retries, issues created on another replica).
const digestPoll = time.Minute

// digestService builds the digest service on the subscriber service.
func (a *app) digestService(subs *subscribers.Service) (*digest.Service, error) {
	var series []digest.Series
	for _, s := range a.cfg.Series {
		offered, def := a.seriesCadences(s)
		schedules := map[digest.Cadence]string{}
		for _, c := range offered {
			schedules[c] = a.cfg.CadenceSchedule(s, string(c))
		}
		series = append(series, digest.Series{Slug: s.Slug, Title: s.Title, Description: s.Description, Subject: s.DigestSubject,
			Cadences: offered, DefaultCadence: def, Schedules: schedules})
	}
	zone, err := a.cfg.Location()
	if err != nil {
		return nil, err
	}
	return digest.New(digest.Config{
		Zone:  zone,
		Store: a.store, Articles: a.store, Subscribers: subs, Series: series,
		BaseURL:  a.cfg.BaseURL,
		Renderer: a.renderer(),
		From:     a.cfg.SMTP.From,
		Log:      a.log,
		// mailto: only when a processed mailbox is configured.
		UnsubscribeMailbox: a.cfg.SMTP.UnsubscribeMailbox,
	})
}

// digestSender builds a sender with smtp.connections workers and the
// smtp.rate_per_second limit.
// Both digest send and serve wait for claims a killed process left until
// their lease runs out, and finish the issue.
func (a *app) digestSender(dg *digest.Service, t mail.Transport, onResult func(string)) *digest.Sender {
	var lim *rate.Limiter
	if r := a.cfg.SMTP.RatePerSec; r > 0 {
		lim = rate.NewLimiter(rate.Limit(r), 1)
	}
	return digest.NewSender(digest.SenderConfig{
		Store: a.store, Compose: dg.Compose, Transport: t,
		Limiter: lim, Workers: a.cfg.SMTP.Connections, Log: a.log, OnResult: onResult, WaitForLeases: true,
		// The transport's own timeouts (smtp.timeout, smtp.data_timeout)
		// end a send; this only backs them up.
		SendTimeout: sendTimeout(t),
		Faults:      digest.Faults{MaxRetryAge: a.cfg.Digest.MaxRetryAge.Duration},
	})
}

// digestArgs are the series and week the digest commands work on.
func (c *cli) digestArgs(dg *digest.Service, args []string) ([]string, digest.Week, time.Time, error) {
	if len(args) > 0 {
		return nil, digest.Week{}, time.Time{}, fmt.Errorf("%w: unexpected arguments %q", errUsage, args)
	}
	var series []string
	if c.opts.series != "" {
		for _, s := range strings.Split(c.opts.series, ",") {
			if _, err := dg.Series(strings.TrimSpace(s)); err != nil {
				return nil, digest.Week{}, time.Time{}, fmt.Errorf("%w: %v", errUsage, err)
			}
			series = append(series, strings.TrimSpace(s))
		}
	} else {
		for _, s := range dg.AllSeries() {
			series = append(series, s.Slug)
		}
	}
	w := dg.Week(dg.Now())
	if c.opts.week != "" && c.opts.day != "" {
		return nil, w, time.Time{}, fmt.Errorf("%w: give --week or --day, not both", errUsage)
	}
	if c.opts.week != "" {
		var err error
		if w, err = digest.ParseWeek(c.opts.week); err != nil {
			return nil, w, time.Time{}, fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	var since time.Time
	if c.opts.since != "" {
		var err error
		if since, err = time.ParseInLocation("2006-01-02", c.opts.since, dg.Zone()); err != nil {
			if since, err = time.Parse(time.RFC3339, c.opts.since); err != nil {
				return nil, w, since, fmt.Errorf("%w: --since %q: want YYYY-MM-DD (newsroom.zone) or RFC 3339", errUsage, c.opts.since)
			}
		}
	}
	return series, w, since, nil
}

// openDigest opens what both digest commands need.
func (c *cli) openDigest(ctx context.Context) (*app, mail.Mailer, *digest.Service, error) {
	a, err := c.openApp(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := c.mailer(a)
	if err != nil {
		a.Close()
		return nil, nil, nil, err
	}
	subs, err := a.subscriberService(m, true)
	if err != nil {
		m.Close()
		a.Close()
		return nil, nil, nil, err
	}
	dg, err := a.digestService(subs)
	if err != nil {
		m.Close()
		a.Close()
		return nil, nil, nil, err
	}
	return a, m, dg, nil
}

// sampleReader is who preview and --to render for. Its id belongs to no
// subscriber (ids count up from 1), and the token binds the address too,
// so its unsubscribe link works for nobody.
func sampleReader(email string) *subscribers.Subscriber {
	return &subscribers.Subscriber{ID: math.MaxInt64, Email: email, Name: "Reader", Status: subscribers.StatusActive}
}

func runDigestPreview(ctx context.Context, c *cli, args []string) error {
	if c.opts.format != "html" && c.opts.format != "text" {
		return fmt.Errorf("%w: --format must be html or text", errUsage)
	}
	a, m, dg, err := c.openDigest(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	defer m.Close()
	series, w, since, err := c.digestArgs(dg, args)
	if err != nil {
		return err
	}
	if c.opts.out != "" && len(series) != 1 {
		return fmt.Errorf("%w: --out needs one --series", errUsage)
	}
	var out io.Writer = c.stdout
	if c.opts.out != "" {
		f, err := os.Create(c.opts.out)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	for _, s := range series {
		p, err := c.plan(ctx, dg, s, w, since)
		if err != nil {
			return err
		}
		if len(p.Articles) == 0 {
			fmt.Fprintf(c.stderr, "%s: no new articles since %s: no issue would be sent\n", p.Issue.ID, p.Issue.Since.In(dg.Zone()).Format(time.DateTime))
		}
		msg, err := dg.Message(p, sampleReader("reader@example.com"))
		if err != nil {
			return err
		}
		body := msg.HTML
		if c.opts.format == "text" {
			body = "Subject: " + msg.Subject + "\n\n" + msg.Text
		}
		if _, err := io.WriteString(out, body+"\n"); err != nil {
			return err
		}
	}
	if c.opts.out != "" {
		fmt.Fprintf(c.stderr, "wrote %s\n", c.opts.out)
	}
	return nil
}

func runDigestSend(ctx context.Context, c *cli, args []string) error {
	a, m, dg, err := c.openDigest(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	defer m.Close()
	series, w, since, err := c.digestArgs(dg, args)
	if err != nil {
		return err
	}
	if c.opts.to != "" {
		to, err := subscribers.Normalize(c.opts.to)
		if err != nil {
			return fmt.Errorf("%w: --to: %v", errUsage, err)
		}
		c.opts.to = to
	}
	if c.opts.issue != "" {
		for _, id := range strings.Split(c.opts.issue, ",") {
			if err := c.sendStored(ctx, a, m, dg, strings.TrimSpace(id)); err != nil {
				return err
			}
		}
		return nil
	}
	var errs []error
	for _, s := range series {
		if err := c.sendOne(ctx, a, m, dg, s, w, since); err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(c.stderr, "%s: %v\n", s, err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d series failed: %w", len(errs), len(series), errReported)
	}
	return nil
}

func (c *cli) sendOne(ctx context.Context, a *app, m mail.Mailer, dg *digest.Service, series string, w digest.Week, since time.Time) error {
	p, err := c.plan(ctx, dg, series, w, since)
	if err != nil {
		return err
	}
	// A stored issue is sent as it was created, whatever has happened to
	// its articles since.
	if len(p.Articles) == 0 && !p.Stored {
		fmt.Fprintf(c.stdout, "%s: no new articles since %s: nothing to send\n", p.Issue.ID, p.Issue.Since.In(dg.Zone()).Format(time.DateTime))
		return nil
	}
	switch {
	case c.opts.to != "":
		msg, err := dg.Message(p, sampleReader(c.opts.to))
		if err != nil {
			return err
		}
		msg.MessageID = "" // a test copy is not the issue's message
		if err := m.Send(ctx, msg); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: sent one copy to %s (%d articles; no issue created)\n", p.Issue.ID, c.opts.to, len(p.Articles))
		return nil
	case c.opts.dryRun:
		fmt.Fprintf(c.stdout, "%s: articles published %s – %s (%s)\n", p.Issue.ID,
			p.Issue.Since.In(dg.Zone()).Format(time.DateTime), p.Issue.Until.In(dg.Zone()).Format(time.DateTime), dg.Zone())
		for _, art := range p.Articles {
			fmt.Fprintf(c.stdout, "  article  %s  %s  %s\n", art.Published.In(dg.Zone()).Format(time.DateTime), art.ID, art.Headline)
		}
		if p.Stored {
			counts, err := a.store.DeliveryCounts(ctx, p.Issue.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "  issue exists (%s): deliveries %v\n", p.Issue.Status, counts)
			return nil
		}
		subs, err := dg.Recipients(ctx, p)
		if err != nil {
			return err
		}
		for _, s := range subs {
			fmt.Fprintf(c.stdout, "  to       %s\n", s.Email)
		}
		fmt.Fprintf(c.stdout, "  %d articles, %d recipients (dry run: nothing stored or sent)\n", len(p.Articles), len(subs))
		return nil
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
	counts, err := a.store.DeliveryCounts(ctx, iss.ID)
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	verb := "created"
	if !created {
		verb = "resumed"
	}
	fmt.Fprintf(c.stdout, "%s: %s, %d articles, %d recipients\n", iss.ID, verb, articles, total)
	prog := c.progress("sending "+iss.ID, total)
	done := counts[digest.StateSent] + counts[digest.StateFailed] + counts[digest.StateSkipped]
	rep, err := a.digestSender(dg, m, nil).SendIssue(ctx, iss, func(r digest.Report) {
		prog.Set(done + r.Sent + r.Failed + r.Bounced + r.Skipped)
	})
	prog.Done()
	fmt.Fprintf(c.stdout, "%s: sent %d, retry later %d, failed %d, bounced %d, skipped %d\n",
		iss.ID, rep.Sent, rep.Retry, rep.Failed, rep.Bounced, rep.Skipped)
	return c.afterSend(ctx, a, dg, iss, rep, err)
}

// daemonDigest is the digest part of serve: the weekly job per series
// (on one replica) and delivery workers (on every replica).
type daemonDigest struct {
	d      *daemon
	svc    *digest.Service
	sender *digest.Sender
	kick   chan struct{}
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// setupDigest builds the digest service (whose Register serves the
// /digests pages), its sender and its metric.
func (d *daemon) setupDigest(m mail.Transport) (*daemonDigest, error) {
	svc, err := d.a.digestService(d.subs)
	if err != nil {
		return nil, err
	}
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syndicated_digest_deliveries_total", Help: "Digest delivery attempts by result (sent, retry, failed, bounced, skipped).",
	}, []string{"result"})
	d.registry.MustRegister(deliveries)
	for _, r := range []string{digest.ResultSent, digest.ResultRetry, digest.ResultFailed, digest.ResultBounced, digest.ResultSkipped} {
		deliveries.WithLabelValues(r) // exported as 0 from the start
	}
	dd := &daemonDigest{d: d, svc: svc, kick: make(chan struct{}, 1),
		sender: d.a.digestSender(svc, m, func(r string) { deliveries.WithLabelValues(r).Inc() })}
	return dd, nil
}

// schedule adds a job per series and cadence (digest.Service.Jobs): each
// run makes its issue (the shared lock makes that one replica) and wakes
// the workers.
func (dd *daemonDigest) schedule() error {
	jobs, err := dd.svc.Jobs()
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if err := dd.d.sched.Add(j.Name, j.Spec, func(ctx context.Context) error {
			return dd.runJob(ctx, j, dd.svc.Now())
		}); err != nil {
			return err
		}
	}
	return nil
}

// runJob makes the issue a run of j due at time at makes and wakes the
// workers.
func (dd *daemonDigest) runJob(ctx context.Context, j digest.Job, at time.Time) error {
	iss, err := dd.svc.MakeDue(ctx, j, at, dd.d.a.log)
	if err != nil || iss == nil {
		return err
	}
	select {
	case dd.kick <- struct{}{}:
	default:
	}
	return nil
}

// start runs the delivery workers: at once (resuming any unfinished
// issue), then on every kick and every digestPoll.
func (dd *daemonDigest) start() {
	ctx, cancel := context.WithCancel(context.Background())
	dd.cancel = cancel
	dd.wg.Go(func() {
		t := time.NewTicker(digestPoll)
		defer t.Stop()
		for {
			if err := dd.sender.Resume(ctx); err != nil && ctx.Err() == nil {
				dd.d.a.log.Warn("digest delivery", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-dd.kick:
			case <-t.C:
			}
		}
	})
}

// stop stops claiming; sends in flight finish and are recorded, the rest
// of this replica's claims are handed back.
func (dd *daemonDigest) stop() {
	if dd.cancel != nil {
		dd.cancel()
	}
	dd.wg.Wait()
}

package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// sendTimeout backs up the transport's own timeouts: an SMTP send may take
// smtp.timeout to connect plus smtp.data_timeout for the transaction.
func sendTimeout(t mail.Transport) time.Duration {
	if m, ok := t.(interface{ MaxSendTime() time.Duration }); ok {
		return m.MaxSendTime() + 30*time.Second
	}
	return time.Minute
}

// afterSend reports what a digest send left behind and decides the exit:
// the failures and the servers' replies go to stderr whenever there were
// any; an error (exit 1) when the run was stopped or nothing could be sent.
func (c *cli) afterSend(ctx context.Context, a *app, dg *digest.Service, iss *digest.Issue, rep digest.Report, sendErr error) error {
	st, err := digest.Status(ctx, a.store, iss, dg.Now())
	if err != nil {
		return errors.Join(sendErr, err)
	}
	if rep.Finished {
		fmt.Fprintf(c.stdout, "%s: finished\n", iss.ID)
	} else {
		c.printWaiting(st, dg)
	}
	failures := rep.Retry + rep.Failed + rep.Bounced
	if failures > 0 || sendErr != nil {
		c.printFailures(st, 5)
	}
	nothing := rep.Sent == 0 && failures > 0
	if sendErr == nil && !nothing {
		return nil
	}
	if sendErr != nil {
		return sendErr
	}
	return fmt.Errorf("nothing could be sent (%d to retry later, %d failed, %d bounced)", rep.Retry, rep.Failed, rep.Bounced)
}

// printWaiting says what is left and why: deliveries waiting for their
// retry time, due now (left by a stopped run), or held by a worker's lease
// (another process, or one that died: the lease runs out).
func (c *cli) printWaiting(st *digest.IssueReport, dg *digest.Service) {
	at := func(t time.Time) string { return t.In(dg.Zone()).Format(time.DateTime + " MST") }
	id := st.Issue.ID
	if st.Waiting > 0 {
		fmt.Fprintf(c.stdout, "%s: %d wait for a retry (the next at %s); \"syndicated serve\" or another \"digest send\" resumes them\n", id, st.Waiting, at(st.NextRetry))
	}
	if st.Due > 0 {
		fmt.Fprintf(c.stdout, "%s: %d not tried yet, pending\n", id, st.Due)
	}
	if st.Leased > 0 {
		fmt.Fprintf(c.stdout, "%s: %d held by another worker's lease (until %s at the latest)\n", id, st.Leased, at(st.LeaseUntil))
	}
}

// printFailures writes the commonest failure reasons (the server's
// replies) on stderr.
func (c *cli) printFailures(st *digest.IssueReport, limit int) {
	for i, f := range st.Failures {
		if i == limit {
			fmt.Fprintf(c.stderr, "%s: … and %d more reasons (syndicated digest status)\n", st.Issue.ID, len(st.Failures)-limit)
			break
		}
		fmt.Fprintf(c.stderr, "%s: %d %s: %s\n", st.Issue.ID, f.Count, failureWord(f), f.Error)
	}
}

// statusIssues are the issues digest status and retry-failed work on: the
// --week's of each --series, or each series' latest.
func (c *cli) statusIssues(ctx context.Context, a *app, dg *digest.Service, args []string) ([]*digest.Issue, error) {
	series, w, _, err := c.digestArgs(dg, args)
	if err != nil {
		return nil, err
	}
	if c.opts.issue != "" {
		iss, err := a.store.GetIssue(ctx, c.opts.issue)
		if errors.Is(err, digest.ErrNotFound) {
			fmt.Fprintf(c.stdout, "%s: no issue\n", c.opts.issue)
			return nil, nil
		}
		return []*digest.Issue{iss}, err
	}
	var out []*digest.Issue
	for _, s := range series {
		var iss *digest.Issue
		switch {
		case c.opts.day != "":
			var day time.Time
			if day, err = digest.ParseDay(c.opts.day, dg.Zone()); err != nil {
				return nil, fmt.Errorf("%w: --day: %v", errUsage, err)
			}
			iss, err = a.store.GetIssue(ctx, digest.DayID(s, day, dg.Zone()))
		case c.opts.week != "":
			iss, err = a.store.GetIssue(ctx, digest.IssueID(s, w))
		default:
			iss, err = a.store.LastIssue(ctx, s, "")
		}
		if errors.Is(err, digest.ErrNotFound) {
			fmt.Fprintf(c.stdout, "%s: no issue\n", s)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, iss)
	}
	return out, nil
}

// withIssues runs fn on each issue statusIssues picks.
func (c *cli) withIssues(ctx context.Context, args []string, fn func(a *app, dg *digest.Service, iss *digest.Issue) error) error {
	a, m, dg, err := c.openDigest(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	defer m.Close()
	issues, err := c.statusIssues(ctx, a, dg, args)
	if err != nil {
		return err
	}
	for _, iss := range issues {
		if err := fn(a, dg, iss); err != nil {
			return err
		}
	}
	return nil
}

func runDigestStatus(ctx context.Context, c *cli, args []string) error {
	return c.withIssues(ctx, args, func(a *app, dg *digest.Service, iss *digest.Issue) error {
		st, err := digest.Status(ctx, a.store, iss, dg.Now())
		if err != nil {
			return err
		}
		n := st.Counts
		fmt.Fprintf(c.stdout, "%s: %s, created %s\n", iss.ID, iss.Status, iss.CreatedAt.In(dg.Zone()).Format(time.DateTime))
		fmt.Fprintf(c.stdout, "  sent %d, pending %d, sending %d, failed %d, skipped %d\n",
			n[digest.StateSent], n[digest.StatePending], n[digest.StateSending], n[digest.StateFailed], n[digest.StateSkipped])
		c.printWaiting(st, dg)
		for _, f := range st.Failures {
			fmt.Fprintf(c.stdout, "  %d %s: %s\n", f.Count, failureWord(f), f.Error)
		}
		return nil
	})
}

func failureWord(f digest.Failure) string {
	if f.State == digest.StatePending {
		return "to retry"
	}
	return "failed"
}

func runDigestRetryFailed(ctx context.Context, c *cli, args []string) error {
	return c.withIssues(ctx, args, func(a *app, dg *digest.Service, iss *digest.Issue) error {
		n, err := a.store.RetryFailed(ctx, iss.ID, dg.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: %d failed deliveries are pending again (sent by \"syndicated serve\" or \"syndicated digest send --week %s\"; bounced subscribers are skipped: unbounce them first)\n",
			iss.ID, n, iss.Week)
		return nil
	})
}

func runSubscribersUnbounce(ctx context.Context, c *cli, args []string) error {
	if (len(args) == 0) == (c.opts.allSince == "") {
		return fmt.Errorf("%w: give EMAIL... or --all-since TIME", errUsage)
	}
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		var since time.Time
		if c.opts.allSince != "" {
			loc, err := a.cfg.Location()
			if err != nil {
				return err
			}
			if since, err = time.ParseInLocation("2006-01-02", c.opts.allSince, loc); err != nil {
				if since, err = time.Parse(time.RFC3339, c.opts.allSince); err != nil {
					return fmt.Errorf("%w: --all-since %q: want YYYY-MM-DD (newsroom.zone) or RFC 3339", errUsage, c.opts.allSince)
				}
			}
		}
		done, err := svc.Unbounce(ctx, args, since)
		if err != nil {
			return err
		}
		for _, e := range done {
			fmt.Fprintf(c.stdout, "%s active\n", e)
		}
		fmt.Fprintf(c.stdout, "%d unbounced\n", len(done))
		for _, e := range args {
			if n, err := subscribers.Normalize(e); err == nil && !slices.Contains(done, n) {
				fmt.Fprintf(c.stderr, "%s: not bounced (or no such subscriber): unchanged\n", n)
			}
		}
		if len(args) > len(done) {
			return fmt.Errorf("%d of %d addresses were not bounced: %w", len(args)-len(done), len(args), errReported)
		}
		return nil
	})
}

package digest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// Console runs the operator's digest commands (digest preview, send,
// status, retry-failed) and writes what they show: results on Stdout,
// problems on Stderr. The command line only turns its flags into a
// Selection.
type Console struct {
	Service        *Service
	Stdout, Stderr io.Writer
	// Transport takes the one copy of digest send --to.
	Transport mail.Transport
	// Sender sends the issues digest send creates or resumes.
	Sender *Sender
	// Terminal says that Stderr is a terminal: how far a send is is
	// drawn there.
	Terminal bool
	// Later, when set, writes after an issue's status what came back for
	// it after its copies were sent (bounces and complaints the bounce
	// intake recorded); sent is how many copies were sent.
	Later func(ctx context.Context, w io.Writer, iss *Issue, sent int) error
}

// Selection is the issues a command works on.
type Selection struct {
	Series []string // slugs
	// Week is the issues' week; nil: the current week for preview and
	// send, each series' latest issue for status and retry-failed.
	Week *Week
	// Day, when set, picks each series' daily issue of that day (its
	// start in the newsroom's zone, see ParseDay) instead of a week's.
	Day *time.Time
	// Issues, when set, are stored issues by id, of any cadence
	// ("shanghai-70th/story/ID"): send resumes them, status and
	// retry-failed work on them; Series, Week and Day then play no part.
	Issues []string
	// Since, for a first issue, takes the articles published after it
	// instead of those of the past 7 days (preview, send).
	Since time.Time
}

// Select reads the --series and --week of a command: a comma-separated
// list of configured series (empty: every one) and an ISO week (empty:
// none chosen). A bad value is a usage error.
func (s *Service) Select(series, week string) (Selection, error) {
	var sel Selection
	if series == "" {
		for _, se := range s.cfg.Series {
			sel.Series = append(sel.Series, se.Slug)
		}
	} else {
		for slug := range strings.SplitSeq(series, ",") {
			slug = strings.TrimSpace(slug)
			if _, err := s.Series(slug); err != nil {
				return sel, fmt.Errorf("%w: %w", cmdline.ErrUsage, err)
			}
			sel.Series = append(sel.Series, slug)
		}
	}
	if week != "" {
		w, err := ParseWeek(week)
		if err != nil {
			return sel, fmt.Errorf("%w: %w", cmdline.ErrUsage, err)
		}
		sel.Week = &w
	}
	return sel, nil
}

// SelectDay narrows sel to the daily issues of day (YYYY-MM-DD in the
// newsroom's zone, a daily issue's --day). A bad day, or a week chosen
// too, is a usage error.
func (s *Service) SelectDay(sel Selection, day string) (Selection, error) {
	if sel.Week != nil {
		return sel, fmt.Errorf("%w: give --week or --day, not both", cmdline.ErrUsage)
	}
	d, err := ParseDay(day, s.Zone())
	if err != nil {
		return sel, fmt.Errorf("%w: --day: %w", cmdline.ErrUsage, err)
	}
	sel.Day = &d
	return sel, nil
}

// plan is the issue of series sel picks: the day's daily issue, or the
// week's.
func (c *Console) plan(ctx context.Context, series string, sel Selection) (*Plan, error) {
	if sel.Day != nil {
		return c.Service.PlanDay(ctx, series, *sel.Day, sel.Since, c.Service.Now())
	}
	return c.Service.Plan(ctx, series, c.week(sel), sel.Since)
}

// week is sel's week, else the current one.
func (c *Console) week(sel Selection) Week {
	if sel.Week != nil {
		return *sel.Week
	}
	return c.Service.Week(c.Service.Now())
}

// at writes t as the commands show times: in the newsroom's zone.
func (c *Console) at(t time.Time) string { return t.In(c.Service.Zone()).Format(time.DateTime) }

// sampleReader is who preview and --to render for. Its id belongs to no
// subscriber (ids count up from 1), and the token binds the address too,
// so its unsubscribe link works for nobody.
func sampleReader(email string) *subscribers.Subscriber {
	return &subscribers.Subscriber{ID: math.MaxInt64, Email: email, Name: "Reader", Status: subscribers.StatusActive}
}

// Preview writes to w the issue of each selected series as a sample
// reader would get it, without storing or sending anything: the HTML, or
// with text the Subject line and the plain text. A series without new
// articles is said so on Stderr.
func (c *Console) Preview(ctx context.Context, w io.Writer, sel Selection, text bool) error {
	for _, s := range sel.Series {
		plan, err := c.plan(ctx, s, sel)
		if err != nil {
			return err
		}
		if len(plan.Articles) == 0 {
			fmt.Fprintf(c.Stderr, "%s: no new articles since %s: no issue would be sent\n", plan.Issue.ID, c.at(plan.Issue.Since))
		}
		msg, err := c.Service.Message(plan, sampleReader("reader@example.com"))
		if err != nil {
			return err
		}
		body := msg.HTML
		if text {
			body = "Subject: " + msg.Subject + "\n\n" + msg.Text
		}
		if _, err := io.WriteString(w, body+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// SendOptions are digest send's ways of not sending the issue.
type SendOptions struct {
	// DryRun lists the articles and recipients; nothing is stored or sent.
	DryRun bool
	// To sends one copy to this address only, without creating the issue.
	To string
}

// Send creates the issue of each selected series and sends it to its
// readers (the series' active subscribers who take that cadence), or
// resumes one created already; a series without new articles or
// subscribers gets a line saying so. With sel.Issues it sends what is due
// of those stored issues instead. A failing series or issue is reported
// on Stderr and the others still go.
func (c *Console) Send(ctx context.Context, sel Selection, opts SendOptions) error {
	if len(sel.Issues) > 0 {
		if opts.To != "" || opts.DryRun {
			return fmt.Errorf("%w: --issue resumes stored issues: not with --to or --dry-run", cmdline.ErrUsage)
		}
		return c.each(ctx, "issues", sel.Issues, c.sendStored)
	}
	if opts.To != "" {
		to, err := subscribers.Normalize(opts.To)
		if err != nil {
			return fmt.Errorf("%w: --to: %v", cmdline.ErrUsage, err)
		}
		opts.To = to
	}
	return c.each(ctx, "series", sel.Series, func(ctx context.Context, s string) error { return c.sendOne(ctx, s, sel, opts) })
}

// each runs send on each of names (series or issue ids, what says
// which); one that fails is reported on Stderr and the others still go.
func (c *Console) each(ctx context.Context, what string, names []string, send func(ctx context.Context, name string) error) error {
	var failed int
	for _, n := range names {
		if err := send(ctx, n); err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(c.Stderr, "%s: %v\n", n, err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d %s failed: %w", failed, len(names), what, cmdline.ErrReported)
	}
	return nil
}

func (c *Console) sendOne(ctx context.Context, series string, sel Selection, opts SendOptions) error {
	dg := c.Service
	p, err := c.plan(ctx, series, sel)
	if err != nil {
		return err
	}
	// A stored issue is sent as it was created, whatever has happened to
	// its articles since.
	if len(p.Articles) == 0 && !p.Stored {
		fmt.Fprintf(c.Stdout, "%s: no new articles since %s: nothing to send\n", p.Issue.ID, c.at(p.Issue.Since))
		return nil
	}
	switch {
	case opts.To != "":
		return c.sendCopy(ctx, p, opts.To)
	case opts.DryRun:
		return c.dryRun(ctx, p)
	}
	iss, created, err := dg.Create(ctx, p)
	if errors.Is(err, ErrNoRecipients) {
		fmt.Fprintf(c.Stdout, "%s: no active subscribers: nothing to send\n", p.Issue.ID)
		return nil
	}
	if err != nil {
		return err
	}
	articles := len(p.Articles)
	if iss.Content != nil {
		articles = len(iss.Content.Email.Articles)
	}
	return c.sendIssue(ctx, iss, func(total int) {
		fmt.Fprintf(c.Stdout, "%s: %s, %d articles, %d recipients\n", iss.ID, map[bool]string{true: "created", false: "resumed"}[created], articles, total)
	})
}

// sendStored sends what is due of the stored issue id (digest send
// --issue), whatever its cadence.
func (c *Console) sendStored(ctx context.Context, id string) error {
	iss, err := c.Service.cfg.Store.GetIssue(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("no issue %s", id)
	}
	if err != nil {
		return err
	}
	return c.sendIssue(ctx, iss, func(total int) {
		fmt.Fprintf(c.Stdout, "%s: resumed, %d recipients\n", iss.ID, total)
	})
}

// sendIssue sends what is due of iss, with its progress drawn on a
// terminal, after head has written its first line (given its number of
// recipients).
func (c *Console) sendIssue(ctx context.Context, iss *Issue, head func(total int)) error {
	counts, err := c.Service.DeliveryCounts(ctx, iss.ID)
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	head(total)
	prog := cmdline.NewProgress(c.Stderr, c.Terminal, "sending "+iss.ID, total)
	done := counts[StateSent] + counts[StateFailed] + counts[StateSkipped]
	rep, err := c.Sender.SendIssue(ctx, iss, func(r Report) {
		prog.Set(done + r.Sent + r.Failed + r.Bounced + r.Skipped)
	})
	prog.Done()
	fmt.Fprintf(c.Stdout, "%s: sent %d, retry later %d, failed %d, bounced %d, skipped %d\n",
		iss.ID, rep.Sent, rep.Retry, rep.Failed, rep.Bounced, rep.Skipped)
	return c.afterSend(ctx, iss, rep, err)
}

// sendCopy sends one copy of p to the address to, as the sample reader;
// no issue is created.
func (c *Console) sendCopy(ctx context.Context, p *Plan, to string) error {
	msg, err := c.Service.Message(p, sampleReader(to))
	if err != nil {
		return err
	}
	msg.MessageID = "" // a test copy is not the issue's message
	if err := c.Transport.Send(ctx, msg); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%s: sent one copy to %s (%d articles; no issue created)\n", p.Issue.ID, to, len(p.Articles))
	return nil
}

// dryRun lists what sending p would do.
func (c *Console) dryRun(ctx context.Context, p *Plan) error {
	dg := c.Service
	fmt.Fprintf(c.Stdout, "%s: articles published %s – %s (%s)\n", p.Issue.ID, c.at(p.Issue.Since), c.at(p.Issue.Until), dg.Zone())
	for _, art := range p.Articles {
		fmt.Fprintf(c.Stdout, "  article  %s  %s  %s\n", c.at(art.Published), art.ID, art.Headline)
	}
	if p.Stored {
		counts, err := dg.DeliveryCounts(ctx, p.Issue.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "  issue exists (%s): deliveries %v\n", p.Issue.Status, counts)
		return nil
	}
	subs, err := dg.Recipients(ctx, p)
	if err != nil {
		return err
	}
	for _, s := range subs {
		fmt.Fprintf(c.Stdout, "  to       %s\n", s.Email)
	}
	fmt.Fprintf(c.Stdout, "  %d articles, %d recipients (dry run: nothing stored or sent)\n", len(p.Articles), len(subs))
	return nil
}

// afterSend reports what a send left behind and decides the outcome: the
// failures and the servers' replies go to Stderr whenever there were any;
// an error when the run was stopped or nothing could be sent.
func (c *Console) afterSend(ctx context.Context, iss *Issue, rep Report, sendErr error) error {
	st, err := c.Service.Status(ctx, iss)
	if err != nil {
		return errors.Join(sendErr, err)
	}
	if rep.Finished {
		fmt.Fprintf(c.Stdout, "%s: finished\n", iss.ID)
	} else {
		st.WriteWaiting(c.Stdout, c.Service.Zone())
	}
	failures := rep.Retry + rep.Failed + rep.Bounced
	if failures > 0 || sendErr != nil {
		st.WriteFailures(c.Stderr, 5)
	}
	if sendErr != nil {
		return sendErr
	}
	if rep.Sent == 0 && failures > 0 {
		return fmt.Errorf("nothing could be sent (%d to retry later, %d failed, %d bounced)", rep.Retry, rep.Failed, rep.Bounced)
	}
	return nil
}

// forIssues runs fn on the selected issues by id, or on the selected
// week's (or day's) issue of each series, or on each series' latest; a
// series or id without one gets a line saying so.
func (c *Console) forIssues(ctx context.Context, sel Selection, fn func(iss *Issue) error) error {
	names := sel.Series
	if len(sel.Issues) > 0 {
		names = sel.Issues
	}
	for _, s := range names {
		var (
			iss *Issue
			err error
		)
		switch {
		case len(sel.Issues) > 0:
			iss, err = c.Service.cfg.Store.GetIssue(ctx, s)
		case sel.Day != nil:
			iss, err = c.Service.cfg.Store.GetIssue(ctx, DayID(s, *sel.Day, c.Service.Zone()))
		default:
			iss, err = c.Service.Issue(ctx, s, sel.Week)
		}
		if errors.Is(err, ErrNotFound) {
			fmt.Fprintf(c.Stdout, "%s: no issue\n", s)
			continue
		}
		if err == nil {
			err = fn(iss)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Status writes where each selected issue's deliveries stand
// (IssueReport.WriteStatus).
func (c *Console) Status(ctx context.Context, sel Selection) error {
	return c.forIssues(ctx, sel, func(iss *Issue) error {
		st, err := c.Service.Status(ctx, iss)
		if err != nil {
			return err
		}
		st.WriteStatus(c.Stdout, c.Service.Zone())
		if c.Later == nil {
			return nil
		}
		return c.Later(ctx, c.Stdout, iss, st.Counts[StateSent])
	})
}

// RetryFailed makes each selected issue's failed deliveries pending again
// and says how many, and what sends them.
func (c *Console) RetryFailed(ctx context.Context, sel Selection) error {
	return c.forIssues(ctx, sel, func(iss *Issue) error {
		n, err := c.Service.RetryFailed(ctx, iss.ID)
		if err != nil {
			return err
		}
		resend := "--week " + iss.Week.String()
		if iss.Cadence() != subscribers.CadenceWeekly {
			resend = "--issue " + iss.ID
		}
		fmt.Fprintf(c.Stdout, "%s: %d failed deliveries are pending again (sent by \"syndicated serve\" or \"syndicated digest send %s\"; bounced subscribers are skipped: unbounce them first)\n",
			iss.ID, n, resend)
		return nil
	})
}

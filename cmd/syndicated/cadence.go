package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// seriesCadences is what series s offers (config.SeriesCadences), typed.
func (a *app) seriesCadences(s config.Series) ([]subscribers.Cadence, subscribers.Cadence) {
	names, def := a.cfg.SeriesCadences(s)
	offered := make([]subscribers.Cadence, len(names))
	for i, n := range names {
		offered[i] = subscribers.Cadence(n)
	}
	return offered, subscribers.Cadence(def)
}

// latestIssue links the latest issue of a list, for the welcome email.
func (a *app) latestIssue(ctx context.Context, list string) (subscribers.IssueLink, bool, error) {
	issues, err := a.store.SeriesIssues(ctx, list, 1, 0)
	if err != nil || len(issues) == 0 {
		return subscribers.IssueLink{}, false, err
	}
	return subscribers.IssueLink{Title: digest.IssueTitle(issues[0], a.zone()),
		URL: strings.TrimRight(a.cfg.BaseURL, "/") + "/digests/" + digest.IssuePath(issues[0].ID)}, true, nil
}

// readerLists are the configured series as lists readers choose from.
func (a *app) readerLists() []subscribers.List {
	lists := make([]subscribers.List, 0, len(a.cfg.Series))
	for _, s := range a.cfg.Series {
		offered, def := a.seriesCadences(s)
		lists = append(lists, subscribers.List{Slug: s.Slug, Title: s.Title, Description: s.Description,
			Cadences: offered, DefaultCadence: def})
	}
	return lists
}

// listCadences is the lists column of subscribers list: each active list,
// with the cadence the reader gets it at where the series offers several
// ("shanghai-70th:daily"), and a last column when they are paused.
func listCadences(svc *subscribers.Service, s *subscribers.Subscriber, p subscribers.Preferences, now time.Time) (lists, paused string) {
	offers := map[string]subscribers.Offer{}
	for _, l := range svc.Lists() {
		offers[l.Slug] = l.Offer()
	}
	var out []string
	for _, l := range s.Lists {
		if !l.Active {
			continue
		}
		o, ok := offers[l.List]
		if ok && len(o.Cadences) > 1 {
			out = append(out, l.List+":"+string(o.Effective(p.Cadences[l.List])))
			continue
		}
		out = append(out, l.List)
	}
	if p.Paused(now) {
		paused = "\tpaused until " + p.PausedUntil.UTC().Format(time.RFC3339)
	}
	return strings.Join(out, ","), paused
}

// plan is the issue a digest command works on: the --day's daily issue,
// or the week's.
func (c *cli) plan(ctx context.Context, dg *digest.Service, series string, w digest.Week, since time.Time) (*digest.Plan, error) {
	if c.opts.day == "" {
		return dg.Plan(ctx, series, w, since)
	}
	day, err := digest.ParseDay(c.opts.day, dg.Zone())
	if err != nil {
		return nil, fmt.Errorf("%w: --day: %v", errUsage, err)
	}
	return dg.PlanDay(ctx, series, day, since, dg.Now())
}

// sendStored sends what is due of the stored issue id (digest send
// --issue), whatever its cadence.
func (c *cli) sendStored(ctx context.Context, a *app, m mail.Mailer, dg *digest.Service, id string) error {
	iss, err := a.store.GetIssue(ctx, id)
	if err != nil {
		return err
	}
	counts, err := a.store.DeliveryCounts(ctx, iss.ID)
	if err != nil {
		return err
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	fmt.Fprintf(c.stdout, "%s: resumed, %d recipients\n", iss.ID, total)
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

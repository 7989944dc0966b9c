package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/internal/app"
	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// issueFlags pick the issues a digest command works on.
type issueFlags struct{ series, week, day, issues string }

// flags declares them; byID adds --issue, stored issues by id.
func (f *issueFlags) flags(fs *flag.FlagSet, weekDefault string, byID bool) {
	fs.StringVar(&f.series, "series", "", "series slug(s), comma-separated (default every configured series)")
	fs.StringVar(&f.week, "week", "", "ISO week, e.g. 2019-W17 (default "+weekDefault+")")
	fs.StringVar(&f.day, "day", "", "the daily issue of this day (YYYY-MM-DD in newsroom.zone) instead of a week's")
	if byID {
		fs.StringVar(&f.issues, "issue", "", "the stored issues with these ids (comma-separated), of any cadence (shanghai-70th/story/ID)")
	}
}

func (f *issueFlags) selection(dg *digest.Service, args []string) (digest.Selection, error) {
	if len(args) > 0 {
		return digest.Selection{}, fmt.Errorf("%w: unexpected arguments %q", cmdline.ErrUsage, args)
	}
	sel, err := dg.Select(f.series, f.week)
	if err == nil && f.day != "" {
		sel, err = dg.SelectDay(sel, f.day)
	}
	for _, id := range cmdline.List(f.issues) {
		sel.Issues = append(sel.Issues, strings.TrimSpace(id))
	}
	return sel, err
}

// planFlags are issueFlags with --since, for the commands that plan an
// issue.
type planFlags struct {
	issueFlags
	since string
}

func (f *planFlags) flags(fs *flag.FlagSet, byID bool) {
	f.issueFlags.flags(fs, "the current week in newsroom.zone", byID)
	fs.StringVar(&f.since, "since", "", "for a first issue: articles published after this date (YYYY-MM-DD) instead of the past 7 days")
}

func (f *planFlags) selection(dg *digest.Service, args []string) (sel digest.Selection, err error) {
	if sel, err = f.issueFlags.selection(dg, args); err == nil && f.since != "" {
		sel.Since, err = cmdline.ParseTime("since", f.since, dg.Zone())
	}
	return sel, err
}

// withDigest opens what the digest commands need and runs fn on the
// digest console.
func (c *cli) withDigest(ctx context.Context, fn func(*digest.Console) error) error {
	return c.withMail(ctx, func(a *app.App, m mail.Mailer, subs *subscribers.Service) error {
		dg, err := a.DigestService(subs)
		if err != nil {
			return err
		}
		return fn(&digest.Console{Service: dg, Stdout: c.stdout, Stderr: c.stderr, Terminal: c.isTerminal,
			Transport: m, Sender: a.DigestSender(dg, m, nil), Later: func(ctx context.Context, w io.Writer, iss *digest.Issue, sent int) error {
				return a.BounceReport().Later(ctx, w, iss.ID, sent)
			}})
	})
}

type digestPreviewCmd struct {
	planFlags
	format, out string
}

func (p *digestPreviewCmd) flags(fs *flag.FlagSet) {
	p.planFlags.flags(fs, false)
	fs.StringVar(&p.format, "format", "html", "html or text")
	fs.StringVar(&p.out, "out", "", "write to this file instead of stdout (needs one --series)")
}

func (p *digestPreviewCmd) run(ctx context.Context, c *cli, args []string) error {
	if p.format != "html" && p.format != "text" {
		return fmt.Errorf("%w: --format must be html or text", cmdline.ErrUsage)
	}
	return c.withDigest(ctx, func(con *digest.Console) error {
		sel, err := p.selection(con.Service, args)
		if err != nil {
			return err
		}
		if p.out == "" {
			return con.Preview(ctx, c.stdout, sel, p.format == "text")
		}
		if len(sel.Series) != 1 {
			return fmt.Errorf("%w: --out needs one --series", cmdline.ErrUsage)
		}
		f, err := os.Create(p.out)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := con.Preview(ctx, f, sel, p.format == "text"); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "wrote %s\n", p.out)
		return nil
	})
}

type digestSendCmd struct {
	planFlags
	digest.SendOptions
}

func (s *digestSendCmd) flags(fs *flag.FlagSet) {
	s.planFlags.flags(fs, true)
	fs.BoolVar(&s.DryRun, "dry-run", false, "list the articles and recipients; store and send nothing")
	fs.StringVar(&s.To, "to", "", "send one copy to this address only, without creating the issue")
}

func (s *digestSendCmd) sendsMail() bool { return !s.DryRun }

func (s *digestSendCmd) run(ctx context.Context, c *cli, args []string) error {
	return c.withDigest(ctx, func(con *digest.Console) error {
		sel, err := s.selection(con.Service, args)
		if err != nil {
			return err
		}
		return con.Send(ctx, sel, s.SendOptions)
	})
}

type digestStatusCmd struct{ issueFlags }

func (s *digestStatusCmd) flags(fs *flag.FlagSet) {
	s.issueFlags.flags(fs, "each series' latest issue", true)
}

func (s *digestStatusCmd) run(ctx context.Context, c *cli, args []string) error {
	return c.withDigest(ctx, func(con *digest.Console) error {
		sel, err := s.selection(con.Service, args)
		if err != nil {
			return err
		}
		return con.Status(ctx, sel)
	})
}

type digestRetryCmd struct{ issueFlags }

func (r *digestRetryCmd) flags(fs *flag.FlagSet) {
	r.issueFlags.flags(fs, "each series' latest issue", true)
}

func (r *digestRetryCmd) run(ctx context.Context, c *cli, args []string) error {
	return c.withDigest(ctx, func(con *digest.Console) error {
		sel, err := r.selection(con.Service, args)
		if err != nil {
			return err
		}
		return con.RetryFailed(ctx, sel)
	})
}

type digestDeliveriesCmd struct {
	issueFlags
	state string
}

func (d *digestDeliveriesCmd) flags(fs *flag.FlagSet) {
	d.issueFlags.flags(fs, "the series' latest issue", true)
	fs.StringVar(&d.state, "state", "", "only deliveries in this state: pending, sending, sent, failed, skipped")
}

func (d *digestDeliveriesCmd) run(ctx context.Context, c *cli, args []string) error {
	state, err := digest.ParseState(d.state)
	if err != nil {
		return err
	}
	return c.withDigest(ctx, func(con *digest.Console) error {
		sel, err := d.selection(con.Service, args)
		if err != nil {
			return err
		}
		return con.Deliveries(ctx, sel, state)
	})
}

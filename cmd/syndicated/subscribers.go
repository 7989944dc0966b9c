package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/syndicated/syndicated/internal/app"
	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// withMail opens the app, its mailer and the subscriber service, runs fn
// on them, and closes what it opened.
func (c *cli) withMail(ctx context.Context, fn func(*app.App, mail.Mailer, *subscribers.Service) error) error {
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	m, err := a.Mailer(c.sendsMail)
	if err != nil {
		return err
	}
	defer m.Close()
	svc, err := a.SubscriberService(m, true)
	if err != nil {
		return err
	}
	return fn(a, m, svc)
}

// withSubscribers opens the app and runs fn on the subscribers console.
func (c *cli) withSubscribers(ctx context.Context, fn func(*app.App, *subscribers.Console) error) error {
	return c.withMail(ctx, func(a *app.App, _ mail.Mailer, svc *subscribers.Service) error {
		return fn(a, &subscribers.Console{Service: svc, Stdout: c.stdout, Stderr: c.stderr, Terminal: c.isTerminal})
	})
}

type subscribersAddCmd struct {
	name, list string
	confirmed  bool
}

func (s *subscribersAddCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.name, "name", "", "display name")
	fs.StringVar(&s.list, "list", "", "list (series slug); default every configured series")
	fs.BoolVar(&s.confirmed, "confirmed", false, "mark as confirmed (active) without a confirmation email")
}

func (s *subscribersAddCmd) sendsMail() bool { return !s.confirmed }

func (s *subscribersAddCmd) run(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: give exactly one EMAIL", cmdline.ErrUsage)
	}
	return c.withSubscribers(ctx, func(_ *app.App, con *subscribers.Console) error {
		return con.Add(ctx, args[0], s.name, cmdline.List(s.list), s.confirmed)
	})
}

type subscribersListCmd struct{ status, list string }

func (s *subscribersListCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.status, "status", "", "only this status: pending, active, unsubscribed, bounced")
	fs.StringVar(&s.list, "list", "", "only active subscribers of this list")
}

func (s *subscribersListCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := cmdline.NoArgs("subscribers list", args); err != nil {
		return err
	}
	return c.withSubscribers(ctx, func(_ *app.App, con *subscribers.Console) error {
		return con.List(ctx, subscribers.Filter{Status: subscribers.Status(s.status), List: s.list})
	})
}

type subscribersRemoveCmd struct{ noFlags }

func (*subscribersRemoveCmd) run(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: give exactly one EMAIL", cmdline.ErrUsage)
	}
	return c.withSubscribers(ctx, func(_ *app.App, con *subscribers.Console) error { return con.Remove(ctx, args[0]) })
}

type subscribersUnbounceCmd struct{ allSince string }

func (s *subscribersUnbounceCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.allSince, "all-since", "", "every subscriber bounced since this time, by the digest or a later notification (YYYY-MM-DD in newsroom.zone, or RFC 3339)")
}

func (s *subscribersUnbounceCmd) run(ctx context.Context, c *cli, args []string) error {
	if (len(args) == 0) == (s.allSince == "") {
		return fmt.Errorf("%w: give EMAIL... or --all-since TIME", cmdline.ErrUsage)
	}
	return c.withSubscribers(ctx, func(a *app.App, con *subscribers.Console) error {
		var since time.Time
		if s.allSince != "" {
			var err error
			if since, err = cmdline.ParseTime("all-since", s.allSince, a.Config.Zone()); err != nil {
				return err
			}
		}
		return con.Unbounce(ctx, args, since)
	})
}

type subscribersImportCmd struct{ noFlags }

func (*subscribersImportCmd) run(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: give exactly one FILE.csv", cmdline.ErrUsage)
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	return c.withSubscribers(ctx, func(_ *app.App, con *subscribers.Console) error { return con.Import(ctx, args[0], f) })
}

type subscribersExportCmd struct{ out string }

func (s *subscribersExportCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.out, "out", "", "write to this file instead of stdout")
}

func (s *subscribersExportCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := cmdline.NoArgs("subscribers export", args); err != nil {
		return err
	}
	return c.withSubscribers(ctx, func(_ *app.App, con *subscribers.Console) error { return con.Export(ctx, s.out) })
}

package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/subscribers"
)

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
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		sub, err := svc.Add(ctx, args[0], s.name, lists(s.list), s.confirmed)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s %s\n", sub.Email, sub.Status)
		if sub.Status == subscribers.StatusPending {
			fmt.Fprintln(c.stdout, "a confirmation email was sent; the address becomes active when its link is followed")
		}
		return nil
	})
}

type subscribersListCmd struct{ status, list string }

func (s *subscribersListCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.status, "status", "", "only this status: pending, active, unsubscribed, bounced")
	fs.StringVar(&s.list, "list", "", "only active subscribers of this list")
}

func (s *subscribersListCmd) run(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: subscribers list takes no arguments", cmdline.ErrUsage)
	}
	st := subscribers.Status(s.status)
	if st != "" && !st.Valid() {
		return fmt.Errorf("%w: --status %q is not pending, active, unsubscribed or bounced", cmdline.ErrUsage, st)
	}
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		subs, err := svc.List(ctx, subscribers.Filter{Status: st, List: s.list})
		if err != nil {
			return err
		}
		for _, s := range subs {
			var lists []string
			for _, l := range s.Lists {
				if l.Active {
					lists = append(lists, l.List)
				}
			}
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\t%s\n", s.Email, s.Status, strings.Join(lists, ","), s.Name)
		}
		if c.isTerminal {
			fmt.Fprintf(c.stderr, "%d subscribers\n", len(subs))
		}
		return nil
	})
}

type subscribersRemoveCmd struct{ noFlags }

func (*subscribersRemoveCmd) run(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: give exactly one EMAIL", cmdline.ErrUsage)
	}
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		if err := svc.Remove(ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "removed; the address is suppressed and will not be re-imported")
		return nil
	})
}

type subscribersUnbounceCmd struct{ allSince string }

func (s *subscribersUnbounceCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.allSince, "all-since", "", "every subscriber the digest bounced since this time (YYYY-MM-DD in newsroom.zone, or RFC 3339)")
}

func (s *subscribersUnbounceCmd) run(ctx context.Context, c *cli, args []string) error {
	if (len(args) == 0) == (s.allSince == "") {
		return fmt.Errorf("%w: give EMAIL... or --all-since TIME", cmdline.ErrUsage)
	}
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		var since time.Time
		if s.allSince != "" {
			var err error
			if since, err = parseTime("all-since", s.allSince, a.zone()); err != nil {
				return err
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
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		p := c.progress("importing rows", 0)
		rep, err := svc.ImportCSV(ctx, f, p.Set)
		p.Done()
		if err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		for _, b := range rep.Bad {
			fmt.Fprintf(c.stderr, "%s:%d: %v\n", args[0], b.Line, b.Err)
		}
		fmt.Fprintf(c.stdout, "%d rows: %d added, %d already present, %d suppressed, %d bad\n",
			rep.Rows, rep.Inserted, rep.Existing, rep.Suppressed, len(rep.Bad))
		if len(rep.Bad) > 0 {
			return fmt.Errorf("%d bad rows: %w", len(rep.Bad), errReported)
		}
		return nil
	})
}

type subscribersExportCmd struct{ out string }

func (s *subscribersExportCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.out, "out", "", "write to this file instead of stdout")
}

func (s *subscribersExportCmd) run(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: subscribers export takes no arguments", cmdline.ErrUsage)
	}
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		if s.out == "" {
			return svc.ExportCSV(ctx, c.stdout)
		}
		tmp := s.out + ".tmp"
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if err := svc.ExportCSV(ctx, f); err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(tmp, s.out)
	})
}

// withSubscribers opens the app and the subscriber service for one command.
func (c *cli) withSubscribers(ctx context.Context, fn func(*app, *subscribers.Service) error) error {
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	m, err := c.mailer(a)
	if err != nil {
		return err
	}
	defer m.Close()
	svc, err := a.subscriberService(m, true)
	if err != nil {
		return err
	}
	return fn(a, svc)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/subscribers"
)

// errReported says the command already printed what went wrong in detail.
var errReported = errors.New("see the errors above")

func runImport(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: name at least one file or directory", errUsage)
	}
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	// The command prints one line per file itself; the importer's own log
	// lines would only repeat them, but for its warnings about what it
	// changed in a file it kept (a Markdown link dropped).
	p := c.progress("importing articles", 0)
	rep, err := a.importerWith(slog.New(onlyMessage{a.log.Handler(), ingest.ParseWarning}), func(done, total int) {
		p.total = total
		p.Set(done)
	}).ImportPaths(ctx, args...)
	p.Done()
	if err != nil {
		return err
	}
	for _, f := range rep.Files {
		if f.Err != nil {
			fmt.Fprintf(c.stderr, "error: %v\n", f.Err)
			continue
		}
		fmt.Fprintf(c.stdout, "%-12s %s (%s)\n", f.Outcome, f.ID, f.File)
	}
	fmt.Fprintln(c.stdout, rep.String())
	if len(rep.Failed()) > 0 {
		return fmt.Errorf("%d of %d files rejected: %w", len(rep.Failed()), len(rep.Files), errReported)
	}
	return nil
}

func runFeedsBuild(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: feeds build takes no arguments", errUsage)
	}
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	out := c.opts.out
	if out == "" {
		out = a.cfg.Feeds.OutputDir
	}
	if out == "" {
		out = filepath.Join(a.dataDir, "public")
	}
	if err := a.importSamples(ctx, a.importer()); err != nil {
		return err
	}
	set, err := a.feedSet()
	if err != nil {
		return err
	}
	if _, err := set.Rebuild(ctx); err != nil {
		return err
	}
	res, err := set.WriteDir(ctx, out)
	if err != nil {
		return err
	}
	arch, err := set.WriteArchives(ctx, out)
	if err != nil {
		return err
	}
	for _, f := range append(res.Written, arch.Written...) {
		fmt.Fprintln(c.stdout, "wrote", filepath.Join(out, f))
	}
	fmt.Fprintf(c.stdout, "%d files written, %d unchanged, in %s\n",
		len(res.Written)+len(arch.Written), res.Unchanged+arch.Unchanged, out)
	return nil
}

func (a *app) subscriberLists(list string) []string {
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

func runSubscribersAdd(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: give exactly one EMAIL", errUsage)
	}
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		sub, err := svc.Add(ctx, args[0], c.opts.name, a.subscriberLists(c.opts.list), c.opts.confirmed)
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

func runSubscribersList(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: subscribers list takes no arguments", errUsage)
	}
	st := subscribers.Status(c.opts.status)
	if st != "" && !st.Valid() {
		return fmt.Errorf("%w: --status %q is not pending, active, unsubscribed or bounced", errUsage, st)
	}
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		subs, err := svc.List(ctx, subscribers.Filter{Status: st, List: c.opts.list})
		if err != nil {
			return err
		}
		prefs, err := svc.Preferences(ctx, subs)
		if err != nil {
			return err
		}
		for _, s := range subs {
			lists, paused := listCadences(svc, s, prefs[s.ID], svc.Now())
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\t%s%s\n", s.Email, s.Status, lists, s.Name, paused)
		}
		if c.isTerminal {
			fmt.Fprintf(c.stderr, "%d subscribers\n", len(subs))
		}
		return nil
	})
}

func runSubscribersRemove(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: give exactly one EMAIL", errUsage)
	}
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		if err := svc.Remove(ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "removed; the address is suppressed and will not be re-imported")
		return nil
	})
}

func runSubscribersImport(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: give exactly one FILE.csv", errUsage)
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

func runSubscribersExport(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: subscribers export takes no arguments", errUsage)
	}
	return c.withSubscribers(ctx, func(a *app, svc *subscribers.Service) error {
		w := c.stdout
		if c.opts.out != "" {
			tmp := c.opts.out + ".tmp"
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
			return os.Rename(tmp, c.opts.out)
		}
		return svc.ExportCSV(ctx, w)
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

// onlyMessage passes on the records with one message.
type onlyMessage struct {
	slog.Handler
	msg string
}

func (h onlyMessage) Handle(ctx context.Context, r slog.Record) error {
	if r.Message != h.msg {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

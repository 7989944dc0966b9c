package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/internal/cmdline"
)

// commands lists every command line syndicated takes.
func (c *cli) commands() []cmdline.Spec {
	spec := func(name, usage, summary string, new func() command) cmdline.Spec {
		return cmdline.Spec{Name: name, Usage: usage, Summary: summary, New: func() cmdline.Command { return bound{new(), c} }}
	}
	return []cmdline.Spec{
		spec("serve", "", "run the daemon: HTTP, feed schedule, digest schedule", func() command { return &serveCmd{} }),
		spec("import", "PATH...", "import article files or directories (.txt pages, .md, .json)", func() command { return &importCmd{} }),
		spec("feeds build", "", "build every feed and write them to a directory", func() command { return &feedsBuildCmd{} }),
		spec("audience", "", "show each feed's audience: aggregators' subscribers, distinct clients a day, hub and email subscribers", func() command { return &audienceCmd{} }),
		spec("config check", "", "load and validate the configuration, and print it", func() command { return &configCheckCmd{} }),
		spec("config example", "", "print the annotated example configuration", func() command { return &configExampleCmd{} }),
		spec("subscribers add", "EMAIL", "add a subscriber", func() command { return &subscribersAddCmd{} }),
		spec("subscribers list", "", "list subscribers, one a line, tab-separated", func() command { return &subscribersListCmd{} }),
		spec("subscribers remove", "EMAIL", "erase a subscriber's personal data and suppress the address", func() command { return &subscribersRemoveCmd{} }),
		spec("subscribers unbounce", "[EMAIL...]", "make bounced subscribers active again (undo a wrong bounce)", func() command { return &subscribersUnbounceCmd{} }),
		spec("subscribers import", "FILE.csv", "import subscribers from CSV, reporting bad rows", func() command { return &subscribersImportCmd{} }),
		spec("subscribers export", "", "export subscribers to CSV on stdout", func() command { return &subscribersExportCmd{} }),
		spec("digest preview", "", "render a digest issue for a sample reader, without sending or storing it", func() command { return &digestPreviewCmd{} }),
		spec("digest send", "", "create a digest issue and send it to the list's active subscribers", func() command { return &digestSendCmd{} }),
		spec("digest status", "", "show an issue's deliveries: counts by state, retries, failures with the server's reply", func() command { return &digestStatusCmd{} }),
		spec("digest retry-failed", "", "make an issue's failed deliveries pending again", func() command { return &digestRetryCmd{} }),
		spec("backup", "", "write a consistent copy of the SQLite database while serve runs (PostgreSQL: use pg_dump)", func() command { return &backupCmd{} }),
		spec("migrate", "", "apply pending database migrations and print the schema version", func() command { return &migrateCmd{} }),
		spec("version", "", "print the version", func() command { return &versionCmd{} }),
	}
}

// noFlags is embedded by commands that take only --config and --data.
type noFlags struct{}

func (noFlags) flags(*flag.FlagSet) {}

// noArgs is the error of a command given arguments it does not take.
func noArgs(name string, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: %s takes no arguments", cmdline.ErrUsage, name)
	}
	return nil
}

// parseTime reads a flag's YYYY-MM-DD (in loc) or RFC 3339 time.
func parseTime(flag, v string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, v); err != nil {
			return t, fmt.Errorf("%w: --%s %q: want YYYY-MM-DD (newsroom.zone) or RFC 3339", cmdline.ErrUsage, flag, v)
		}
	}
	return t, nil
}

// errReported says the command already printed what went wrong in detail.
var errReported = errors.New("see the errors above")

type importCmd struct {
	section, format string
	dryRun          bool
}

func (i *importCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&i.section, "section", "", "section of a file that names none (a page without breadcrumb); a configured slug, title or alias")
	fs.BoolVar(&i.dryRun, "dry-run", false, "store nothing; print what was read of each article")
	fs.StringVar(&i.format, "format", "text", "with --dry-run: text or json")
}

func (i *importCmd) run(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: name at least one file or directory", cmdline.ErrUsage)
	}
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if i.dryRun {
		return ingest.RunDryRun(ctx, a.importer(nil, nil, i.section), c.stdout, i.format, args...)
	}
	// The command prints one line per file itself; the importer's own log
	// lines would only repeat them, but for its warnings about what it
	// changed in a file it kept (a Markdown link dropped).
	p := c.progress("importing articles", 0)
	rep, err := a.importer(slog.New(onlyMessage{a.log.Handler(), ingest.ParseWarning}), func(done, total int) {
		p.total = total
		p.Set(done)
	}, i.section).ImportPaths(ctx, args...)
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
		for _, w := range f.Warnings {
			fmt.Fprintf(c.stderr, "warning: %s\n", w)
		}
	}
	fmt.Fprintln(c.stdout, rep.String())
	if len(rep.Failed()) > 0 {
		return fmt.Errorf("%d of %d articles rejected: %w", len(rep.Failed()), len(rep.Files), errReported)
	}
	return nil
}

type feedsBuildCmd struct{ out string }

func (f *feedsBuildCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&f.out, "out", "", "output directory (default feeds.output_dir, else DATA/public)")
}

func (f *feedsBuildCmd) run(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: feeds build takes no arguments", cmdline.ErrUsage)
	}
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	out := cmp.Or(f.out, a.cfg.Feeds.OutputDir, filepath.Join(a.dataDir, "public"))
	if err := a.importSamples(ctx); err != nil {
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

// lists splits a comma-separated --list; nil for none.
func lists(list string) []string {
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

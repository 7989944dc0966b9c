package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"

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
		spec("subscribers events", "EMAIL", "list what came back for a subscriber: bounces, complaints, unsubscribes by mail, unbounces", func() command { return &subscribersEventsCmd{} }),
		spec("subscribers import", "FILE.csv", "import subscribers from CSV, reporting bad rows", func() command { return &subscribersImportCmd{} }),
		spec("subscribers export", "", "export subscribers to CSV on stdout", func() command { return &subscribersExportCmd{} }),
		spec("digest preview", "", "render a digest issue for a sample reader, without sending or storing it", func() command { return &digestPreviewCmd{} }),
		spec("digest send", "", "create a digest issue and send it to the list's active subscribers", func() command { return &digestSendCmd{} }),
		spec("digest status", "", "show an issue's deliveries: counts by state, retries, failures with the server's reply", func() command { return &digestStatusCmd{} }),
		spec("digest deliveries", "", "list an issue's deliveries: who got it, when, under which Message-ID", func() command { return &digestDeliveriesCmd{} }),
		spec("digest retry-failed", "", "make an issue's failed deliveries pending again", func() command { return &digestRetryCmd{} }),
		spec("backup", "", "write a consistent copy of the SQLite database while serve runs (PostgreSQL: use pg_dump)", func() command { return &backupCmd{} }),
		spec("migrate", "", "apply pending database migrations and print the schema version", func() command { return &migrateCmd{} }),
		spec("version", "", "print the version", func() command { return &versionCmd{} }),
	}
}

// noFlags is embedded by commands that take only --config and --data.
type noFlags struct{}

func (noFlags) flags(*flag.FlagSet) {}

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
		return ingest.RunDryRun(ctx, a.Importer(nil, nil, i.section), c.stdout, i.format, args...)
	}
	// The command prints one line per file itself; the importer's own log
	// lines would only repeat them, but for its warnings about what it
	// changed in a file it kept (a Markdown link dropped).
	p := c.progress("importing articles", 0)
	rep, err := a.Importer(slog.New(ingest.OnlyParseWarnings(a.Log.Handler())), func(done, total int) {
		p.SetTotal(total)
		p.Set(done)
	}, i.section).ImportPaths(ctx, args...)
	p.Done()
	if err != nil {
		return err
	}
	rep.Write(c.stdout, c.stderr)
	if len(rep.Failed()) > 0 {
		return fmt.Errorf("%d of %d articles rejected: %w", len(rep.Failed()), len(rep.Files), cmdline.ErrReported)
	}
	return nil
}

type feedsBuildCmd struct{ out string }

func (f *feedsBuildCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&f.out, "out", "", "output directory (default feeds.output_dir, else DATA/public)")
}

func (f *feedsBuildCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := cmdline.NoArgs("feeds build", args); err != nil {
		return err
	}
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.ImportSamples(ctx); err != nil {
		return err
	}
	set, err := a.FeedSet()
	if err != nil {
		return err
	}
	return set.WriteSite(ctx, cmp.Or(f.out, a.Config.Feeds.OutputDir, filepath.Join(a.DataDir, "public")), c.stdout)
}

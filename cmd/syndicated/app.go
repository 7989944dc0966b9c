package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/internal/app"
	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/storage"
)

func (c *cli) loadConfig() (config.Config, error) {
	return config.Load(c.configPath, c.environ)
}

// openApp opens what the configuration describes (app.Open), logging to
// stderr.
func (c *cli) openApp(ctx context.Context) (*app.App, error) {
	return app.Open(ctx, app.Options{ConfigPath: c.configPath, Environ: c.environ, DataDir: c.dataDir, Logs: c.stderr, Version: version()})
}

type configCheckCmd struct{ smtp bool }

func (cc *configCheckCmd) flags(fs *flag.FlagSet) {
	fs.BoolVar(&cc.smtp, "smtp", false, "also connect to smtp.url and report what the server offers (TLS, AUTH) and what fails; sends nothing")
}

func (cc *configCheckCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := cmdline.NoArgs("config check", args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	problems := config.Problems(err)
	if err := storage.CheckDataDir(c.dataDir); err != nil {
		problems = append(problems, fmt.Errorf("--data: %w", err))
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p)
		}
		return fmt.Errorf("%d problem(s) in the configuration: %w", len(problems), cmdline.ErrReported)
	}
	mail := "none: messages are written to " + app.SpoolDir(c.dataDir) + "/*.eml"
	if cfg.SMTP.URL != "" {
		mail = storage.Redact(cfg.SMTP.URL)
	}
	cfg.WriteCheck(c.stdout, c.stderr, config.Placement{File: c.configPath, Database: storage.Describe(cfg.Database.URL, c.dataDir), Mail: mail,
		Bounces: app.DescribeBounce(cfg.Bounce)})
	if !cc.smtp {
		return nil
	}
	if strings.TrimSpace(cfg.SMTP.URL) == "" {
		fmt.Fprintln(c.stdout, "smtp check: no smtp.url, mail is written to the spool: nothing to connect to")
		return nil
	}
	err = smtp.Probe(ctx, c.stdout, smtp.Config{URL: cfg.SMTP.URL, Timeout: cfg.SMTP.Timeout.Duration})
	if pe := (*smtp.ProbeError)(nil); errors.As(err, &pe) {
		return fmt.Errorf("%w: %w", err, cmdline.ErrReported)
	}
	return err
}

type configExampleCmd struct{ noFlags }

func (*configExampleCmd) run(_ context.Context, c *cli, _ []string) error {
	_, err := fmt.Fprint(c.stdout, config.Example)
	return err
}

type backupCmd struct{ out string }

func (b *backupCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&b.out, "out", "", "the copy to write (required); replaced atomically")
}

func (b *backupCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := cmdline.NoArgs("backup", args); err != nil {
		return err
	}
	if b.out == "" {
		return fmt.Errorf("%w: --out FILE is required", cmdline.ErrUsage)
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	res, err := storage.Backup(ctx, cfg.Database.URL, c.dataDir, b.out)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, res)
	return nil
}

type migrateCmd struct{ noFlags }

func (*migrateCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := cmdline.NoArgs("migrate", args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	res, err := storage.Migrate(ctx, cfg.Database.URL, c.dataDir)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, res)
	return nil
}

type versionCmd struct{ noFlags }

func (*versionCmd) run(_ context.Context, c *cli, _ []string) error {
	fmt.Fprintln(c.stdout, "syndicated", version())
	return nil
}

// progress draws "label n/total" on stderr when it is a terminal.
func (c *cli) progress(label string, total int) *cmdline.Progress {
	return cmdline.NewProgress(c.stderr, c.isTerminal, label, total)
}

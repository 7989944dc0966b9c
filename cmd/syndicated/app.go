package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/storage"
)

// app is what every command that touches data needs: the configuration,
// a logger, and the open store.
type app struct {
	cfg     config.Config
	dataDir string
	log     *slog.Logger
	store   storage.Storage
	secret  []byte
}

func (c *cli) loadConfig() (config.Config, error) {
	return config.Load(c.configPath, c.environ)
}

// openApp loads config, creates the data directory, opens the store and
// resolves the HMAC secret (which may live in the store).
func (c *cli) openApp(ctx context.Context) (*app, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	st, err := storage.Open(ctx, cfg.Database.URL, c.dataDir)
	if err != nil {
		return nil, err
	}
	log := cfg.Log.Logger(c.stderr)
	secret, source, err := storage.HMACKey(ctx, cfg.Secret, c.dataDir, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	log.Debug("hmac secret", "source", source) // never the value
	return &app{cfg: cfg, dataDir: c.dataDir, log: log, store: st, secret: secret}, nil
}

func (a *app) Close() error { return a.store.Close() }

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
	mail := "none: messages are written to " + spoolDir(c.dataDir) + "/*.eml"
	if cfg.SMTP.URL != "" {
		mail = storage.Redact(cfg.SMTP.URL)
	}
	cfg.WriteCheck(c.stdout, c.stderr, config.Placement{File: c.configPath, Database: storage.Describe(cfg.Database.URL, c.dataDir), Mail: mail,
		Bounces: describeBounce(cfg.Bounce)})
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

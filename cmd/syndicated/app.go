package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

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

// logger logs on stderr as log.format and log.level say
// (SYNDICATED_LOG_FORMAT, SYNDICATED_LOG_LEVEL).
func (c *cli) logger(cfg config.Log) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(c.stderr, opts))
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
	log := c.logger(cfg.Log)
	secret, source, err := storage.HMACKey(ctx, cfg.Secret, c.dataDir, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	log.Debug("hmac secret", "source", source) // never the value
	return &app{cfg: cfg, dataDir: c.dataDir, log: log, store: st, secret: secret}, nil
}

func (a *app) Close() error { return a.store.Close() }

// zone is newsroom.zone. The config was validated when it was loaded, so
// the zone resolves; UTC is only a guard against a config built without
// Validate.
func (a *app) zone() *time.Location {
	if loc, err := a.cfg.Location(); err == nil {
		return loc
	}
	return time.UTC
}

type configCheckCmd struct{ smtp bool }

func (cc *configCheckCmd) flags(fs *flag.FlagSet) {
	fs.BoolVar(&cc.smtp, "smtp", false, "also connect to smtp.url and report what the server offers (TLS, AUTH) and what fails; sends nothing")
}

func (cc *configCheckCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := noArgs("config check", args); err != nil {
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
		return fmt.Errorf("%d problem(s) in the configuration: %w", len(problems), errReported)
	}
	fmt.Fprintf(c.stdout, "config OK (%s, with SYNDICATED_* overrides)\n", cmp.Or(c.configPath, "built-in defaults"))
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(c.stderr, "warning: "+w)
	}
	mail := "none: messages are written to " + filepath.Join(c.dataDir, "mail") + "/*.eml"
	if cfg.SMTP.URL != "" {
		mail = storage.Redact(cfg.SMTP.URL)
	}
	fmt.Fprintf(c.stdout, "base_url      %s\nlisten        %s\ndatabase      %s\nsmtp          %s\nfeeds         every %q, %d items\n",
		cfg.BaseURL, cfg.HTTP.Listen, storage.Describe(cfg.Database.URL, c.dataDir), mail, cfg.Feeds.Schedule, cfg.Feeds.Items)
	for _, s := range cfg.Sections {
		fmt.Fprintf(c.stdout, "section       %s (%s)\n", s.Slug, s.Title)
	}
	for _, s := range cfg.Series {
		fmt.Fprintf(c.stdout, "series        %s (%s), digest %q\n", s.Slug, s.Title, cfg.DigestSchedule(s))
	}
	if !cc.smtp {
		return nil
	}
	if strings.TrimSpace(cfg.SMTP.URL) == "" {
		fmt.Fprintln(c.stdout, "smtp check: no smtp.url, mail is written to the spool: nothing to connect to")
		return nil
	}
	err = smtp.Probe(ctx, c.stdout, smtp.Config{URL: cfg.SMTP.URL, Timeout: cfg.SMTP.Timeout.Duration})
	if pe := (*smtp.ProbeError)(nil); errors.As(err, &pe) {
		return fmt.Errorf("%w: %w", err, errReported)
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
	if err := noArgs("backup", args); err != nil {
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
	fmt.Fprintf(c.stdout, "backed up %s to %s (%d bytes, schema version %d, integrity ok)\n", res.From, res.To, res.Bytes, res.SchemaVersion)
	return nil
}

type migrateCmd struct{ noFlags }

func (*migrateCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := noArgs("migrate", args); err != nil {
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
	db := storage.Describe(cfg.Database.URL, c.dataDir)
	if res.After == res.Before {
		fmt.Fprintf(c.stdout, "%s: schema version %d, up to date\n", db, res.After)
	} else {
		fmt.Fprintf(c.stdout, "%s: migrated from schema version %d to %d\n", db, res.Before, res.After)
	}
	if len(res.Merges) > 0 {
		fmt.Fprintf(c.stdout, "%d subscriber record(s) merged into another with the same address in another letter case (earliest consent, every list kept):\n", len(res.Merges))
		for _, m := range res.Merges {
			fmt.Fprintf(c.stdout, "  %s (id %d) into %s (id %d), %s\n", m.MergedEmail, m.MergedID, m.KeptEmail, m.KeptID, m.At.UTC().Format(time.DateOnly))
		}
	}
	return nil
}

type versionCmd struct{ noFlags }

func (*versionCmd) run(_ context.Context, c *cli, _ []string) error {
	fmt.Fprintln(c.stdout, "syndicated", version())
	return nil
}

// progress draws "label n/total" on a terminal and nothing otherwise, so
// that long CLI work is visible interactively and quiet in logs.
type progress struct {
	c     *cli
	label string
	total int
	last  time.Time
}

func (c *cli) progress(label string, total int) *progress {
	return &progress{c: c, label: label, total: total}
}

func (p *progress) Set(done int) {
	if !p.c.isTerminal {
		return
	}
	if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond || done == p.total {
		p.last = now
		if p.total > 0 {
			fmt.Fprintf(p.c.stderr, "\r%s %d/%d", p.label, done, p.total)
		} else {
			fmt.Fprintf(p.c.stderr, "\r%s %d", p.label, done)
		}
	}
}

func (p *progress) Done() {
	if p.c.isTerminal {
		fmt.Fprintln(p.c.stderr)
	}
}

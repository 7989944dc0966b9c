package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/syndicated/syndicated/config"
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
	return config.Load(c.opts.configPath, c.environ)
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
	if err := os.MkdirAll(c.opts.dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	st, err := storage.Open(ctx, cfg.Database.URL, c.opts.dataDir)
	if err != nil {
		return nil, err
	}
	log := c.logger(cfg.Log)
	secret, source, err := loadSecret(ctx, cfg.Secret, c.opts.dataDir, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	log.Debug("hmac secret", "source", source) // never the value
	return &app{cfg: cfg, dataDir: c.opts.dataDir, log: log, store: st, secret: secret}, nil
}

func (a *app) Close() error { return a.store.Close() }

// secretName is the store setting that holds the generated HMAC key.
const secretName = "hmac"

// loadSecret returns the HMAC key and where it came from, first of:
//
//   - the configured secret (at least 16 characters);
//   - DATA/secret, when an earlier version generated one there, so that
//     links already sent by a single-box install keep working;
//   - the key kept in the store under "hmac", generated (32 random bytes,
//     hex) and stored on first use. Every replica sharing the database
//     reads the same one, so a link signed by one verifies on all.
func loadSecret(ctx context.Context, configured, dataDir string, st storage.Storage) ([]byte, string, error) {
	if configured != "" {
		if len(configured) < 16 {
			return nil, "", errors.New("secret: must be at least 16 characters")
		}
		return []byte(configured), "config", nil
	}
	path := filepath.Join(dataDir, "secret")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), "file " + path, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("secret: %w", err)
	}
	s, err := st.Secret(ctx, secretName, func() (string, error) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return "", err
		}
		return hex.EncodeToString(raw), nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("secret: %w", err)
	}
	if len(s) < 16 {
		return nil, "", fmt.Errorf("secret: the %q setting in the database is shorter than 16 characters", secretName)
	}
	return []byte(s), "database", nil
}

func runConfigCheck(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: config check takes no arguments", errUsage)
	}
	cfg, err := c.loadConfig()
	problems := config.Problems(err)
	if err := usableDataDir(c.opts.dataDir); err != nil {
		problems = append(problems, fmt.Errorf("--data: %w", err))
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p)
		}
		return fmt.Errorf("%d problem(s) in the configuration: %w", len(problems), errReported)
	}
	src := "built-in defaults"
	if c.opts.configPath != "" {
		src = c.opts.configPath
	}
	fmt.Fprintf(c.stdout, "config OK (%s, with SYNDICATED_* overrides)\n", src)
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(c.stderr, "warning: "+w)
	}
	fmt.Fprintf(c.stdout, "base_url      %s\nlisten        %s\ndatabase      %s\nsmtp          %s\nfeeds         every %q, %d items\n",
		cfg.BaseURL, cfg.HTTP.Listen, describeDB(cfg.Database.URL, c.opts.dataDir), describeSMTP(cfg.SMTP.URL, c.opts.dataDir),
		cfg.Feeds.Schedule, cfg.Feeds.Items)
	for _, s := range cfg.Sections {
		fmt.Fprintf(c.stdout, "section       %s (%s)\n", s.Slug, s.Title)
	}
	for _, s := range cfg.Series {
		fmt.Fprintf(c.stdout, "series        %s (%s), digest %q\n", s.Slug, s.Title, cfg.DigestSchedule(s))
	}
	fmt.Fprintf(c.stdout, "bounces       %s\n", describeBounce(cfg.Bounce))
	if c.opts.smtpCheck {
		if strings.TrimSpace(cfg.SMTP.URL) == "" {
			fmt.Fprintln(c.stdout, "smtp check: no smtp.url, mail is written to the spool: nothing to connect to")
			return nil
		}
		return checkSMTP(ctx, c.stdout, cfg.SMTP.URL, cfg.SMTP.Timeout.Duration)
	}
	return nil
}

// usableDataDir reports why dir cannot hold the data: it exists but is not
// a writable directory, or it cannot be created.
func usableDataDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		parent := filepath.Dir(filepath.Clean(dir))
		if pfi, perr := os.Stat(parent); perr != nil || !pfi.IsDir() {
			return fmt.Errorf("%s does not exist and %s is not a directory to create it in", dir, parent)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".syndicated-check-*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func runConfigExample(_ context.Context, c *cli, _ []string) error {
	_, err := fmt.Fprint(c.stdout, config.Example)
	return err
}

// describeDB names the database without its password.
func describeDB(url, dataDir string) string {
	if url == "" {
		return "SQLite " + filepath.Join(dataDir, "syndicated.db")
	}
	return storage.Redact(url)
}

func describeSMTP(url, dataDir string) string {
	if url == "" {
		return "none: messages are written to " + filepath.Join(dataDir, "mail") + "/*.eml"
	}
	return storage.Redact(url)
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

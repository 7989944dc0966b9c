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

func (c *cli) logger() *slog.Logger {
	level := slog.LevelInfo
	for _, kv := range c.environ {
		if kv == "SYNDICATED_LOG_LEVEL=debug" {
			level = slog.LevelDebug
		}
	}
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))
}

// openApp loads config, creates the data directory and opens the store.
func (c *cli) openApp(ctx context.Context) (*app, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.opts.dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	secret, err := loadSecret(cfg.Secret, c.opts.dataDir)
	if err != nil {
		return nil, err
	}
	st, err := storage.Open(ctx, cfg.Database.URL, c.opts.dataDir)
	if err != nil {
		return nil, err
	}
	return &app{cfg: cfg, dataDir: c.opts.dataDir, log: c.logger(), store: st, secret: secret}, nil
}

func (a *app) Close() error { return a.store.Close() }

// loadSecret returns the configured secret, else the one kept in
// DATA/secret, creating it on first use so that tokens survive restarts.
func loadSecret(configured, dataDir string) ([]byte, error) {
	if configured != "" {
		if len(configured) < 16 {
			return nil, errors.New("secret: must be at least 16 characters")
		}
		return []byte(configured), nil
	}
	path := filepath.Join(dataDir, "secret")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	s := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return []byte(s), nil
}

func runConfigCheck(_ context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: config check takes no arguments", errUsage)
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	src := "built-in defaults"
	if c.opts.configPath != "" {
		src = c.opts.configPath
	}
	fmt.Fprintf(c.stdout, "config OK (%s, with SYNDICATED_* overrides)\n", src)
	fmt.Fprintf(c.stdout, "base_url      %s\nlisten        %s\ndatabase      %s\nsmtp          %s\nfeeds         every %q, %d items\n",
		cfg.BaseURL, cfg.HTTP.Listen, describeDB(cfg.Database.URL, c.opts.dataDir), describeSMTP(cfg.SMTP.URL, c.opts.dataDir),
		cfg.Feeds.Schedule, cfg.Feeds.Items)
	for _, s := range cfg.Sections {
		fmt.Fprintf(c.stdout, "section       %s (%s)\n", s.Slug, s.Title)
	}
	for _, s := range cfg.Series {
		fmt.Fprintf(c.stdout, "series        %s (%s), digest %q\n", s.Slug, s.Title, s.DigestSchedule)
	}
	return nil
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

// Package app turns a configuration into the parts it describes: the
// store, the importer, the feeds, the mailer, the subscriber and digest
// services, and the daemon that serve runs over them. cmd/syndicated
// parses flags, calls it and prints; nothing here prints a command's
// output.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/storage"
)

// Options say where an App's configuration and data are.
type Options struct {
	// ConfigPath is the TOML file; empty: built-in defaults.
	ConfigPath string
	// Environ overrides keys (SYNDICATED_…), as os.Environ.
	Environ []string
	// DataDir holds the SQLite database, the mail spool and a legacy
	// secret file; created when missing.
	DataDir string
	// Logs receives the log (log.format, log.level); io.Discard when nil.
	Logs io.Writer
	// Version is the program's, in feeds' generator element.
	Version string
}

// App is what every command that touches data needs: the configuration,
// a logger, the open store and the HMAC secret.
type App struct {
	Config  config.Config
	DataDir string
	Log     *slog.Logger
	Store   storage.Storage
	Secret  []byte
	version string
}

// Open loads the configuration, creates the data directory, opens the
// store and resolves the HMAC secret (which may live in the store).
func Open(ctx context.Context, o Options) (*App, error) {
	cfg, err := config.Load(o.ConfigPath, o.Environ)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	st, err := storage.Open(ctx, cfg.Database.URL, o.DataDir)
	if err != nil {
		return nil, err
	}
	logs := o.Logs
	if logs == nil {
		logs = io.Discard
	}
	log := cfg.Log.Logger(logs)
	secret, source, err := storage.HMACKey(ctx, cfg.Secret, o.DataDir, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	log.Debug("hmac secret", "source", source) // never the value
	return &App{Config: cfg, DataDir: o.DataDir, Log: log, Store: st, Secret: secret, version: o.Version}, nil
}

// Close closes the store.
func (a *App) Close() error { return a.Store.Close() }

package config

import (
	"io"
	"log/slog"
	"time"
)

// Values derived from a loaded configuration for the packages it wires.

// Logger logs to w as Format and Level say.
func (l Log) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Zone is newsroom.zone. Load validated it, so it resolves; UTC is only a
// guard against a Config built without Validate.
func (c *Config) Zone() *time.Location {
	if loc, err := c.Location(); err == nil {
		return loc
	}
	return time.UTC
}

// SectionSlugs lists the configured sections' slugs, in order.
func (c *Config) SectionSlugs() []string {
	var out []string
	for _, s := range c.Sections {
		out = append(out, s.Slug)
	}
	return out
}

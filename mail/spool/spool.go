// Package spool is the mail.Transport for a daemon with no SMTP server
// configured (and for previews): each message is written as an .eml file.
package spool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/internal/compose"
)

// Spool writes each message as an .eml file in a directory, for a
// daemon with no SMTP server configured (and for previews). Files appear
// atomically (temp file, fsync, rename) under unique names that sort by
// time.
type Spool struct {
	dir     string
	from    string
	replyTo string
	now     func() time.Time
}

// New creates dir if needed.
func New(dir, from, replyTo string, now func() time.Time) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("mail spool: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	if from == "" {
		from = "syndicated@localhost.localdomain"
	}
	return &Spool{dir: dir, from: from, replyTo: replyTo, now: now}, nil
}

// Dir is where the files go.
func (f *Spool) Dir() string { return f.dir }

// String says where mail goes.
func (f *Spool) String() string { return "files under " + f.dir }

// Close does nothing.
func (f *Spool) Close() error { return nil }

// Send writes m to DIR/<time>-<random>.eml.
func (f *Spool) Send(ctx context.Context, m *mail.Message) error {
	if err := ctx.Err(); err != nil {
		return &mail.Error{Op: "write", Temporary: true, Err: err}
	}
	now := f.now()
	msg, env, err := compose.Build(m, f.from, f.replyTo, now)
	if err != nil {
		return err
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	name := now.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(r[:]) + ".eml"
	tmp, err := os.CreateTemp(f.dir, ".tmp-*.eml.part") // not *.eml until complete: readers glob for that
	if err != nil {
		return &mail.Error{Op: "write", Temporary: true, Err: err}
	}
	fail := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return &mail.Error{Op: "write", Temporary: true, Err: err}
	}
	// A copy with an envelope sender of its own (VERP) starts with it, as
	// a delivering server writes it: where a bounce of it would go.
	if m.EnvelopeFrom != "" {
		if _, err := fmt.Fprintf(tmp, "Return-Path: <%s>\r\n", env.From); err != nil {
			return fail(err)
		}
	}
	if _, err := msg.WriteTo(tmp); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	// The rename delivers: it waits for the caller's go-ahead.
	if err := m.WaitHold(ctx); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(f.dir, name)); err != nil {
		_ = os.Remove(tmp.Name())
		return &mail.Error{Op: "write", Temporary: true, Err: err}
	}
	return nil
}

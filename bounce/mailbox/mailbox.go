// Package mailbox is the IMAP way in of later notifications
// (bounce.mailbox), for operators whose provider keeps bounces in a
// mailbox: it logs in over TLS (github.com/emersion/go-imap v1), reads
// every message not handled yet, feeds it to the bounce pipeline and then
// moves it to a mailbox of handled mail (bounce.mailbox_done) or, without
// one, flags it, so that each message is handled once. A message the
// pipeline could not record (the store is down) is left as it was for the
// next poll; one too large to read is set aside the same way as a handled
// one, with a log line, never deleted.
package mailbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	goimap "github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/bounce/parse"
)

// Handler runs a notification through the pipeline (*bounce.Processor).
type Handler interface {
	Handle(ctx context.Context, n bounce.Notification) ([]bounce.Outcome, error)
}

// DoneFlag is the keyword a handled message gets (with \Seen), whether or
// not it is moved: a message carrying it is never read again.
const DoneFlag = "$SyndicatedDone"

// Defaults of Config.
const (
	DefaultPoll            = time.Minute
	DefaultMaxMessageBytes = 10 << 20
	DefaultTimeout         = time.Minute
	batch                  = 20
)

// Config builds a Poller.
type Config struct {
	// URL is bounce.mailbox: imaps://USER:PASSWORD@HOST[:993]/MAILBOX
	// (MAILBOX defaults to INBOX). Only implicit TLS is accepted: the
	// password never crosses the network in the clear.
	URL string
	// Done is the mailbox handled messages are moved to (created when
	// missing); empty: they stay, flagged \Seen and DoneFlag.
	Done string
	// Poll is how often the mailbox is read (default 1 minute).
	Poll time.Duration
	// MaxMessageBytes bounds what is fetched of one message (default 10
	// MiB); a larger one is set aside unread, with a log line.
	MaxMessageBytes int64
	// TLS is the base TLS configuration (RootCAs for a private CA); the
	// server name comes from the URL.
	TLS *tls.Config
	// Timeout bounds each IMAP command (default 1 minute).
	Timeout time.Duration
	// TryLock, when set, is taken around each poll (the store's shared
	// lock, so that of several replicas one reads the mailbox at a time);
	// a poll whose lock is held elsewhere is skipped.
	TryLock  func(ctx context.Context, name string) (release func(), ok bool, err error)
	Handler  Handler
	Observer bounce.Observer
	Log      *slog.Logger
}

// Poller reads the mailbox.
type Poller struct {
	cfg                  Config
	addr, user, password string
	mailbox              string
	tls                  *tls.Config
}

// New checks cfg.
func New(cfg Config) (*Poller, error) {
	if cfg.Handler == nil {
		return nil, errors.New("bounce.mailbox: no pipeline")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, errors.New("bounce.mailbox: want imaps://USER:PASSWORD@HOST[:993]/MAILBOX")
	}
	if u.Scheme != "imaps" {
		return nil, fmt.Errorf("bounce.mailbox: scheme %q: want imaps:// (IMAP over TLS)", u.Scheme)
	}
	pass, ok := u.User.Password()
	if u.User == nil || u.User.Username() == "" || !ok {
		return nil, errors.New("bounce.mailbox: the URL needs a user and a password (imaps://USER:PASSWORD@HOST/MAILBOX)")
	}
	p := &Poller{cfg: cfg, user: u.User.Username(), password: pass, mailbox: strings.TrimPrefix(u.Path, "/")}
	if p.mailbox == "" {
		p.mailbox = "INBOX"
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "993"
	}
	p.addr = net.JoinHostPort(host, port)
	if cfg.TLS != nil {
		p.tls = cfg.TLS.Clone()
	} else {
		p.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if p.tls.ServerName == "" {
		p.tls.ServerName = host
	}
	if p.cfg.Poll <= 0 {
		p.cfg.Poll = DefaultPoll
	}
	if p.cfg.MaxMessageBytes <= 0 {
		p.cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if p.cfg.Timeout <= 0 {
		p.cfg.Timeout = DefaultTimeout
	}
	if p.cfg.Log == nil {
		p.cfg.Log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// String names the mailbox without its credentials (the user is often an
// address, which logs do not show).
func (p *Poller) String() string { return "imaps://" + p.addr + "/" + p.mailbox }

// Run polls every Config.Poll until ctx ends. A failed poll (the server
// unreachable, the store down) is logged and tried again at the next.
func (p *Poller) Run(ctx context.Context) error {
	p.cfg.Log.Info("bounce: reading notifications from a mailbox", "mailbox", p.String(), "every", p.cfg.Poll.String(), "done", p.cfg.Done)
	t := time.NewTicker(p.cfg.Poll)
	defer t.Stop()
	for {
		if err := p.lockedPoll(ctx); err != nil && ctx.Err() == nil {
			p.cfg.Log.Warn("bounce: mailbox poll failed; trying again at the next", "mailbox", p.String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// lockedPoll polls under Config.TryLock, when set.
func (p *Poller) lockedPoll(ctx context.Context) error {
	if p.cfg.TryLock != nil {
		release, ok, err := p.cfg.TryLock(ctx, "bounce-mailbox")
		if err != nil || !ok {
			return err // held by another replica: its turn
		}
		defer release()
	}
	_, err := p.Poll(ctx)
	return err
}

// Poll reads the messages not handled yet, once, and returns how many it
// handled (or set aside).
func (p *Poller) Poll(ctx context.Context) (int, error) {
	c, err := p.connect(ctx)
	if err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Terminate() })
	defer func() {
		stop()
		_ = c.Logout()
	}()
	if _, err := c.Select(p.mailbox, false); err != nil {
		return 0, fmt.Errorf("select %s: %w", p.mailbox, err)
	}
	if p.cfg.Done != "" {
		if err := c.Create(p.cfg.Done); err != nil && !alreadyExists(err) {
			return 0, fmt.Errorf("create %s: %w", p.cfg.Done, err)
		}
	}
	crit := goimap.NewSearchCriteria()
	crit.WithoutFlags = []string{DoneFlag}
	uids, err := c.UidSearch(crit)
	if err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	handled := 0
	for start := 0; start < len(uids); start += batch {
		n, err := p.handleBatch(ctx, c, uids[start:min(start+batch, len(uids))])
		handled += n
		if err != nil {
			return handled, err
		}
	}
	return handled, nil
}

func (p *Poller) connect(ctx context.Context) (*client.Client, error) {
	d := &net.Dialer{Timeout: p.cfg.Timeout}
	if deadline, ok := ctx.Deadline(); ok {
		d.Deadline = deadline
	}
	c, err := client.DialWithDialerTLS(d, p.addr, p.tls)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", p.addr, err)
	}
	c.Timeout = p.cfg.Timeout
	c.ErrorLog = discardLog{}
	if err := c.Login(p.user, p.password); err != nil {
		_ = c.Terminate()
		return nil, fmt.Errorf("login to %s as %s: %w", p.addr, p.user, err)
	}
	return c, nil
}

// handleBatch reads the sizes of a batch, sets aside those too large,
// and handles the others one by one, each marked done once handled.
func (p *Poller) handleBatch(ctx context.Context, c *client.Client, uids []uint32) (int, error) {
	set := new(goimap.SeqSet)
	set.AddNum(uids...)
	sizes := map[uint32]uint32{}
	if err := fetch(c, set, []goimap.FetchItem{goimap.FetchUid, goimap.FetchRFC822Size}, func(m *goimap.Message) {
		sizes[m.Uid] = m.Size
	}); err != nil {
		return 0, fmt.Errorf("fetch sizes: %w", err)
	}
	handled := 0
	section := &goimap.BodySectionName{Peek: true}
	for _, uid := range uids {
		size, ok := sizes[uid]
		if !ok {
			continue // expunged meanwhile
		}
		if int64(size) > p.cfg.MaxMessageBytes {
			p.cfg.Log.Info("bounce: message set aside unread", "source", bounce.SourceIMAP, "uid", uid,
				"reason", fmt.Sprintf("%d bytes, larger than %d (bounce.max_message_bytes)", size, p.cfg.MaxMessageBytes))
			if p.cfg.Observer != nil {
				p.cfg.Observer.Observe(bounce.SourceIMAP, bounce.ResultRefused, "")
			}
			if err := p.done(c, uid); err != nil {
				return handled, err
			}
			handled++
			continue
		}
		one := new(goimap.SeqSet)
		one.AddNum(uid)
		var raw []byte
		if err := fetch(c, one, []goimap.FetchItem{goimap.FetchUid, section.FetchItem()}, func(m *goimap.Message) {
			if r := m.GetBody(section); r != nil {
				raw, _ = io.ReadAll(io.LimitReader(r, p.cfg.MaxMessageBytes+1))
			}
		}); err != nil {
			return handled, fmt.Errorf("fetch message %d: %w", uid, err)
		}
		if raw == nil {
			continue
		}
		n, perr := parse.Notification(bounce.SourceIMAP, raw, nil)
		if perr != nil {
			p.cfg.Log.Debug("bounce: unreadable message", "source", bounce.SourceIMAP, "uid", uid, "err", perr)
		}
		hctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		_, err := p.cfg.Handler.Handle(hctx, n)
		cancel()
		if err != nil {
			// Left unflagged: the next poll reads it again.
			return handled, fmt.Errorf("message %d not recorded, left for the next poll: %w", uid, err)
		}
		if err := p.done(c, uid); err != nil {
			return handled, err
		}
		handled++
	}
	return handled, nil
}

// done marks a message handled: flagged, then moved when a mailbox for
// handled mail is configured. The flag goes first, so that a failed move
// never makes it read again.
func (p *Poller) done(c *client.Client, uid uint32) error {
	set := new(goimap.SeqSet)
	set.AddNum(uid)
	if err := c.UidStore(set, goimap.FormatFlagsOp(goimap.AddFlags, true), []any{DoneFlag, goimap.SeenFlag}, nil); err != nil {
		return fmt.Errorf("flag message %d: %w", uid, err)
	}
	if p.cfg.Done == "" {
		return nil
	}
	if err := c.UidMove(set, p.cfg.Done); err != nil {
		return fmt.Errorf("move message %d to %s: %w", uid, p.cfg.Done, err)
	}
	return nil
}

// fetch runs a UID FETCH and gives each message to fn.
func fetch(c *client.Client, set *goimap.SeqSet, items []goimap.FetchItem, fn func(*goimap.Message)) error {
	ch := make(chan *goimap.Message, 8)
	errc := make(chan error, 1)
	go func() { errc <- c.UidFetch(set, items, ch) }()
	for m := range ch {
		fn(m)
	}
	return <-errc
}

func alreadyExists(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "alreadyexists") || strings.Contains(s, "already exists")
}

type discardLog struct{}

func (discardLog) Printf(string, ...any) {}
func (discardLog) Println(...any)        {}

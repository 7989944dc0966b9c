// Package smtpd is the inbound SMTP way in of later notifications
// (bounce.listen): a go-smtp server that accepts mail for the bounce
// domain only, the way an operator points an MX record or a Postfix
// transport at it, and feeds each message to the bounce pipeline. It
// relays nothing, bounds the message size, offers STARTTLS when given a
// certificate, and answers 451 when the pipeline cannot record a message
// (the sending server keeps it and tries again), 250 otherwise, including
// for mail it ignores (an auto-reply, a forged token): refusing it would
// only make the sender bounce the bounce.
package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/bounce/parse"
)

// Handler runs a notification through the pipeline (*bounce.Processor).
type Handler interface {
	Handle(ctx context.Context, n bounce.Notification) ([]bounce.Outcome, error)
}

// Defaults of Config.
const (
	DefaultMaxMessageBytes = 10 << 20
	DefaultMaxRecipients   = 50
	DefaultTimeout         = 5 * time.Minute
)

// Config builds a Server.
type Config struct {
	// Addr is bounce.listen, HOST:PORT.
	Addr string
	// VERP names the bounce domain (the only one accepted) and its
	// addresses.
	VERP    *bounce.VERP
	Handler Handler
	// MaxMessageBytes bounds a message (bounce.max_message_bytes;
	// default 10 MiB): a larger one is refused with 552 and logged.
	MaxMessageBytes int64
	// TLS, when set, is offered through STARTTLS.
	TLS *tls.Config
	// Hostname is the greeting's name (default: the bounce domain).
	Hostname string
	// Timeout bounds each read and write (default 5 minutes).
	Timeout time.Duration
	// Observer counts messages refused before the pipeline (too large).
	Observer bounce.Observer
	Log      *slog.Logger
}

// Server is the inbound SMTP server.
type Server struct {
	cfg Config
}

// New checks cfg.
func New(cfg Config) (*Server, error) {
	if cfg.VERP == nil || cfg.Handler == nil {
		return nil, errors.New("bounce.listen: needs bounce.address and the pipeline")
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Hostname == "" {
		cfg.Hostname = cfg.VERP.Domain()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg}, nil
}

// Run listens on Config.Addr and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("bounce.listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then lets the messages being
// received finish for a few seconds and closes.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := smtp.NewServer(backend{s: s, ctx: ctx})
	srv.Domain = s.cfg.Hostname
	srv.MaxMessageBytes = s.cfg.MaxMessageBytes
	srv.MaxRecipients = DefaultMaxRecipients
	srv.ReadTimeout, srv.WriteTimeout = s.cfg.Timeout, s.cfg.Timeout
	srv.TLSConfig = s.cfg.TLS
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.cfg.Log.Info("bounce: receiving notifications by SMTP", "addr", ln.Addr().String(), "domain", s.cfg.VERP.Domain(),
		"starttls", s.cfg.TLS != nil, "max_message_bytes", s.cfg.MaxMessageBytes)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("bounce.listen: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		_ = srv.Close()
	}
	<-errc
	return nil
}

type backend struct {
	s   *Server
	ctx context.Context
}

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, ctx: b.ctx, peer: c.Conn().RemoteAddr().String()}, nil
}

type session struct {
	s    *Server
	ctx  context.Context
	peer string
	rcpt []string
}

func (x *session) Mail(string, *smtp.MailOptions) error { return nil }

// Rcpt accepts the bounce domain's VERP addresses (whether their token
// verifies is the pipeline's to say, and to count), bounce.address
// itself and postmaster; nothing else, and no other domain.
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	v := x.s.cfg.VERP
	_, err := v.Parse(to)
	switch {
	case err == nil, errors.Is(err, bounce.ErrNoToken), errors.Is(err, bounce.ErrBadToken):
	case errors.Is(err, bounce.ErrNotVERP) && strings.EqualFold(to, "postmaster@"+v.Domain()):
	case errors.Is(err, bounce.ErrNotVERP) && strings.HasSuffix(strings.ToLower(to), "@"+v.Domain()):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	default:
		x.s.cfg.Log.Info("bounce: relaying refused", "source", bounce.SourceSMTP, "peer", x.peer)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relay access denied: this server takes mail for " + v.Domain() + " only"}
	}
	x.rcpt = append(x.rcpt, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if errors.Is(err, smtp.ErrDataTooLarge) {
		x.s.cfg.Log.Info("bounce: message refused", "source", bounce.SourceSMTP, "peer", x.peer,
			"reason", fmt.Sprintf("larger than %d bytes (bounce.max_message_bytes)", x.s.cfg.MaxMessageBytes))
		if x.s.cfg.Observer != nil {
			x.s.cfg.Observer.Observe(bounce.SourceSMTP, bounce.ResultRefused, "")
		}
		return smtp.ErrDataTooLarge
	}
	if err != nil {
		return err
	}
	n, perr := parse.Notification(bounce.SourceSMTP, raw, x.rcpt)
	if perr != nil {
		x.s.cfg.Log.Debug("bounce: unreadable message", "source", bounce.SourceSMTP, "err", perr)
	}
	ctx, cancel := context.WithTimeout(x.ctx, x.s.cfg.Timeout)
	defer cancel()
	if _, err := x.s.cfg.Handler.Handle(ctx, n); err != nil {
		x.s.cfg.Log.Warn("bounce: message not recorded, the sender will retry", "source", bounce.SourceSMTP, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, please try again later"}
	}
	return nil
}

func (x *session) Reset()        { x.rcpt = nil }
func (x *session) Logout() error { return nil }

package app

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/bounce/mailbox"
	"github.com/syndicated/syndicated/bounce/smtpd"
	"github.com/syndicated/syndicated/bounce/webhook"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/metrics"
	"github.com/syndicated/syndicated/subscribers"
)

// returns is the digest's VERP scheme (bounce.address), or nil when it
// is not set.
func (a *App) returns() (digest.ReturnAddresses, error) {
	if a.Config.Bounce.Address == "" {
		return nil, nil
	}
	v, err := bounce.NewVERP(a.Config.Bounce.Address, a.Secret, a.Config.Bounce.Inbound())
	if err != nil {
		return nil, err
	}
	return v, nil
}

// setupBounce builds the pipeline of later notifications on the
// subscriber service, and joins serve with the ways in bounce.*
// configures: inbound SMTP and a mailbox (runners), provider webhooks
// (routes).
func (d *Daemon) setupBounce(subs *subscribers.Service) error {
	a, b := d.a, d.a.Config.Bounce
	var verp *bounce.VERP
	if b.Address != "" {
		var err error
		if verp, err = bounce.NewVERP(b.Address, a.Secret, b.Inbound()); err != nil {
			return err
		}
	}
	obs := metrics.NewBounces(d.registry)
	proc, err := bounce.NewProcessor(bounce.Config{Store: a.Store, Subscribers: subs, VERP: verp, Observer: obs, Log: a.Log,
		Soft: bounce.SoftPolicy{Limit: b.SoftLimit, Window: b.SoftWindow.Duration, Issues: b.SoftIssues}})
	if err != nil {
		return err
	}
	if b.Listen != "" {
		var tlsConf *tls.Config
		if b.TLSCertFile != "" {
			cert, err := tls.LoadX509KeyPair(b.TLSCertFile, b.TLSKeyFile)
			if err != nil {
				return fmt.Errorf("bounce.tls_cert_file: %w", err)
			}
			tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		srv, err := smtpd.New(smtpd.Config{Addr: b.Listen, VERP: verp, Handler: proc, MaxMessageBytes: b.MaxMessageBytes,
			TLS: tlsConf, Observer: obs, Log: a.Log})
		if err != nil {
			return err
		}
		d.run(srv)
	}
	if b.Mailbox != "" {
		p, err := mailbox.New(mailbox.Config{URL: b.Mailbox, Done: b.MailboxDone, Poll: b.MailboxPoll.Duration,
			MaxMessageBytes: b.MaxMessageBytes, Handler: proc, Observer: obs, Log: a.Log, TryLock: a.Store.TryLock})
		if err != nil {
			return err
		}
		d.run(p)
	}
	providers, err := a.webhookProviders()
	if err != nil {
		return err
	}
	if len(providers) > 0 {
		hooks, err := webhook.New(proc, obs, a.Log, providers...)
		if err != nil {
			return err
		}
		d.route(hooks.Register)
		a.Log.Info("bounce: provider webhooks", "paths", strings.Join(hooks.Paths(), " "))
	}
	return nil
}

// webhookProviders are the adapters bounce.* configures.
func (a *App) webhookProviders() ([]webhook.Provider, error) {
	b := a.Config.Bounce
	var out []webhook.Provider
	add := func(p webhook.Provider, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return err
	}
	if len(b.SES.TopicARNs) > 0 {
		if err := add(webhook.NewSES(b.SES.TopicARNs, webhook.HTTPFetch(nil), nil)); err != nil {
			return nil, err
		}
	}
	if b.Mailgun.SigningKey != "" {
		if err := add(webhook.NewMailgun(b.Mailgun.SigningKey, b.WebhookMaxAge.Duration, nil)); err != nil {
			return nil, err
		}
	}
	if b.SendGrid.PublicKey != "" {
		if err := add(webhook.NewSendGrid(b.SendGrid.PublicKey, b.WebhookMaxAge.Duration, nil)); err != nil {
			return nil, err
		}
	}
	if b.Postmark.Username != "" {
		if err := add(webhook.NewPostmark(b.Postmark.Username, b.Postmark.Password)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BounceReport reports what came back, for digest status and
// subscribers events.
func (a *App) BounceReport() bounce.Console {
	return bounce.Console{Events: a.Store, ComplaintWarn: a.Config.Bounce.ComplaintWarn, Zone: a.Config.Zone()}
}

// DescribeBounce summarises bounce.* for config check, without secrets.
func DescribeBounce(b config.Bounce) string {
	var parts []string
	if b.Address != "" {
		parts = append(parts, "envelope senders "+strings.Replace(b.Address, "@", "+TOKEN@", 1))
	}
	if b.Listen != "" {
		parts = append(parts, "SMTP on "+b.Listen)
	}
	if u, err := url.Parse(b.Mailbox); err == nil && b.Mailbox != "" {
		u.User = url.User(u.User.Username())
		parts = append(parts, "mailbox "+u.String())
	}
	var hooks []string
	for name, on := range map[string]bool{"ses": len(b.SES.TopicARNs) > 0, "mailgun": b.Mailgun.SigningKey != "",
		"sendgrid": b.SendGrid.PublicKey != "", "postmark": b.Postmark.Username != ""} {
		if on {
			hooks = append(hooks, webhook.Path(bounce.Source(name)))
		}
	}
	if len(hooks) > 0 {
		slices.Sort(hooks)
		parts = append(parts, "webhooks "+strings.Join(hooks, " "))
	}
	if len(parts) == 0 {
		return "off (bounce.address not set: copies go out from smtp.from)"
	}
	return strings.Join(parts, "; ")
}

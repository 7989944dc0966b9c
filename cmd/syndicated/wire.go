package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/mail/spool"
	"github.com/syndicated/syndicated/samples"
	"github.com/syndicated/syndicated/subscribers"
	"github.com/syndicated/syndicated/templates"
)

// importer returns the article importer the config describes.
func (a *app) importer() *ingest.Importer { return a.importerWith(a.log, nil) }

func (a *app) importerWith(log *slog.Logger, progress func(done, total int)) *ingest.Importer {
	opts := ingest.Options{
		Rules:         a.cfg.SeriesRules(),
		GUIDAuthority: a.cfg.GUIDAuthority,
		Zone:          a.zone(),
		Logger:        log,
		Progress:      progress,
	}
	if a.cfg.ProbePhotos {
		opts.PhotoProbe = ingest.HTTPPhotoProbe(nil)
	}
	return ingest.New(a.store, opts)
}

// feedSpecs maps the configured sections and series onto feed specs.
func (a *app) feedSpecs() []feeds.Spec {
	var specs []feeds.Spec
	for _, s := range a.cfg.Sections {
		specs = append(specs, feeds.Spec{Slug: s.Slug, Kind: feeds.KindSection, Title: s.Title,
			Description: s.Description, BaseURL: a.cfg.BaseURL, Language: a.cfg.Language,
			HubURL: a.cfg.Feeds.HubURL, Limit: a.cfg.Feeds.Items, Author: a.cfg.Brand.Name})
	}
	for _, s := range a.cfg.Series {
		specs = append(specs, feeds.Spec{Slug: s.Slug, Kind: feeds.KindSeries, Title: s.Title,
			Description: s.Description, BaseURL: a.cfg.BaseURL, Language: a.cfg.Language,
			HubURL: a.cfg.Feeds.HubURL, Limit: a.cfg.Feeds.Items, Author: a.cfg.Brand.Name})
	}
	return specs
}

// pages is the site's page renderer: the brand, the newsroom's zone, and
// every section and series with its feeds.
func (a *app) pages() (*templates.Renderer, error) {
	zone, err := a.cfg.Location()
	if err != nil {
		return nil, err
	}
	b := a.cfg.Brand
	site := templates.Site{
		Brand: templates.Brand{Name: b.Name, Link: b.Link, Logo: b.Logo, Color: b.Color, Copyright: b.Copyright},
		Lang:  a.cfg.Language, Zone: zone, BaseURL: a.cfg.BaseURL,
	}
	for _, s := range a.feedSpecs() {
		s, err := s.Normalize()
		if err != nil {
			return nil, err
		}
		f := templates.Feed{Slug: s.Slug, Title: s.Title, Description: s.Description, Series: s.Kind == feeds.KindSeries}
		for _, ff := range feeds.Formats {
			f.Links = append(f.Links, templates.FeedLink{Format: formatName(ff), Path: s.FeedPath(ff), Type: ff.MediaType()})
		}
		if cs, ok := a.cfg.SeriesBySlug(s.Slug); ok && f.Series {
			f.Cadences, _ = a.cfg.SeriesCadences(cs)
		}
		site.Feeds = append(site.Feeds, f)
		if f.Series {
			site.Digests = append(site.Digests, f)
		}
	}
	return templates.New(site)
}

// feedSet builds the feed Set (not yet built: call Rebuild).
func (a *app) feedSet() (*feeds.Set, error) {
	ttl, err := feeds.ScheduleInterval(a.cfg.Feeds.Schedule)
	if err != nil {
		return nil, fmt.Errorf("feeds.schedule: %w", err)
	}
	br := a.cfg.Brand
	b, err := feeds.NewBuilder(a.store, a.feedSpecs(), feeds.Options{Version: version(), TTL: ttl, Location: a.zone(),
		Brand: feeds.Brand{Icon: br.Icon, Logo: br.Logo, AccentColor: br.AccentColor, Copyright: br.Copyright}})
	if err != nil {
		return nil, err
	}
	return feeds.NewSet(b, feeds.SetOptions{MaxAge: a.cfg.HTTP.CacheMaxAge.Duration, State: a.store}), nil
}

// importSamples imports the shipped sample articles into an empty store,
// so that a fresh checkout shows real-looking feeds at once.
func (a *app) importSamples(ctx context.Context, im *ingest.Importer) error {
	if !a.cfg.Samples {
		return nil
	}
	n, err := a.store.CountArticles(ctx, article.Query{})
	if err != nil {
		return fmt.Errorf("count articles: %w", err)
	}
	if n > 0 {
		return nil
	}
	rep, err := im.ImportFS(ctx, samples.FS, ".")
	if err != nil {
		return fmt.Errorf("import samples: %w", err)
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("import samples: %w", err)
	}
	a.log.Info("imported the shipped sample articles", "articles", len(rep.Files))
	return nil
}

// mailer opens the transport smtp.url names, or the .eml spool, and says
// at start-up where mail goes. Only commands that send mail use it.
// Real mail (smtp.url set) is refused while base_url is loopback: its
// unsubscribe and view links would work for nobody.
func (a *app) mailer() (mail.Mailer, error) {
	if strings.TrimSpace(a.cfg.SMTP.URL) != "" && a.cfg.IsLoopback() {
		return nil, fmt.Errorf("base_url is %s, a loopback address, while smtp.url is set: set base_url (SYNDICATED_BASE_URL) to the public address readers reach before sending real mail", a.cfg.BaseURL)
	}
	return a.mailerWith(a.log)
}

// mailer opens the transport for the running command: a.mailer when it
// sends mail, else a.silentMailer.
func (c *cli) mailer(a *app) (mail.Mailer, error) {
	if c.sends != nil && c.sends(&c.opts) {
		return a.mailer()
	}
	return a.silentMailer()
}

// silentMailer is mailer for commands that never send (list, export…): its
// notes about where mail would go are left out, its warnings kept.
func (a *app) silentMailer() (mail.Mailer, error) {
	return a.mailerWith(slog.New(warnOnly{a.log.Handler()}))
}

// warnOnly passes on records at warning level and above.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

// mailerWith opens the transport smtp.url names, or the .eml spool under
// the data directory when it is empty. It does not connect yet. It logs
// once, at info level, where mail goes (never the password).
func (a *app) mailerWith(log *slog.Logger) (mail.Mailer, error) {
	if strings.TrimSpace(a.cfg.SMTP.URL) == "" {
		f, err := spool.New(filepath.Join(a.dataDir, "mail"), a.cfg.SMTP.From, a.cfg.SMTP.ReplyTo, nil)
		if err != nil {
			return nil, err
		}
		log.Info("no SMTP server configured (smtp.url): mail is written as .eml files", "dir", f.Dir())
		return f, nil
	}
	var dkim *smtp.DKIM
	if c := a.cfg.SMTP; c.DKIMKeyFile != "" {
		dkim = &smtp.DKIM{Domain: c.DKIMDomain, Selector: c.DKIMSelector, KeyFile: c.DKIMKeyFile}
	}
	s, err := smtp.New(smtp.Config{
		URL:         a.cfg.SMTP.URL,
		From:        a.cfg.SMTP.From,
		ReplyTo:     a.cfg.SMTP.ReplyTo,
		Timeout:     a.cfg.SMTP.Timeout.Duration,
		DataTimeout: a.cfg.SMTP.DataTimeout.Duration,
		DKIM:        dkim,
		Conns:       a.cfg.SMTP.Connections,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("mail goes over SMTP", "server", s.String())
	return s, nil
}

// renderer renders the digest and the confirmation email with the
// configured brand.
func (a *app) renderer() *hermes.Renderer {
	return hermes.New(hermes.Brand{Name: a.cfg.Brand.Name, Link: a.cfg.Brand.Link, Logo: a.cfg.Brand.Logo, Copyright: a.cfg.Brand.Copyright,
		Color: a.cfg.Brand.Color, Language: a.cfg.Language})
}

// subscriberService builds the subscriber service on transport t. The CLI
// sends synchronously so that it can report a failure; the daemon sends in
// the background so that a response's timing reveals nothing.
func (a *app) subscriberService(t mail.Transport, syncMail bool) (*subscribers.Service, error) {
	lists := a.readerLists()
	readers := subscribers.ReaderConfig{PreferencesTTL: a.cfg.Subscribe.PreferencesTTL.Duration, LatestIssue: a.latestIssue}
	if a.cfg.Subscribe.Welcome {
		readers.Welcome = a.renderer()
	}
	return subscribers.New(subscribers.Config{
		Store:           a.store,
		Mailer:          t,
		Secret:          a.secret,
		BaseURL:         a.cfg.BaseURL,
		Confirmation:    a.renderer(),
		Lists:           lists,
		ConfirmTTL:      a.cfg.Subscribe.ConfirmTTL.Duration,
		AddressInterval: a.cfg.Subscribe.PerAddressInterval.Duration,
		IPEvery:         a.cfg.Subscribe.PerClientEvery.Duration,
		IPBurst:         a.cfg.Subscribe.PerClientBurst,
		Logger:          a.log,
		SyncMail:        syncMail,
		Readers:         readers,
	})
}

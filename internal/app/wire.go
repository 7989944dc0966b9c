package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/feeds/websub"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/mail/spool"
	"github.com/syndicated/syndicated/samples"
	"github.com/syndicated/syndicated/server/clientip"
	"github.com/syndicated/syndicated/subscribers"
	"github.com/syndicated/syndicated/templates"
)

// Importer returns the article importer the config describes, logging to
// log, telling progress how far an import is, and hooks what it did.
// defaultSection is the section of a file that names none.
func (a *App) Importer(log *slog.Logger, progress func(done, total int), defaultSection string, hooks ...ingest.Hook) *ingest.Importer {
	opts := ingest.Options{
		Rules:          a.Config.SeriesRules(),
		Sections:       a.Config.SectionRules(),
		DefaultSection: defaultSection,
		GUIDAuthority:  a.Config.GUIDAuthority,
		Zone:           a.Config.Zone(),
		Logger:         log,
		Progress:       progress,
		Hooks:          hooks,
		Earliest:       a.Config.Articles.EarliestDate(),
		MaxAhead:       a.Config.Articles.MaxAhead.Duration,
	}
	if a.Config.ProbePhotos {
		allow, _ := config.ParsePrefixes("probe_photos_allow", a.Config.ProbePhotosAllow) // Validate checked them
		opts.PhotoProbe = ingest.HTTPPhotoProbe(ingest.PhotoProbeClient(allow))
	}
	return ingest.New(a.Store, opts)
}

// FeedSpecs maps the configured sections and series onto feed specs.
func (a *App) FeedSpecs() []feeds.Spec {
	var specs []feeds.Spec
	for _, s := range a.Config.Sections {
		specs = append(specs, a.feedSpec(feeds.Spec{Slug: s.Slug, Kind: feeds.KindSection, Title: s.Title,
			Description: s.Description}, s.ArchivePeriod))
	}
	for _, s := range a.Config.Series {
		specs = append(specs, a.feedSpec(feeds.Spec{Slug: s.Slug, Kind: feeds.KindSeries, Title: s.Title,
			Description: s.Description}, s.ArchivePeriod))
	}
	return specs
}

// feedSpec fills what every feed shares from the config.
func (a *App) feedSpec(s feeds.Spec, period string) feeds.Spec {
	s.BaseURL, s.Language, s.HubURL, s.Limit, s.Author = a.Config.BaseURL, a.Config.Language, a.HubURL(), a.Config.Feeds.Items, a.Config.Brand.Name
	s.PageItems = a.Config.Feeds.PageItems
	s.Period, _ = feeds.ParsePeriodKind(a.Config.ArchivePeriodOf(period)) // config.Validate checked it
	return s
}

// HubURL is the WebSub hub the feeds name: the built-in one, the external
// feeds.hub_url, or none.
func (a *App) HubURL() string {
	if a.Config.Feeds.Hub == config.HubBuiltin {
		return strings.TrimRight(a.Config.BaseURL, "/") + websub.HubPath
	}
	return a.Config.Feeds.HubURL
}

// Pages is the site's page renderer: the brand, the newsroom's zone, and
// every section and series with its feeds.
func (a *App) Pages() (*templates.Renderer, error) {
	zone, err := a.Config.Location()
	if err != nil {
		return nil, err
	}
	b := a.Config.Brand
	site := templates.Site{
		Brand: templates.Brand{Name: b.Name, Link: b.Link, Logo: b.Logo, Color: b.Color, Copyright: b.Copyright},
		Lang:  a.Config.Language, Zone: zone, BaseURL: a.Config.BaseURL,
	}
	for _, s := range a.FeedSpecs() {
		s, err := s.Normalize()
		if err != nil {
			return nil, err
		}
		f := templates.Feed{Slug: s.Slug, Title: s.Title, Description: s.Description, Series: s.Kind == feeds.KindSeries}
		for _, ff := range feeds.Formats {
			f.Links = append(f.Links, templates.FeedLink{Format: ff.Name(), Path: s.FeedPath(ff), Type: ff.MediaType()})
		}
		if cs, ok := a.Config.SeriesBySlug(s.Slug); ok && f.Series {
			f.Cadences, _ = a.Config.SeriesCadences(cs)
		}
		site.Feeds = append(site.Feeds, f)
		if f.Series {
			site.Digests = append(site.Digests, f)
		}
	}
	return templates.New(site)
}

// articleFeeds lists, for an article's page, the feeds it is in with
// their links in every format.
func articleFeeds(set *feeds.Set) func(*article.Article) []templates.Feed {
	return func(a *article.Article) []templates.Feed {
		var out []templates.Feed
		for _, af := range set.ArticleFeeds(a) {
			f := templates.Feed{Title: af.Title}
			for _, ff := range feeds.Formats {
				f.Links = append(f.Links, templates.FeedLink{Format: ff.Name(), Path: af.Path + "." + ff.Ext(), Type: ff.MediaType()})
			}
			out = append(out, f)
		}
		return out
	}
}

// builtinHub makes the built-in WebSub hub over the feed set (feeds.hub =
// "builtin"): subscriptions in the store, content from the set.
func (a *App) builtinHub(set *feeds.Set) (*websub.Hub, error) {
	allow, err := a.Config.Feeds.HubCallbackPrefixes()
	if err != nil {
		return nil, err
	}
	return websub.NewHub(websub.HubOptions{
		Store: a.Store, URL: a.HubURL(), BaseURL: a.Config.BaseURL,
		Content: func(ctx context.Context, path string) ([]byte, string, error) {
			body, f, err := set.Get(ctx, path)
			return body, f.ContentType(), err
		},
		Lease: a.Config.Feeds.HubLease.Duration, MaxLease: a.Config.Feeds.HubMaxLease.Duration, Allow: allow, Log: a.Log,
	})
}

// FeedSet builds the feed Set (not yet built: call Rebuild).
func (a *App) FeedSet() (*feeds.Set, error) {
	ttl, err := feeds.ScheduleInterval(a.Config.Feeds.Schedule)
	if err != nil {
		return nil, fmt.Errorf("feeds.schedule: %w", err)
	}
	br := a.Config.Brand
	opts := feeds.Options{Version: a.version, TTL: ttl, Location: a.Config.Zone(), Webfeeds: a.Config.Feeds.Webfeeds,
		Brand: feeds.Brand{Icon: br.Icon, Logo: br.Logo, AccentColor: br.AccentColor, Copyright: br.Copyright}}
	if a.Config.Feeds.AuthorTagFeeds {
		people := a.feedSpec(feeds.Spec{}, "")
		opts.People = &people
	}
	b, err := feeds.NewBuilder(a.Store, a.FeedSpecs(), opts)
	if err != nil {
		return nil, err
	}
	return feeds.NewSet(b, feeds.SetOptions{MaxAge: a.Config.HTTP.CacheMaxAge.Duration, State: a.Store,
		CacheBytes: int64(a.Config.Feeds.CacheMiB) << 20}), nil
}

// ImportSamples imports the shipped sample articles into an empty store,
// so that a fresh checkout shows real-looking feeds at once.
func (a *App) ImportSamples(ctx context.Context) error {
	if !a.Config.Samples {
		return nil
	}
	n, refused, err := samples.Seed(ctx, a.Store, a.Importer(a.Log, nil, ""))
	for _, f := range refused {
		// A sample filed in a section this configuration lacks.
		a.Log.Warn("a shipped sample article was not imported", "file", f.File, "err", f.Err)
	}
	if n > 0 {
		a.Log.Info("imported the shipped sample articles", "articles", n)
	}
	return err
}

// Mailer opens the transport smtp.url names, or the .eml spool under the
// data directory when it is empty; it does not connect yet. For a command
// that sends mail (sends), real mail is refused while base_url is loopback
// (see config.CheckRealMail) and where mail goes is logged at info level
// (never the password); the others (list, export…) log only warnings.
func (a *App) Mailer(sends bool) (mail.Mailer, error) {
	log := a.Log
	if !sends {
		log = slog.New(warnOnly{a.Log.Handler()})
	} else if err := a.Config.CheckRealMail(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(a.Config.SMTP.URL) == "" {
		f, err := spool.New(SpoolDir(a.DataDir), a.Config.SMTP.From, a.Config.SMTP.ReplyTo, nil)
		if err != nil {
			return nil, err
		}
		log.Info("no SMTP server configured (smtp.url): mail is written as .eml files", "dir", f.Dir())
		return f, nil
	}
	var dkim *smtp.DKIM
	if c := a.Config.SMTP; c.DKIMKeyFile != "" {
		dkim = &smtp.DKIM{Domain: c.DKIMDomain, Selector: c.DKIMSelector, KeyFile: c.DKIMKeyFile}
	}
	s, err := smtp.New(smtp.Config{
		URL:         a.Config.SMTP.URL,
		From:        a.Config.SMTP.From,
		ReplyTo:     a.Config.SMTP.ReplyTo,
		Timeout:     a.Config.SMTP.Timeout.Duration,
		DataTimeout: a.Config.SMTP.DataTimeout.Duration,
		DKIM:        dkim,
		Conns:       a.Config.SMTP.Connections,
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("mail goes over SMTP", "server", s.String())
	return s, nil
}

// SpoolDir is where mail goes as .eml files without smtp.url.
func SpoolDir(dataDir string) string { return filepath.Join(dataDir, "mail") }

// warnOnly passes on records at warning level and above.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

// renderer renders the digest and the confirmation email with the
// configured brand.
func (a *App) renderer() *hermes.Renderer {
	return hermes.New(hermes.Brand{Name: a.Config.Brand.Name, Link: a.Config.Brand.Link, Logo: a.Config.Brand.Logo, Copyright: a.Config.Brand.Copyright,
		Color: a.Config.Brand.Color, Language: a.Config.Language})
}

// SubscriberService builds the subscriber service on transport t. The CLI
// sends synchronously so that it can report a failure; the daemon sends in
// the background so that a response's timing reveals nothing.
func (a *App) SubscriberService(t mail.Transport, syncMail bool) (*subscribers.Service, error) {
	lists := a.readerLists()
	readers := subscribers.ReaderConfig{PreferencesTTL: a.Config.Subscribe.PreferencesTTL.Duration, LatestIssue: a.latestIssue}
	if a.Config.Subscribe.Welcome {
		readers.Welcome = a.renderer()
	}
	return subscribers.New(subscribers.Config{
		Store:           a.Store,
		Mailer:          t,
		Secret:          a.Secret,
		BaseURL:         a.Config.BaseURL,
		Confirmation:    a.renderer(),
		Lists:           lists,
		ConfirmTTL:      a.Config.Subscribe.ConfirmTTL.Duration,
		AddressInterval: a.Config.Subscribe.PerAddressInterval.Duration,
		IPEvery:         a.Config.Subscribe.PerClientEvery.Duration,
		IPBurst:         a.Config.Subscribe.PerClientBurst,
		Logger:          a.Log,
		SyncMail:        syncMail,
		Readers:         readers,
	})
}

// DigestService builds the digest service on the subscriber service.
func (a *App) DigestService(subs *subscribers.Service) (*digest.Service, error) {
	returns, err := a.returns()
	if err != nil {
		return nil, err
	}
	return digest.New(digest.Config{
		Zone:  a.Config.Zone(),
		Store: a.Store, Admin: a.Store, Articles: a.Store, Subscribers: subs, Series: a.digestSeries(),
		BaseURL:  a.Config.BaseURL,
		Renderer: a.renderer(),
		From:     a.Config.SMTP.From,
		Log:      a.Log,
		// mailto: only when a processed mailbox is configured.
		UnsubscribeMailbox: a.Config.SMTP.UnsubscribeMailbox,
		// VERP (bounce.address): each copy's envelope sender and mailto:.
		Returns: returns,
	})
}

// DigestSender builds a sender with smtp.connections workers and the
// smtp.rate_per_second limit. Both digest send and serve wait for claims
// a killed process left until their lease runs out, and finish the issue.
func (a *App) DigestSender(dg *digest.Service, t mail.Transport, onResult func(string)) *digest.Sender {
	var lim *rate.Limiter
	if r := a.Config.SMTP.RatePerSec; r > 0 {
		lim = rate.NewLimiter(rate.Limit(r), 1)
	}
	// The transport's own timeouts (smtp.timeout, smtp.data_timeout) end
	// a send; SendTimeout only backs them up.
	sendTimeout := time.Minute
	if m, ok := t.(interface{ MaxSendTime() time.Duration }); ok {
		sendTimeout = m.MaxSendTime() + 30*time.Second
	}
	return digest.NewSender(digest.SenderConfig{
		Store: a.Store, Compose: dg.Compose, Transport: t,
		Limiter: lim, Workers: a.Config.SMTP.Connections, Log: a.Log, OnResult: onResult, WaitForLeases: true,
		SendTimeout: sendTimeout,
		Faults:      digest.Faults{MaxRetryAge: a.Config.Digest.MaxRetryAge.Duration},
	})
}

// clientResolver finds client addresses behind http.trusted_proxies.
func (a *App) clientResolver() (*clientip.Resolver, error) {
	proxies, err := a.Config.HTTP.TrustedProxyPrefixes()
	if err != nil {
		return nil, err
	}
	return clientip.New(proxies, a.Config.HTTP.ForwardedHeader)
}

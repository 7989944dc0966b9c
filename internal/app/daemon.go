package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/digest"
	digestweb "github.com/syndicated/syndicated/digest/web"
	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/feeds/audience"
	"github.com/syndicated/syndicated/feeds/websub"
	"github.com/syndicated/syndicated/ingest"
	idaemon "github.com/syndicated/syndicated/internal/daemon"
	"github.com/syndicated/syndicated/metrics"
	"github.com/syndicated/syndicated/schedule"
	"github.com/syndicated/syndicated/server"
	"github.com/syndicated/syndicated/storage"
	subweb "github.com/syndicated/syndicated/subscribers/web"
)

// shutdownGrace bounds how long SIGTERM waits for requests and jobs.
const shutdownGrace = 20 * time.Second

// Daemon is everything serve runs. A part joins it with run (background
// work), route (HTTP routes) and atStop (work put away after the HTTP
// server stopped): adding a receiver, a hub or a page is a line or two in
// NewDaemon.
type Daemon struct {
	a        *App
	registry *prometheus.Registry
	sched    *schedule.Scheduler
	feeds    *feeds.Runner
	srv      *server.Server
	server   server.Options // what setupFeeds and setupMail give the server
	parts    idaemon.Daemon
	routes   []func(*http.ServeMux)
	closers  []func() error
}

func (d *Daemon) run(r idaemon.Runner)                    { d.parts.Go(r) }
func (d *Daemon) route(register func(*http.ServeMux))     { d.routes = append(d.routes, register) }
func (d *Daemon) atStop(stop func(context.Context) error) { d.parts.StopAfterHTTP("shutdown", stop) }

// Close releases what NewDaemon opened (the mail transport).
func (d *Daemon) Close() {
	for _, c := range d.closers {
		_ = c()
	}
}

// NewDaemon assembles what serve runs: metrics, the schedule, feeds,
// mail, subscribers and digests, and the HTTP server over them.
func NewDaemon(ctx context.Context, a *App) (_ *Daemon, err error) {
	d := &Daemon{a: a, registry: prometheus.NewRegistry(), parts: idaemon.Daemon{Log: a.Log, Grace: shutdownGrace}}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	d.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.sched = schedule.New(a.Store, a.Log)
	d.sched.OnRun = metrics.NewJobs(d.registry).Observe
	if err := d.setupFeeds(ctx); err != nil {
		return nil, err
	}
	if err := d.setupMail(); err != nil {
		return nil, err
	}
	if d.srv, err = server.New(d.server); err != nil {
		return nil, err
	}
	if a.Config.HTTP.APIToken == "" {
		a.Log.Info("article API disabled: set http.api_token to accept POST /api/articles")
	}
	return d, nil
}

// setupFeeds imports the samples into an empty store and makes the feed
// set, its runner and, when configured, the WebSub publisher it pings.
func (d *Daemon) setupFeeds(ctx context.Context) error {
	a := d.a
	if err := a.ImportSamples(ctx); err != nil {
		return err
	}
	set, err := a.FeedSet()
	if err != nil {
		return err
	}
	requests, err := metrics.NewFeedRequests(d.registry, a.FeedSpecs())
	if err != nil {
		return err
	}
	builds := metrics.NewBuilds(d.registry)
	metrics.NewStoreCollector(d.registry, a.Store, metrics.StoreOptions{Log: a.Log})
	metrics.NewCadenceCollector(d.registry, a.Store, a.readerLists(), metrics.StoreOptions{Log: a.Log})
	// API pushes and content scans go through one importer, whose hooks
	// count them and rebuild the feeds after a change.
	im := a.Importer(a.Log, nil, a.Config.ContentSection, metrics.NewIngest(d.registry).Hook, func(_ context.Context, e ingest.Event) {
		if e.Changed() {
			d.feeds.Changed()
		}
	})
	cfg := feeds.RunnerConfig{Set: set, Sched: d.sched, Schedule: a.Config.Feeds.Schedule, Revision: a.Store.ArticlesRevision,
		NextPublication: a.Store.NextPublication,
		PollInterval:    a.Config.Feeds.PollInterval.Duration, OutputDir: a.Config.Feeds.OutputDir, OnBuild: builds.Observe, Log: a.Log}
	if dir := a.Config.ContentDir; dir != "" {
		cfg.Scan = func(ctx context.Context) error { return im.Scan(ctx, dir) }
	}
	if a.Config.Feeds.HubURL != "" {
		if cfg.Hub, err = websub.New(a.Config.Feeds.HubURL, websub.Options{}); err != nil {
			return err
		}
	}
	var feedsHandler http.Handler = set
	if a.Config.Feeds.Audience {
		counter, err := a.audienceCounter()
		if err != nil {
			return err
		}
		counter.Prepare(ctx)
		audience.NewCollector(d.registry, func(ctx context.Context) ([]audience.FeedAudience, error) {
			return a.Audience(ctx, time.Now(), 1)
		})
		d.run(counter)
		feedsHandler = counter.Handler(set, func(path string) (string, string, bool) {
			feed, f, ok := set.FeedOf(path)
			return feed, f.Ext(), ok
		})
		d.server.Audience = a.audienceHandler()
	}
	if a.Config.Feeds.Hub == config.HubBuiltin {
		hub, err := a.builtinHub(set)
		if err != nil {
			return err
		}
		cfg.Hub = hub
		d.run(hub)
		d.route(func(m *http.ServeMux) { m.Handle(websub.HubPath, hub) })
	}
	if d.feeds, err = feeds.NewRunner(cfg); err != nil {
		return err
	}
	d.run(d.feeds)
	clients, err := a.clientResolver()
	if err != nil {
		return err
	}
	d.server.BaseURL = a.Config.BaseURL
	d.server.Product = a.Config.Brand.Name
	d.server.Language = a.Config.Language
	d.server.APIToken = a.Config.HTTP.APIToken
	d.server.MaxBodyBytes = a.Config.HTTP.MaxBodyBytes
	d.server.AdminMetrics = a.Config.HTTP.AdminListen != ""
	d.server.PublicMetrics = a.Config.HTTP.PublicMetrics
	d.server.Clients = clients
	d.server.Feeds = requests.Handler(feedsHandler)
	d.server.Favicon = set.Favicon()
	d.server.Articles = im
	d.server.Headlines = func(ctx context.Context) ([]*article.Article, error) {
		return a.Store.ListArticles(ctx, article.Query{Status: article.StatusPublished, PublishedBefore: time.Now(), Limit: 10})
	}
	d.server.Article = a.Store.GetArticle
	d.server.ArticleFeeds = articleFeeds(set)
	d.server.Register = []func(*http.ServeMux){d.register}
	d.server.Ready = a.Store.Ping
	d.server.Registry = d.registry
	d.server.Log = a.Log
	return nil
}

// register adds the routes of the parts that serve pages.
func (d *Daemon) register(mux *http.ServeMux) {
	for _, r := range d.routes {
		r(mux)
	}
}

// setupMail opens the mail transport and makes the subscriber service
// with its pages and confirmation outbox, and the digest with its pages,
// runner and metric.
func (d *Daemon) setupMail() error {
	a := d.a
	m, err := a.Mailer(true)
	if err != nil {
		return err
	}
	d.closers = append(d.closers, m.Close)
	subs, err := a.SubscriberService(m, false)
	if err != nil {
		return err
	}
	// Confirmation emails that could not be sent are retried from the
	// outbox; those accepted before shutdown still go out.
	d.run(idaemon.RunFunc(func(ctx context.Context) error { subs.Run(ctx, 0); return nil }))
	d.atStop(subs.Close)
	if err := d.setupBounce(subs); err != nil {
		return err
	}
	dg, err := a.DigestService(subs)
	if err != nil {
		return err
	}
	pages, err := a.Pages()
	if err != nil {
		return err
	}
	d.server.Pages = pages
	clients, err := a.clientResolver()
	if err != nil {
		return err
	}
	web, err := subweb.New(subs, subweb.Options{Pages: pages, Logger: a.Log, ClientIP: clients.String})
	if err != nil {
		return err
	}
	d.route(web.Register)
	d.route(digestweb.New(dg, a.Log, pages).Register)

	// A job per series and cadence (digest.Service.Jobs).
	runner, err := digest.NewRunner(digest.RunnerConfig{Service: dg, Sched: d.sched,
		CatchUp: a.Config.Digest.CatchUp.Duration, Log: a.Log,
		Sender: a.DigestSender(dg, m, metrics.NewDeliveries(d.registry).Observe)})
	if err != nil {
		return err
	}
	d.run(runner)
	return nil
}

// Serve listens on listen (and http.admin_listen), builds the feeds once,
// starts the schedule and serves until ctx ends (SIGTERM/SIGINT); then the
// parts stop in order (internal/daemon): the runners, the schedule, HTTP,
// and what waits for them (atStop).
func (d *Daemon) Serve(ctx context.Context, listen string, onServing func(addr string)) error {
	a, h := d.a, d.a.Config.HTTP
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	servers := []idaemon.Server{{HTTP: d.srv.HTTPServer(ln.Addr().String(), h.ReadTimeout.Duration, h.WriteTimeout.Duration, h.IdleTimeout.Duration), Listener: ln}}
	if addr := h.AdminListen; addr != "" {
		adminLn, err := net.Listen("tcp", addr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("http.admin_listen: %w", err)
		}
		hs := servers[0].HTTP
		admin := &http.Server{Handler: d.srv.Admin(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: hs.ReadTimeout,
			WriteTimeout: hs.WriteTimeout, IdleTimeout: hs.IdleTimeout, ErrorLog: hs.ErrorLog}
		servers = append(servers, idaemon.Server{HTTP: admin, Listener: adminLn})
	}
	// The first build happens before the listener answers, so a reader
	// never sees an empty feed from a fresh start.
	d.feeds.Build(ctx)
	d.sched.Start()
	// The feed runner starts runs on the scheduler: it stops first.
	d.parts.StopBeforeHTTP("schedule stop", d.sched.Stop)
	return d.parts.Serve(ctx, servers, func() {
		if len(servers) > 1 {
			a.Log.Info("admin listener serves /metrics", "addr", "http://"+servers[1].Listener.Addr().String()+"/metrics")
		}
		a.Log.Info("serving", "addr", "http://"+ln.Addr().String()+"/", "base_url", a.Config.BaseURL, "database", storage.Describe(a.Config.Database.URL, a.DataDir))
		if onServing != nil {
			onServing(ln.Addr().String())
		}
	})
}

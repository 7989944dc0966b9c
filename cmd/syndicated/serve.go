package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/syndicated/syndicated/article"
	digestweb "github.com/syndicated/syndicated/digest/web"
	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/feeds/websub"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/metrics"
	"github.com/syndicated/syndicated/schedule"
	"github.com/syndicated/syndicated/server"
	"github.com/syndicated/syndicated/server/response"
	"github.com/syndicated/syndicated/subscribers"
	subweb "github.com/syndicated/syndicated/subscribers/web"
	"github.com/syndicated/syndicated/templates"
)

// shutdownGrace bounds how long SIGTERM waits for requests and jobs.
const shutdownGrace = 20 * time.Second

func runServe(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	listen := a.cfg.HTTP.Listen
	if c.opts.listen != "" {
		listen = c.opts.listen
	}
	d, err := newDaemon(ctx, a)
	if err != nil {
		return err
	}
	defer d.mailer.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if addr := a.cfg.HTTP.AdminListen; addr != "" {
		if d.admin, err = net.Listen("tcp", addr); err != nil {
			ln.Close()
			return fmt.Errorf("http.admin_listen: %w", err)
		}
	}
	d.onServing = c.onServing
	return d.run(ctx, ln)
}

// daemon is everything serve runs.
type daemon struct {
	a        *app
	importer *ingest.Importer
	set      *feeds.Set
	hub      *websub.Publisher
	sched    *schedule.Scheduler
	srv      *server.Server
	mailer   interface{ Close() error }
	subs     *subscribers.Service
	digest   *daemonDigest
	pages    *templates.Renderer
	registry *prometheus.Registry
	builds   *prometheus.CounterVec
	ops      opsMetrics
	// kick asks for a feed rebuild soon; capacity 1 so requests made while
	// a build runs collapse into one more build, and none is lost.
	kick      chan struct{}
	onServing func(addr string)
	// admin is the admin listener (http.admin_listen), or nil.
	admin net.Listener

	// revMu guards what the revision poll compares against: the store's
	// articles revision read just before the last successful build
	// (builtRev), and the one the poll last asked a build for (kickedRev),
	// so a slow build is not invalidated again on every tick.
	revMu     sync.Mutex
	haveRev   bool
	builtRev  int64
	kickedRev int64
}

// newDaemon assembles what serve runs, in order: metrics, feeds, mail and
// subscribers, the HTTP server, the schedule.
func newDaemon(ctx context.Context, a *app) (*daemon, error) {
	d := &daemon{a: a, importer: a.importer(), registry: prometheus.NewRegistry(), kick: make(chan struct{}, 1)}
	jobSeconds := d.setupMetrics()
	if err := d.setupOpsMetrics(); err != nil {
		return nil, err
	}
	if err := d.setupFeeds(ctx); err != nil {
		return nil, err
	}
	registerPages, err := d.setupMail()
	if err != nil {
		return nil, err
	}
	if err := d.setupServer(registerPages); err != nil {
		return nil, err
	}
	if err := d.setupSchedule(jobSeconds); err != nil {
		return nil, err
	}
	return d, nil
}

// setupMetrics registers the process and job metrics; it returns the job
// duration histogram the schedule observes.
func (d *daemon) setupMetrics() *prometheus.HistogramVec {
	d.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d.builds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syndicated_job_runs_total", Help: "Scheduled job runs by job and result.",
	}, []string{"job", "result"})
	jobSeconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "syndicated_job_duration_seconds", Help: "Scheduled job duration.",
		Buckets: []float64{.001, .005, .02, .1, .5, 2, 10, 60},
	}, []string{"job"})
	d.registry.MustRegister(d.builds, jobSeconds)
	return jobSeconds
}

// opsMetrics are the metrics an operator alerts on (package metrics).
type opsMetrics struct {
	builds   *metrics.Builds
	ingest   *metrics.Ingest
	requests *metrics.FeedRequests
}

// setupOpsMetrics registers the feed build, feed request, ingest and
// store (subscribers, digest queue) metrics.
func (d *daemon) setupOpsMetrics() error {
	a := d.a
	reqs, err := metrics.NewFeedRequests(d.registry, a.feedSpecs())
	if err != nil {
		return err
	}
	d.ops = opsMetrics{builds: metrics.NewBuilds(d.registry), ingest: metrics.NewIngest(d.registry), requests: reqs}
	metrics.NewStoreCollector(d.registry, a.store, metrics.StoreOptions{Log: a.log})
	metrics.NewCadenceCollector(d.registry, a.store, a.readerLists(), metrics.StoreOptions{Log: a.log})
	return nil
}

// ingestOutcome names an ingest result for metrics.Ingest: a client's
// fault (a 4xx at the API) is rejected, any other error an error.
func ingestOutcome(o article.Outcome, err error) string {
	switch {
	case err == nil:
		return metrics.Outcome(o)
	case response.Status(err) < http.StatusInternalServerError:
		return metrics.OutcomeRejected
	default:
		return metrics.OutcomeError
	}
}

// setupFeeds imports the samples into an empty store and makes the feed
// set and, when configured, the WebSub publisher.
func (d *daemon) setupFeeds(ctx context.Context) error {
	a := d.a
	if err := a.importSamples(ctx, d.importer); err != nil {
		return err
	}
	set, err := a.feedSet()
	if err != nil {
		return err
	}
	d.set = set
	if a.cfg.Feeds.HubURL != "" {
		if d.hub, err = websub.New(a.cfg.Feeds.HubURL, websub.Options{}); err != nil {
			return err
		}
	}
	return nil
}

// setupMail opens the mail transport and builds the subscriber service,
// the digest and the subscriber pages; it returns what registers those.
func (d *daemon) setupMail() (func(*http.ServeMux), error) {
	a := d.a
	m, err := a.mailer()
	if err != nil {
		return nil, err
	}
	d.mailer = m
	svc, err := a.subscriberService(m, false)
	if err != nil {
		return nil, err
	}
	d.subs = svc
	if d.digest, err = d.setupDigest(m); err != nil {
		return nil, err
	}
	pages, err := a.pages()
	if err != nil {
		return nil, err
	}
	d.pages = pages
	proxies, err := a.cfg.HTTP.TrustedProxyPrefixes()
	if err != nil {
		return nil, err
	}
	wopts := subweb.Options{Pages: pages, Logger: a.log}
	if len(proxies) > 0 {
		wopts.ClientIP = subweb.TrustedProxyClientIP(proxies)
	}
	web, err := subweb.New(svc, wopts)
	if err != nil {
		return nil, err
	}
	return web.Register, nil
}

// setupServer builds the HTTP server over the feeds, the article API,
// the subscriber and digest pages and the metrics.
func (d *daemon) setupServer(registerPages func(*http.ServeMux)) error {
	a := d.a
	sections := make([]string, len(a.cfg.Sections))
	for i, s := range a.cfg.Sections {
		sections[i] = s.Slug
	}
	var err error
	d.srv, err = server.New(server.Options{
		BaseURL:      a.cfg.BaseURL,
		Product:      a.cfg.Brand.Name,
		Language:     a.cfg.Language,
		APIToken:     a.cfg.HTTP.APIToken,
		MaxBodyBytes: a.cfg.HTTP.MaxBodyBytes,
		Sections:     sections,
		AdminMetrics: a.cfg.HTTP.AdminListen != "",
		Feeds:        d.ops.requests.Handler(d.set),
		Favicon:      d.set.Favicon(),
		Articles:     &kickingAPI{im: d.importer, changed: d.storeChanged, ingest: d.ops.ingest},
		Headlines:    d.headlines,
		Pages:        d.pages,
		Article:      a.store.GetArticle,
		Register:     []func(*http.ServeMux){registerPages, digestweb.NewWithPages(d.digest.svc, a.log, d.pages).Register},
		Ready:        a.store.Ping,
		Registry:     d.registry,
		Log:          a.log,
	})
	if err != nil {
		return err
	}
	if a.cfg.HTTP.APIToken == "" {
		a.log.Info("article API disabled: set http.api_token to accept POST /api/articles")
	}
	return nil
}

// setupSchedule makes the scheduler with the feed build and the digests.
func (d *daemon) setupSchedule(jobSeconds *prometheus.HistogramVec) error {
	a := d.a
	d.sched = schedule.New(a.store, a.log)
	d.sched.OnRun = func(name string, took time.Duration, err error) {
		result := "ok"
		if err != nil {
			result = "error"
		}
		d.builds.WithLabelValues(name, result).Inc()
		jobSeconds.WithLabelValues(name).Observe(took.Seconds())
	}
	// Scanning the content directory writes to the shared store: one
	// replica at a time (locked). Building feeds fills this replica's own
	// memory, so every replica builds, unlocked.
	if err := d.sched.AddLocal("feeds", a.cfg.Feeds.Schedule, func(ctx context.Context) error {
		d.requestBuild()
		return nil
	}); err != nil {
		return err
	}
	return d.digest.schedule()
}

func formatName(f feeds.Format) string {
	switch f {
	case feeds.RSS:
		return "RSS"
	case feeds.Atom:
		return "Atom"
	default:
		return "JSON Feed"
	}
}

func (d *daemon) headlines(ctx context.Context) ([]*article.Article, error) {
	return d.a.store.ListArticles(ctx, article.Query{Status: article.StatusPublished, PublishedBefore: time.Now(), Limit: 10})
}

// storeChanged is called after an ingest changed the store: the feeds drop
// their cached archive pages (an edit may have withdrawn or back-dated an
// article) and rebuild soon.
func (d *daemon) storeChanged() {
	d.set.Invalidate()
	d.requestBuild()
}

func (d *daemon) requestBuild() {
	select {
	case d.kick <- struct{}{}:
	default: // a build is already queued; it will see this change too
	}
}

// buildLoop runs one cycle per kick until ctx ends.
func (d *daemon) buildLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
			d.cycle(ctx)
		}
	}
}

// cycle scans the content directory (on one replica), then rebuilds this
// replica's feeds, writes the output directory and pings the hub.
func (d *daemon) cycle(ctx context.Context) {
	if dir := d.a.cfg.ContentDir; dir != "" {
		d.sched.Run(ctx, "content-scan", func(ctx context.Context) error {
			rep, err := d.importer.ImportPaths(ctx, dir)
			if err != nil {
				return err
			}
			for _, f := range rep.Files {
				d.ops.ingest.Observe(metrics.SourceContent, ingestOutcome(f.Outcome, f.Err))
			}
			for _, f := range rep.Failed() {
				d.a.log.Warn("article rejected", "err", f.Err)
			}
			if rep.Changed() {
				d.set.Invalidate()
			}
			return nil
		})
	}
	d.sched.RunLocal(ctx, "feeds-build", func(ctx context.Context) error {
		start := time.Now()
		err := d.buildFeeds(ctx)
		d.ops.builds.Observe(time.Since(start), time.Now(), err)
		return err
	})
}

func (d *daemon) buildFeeds(ctx context.Context) error {
	// Read before building: a change committed after this read bumps the
	// revision past rev, and the next poll builds again.
	rev, err := d.a.store.ArticlesRevision(ctx)
	if err != nil {
		return err
	}
	changes, err := d.set.Rebuild(ctx)
	if err != nil {
		return err
	}
	d.revMu.Lock()
	d.haveRev, d.builtRev = true, rev
	d.revMu.Unlock()
	// Written on every build, not only on changes: the first build after
	// a restart reports no change for bytes already announced, and files
	// holding the same bytes are left alone anyway.
	if out := d.a.cfg.Feeds.OutputDir; out != "" {
		if _, err := d.set.WriteDir(ctx, out); err != nil {
			return err
		}
	}
	if len(changes) == 0 {
		return nil
	}
	d.a.log.Info("feeds rebuilt", "changed", len(changes))
	if d.hub != nil {
		// Pings retry with backoff; do not hold up the next build for them.
		// Each announced document is recorded, so that a restart does not
		// announce the same bytes again.
		go func() {
			for _, ch := range changes {
				if err := d.hub.Publish(ctx, ch.URL); err != nil {
					d.a.log.Warn("websub publish", "err", err)
					continue
				}
				if err := d.set.MarkPublished(ctx, []feeds.Change{ch}, time.Now()); err != nil {
					d.a.log.Warn("websub publish", "err", err)
				}
			}
		}()
	}
	return nil
}

// pollLoop reads the store's articles revision every interval until ctx
// ends. Another replica's API push or withdrawal, or its content-dir scan,
// bumps the revision in the shared database; this replica then drops its cached
// archives and rebuilds at once instead of at the next scheduled build.
// Changes made through this replica were built already: the build recorded
// the revision it started from, so the poll sees nothing new.
func (d *daemon) pollLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.pollRevision(ctx)
		}
	}
}

func (d *daemon) pollRevision(ctx context.Context) {
	rev, err := d.a.store.ArticlesRevision(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.a.log.Warn("articles revision", "err", err)
		}
		return
	}
	d.revMu.Lock()
	stale := (!d.haveRev || rev != d.builtRev) && rev != d.kickedRev
	if stale {
		d.kickedRev = rev
	}
	d.revMu.Unlock()
	if stale {
		d.a.log.Debug("articles changed in the store", "revision", rev)
		d.storeChanged()
	}
}

// run serves until ctx ends (SIGTERM/SIGINT), then shuts down in order:
// stop the schedule, drain HTTP, and let deferred closes release the rest.
func (d *daemon) run(ctx context.Context, ln net.Listener) error {
	a := d.a
	// The first build happens before the listener answers, so a reader
	// never sees an empty feed from a fresh start.
	d.cycle(ctx)
	loopCtx, stopLoop := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() { d.buildLoop(loopCtx); close(loopDone) }()
	pollDone := make(chan struct{})
	if every := a.cfg.Feeds.PollInterval.Duration; every > 0 {
		go func() { d.pollLoop(loopCtx, every); close(pollDone) }()
	} else {
		close(pollDone)
	}
	d.sched.Start()
	// A digest missed while the daemon was down is created before the
	// workers start, so that they send it at once.
	d.digest.catchUp(ctx, d.digest.svc.Now())
	d.digest.start()
	// Confirmation emails that could not be sent are retried from the outbox.
	outboxDone := make(chan struct{})
	go func() { d.subs.Run(loopCtx, 0); close(outboxDone) }()

	hs := d.srv.HTTPServer(ln.Addr().String(), a.cfg.HTTP.ReadTimeout.Duration, a.cfg.HTTP.WriteTimeout.Duration, a.cfg.HTTP.IdleTimeout.Duration)
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	var admin *http.Server
	if d.admin != nil {
		admin = &http.Server{Handler: d.srv.Admin(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: hs.ReadTimeout,
			WriteTimeout: hs.WriteTimeout, IdleTimeout: hs.IdleTimeout, ErrorLog: hs.ErrorLog}
		go func() { errc <- admin.Serve(d.admin) }()
		a.log.Info("admin listener serves /metrics", "addr", "http://"+d.admin.Addr().String()+"/metrics")
	}
	a.log.Info("serving", "addr", "http://"+ln.Addr().String()+"/", "base_url", a.cfg.BaseURL, "database", describeDB(a.cfg.Database.URL, a.dataDir))
	if d.onServing != nil {
		d.onServing(ln.Addr().String())
	}

	var serveErr error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down")
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// The loops go first: the build loop starts runs on the scheduler, and a
	// run started while Stop waits for the running ones would race it.
	stopLoop()
	<-loopDone
	<-pollDone
	<-outboxDone
	if err := d.sched.Stop(sctx); err != nil {
		a.log.Warn("schedule stop", "err", err)
	}
	d.digest.stop()
	if err := hs.Shutdown(sctx); err != nil {
		a.log.Warn("http shutdown", "err", err)
	}
	if admin != nil {
		if err := admin.Shutdown(sctx); err != nil {
			a.log.Warn("admin http shutdown", "err", err)
		}
	}
	// Confirmation emails accepted before shutdown still go out.
	if err := d.subs.Close(sctx); err != nil {
		a.log.Warn("subscribers", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// kickingAPI stores pushed articles and asks for a rebuild right after
// any change, so a CMS push shows in the feeds without waiting for cron.
type kickingAPI struct {
	im      *ingest.Importer
	changed func()
	ingest  *metrics.Ingest
}

func (k *kickingAPI) PushArticle(ctx context.Context, body []byte) (article.PutResult, error) {
	res, err := k.im.PushArticle(ctx, body)
	k.ingest.Observe(metrics.SourceAPI, ingestOutcome(res.Outcome, err))
	if err == nil && res.Outcome != article.Unchanged {
		k.changed()
	}
	return res, err
}

func (k *kickingAPI) WithdrawArticle(ctx context.Context, id string) (article.PutResult, error) {
	res, err := k.im.WithdrawArticle(ctx, id)
	k.ingest.Observe(metrics.SourceAPI, ingestOutcome(res.Outcome, err))
	if err == nil && res.Outcome != article.Unchanged {
		k.changed()
	}
	return res, err
}

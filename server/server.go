// Package server is syndicated's HTTP edge: it routes requests to the feed
// cache, the article API, the subscriber pages, the index page, health and
// metrics, and maps domain errors to HTTP statuses. Nothing below it knows
// about HTTP statuses.
package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/server/clientip"
	"github.com/syndicated/syndicated/server/response"
	"github.com/syndicated/syndicated/templates"
)

// ArticleAPI is what POST /api/articles needs from the ingest side.
type ArticleAPI interface {
	// PushArticle stores one article given as JSON.
	PushArticle(ctx context.Context, body []byte) (article.PutResult, error)
	// Withdraw marks the article withdrawn; article.ErrNotFound when unknown.
	Withdraw(ctx context.Context, id string) (article.PutResult, error)
}

// Options wires a Server. Nil handlers leave their routes out.
type Options struct {
	BaseURL      string
	Product      string
	Language     string
	APIToken     string
	MaxBodyBytes int64
	// AdminMetrics serves /metrics on the admin listener only (see Admin):
	// the public handler then answers 404 for it. Otherwise the public
	// handler serves it to every client when PublicMetrics is set, and to
	// loopback clients only when not: the counts are the operator's.
	AdminMetrics  bool
	PublicMetrics bool
	// Clients finds the client's address behind trusted proxies (nil: the
	// connection's peer), for the loopback check of /metrics.
	Clients *clientip.Resolver
	Feeds   http.Handler // serves /feeds/…
	// Audience is the operator's view of the feeds' audience, served at
	// /audience where /metrics is (the admin listener; on the public one,
	// to the same clients as /metrics); nil leaves it out.
	Audience http.Handler
	Favicon  http.Handler // serves /favicon.ico
	Articles ArticleAPI
	// Headlines lists the newest visible articles for the index page.
	Headlines func(ctx context.Context) ([]*article.Article, error)
	// Pages renders the HTML pages (brand, zone, feeds listed on the
	// index); nil: a plain site named Product in Language, in UTC.
	Pages *templates.Renderer
	// Article loads one article for its page at /articles/{id}, the link
	// feeds give items that have no canonical URL of their own.
	Article func(ctx context.Context, id string) (*article.Article, error)
	// ArticleFeeds lists the feeds an article is in (its section, series,
	// authors and tags), linked and announced on its page; nil: none.
	ArticleFeeds func(a *article.Article) []templates.Feed
	// Register adds more routes (subscriber pages, digests) to the mux.
	Register []func(mux *http.ServeMux)
	// Ready reports whether the daemon can serve (database reachable).
	Ready    func(ctx context.Context) error
	Registry *prometheus.Registry
	Log      *slog.Logger
	Now      func() time.Time
}

// Server is the HTTP handler tree.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	pages   *templates.Renderer
	metrics *httpMetrics
	// recorders recycles the per-request status recorders.
	recorders sync.Pool
}

// New builds the routes.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Pages == nil {
		p, err := templates.New(templates.Site{Brand: templates.Brand{Name: opts.Product}, Lang: opts.Language, BaseURL: opts.BaseURL})
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		opts.Pages = p
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), pages: opts.Pages, metrics: newHTTPMetrics(opts.Registry)}
	s.recorders.New = func() any { return new(response.Recorder) }
	m := s.mux
	m.HandleFunc("GET /{$}", s.handleIndex)
	if opts.Article != nil {
		m.HandleFunc("GET /articles/{id}", s.handleArticle)
	}
	if opts.Feeds != nil {
		m.Handle(feedsPrefix, opts.Feeds) // reached only through ServeHTTP's fast path; kept for Handler lookups
		// The feed directory itself is no document: send people to the
		// index page, which lists and auto-discovers every feed.
		toIndex := http.RedirectHandler("/", http.StatusFound)
		m.Handle("GET /feeds", toIndex)
		m.Handle("GET "+feedsPrefix+"{$}", toIndex)
	}
	if opts.Favicon != nil {
		m.Handle("GET /favicon.ico", opts.Favicon)
	}
	if opts.Articles != nil {
		m.HandleFunc("POST /api/articles", s.handlePushArticle)
		m.HandleFunc("POST /api/articles/{id}/withdraw", s.handleWithdraw)
		m.HandleFunc("DELETE /api/articles/{id}", s.handleWithdraw)
	}
	m.HandleFunc("GET /healthz", healthz)
	m.HandleFunc("GET /readyz", s.handleReady)
	if !opts.AdminMetrics {
		m.Handle("GET /metrics", s.operatorOnly(s.Metrics()))
		if opts.Audience != nil {
			m.Handle("GET /audience", s.operatorOnly(opts.Audience))
		}
	}
	for _, reg := range opts.Register {
		reg(m)
	}
	return s, nil
}

// Metrics is the Prometheus handler of the registry, for the admin
// listener (or the public one, unless Options.AdminMetrics).
func (s *Server) Metrics() http.Handler {
	return promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{})
}

// operatorOnly is h (/metrics, /audience) on the public listener: for
// everyone with Options.PublicMetrics, else for a loopback client only (a
// scraper on this machine) and a 404 page for anyone else. A request that
// came through a proxy not listed as trusted carries a forwarding header
// and is no loopback client, although the proxy's connection is.
func (s *Server) operatorOnly(h http.Handler) http.Handler {
	if s.opts.PublicMetrics {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.fromLoopback(r) {
			response.Page(w, r, s.opts.Log, s.pages, fmt.Errorf("%s: %w", r.URL.Path, errNoPage))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// fromLoopback reports whether the request's client is on this machine.
func (s *Server) fromLoopback(r *http.Request) bool {
	peer := clientip.Peer(r)
	client := s.opts.Clients.Addr(r)
	if !client.IsValid() || !client.IsLoopback() {
		return false
	}
	if !s.opts.Clients.Trusted(peer) {
		// Not through a trusted proxy: a forwarding header means a proxy
		// on this machine, not listed as trusted, relayed someone else.
		for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
			if r.Header.Get(h) != "" {
				return false
			}
		}
	}
	return true
}

// Admin is the handler of the admin listener (http.admin_listen): /metrics
// and the health checks, nothing public.
func (s *Server) Admin() http.Handler {
	m := http.NewServeMux()
	m.Handle("GET /metrics", s.Metrics())
	if s.opts.Audience != nil {
		m.Handle("GET /audience", s.opts.Audience)
	}
	m.HandleFunc("GET /healthz", healthz)
	m.HandleFunc("GET /readyz", s.handleReady)
	return m
}

func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// ServeHTTP routes and records metrics by route pattern (never by raw
// path, which would let clients blow up label cardinality). Every answer
// but a feed's gets the pages' security headers; each request is logged at
// debug level (method, path without the query, which may carry a token,
// status, duration).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := s.recorders.Get().(*response.Recorder)
	rec.Reset(w)
	// Feed requests are nearly all the traffic: they skip the mux, whose
	// pattern matching would cost more than the feed handler itself.
	if s.opts.Feeds != nil && len(r.URL.Path) > len(feedsPrefix) && strings.HasPrefix(r.URL.Path, feedsPrefix) {
		s.opts.Feeds.ServeHTTP(rec, r)
		r.Pattern = feedsPrefix
	} else {
		s.securityHeaders(w.Header())
		if h, pattern := s.mux.Handler(r); pattern == "" {
			s.unmatched(rec, r, h)
		} else {
			s.mux.ServeHTTP(rec, r) // sets r.Pattern to the matched route
		}
	}
	pattern := r.Pattern
	if pattern == "" {
		pattern = "unmatched"
	}
	took := time.Since(start)
	s.metrics.observe(pattern, r.Method, rec.Status(), took)
	if s.opts.Log.Enabled(r.Context(), slog.LevelDebug) {
		s.opts.Log.LogAttrs(r.Context(), slog.LevelDebug, "http request", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", rec.Status()), slog.Duration("took", took))
	}
	rec.Reset(nil)
	s.recorders.Put(rec)
}

// securityHeaders are every page's: the renderer's strict
// Content-Security-Policy (no framing), no Referer with the path to other
// sites, no content-type sniffing. Handlers may tighten them.
func (s *Server) securityHeaders(h http.Header) {
	h["Content-Security-Policy"] = []string{s.pages.CSP()}
	h["Referrer-Policy"] = []string{"strict-origin-when-cross-origin"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
}

// logFailure logs a handler's failure at error level, or at debug level
// when the client has gone (a cancelled request is not the server's fault).
func (s *Server) logFailure(r *http.Request, msg string, err error) {
	if r.Context().Err() != nil {
		s.opts.Log.Debug(msg+" (request cancelled)", "path", r.URL.Path, "err", err)
		return
	}
	s.opts.Log.Error(msg, "path", r.URL.Path, "err", err)
}

const feedsPrefix = "/feeds/"

// HTTPServer returns an *http.Server with timeouts set, so that slow
// clients cannot hold connections forever.
func (s *Server) HTTPServer(addr string, read, write, idle time.Duration) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       read,
		WriteTimeout:      write,
		IdleTimeout:       idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.opts.Log.Handler(), slog.LevelWarn),
	}
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.opts.Ready(ctx); err != nil {
			s.opts.Log.Warn("not ready", "err", err)
			response.Text(w, r, nil, fmt.Errorf("%w: %w", response.ErrNotReady, err))
			return
		}
	}
	fmt.Fprintln(w, "ready")
}

// unmatched answers a request no route takes: the mux's own 405 when the
// path exists with other methods, else the 404 page.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	var probe bufferedResponse
	h.ServeHTTP(&probe, r)
	if probe.code != http.StatusNotFound {
		maps.Copy(w.Header(), probe.Header())
		w.WriteHeader(probe.code)
		_, _ = w.Write(probe.body.Bytes())
		return
	}
	response.Page(w, r, s.opts.Log, s.pages, fmt.Errorf("%s: %w", r.URL.Path, errNoPage))
}

// bufferedResponse holds the mux's small answer to an unmatched request.
type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header {
	if b.header == nil {
		b.header = http.Header{}
	}
	return b.header
}

func (b *bufferedResponse) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// errNoPage is an unknown path: the error table makes it a 404.
var errNoPage = fmt.Errorf("no such page: %w", article.ErrNotFound)

type indexPage struct {
	Headlines    []*article.Article
	HeadlinesErr bool
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	var page indexPage
	if s.opts.Headlines != nil {
		hs, err := s.opts.Headlines(r.Context())
		if err != nil {
			s.logFailure(r, "index headlines", err)
			page.HeadlinesErr = true
		}
		page.Headlines = hs
	}
	w.Header().Set("Cache-Control", "no-cache")
	if err := s.pages.Render(w, http.StatusOK, "index", templates.Page{Title: "Latest stories", Nav: "home",
		Alternates: s.pages.Site().Alternates(), Data: page}); err != nil {
		s.logFailure(r, "render index", err)
	}
}

type articlePage struct {
	A       *article.Article
	Missing []int
	// Follow are the feeds of the article's section, series, authors and
	// tags.
	Follow []templates.Feed
}

// handleArticle shows one visible article; withdrawn and future-dated
// articles are 404 like unknown ones, so the page never leaks them early.
func (s *Server) handleArticle(w http.ResponseWriter, r *http.Request) {
	a, err := s.opts.Article(r.Context(), r.PathValue("id"))
	if err == nil && !a.Visible(s.opts.Now()) {
		err = article.ErrNotFound
	}
	if err != nil {
		response.Page(w, r, s.opts.Log, s.pages, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Last-Modified", a.Updated.UTC().Format(http.TimeFormat))
	page := articlePage{A: a, Missing: a.MissingPages()}
	var alts []templates.Alternate
	if s.opts.ArticleFeeds != nil {
		page.Follow = s.opts.ArticleFeeds(a)
		alts = templates.FeedAlternates(page.Follow)
	}
	if err := s.pages.Render(w, http.StatusOK, "article", templates.Page{Title: a.Headline, Lang: a.Language, Alternates: alts, Data: page}); err != nil {
		s.logFailure(r, "render article", err)
	}
}

// authorized compares the bearer token in constant time. The scheme is
// case-insensitive (RFC 9110 §11.1): "bearer x" is "Bearer x".
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.APIToken == "" {
		return false
	}
	scheme, got, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	got = strings.TrimLeft(got, " ")
	return ok && strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.APIToken)) == 1
}

// checkPush refuses, before the importer sees it, a push with no body.
// An article whose section is not configured is the importer's to refuse
// (400, field "section"), as it refuses such a file.
func (s *Server) checkPush(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &article.FieldError{Field: "body", Reason: "the request body is empty; send the article as a JSON object"}
	}
	return nil
}

func (s *Server) handlePushArticle(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		response.Error(w, r, s.opts.Log, response.ErrUnauthorized)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		response.Error(w, r, s.opts.Log, fmt.Errorf("%w: Content-Type must be application/json", response.ErrUnsupportedMediaType))
		return
	}
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			err = fmt.Errorf("%w: reading body: %v", response.ErrBadRequest, err)
		}
		response.Error(w, r, s.opts.Log, err)
		return
	}
	if err := s.checkPush(body); err != nil {
		response.Error(w, r, s.opts.Log, err)
		return
	}
	res, err := s.opts.Articles.PushArticle(r.Context(), body)
	if err != nil {
		response.Error(w, r, s.opts.Log, err)
		return
	}
	status := http.StatusOK
	if res.Outcome == article.Created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/articles/"+res.Article.ID)
	}
	response.JSON(w, status, articleResponse(res))
}

func (s *Server) handleWithdraw(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		response.Error(w, r, s.opts.Log, response.ErrUnauthorized)
		return
	}
	res, err := s.opts.Articles.Withdraw(r.Context(), r.PathValue("id"))
	if err != nil {
		response.Error(w, r, s.opts.Log, err)
		return
	}
	response.JSON(w, http.StatusOK, articleResponse(res))
}

func articleResponse(res article.PutResult) map[string]any {
	return map[string]any{
		"id":      res.Article.ID,
		"guid":    res.Article.GUID,
		"outcome": res.Outcome.String(),
		"updated": res.Article.Updated.Format(time.RFC3339),
		"status":  res.Article.Status,
	}
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return io.ReadAll(r.Body)
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// children caches the per-label series so the hot path skips label
	// hashing; the key space is bounded by routes × methods × codes.
	children sync.Map // metricKey → *metricChildren
}

type metricKey struct {
	route, method string
	code          int
}

type metricChildren struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syndicated_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "syndicated_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .005, .01, .05, .1, .5, 1, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *httpMetrics) observe(route, method string, code int, took time.Duration) {
	key := metricKey{route, method, code}
	c, ok := m.children.Load(key)
	if !ok {
		if !knownMethod(method) {
			key.method, method = "other", "other" // clients choose methods: keep the label set bounded
		}
		c, _ = m.children.LoadOrStore(key, &metricChildren{
			count:    m.requests.WithLabelValues(route, method, strconv.Itoa(code)),
			duration: m.duration.WithLabelValues(route),
		})
	}
	mc := c.(*metricChildren)
	mc.count.Inc()
	mc.duration.Observe(took.Seconds())
}

func knownMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

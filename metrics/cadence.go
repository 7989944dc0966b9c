package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/subscribers"
)

// CadenceStore is what the cadence collector reads (storage.Storage has
// it): one grouped count.
type CadenceStore interface {
	CadenceCounts(ctx context.Context, now time.Time) ([]subscribers.CadenceCount, error)
}

// CadenceCollector exports, read from the store when scraped, the active
// subscribers of each configured series by the cadence they get it at
// (their choice, or the series' default), and how many of them are
// paused. Like StoreCollector it reads the store at most once per TTL and
// exports nothing when the reading fails.
type CadenceCollector struct {
	store  CadenceStore
	lists  []subscribers.List
	opts   StoreOptions
	by     *prometheus.Desc
	paused *prometheus.Desc
	errors prometheus.Counter

	mu      sync.Mutex
	readAt  time.Time
	reading []subscribers.CadenceCount
}

// NewCadenceCollector registers a collector over store for lists (the
// configured series with their offers) on reg.
func NewCadenceCollector(reg prometheus.Registerer, store CadenceStore, lists []subscribers.List, opts StoreOptions) *CadenceCollector {
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	c := &CadenceCollector{store: store, lists: lists, opts: opts,
		by: prometheus.NewDesc("syndicated_series_subscribers",
			"Active subscribers of each series by the cadence they get it at (weekly, daily, story), paused ones included.", []string{"series", "cadence"}, nil),
		paused: prometheus.NewDesc("syndicated_series_subscribers_paused",
			"Active subscribers of each series whose mail is paused now.", []string{"series"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syndicated_cadence_metrics_errors_total", Help: "Scrapes whose reading of the subscribers by cadence failed.",
		}),
	}
	reg.MustRegister(c)
	return c
}

// Describe implements prometheus.Collector.
func (c *CadenceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.by
	ch <- c.paused
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector: every configured series and
// cadence it offers is exported, at 0 when it has nobody.
func (c *CadenceCollector) Collect(ch chan<- prometheus.Metric) {
	defer c.errors.Collect(ch)
	counts, ok := c.read()
	if !ok {
		return
	}
	for _, l := range c.lists {
		o := l.Offer()
		by := map[subscribers.Cadence]int{}
		paused := 0
		for _, n := range counts {
			if n.List != l.Slug {
				continue
			}
			by[o.Effective(n.Cadence)] += n.Count
			if n.Paused {
				paused += n.Count
			}
		}
		for _, cad := range o.Cadences {
			ch <- prometheus.MustNewConstMetric(c.by, prometheus.GaugeValue, float64(by[cad]), l.Slug, string(cad))
		}
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, float64(paused), l.Slug)
	}
}

func (c *CadenceCollector) read() ([]subscribers.CadenceCount, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	if c.reading != nil && now.Sub(c.readAt) < c.opts.TTL {
		return c.reading, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	counts, err := c.store.CadenceCounts(ctx, now)
	if err != nil {
		c.errors.Inc()
		c.opts.Log.Warn("metrics: reading subscribers by cadence", "err", err)
		c.reading = nil
		return nil, false
	}
	if counts == nil {
		counts = []subscribers.CadenceCount{}
	}
	c.reading, c.readAt = counts, now
	return counts, true
}

package metrics

import (
	"context"
	"strconv"
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
// paused. Like StoreCollector it reads the store at most once per TTL,
// exports nothing when the reading fails, and makes the counts coarse
// (StoreOptions.SubscriberStep and SubscriberEvery), so that watching
// /metrics tells nothing of one reader.
type CadenceCollector struct {
	store  CadenceStore
	lists  []subscribers.List
	opts   StoreOptions
	by     *prometheus.Desc
	paused *prometheus.Desc
	errors prometheus.Counter

	mu     sync.Mutex // one reading at a time; guards what follows
	readAt time.Time
	readOK bool // the last reading succeeded
	// shown is what is exported, taken at shownAt.
	shown   *cadenceReading
	shownAt time.Time
}

// cadenceReading is what the collector exports, coarse: active
// subscribers by series and cadence, and paused ones by series.
type cadenceReading struct {
	by     map[string]map[subscribers.Cadence]int
	paused map[string]int
}

// NewCadenceCollector registers a collector over store for lists (the
// configured series with their offers) on reg.
func NewCadenceCollector(reg prometheus.Registerer, store CadenceStore, lists []subscribers.List, opts StoreOptions) *CadenceCollector {
	opts = opts.withDefaults()
	c := &CadenceCollector{store: store, lists: lists, opts: opts,
		by: prometheus.NewDesc("syndicated_series_subscribers",
			"Active subscribers of each series by the cadence they get it at (weekly, daily, story), paused ones included, "+coarse(opts), []string{"series", "cadence"}, nil),
		paused: prometheus.NewDesc("syndicated_series_subscribers_paused",
			"Active subscribers of each series whose mail is paused now, "+coarse(opts), []string{"series"}, nil),
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

// coarse says how coarse the counts are, for their help text.
func coarse(opts StoreOptions) string {
	return "rounded down to a multiple of " + strconv.Itoa(max(opts.SubscriberStep, 1)) + ", updated at most every " + opts.SubscriberEvery.String() + "."
}

// Collect implements prometheus.Collector: every configured series and
// cadence it offers is exported, at 0 when it has nobody.
func (c *CadenceCollector) Collect(ch chan<- prometheus.Metric) {
	defer c.errors.Collect(ch)
	r := c.read()
	if r == nil {
		return
	}
	for _, l := range c.lists {
		for _, cad := range l.Offer().Cadences {
			ch <- prometheus.MustNewConstMetric(c.by, prometheus.GaugeValue, float64(r.by[l.Slug][cad]), l.Slug, string(cad))
		}
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, float64(r.paused[l.Slug]), l.Slug)
	}
}

// read reads the store at most once per TTL and returns what to export:
// the coarse counts, taken again at most once per SubscriberEvery; nil
// when the last reading failed.
func (c *CadenceCollector) read() *cadenceReading {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	if c.readOK && now.Sub(c.readAt) < c.opts.TTL {
		return c.shown
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	counts, err := c.store.CadenceCounts(ctx, now)
	if err != nil {
		c.errors.Inc()
		c.opts.Log.Warn("metrics: reading subscribers by cadence", "err", err)
		c.readOK = false
		return nil
	}
	c.readOK, c.readAt = true, now
	if c.shown != nil && now.Sub(c.shownAt) < c.opts.SubscriberEvery {
		return c.shown
	}
	r := &cadenceReading{by: map[string]map[subscribers.Cadence]int{}, paused: map[string]int{}}
	for _, l := range c.lists {
		o := l.Offer()
		by := map[subscribers.Cadence]int{}
		for _, n := range counts {
			if n.List != l.Slug {
				continue
			}
			by[o.Effective(n.Cadence)] += n.Count
			if n.Paused {
				r.paused[l.Slug] += n.Count
			}
		}
		for cad, n := range by {
			by[cad] = Coarse(n, c.opts.SubscriberStep)
		}
		r.by[l.Slug] = by
		r.paused[l.Slug] = Coarse(r.paused[l.Slug], c.opts.SubscriberStep)
	}
	c.shown, c.shownAt = r, now
	return r
}

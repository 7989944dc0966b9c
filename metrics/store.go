package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/subscribers"
)

// Store is what the store collector reads: two grouped counts, each one
// query (storage.Storage has both).
type Store interface {
	SubscriberCounts(ctx context.Context) (map[subscribers.Status]int, error)
	OpenDeliveryCounts(ctx context.Context, now time.Time) (byState map[digest.State]int, due int, err error)
}

// StoreOptions tune the store collector.
type StoreOptions struct {
	// TTL is how long one reading of the store answers scrapes (5s when
	// 0), so several Prometheus servers or a fast scrape interval cost
	// the database one pair of queries per TTL.
	TTL time.Duration
	// Timeout bounds the two queries (5s when 0).
	Timeout time.Duration
	// SubscriberStep and SubscriberEvery make the subscriber counts
	// coarse: each is rounded down to a multiple of SubscriberStep
	// (DefaultSubscriberStep when 0; 1 for exact counts), and the counts
	// shown change at most once per SubscriberEvery
	// (DefaultSubscriberEvery when 0), so that watching /metrics around
	// one sign-up cannot tell whether its address was new to the list.
	SubscriberStep  int
	SubscriberEvery time.Duration
	Now             func() time.Time
	Log             *slog.Logger
}

// withDefaults fills what o leaves zero.
func (o StoreOptions) withDefaults() StoreOptions {
	if o.TTL <= 0 {
		o.TTL = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SubscriberStep == 0 {
		o.SubscriberStep = DefaultSubscriberStep
	}
	if o.SubscriberEvery <= 0 {
		o.SubscriberEvery = DefaultSubscriberEvery
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Defaults of StoreOptions' subscriber coarseness.
const (
	DefaultSubscriberStep  = 10
	DefaultSubscriberEvery = 10 * time.Minute
)

// Coarse rounds n down to a multiple of step: a count others may see,
// which one sign-up must not move visibly (step ≤ 1: n).
func Coarse(n, step int) int {
	if step <= 1 {
		return n
	}
	return n / step * step
}

// StoreCollector exports counts read from the store when scraped:
// subscribers by status (coarse: see StoreOptions.SubscriberStep), and the deliveries of the digest issues still
// being sent by state, their queue depth (pending + sending) and how many
// are due now. A failed reading exports none of them (so a dashboard shows
// a gap, not a stale value), counts in
// syndicated_store_metrics_errors_total and is logged.
type StoreCollector struct {
	store Store
	opts  StoreOptions

	subs, deliveries, queue, due *prometheus.Desc
	errors                       prometheus.Counter

	mu      sync.Mutex // one reading at a time; guards what follows
	readAt  time.Time
	reading *storeReading
	// shown are the coarse subscriber counts exported, taken at shownAt.
	shown   map[subscribers.Status]int
	shownAt time.Time
}

type storeReading struct {
	subs       map[subscribers.Status]int
	deliveries map[digest.State]int
	due        int
}

var (
	subscriberStatuses = []subscribers.Status{subscribers.StatusPending, subscribers.StatusActive, subscribers.StatusUnsubscribed, subscribers.StatusBounced}
	deliveryStates     = []digest.State{digest.StatePending, digest.StateSending, digest.StateSent, digest.StateFailed, digest.StateSkipped}
)

// NewStoreCollector registers a collector over store on reg.
func NewStoreCollector(reg prometheus.Registerer, store Store, opts StoreOptions) *StoreCollector {
	opts = opts.withDefaults()
	c := &StoreCollector{
		store: store, opts: opts,
		subs: prometheus.NewDesc("syndicated_subscribers",
			"Subscribers by status (pending, active, unsubscribed, bounced), counted in the store, rounded down to a multiple of "+
				strconv.Itoa(max(opts.SubscriberStep, 1))+", updated at most every "+opts.SubscriberEvery.String()+".", []string{"status"}, nil),
		deliveries: prometheus.NewDesc("syndicated_digest_open_deliveries",
			"Deliveries of the digest issues still being sent, by state (pending, sending, sent, failed, skipped).", []string{"state"}, nil),
		queue: prometheus.NewDesc("syndicated_digest_queue_depth",
			"Digest deliveries not done yet (pending + sending), over every replica.", nil, nil),
		due: prometheus.NewDesc("syndicated_digest_queue_due",
			"Digest deliveries a worker could claim now (pending and due, or sending with an expired lease).", nil, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syndicated_store_metrics_errors_total", Help: "Scrapes whose reading of the store counts failed.",
		}),
	}
	reg.MustRegister(c)
	return c
}

// Describe implements prometheus.Collector.
func (c *StoreCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.subs
	ch <- c.deliveries
	ch <- c.queue
	ch <- c.due
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *StoreCollector) Collect(ch chan<- prometheus.Metric) {
	if r := c.read(); r != nil {
		for _, st := range subscriberStatuses {
			ch <- prometheus.MustNewConstMetric(c.subs, prometheus.GaugeValue, float64(r.subs[st]), string(st))
		}
		for _, st := range deliveryStates {
			ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.GaugeValue, float64(r.deliveries[st]), string(st))
		}
		ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(r.deliveries[digest.StatePending]+r.deliveries[digest.StateSending]))
		ch <- prometheus.MustNewConstMetric(c.due, prometheus.GaugeValue, float64(r.due))
	}
	c.errors.Collect(ch)
}

// read returns the cached reading while it is younger than TTL, else reads
// the store again; nil when that fails.
func (c *StoreCollector) read() *storeReading {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	if c.reading != nil && now.Sub(c.readAt) < c.opts.TTL {
		return c.reading
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	r := &storeReading{}
	var err error
	if r.subs, err = c.store.SubscriberCounts(ctx); err == nil {
		r.deliveries, r.due, err = c.store.OpenDeliveryCounts(ctx, now)
	}
	if err != nil {
		c.errors.Inc()
		c.opts.Log.Warn("metrics: reading the store", "err", err)
		c.reading = nil
		return nil
	}
	if c.shown == nil || now.Sub(c.shownAt) >= c.opts.SubscriberEvery {
		c.shown, c.shownAt = map[subscribers.Status]int{}, now
		for st, n := range r.subs {
			c.shown[st] = Coarse(n, c.opts.SubscriberStep)
		}
	}
	r.subs = c.shown
	c.reading, c.readAt = r, now
	return r
}

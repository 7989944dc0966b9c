package audience

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the audience as Prometheus gauges, read at scrape
// time. Sections and series are labelled by their feed path; the author
// and tag feeds, thousands of them, are summed as "authors" and "tags"
// (the audience command lists them one by one), so the series stay few.
type Collector struct {
	load                                func(ctx context.Context) ([]FeedAudience, error)
	aggregators, clients, websub, email *prometheus.Desc
}

// NewCollector registers a Collector on reg; load returns the audience
// with today's clients first in Clients.
func NewCollector(reg prometheus.Registerer, load func(ctx context.Context) ([]FeedAudience, error)) *Collector {
	c := &Collector{load: load,
		aggregators: prometheus.NewDesc("syndicated_feed_audience_aggregator_subscribers",
			"Subscribers each feed aggregator last reported in its User-Agent, by feed and aggregator.", []string{"feed", "aggregator"}, nil),
		clients: prometheus.NewDesc("syndicated_feed_audience_clients",
			"Distinct other clients of the feed so far today (keyed daily hash, HyperLogLog estimate).", []string{"feed"}, nil),
		websub: prometheus.NewDesc("syndicated_feed_audience_websub_subscriptions",
			"Live subscriptions of the built-in WebSub hub, by feed.", []string{"feed"}, nil),
		email: prometheus.NewDesc("syndicated_feed_audience_email_subscribers",
			"Active email subscribers of a series, by feed.", []string{"feed"}, nil),
	}
	reg.MustRegister(c)
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.aggregators, c.clients, c.websub, c.email} {
		ch <- d
	}
}

// metricFeed is the feed label of feed.
func metricFeed(feed string) string {
	switch {
	case strings.HasPrefix(feed, "/feeds/authors/"):
		return "authors"
	case strings.HasPrefix(feed, "/feeds/tags/"):
		return "tags"
	}
	return feed
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	all, err := c.load(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.clients, err)
		return
	}
	type agg struct{ feed, name string }
	aggs := map[agg]int{}
	clients, websub, email := map[string]uint64{}, map[string]int{}, map[string]int{}
	for _, fa := range all {
		f := metricFeed(fa.Feed)
		for _, a := range fa.Aggregators {
			aggs[agg{f, a.Name}] += a.Subscribers
		}
		if len(fa.Clients) > 0 {
			clients[f] += fa.Clients[0].Clients
		}
		websub[f] += fa.WebSub
		email[f] += fa.Email
	}
	for k, n := range aggs {
		ch <- prometheus.MustNewConstMetric(c.aggregators, prometheus.GaugeValue, float64(n), k.feed, k.name)
	}
	for f, n := range clients {
		ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(n), f)
	}
	for f, n := range websub {
		ch <- prometheus.MustNewConstMetric(c.websub, prometheus.GaugeValue, float64(n), f)
	}
	for f, n := range email {
		ch <- prometheus.MustNewConstMetric(c.email, prometheus.GaugeValue, float64(n), f)
	}
}

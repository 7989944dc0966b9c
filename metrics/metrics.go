// Package metrics holds the daemon's operational Prometheus metrics, the
// ones an operator alerts on: feed builds, feed requests, ingest outcomes,
// and, read from the store at scrape time, subscribers by status and the
// digest delivery queue. Every label takes values from a fixed set (or the
// configured feeds), so the number of series stays bounded whatever the
// clients send.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/article"
)

// Ingest counts articles stored or refused, by source and outcome.
type Ingest struct {
	articles *prometheus.CounterVec
}

// Ingest sources.
const (
	SourceAPI     = "api"         // POST/DELETE /api/articles
	SourceContent = "content-dir" // the content directory scan
)

// Ingest outcomes (the outcome label).
const (
	OutcomeCreated   = "created"
	OutcomeUpdated   = "updated" // edited, reclassified or withdrawn
	OutcomeUnchanged = "unchanged"
	OutcomeRejected  = "rejected" // bad input (a 4xx at the API)
	OutcomeError     = "error"    // the store or another server-side fault
)

// NewIngest registers syndicated_ingest_articles_total on reg, every
// source and outcome exported as 0 from the start.
func NewIngest(reg prometheus.Registerer) *Ingest {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syndicated_ingest_articles_total",
		Help: "Articles ingested by source (api, content-dir) and outcome (created, updated, unchanged, rejected, error).",
	}, []string{"source", "outcome"})
	reg.MustRegister(c)
	for _, s := range []string{SourceAPI, SourceContent} {
		for _, o := range []string{OutcomeCreated, OutcomeUpdated, OutcomeUnchanged, OutcomeRejected, OutcomeError} {
			c.WithLabelValues(s, o)
		}
	}
	return &Ingest{articles: c}
}

// Observe counts one article from source with what storing it did;
// outcome is one of the Outcome constants.
func (i *Ingest) Observe(source, outcome string) {
	i.articles.WithLabelValues(source, outcome).Inc()
}

// Outcome names what PutArticle did.
func Outcome(o article.Outcome) string {
	switch o {
	case article.Created:
		return OutcomeCreated
	case article.Unchanged:
		return OutcomeUnchanged
	default:
		return OutcomeUpdated
	}
}

// Builds records feed builds: their count by result, duration and the
// time of the last successful one.
type Builds struct {
	runs        *prometheus.CounterVec
	duration    prometheus.Histogram
	lastSuccess prometheus.Gauge
}

// NewBuilds registers the feed build metrics on reg.
func NewBuilds(reg prometheus.Registerer) *Builds {
	b := &Builds{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syndicated_feed_builds_total", Help: "Feed builds by result (ok, error).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "syndicated_feed_build_duration_seconds", Help: "Feed build duration (every feed, every format).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syndicated_feed_build_last_success_timestamp_seconds",
			Help: "Unix time the last successful feed build finished (0 before the first).",
		}),
	}
	reg.MustRegister(b.runs, b.duration, b.lastSuccess)
	b.runs.WithLabelValues("ok")
	b.runs.WithLabelValues("error")
	return b
}

// Observe records one build that took took and ended at end with err.
func (b *Builds) Observe(took time.Duration, end time.Time, err error) {
	b.duration.Observe(took.Seconds())
	if err != nil {
		b.runs.WithLabelValues("error").Inc()
		return
	}
	b.runs.WithLabelValues("ok").Inc()
	b.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
}

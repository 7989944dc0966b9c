package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/server/response"
)

// Other is the feed and format label of a request for no configured feed.
const Other = "other"

// FeedRequests counts requests to the feeds by feed, format and status.
type FeedRequests struct {
	requests *prometheus.CounterVec
	exact    map[string]feedLabels // "/feeds/society.rss" → society, rss
	archives []archivePrefix
	children sync.Map // requestKey → prometheus.Counter
}

type feedLabels struct{ feed, format string }

type archivePrefix struct {
	prefix string // "/feeds/society/archive/"
	feed   string
}

type requestKey struct {
	feedLabels
	code int
}

// NewFeedRequests registers syndicated_feed_requests_total on reg. The
// feed label is the slug of one of specs (a series "series/SLUG"), for
// its subscription feed and archive pages, "authors" or "tags" for every
// author or tag feed; any other path is "other".
func NewFeedRequests(reg prometheus.Registerer, specs []feeds.Spec) (*FeedRequests, error) {
	m := &FeedRequests{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syndicated_feed_requests_total",
			Help: "Requests to the feeds by feed (configured slug, series/SLUG, or other), format (rss, atom, json, other) and HTTP status.",
		}, []string{"feed", "format", "code"}),
		exact: map[string]feedLabels{},
	}
	for _, s := range specs {
		s, err := s.Normalize()
		if err != nil {
			return nil, err
		}
		name := s.Slug
		if s.Kind == feeds.KindSeries {
			name = "series/" + s.Slug
		}
		for _, f := range feeds.Formats {
			m.exact[s.FeedPath(f)] = feedLabels{name, f.Ext()}
		}
		m.archives = append(m.archives, archivePrefix{s.Path + "/archive/", name})
	}
	reg.MustRegister(m.requests)
	return m, nil
}

// labels classifies a request path.
func (m *FeedRequests) labels(path string) feedLabels {
	if l, ok := m.exact[path]; ok {
		return l
	}
	for _, a := range m.archives {
		if rest, ok := strings.CutPrefix(path, a.prefix); ok {
			return feedLabels{a.feed, formatLabel(rest)}
		}
	}
	// Author and tag feeds, thousands of them, count as one label each.
	if rest, ok := strings.CutPrefix(path, feeds.AuthorsPath); ok {
		return feedLabels{"authors", formatLabel(rest)}
	}
	if rest, ok := strings.CutPrefix(path, feeds.TagsPath); ok {
		return feedLabels{"tags", formatLabel(rest)}
	}
	return feedLabels{Other, Other}
}

// formatLabel is the format of a path's last extension, or Other.
func formatLabel(rest string) string {
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		for _, f := range feeds.Formats {
			if rest[i+1:] == f.Ext() {
				return f.Ext()
			}
		}
	}
	return Other
}

func (m *FeedRequests) counter(k requestKey) prometheus.Counter {
	if c, ok := m.children.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c := m.requests.WithLabelValues(k.feed, k.format, strconv.Itoa(k.code))
	m.children.Store(k, c)
	return c
}

// Handler wraps the feeds handler so that each request is counted once it
// is answered.
func (m *FeedRequests) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Behind server.Server, w records the status already: read it
		// there rather than allocate a recorder of our own per request.
		if sr, ok := w.(statusRecorder); ok {
			next.ServeHTTP(w, r)
			m.counter(requestKey{m.labels(r.URL.Path), sr.Status()}).Inc()
			return
		}
		var rec response.Recorder
		rec.Reset(w)
		next.ServeHTTP(&rec, r)
		m.counter(requestKey{m.labels(r.URL.Path), rec.Status()}).Inc()
	})
}

// statusRecorder is a ResponseWriter that knows the status it sent
// (response.Recorder): 200 when the handler wrote none.
type statusRecorder interface {
	http.ResponseWriter
	Status() int
}

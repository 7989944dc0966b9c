package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/server/response"
)

// Hook counts the articles of one ingest event (it is an ingest.Hook):
// each by its outcome, a refusal that is the client's fault (what the API
// answers with a 4xx) as rejected, any other failure as an error. The
// content directory's scans are the files the daemon imports.
func (i *Ingest) Hook(_ context.Context, e ingest.Event) {
	source := SourceContent
	if e.Source == ingest.SourceAPI {
		source = SourceAPI
	}
	for _, f := range e.Files {
		switch {
		case f.Err == nil:
			i.Observe(source, Outcome(f.Outcome))
		case response.Status(f.Err) < http.StatusInternalServerError:
			i.Observe(source, OutcomeRejected)
		default:
			i.Observe(source, OutcomeError)
		}
	}
}

// Jobs records scheduled job runs: their count by job and result, and
// their duration.
type Jobs struct {
	runs    *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

// NewJobs registers the job metrics on reg.
func NewJobs(reg prometheus.Registerer) *Jobs {
	j := &Jobs{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syndicated_job_runs_total", Help: "Scheduled job runs by job and result.",
		}, []string{"job", "result"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "syndicated_job_duration_seconds", Help: "Scheduled job duration.",
			Buckets: []float64{.001, .005, .02, .1, .5, 2, 10, 60},
		}, []string{"job"}),
	}
	reg.MustRegister(j.runs, j.seconds)
	return j
}

// Observe records one run of job name (schedule.Scheduler.OnRun).
func (j *Jobs) Observe(name string, took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	j.runs.WithLabelValues(name, result).Inc()
	j.seconds.WithLabelValues(name).Observe(took.Seconds())
}

// Deliveries counts digest delivery attempts by result.
type Deliveries struct{ attempts *prometheus.CounterVec }

// NewDeliveries registers syndicated_digest_deliveries_total on reg, every
// result exported as 0 from the start.
func NewDeliveries(reg prometheus.Registerer) *Deliveries {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syndicated_digest_deliveries_total", Help: "Digest delivery attempts by result (sent, retry, failed, bounced, skipped).",
	}, []string{"result"})
	reg.MustRegister(c)
	for _, r := range []string{digest.ResultSent, digest.ResultRetry, digest.ResultFailed, digest.ResultBounced, digest.ResultSkipped} {
		c.WithLabelValues(r)
	}
	return &Deliveries{c}
}

// Observe counts one attempt with its result (digest.SenderConfig.OnResult).
func (d *Deliveries) Observe(result string) { d.attempts.WithLabelValues(result).Inc() }

package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/bounce"
)

// Bounces counts later notifications (package bounce) by the way they
// came in: what became of each (recorded, duplicate, unverified…) and the
// events recorded by kind. It is the pipeline's bounce.Observer.
type Bounces struct {
	notifications *prometheus.CounterVec
	events        *prometheus.CounterVec
}

// NewBounces registers syndicated_bounce_notifications_total and
// syndicated_bounce_events_total on reg, every label value exported as 0
// from the start.
func NewBounces(reg prometheus.Registerer) *Bounces {
	b := &Bounces{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syndicated_bounce_notifications_total",
			Help: "Bounce, complaint and unsubscribe notifications (each report of one) by source (smtp, imap, ses, mailgun, sendgrid, postmark) and result (recorded, duplicate, unverified, unmatched, mismatch, ignored, refused).",
		}, []string{"source", "result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syndicated_bounce_events_total",
			Help: "Events recorded from notifications, by source and kind (hard, soft, rejected, complaint, unsubscribe).",
		}, []string{"source", "kind"}),
	}
	reg.MustRegister(b.notifications, b.events)
	for _, s := range bounce.Sources {
		for _, r := range bounce.Results {
			b.notifications.WithLabelValues(string(s), string(r))
		}
		for _, k := range bounce.Kinds {
			b.events.WithLabelValues(string(s), string(k))
		}
	}
	return b
}

// Observe implements bounce.Observer.
func (b *Bounces) Observe(source bounce.Source, result bounce.Result, kind bounce.Kind) {
	b.notifications.WithLabelValues(string(source), string(result)).Inc()
	if result == bounce.ResultRecorded && kind != "" {
		b.events.WithLabelValues(string(source), string(kind)).Inc()
	}
}

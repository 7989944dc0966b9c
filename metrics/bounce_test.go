package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/metrics"
)

func TestBounces(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := metrics.NewBounces(reg)
	got := gather(t, reg)
	n := 0
	for k := range got {
		if strings.HasPrefix(k, "syndicated_bounce_events_total{") {
			n++
		}
	}
	if n != len(bounce.Sources)*len(bounce.Kinds) {
		t.Errorf("%d event series before any event, want every source and kind", n)
	}
	b.Observe(bounce.SourceSMTP, bounce.ResultRecorded, bounce.KindHard)
	b.Observe(bounce.SourceSMTP, bounce.ResultDuplicate, bounce.KindHard)
	b.Observe(bounce.SourceSES, bounce.ResultUnverified, bounce.KindHard)
	b.Observe(bounce.SourceIMAP, bounce.ResultRefused, "")
	b.Observe(bounce.SourceMailgun, bounce.ResultRecorded, bounce.KindComplaint)
	want(t, "after", gather(t, reg), map[string]float64{
		`syndicated_bounce_notifications_total{result="recorded",source="smtp"}`:     1,
		`syndicated_bounce_notifications_total{result="duplicate",source="smtp"}`:    1,
		`syndicated_bounce_notifications_total{result="unverified",source="ses"}`:    1,
		`syndicated_bounce_notifications_total{result="refused",source="imap"}`:      1,
		`syndicated_bounce_notifications_total{result="mismatch",source="postmark"}`: 0,
		`syndicated_bounce_events_total{kind="hard",source="smtp"}`:                  1,
		`syndicated_bounce_events_total{kind="complaint",source="mailgun"}`:          1,
		`syndicated_bounce_events_total{kind="hard",source="ses"}`:                   0,
	})
}

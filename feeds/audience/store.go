package audience

import (
	"context"
	"time"
)

// StoredReport is the latest count one aggregator reported for a feed,
// under one feed id and format.
type StoredReport struct {
	Feed        string // the feed's path without extension: /feeds/society
	Aggregator  string
	Ident       string // format and feed id: "rss", "atom 1697787"
	Subscribers int
	Reported    time.Time
}

// Store keeps what replicas count together.
type Store interface {
	// AudienceKey returns the key of day's client hashes, creating it with
	// generate the first time any replica asks.
	AudienceKey(ctx context.Context, day string, generate func() (string, error)) (string, error)
	// PutAudienceReports stores the reports (the latest per feed,
	// aggregator and ident wins).
	PutAudienceReports(ctx context.Context, rs []StoredReport) error
	// MergeAudienceSketch replaces the sketch of feed and day with
	// merge(the stored one, nil when none), in one transaction.
	MergeAudienceSketch(ctx context.Context, feed, day string, merge func(old []byte) ([]byte, error)) error
	// AudienceReports lists every stored report.
	AudienceReports(ctx context.Context) ([]StoredReport, error)
	// AudienceSketches returns the sketches of the days from fromDay on,
	// by feed and day.
	AudienceSketches(ctx context.Context, fromDay string) (map[string]map[string][]byte, error)
	// PruneAudience deletes the sketches of days before beforeDay, the keys
	// of days before keyDay, and reports older than reportsBefore.
	PruneAudience(ctx context.Context, beforeDay, keyDay string, reportsBefore time.Time) error
}

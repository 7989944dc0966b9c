package audience

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// FeedAudience is what is known of one feed's audience.
type FeedAudience struct {
	Feed string `json:"feed"` // path without extension: /feeds/society
	// Aggregators are the latest counts each aggregator reported, summed
	// over the feed ids and formats it polls; Subscribers is their sum.
	Aggregators []AggregatorCount `json:"aggregators"`
	Subscribers int               `json:"aggregator_subscribers"`
	// Clients are the distinct other clients of each day asked for,
	// newest first (an estimate within about 1%).
	Clients []DayClients `json:"clients"`
	// WebSub is the built-in hub's live subscriptions to the feed (any
	// format); Email the active email subscribers of a series.
	WebSub int `json:"websub_subscriptions"`
	Email  int `json:"email_subscribers"`
}

// AggregatorCount is one aggregator's report.
type AggregatorCount struct {
	Name        string    `json:"name"`
	Subscribers int       `json:"subscribers"`
	Reported    time.Time `json:"reported"`
}

// DayClients counts the distinct clients of one day.
type DayClients struct {
	Day     string `json:"day"`
	Clients uint64 `json:"clients"`
}

// LoadOptions say what Load adds to the stored counts.
type LoadOptions struct {
	// Days are the days whose clients are counted, newest first.
	Days []string
	// Feeds are listed even when nothing was counted for them.
	Feeds []string
	// WebSub and Email are counts by feed from elsewhere.
	WebSub, Email map[string]int
}

// Load reads what the replicas counted.
func Load(ctx context.Context, st Store, o LoadOptions) ([]FeedAudience, error) {
	reports, err := st.AudienceReports(ctx)
	if err != nil {
		return nil, err
	}
	from := ""
	for _, d := range o.Days {
		if from == "" || d < from {
			from = d
		}
	}
	var sketches map[string]map[string][]byte
	if from != "" {
		if sketches, err = st.AudienceSketches(ctx, from); err != nil {
			return nil, err
		}
	}
	by := map[string]*FeedAudience{}
	get := func(feed string) *FeedAudience {
		if by[feed] == nil {
			by[feed] = &FeedAudience{Feed: feed}
		}
		return by[feed]
	}
	for _, f := range o.Feeds {
		get(f)
	}
	for _, r := range reports {
		fa := get(r.Feed)
		i := sort.Search(len(fa.Aggregators), func(i int) bool { return fa.Aggregators[i].Name >= r.Aggregator })
		if i == len(fa.Aggregators) || fa.Aggregators[i].Name != r.Aggregator {
			fa.Aggregators = append(fa.Aggregators, AggregatorCount{})
			copy(fa.Aggregators[i+1:], fa.Aggregators[i:])
			fa.Aggregators[i] = AggregatorCount{Name: r.Aggregator}
		}
		a := &fa.Aggregators[i]
		a.Subscribers += r.Subscribers
		if r.Reported.After(a.Reported) {
			a.Reported = r.Reported
		}
		fa.Subscribers += r.Subscribers
	}
	for feed := range sketches {
		get(feed)
	}
	for feed, n := range o.WebSub {
		get(feed).WebSub = n
	}
	for feed, n := range o.Email {
		get(feed).Email = n
	}
	out := make([]FeedAudience, 0, len(by))
	for _, fa := range by {
		for _, d := range o.Days {
			dc := DayClients{Day: d}
			if b := sketches[fa.Feed][d]; b != nil {
				sk := hyperloglog.New14()
				if err := sk.UnmarshalBinary(b); err == nil {
					dc.Clients = sk.Estimate()
				}
			}
			fa.Clients = append(fa.Clients, dc)
		}
		out = append(out, *fa)
	}
	sort.Slice(out, func(i, j int) bool { return feedOrder(out[i].Feed) < feedOrder(out[j].Feed) })
	return out, nil
}

// feedOrder sorts sections and series before authors, tags and others.
func feedOrder(feed string) string {
	switch {
	case strings.HasPrefix(feed, "/feeds/authors/"):
		return "2" + feed
	case strings.HasPrefix(feed, "/feeds/tags/"):
		return "3" + feed
	case feed == OtherFeed:
		return "4"
	}
	return "1" + feed
}

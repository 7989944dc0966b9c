package app

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/feeds/audience"
	"github.com/syndicated/syndicated/subscribers"
)

// Audience reads every feed's audience as the replicas counted it, with
// the days from today back days-1, the built-in hub's subscriptions and
// the series' email subscribers.
func (a *App) Audience(ctx context.Context, now time.Time, days int) ([]audience.FeedAudience, error) {
	o := audience.LoadOptions{WebSub: map[string]int{}, Email: map[string]int{}}
	zone := a.Config.Zone()
	for i := range max(days, 1) {
		o.Days = append(o.Days, now.In(zone).AddDate(0, 0, -i).Format(time.DateOnly))
	}
	base := strings.TrimRight(a.Config.BaseURL, "/")
	for _, s := range a.FeedSpecs() {
		s, err := s.Normalize()
		if err != nil {
			return nil, err
		}
		o.Feeds = append(o.Feeds, s.Path)
		if s.Kind == feeds.KindSeries {
			n, err := a.Store.CountSubscribers(ctx, subscribers.Filter{Status: subscribers.StatusActive, List: s.Slug})
			if err != nil {
				return nil, err
			}
			o.Email[s.Path] = n
		}
	}
	topics, err := a.Store.SubscriptionCounts(ctx, now)
	if err != nil {
		return nil, err
	}
	for topic, n := range topics {
		path := strings.TrimPrefix(topic, base)
		if i := strings.LastIndexByte(path, '.'); i > 0 {
			path = path[:i]
		}
		o.WebSub[path] += n
	}
	return audience.Load(ctx, a.Store, o)
}

// audienceCounter makes the counter of feed requests (feeds.audience).
func (a *App) audienceCounter() (*audience.Counter, error) {
	clients, err := a.clientResolver()
	if err != nil {
		return nil, err
	}
	return audience.NewCounter(audience.Options{Store: a.Store, Location: a.Config.Zone(), Log: a.Log, ClientIP: clients.Addr})
}

// audienceHandler serves the operator's view of the last 7 days.
func (a *App) audienceHandler() http.Handler {
	return audience.Handler(func(ctx context.Context) ([]audience.FeedAudience, error) {
		return a.Audience(ctx, time.Now(), 7)
	})
}

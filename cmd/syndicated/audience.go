package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/feeds/audience"
	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/subscribers"
)

// audience reads every feed's audience as the replicas counted it, with
// the days from today back days-1, the built-in hub's subscriptions and
// the series' email subscribers.
func (a *app) audience(ctx context.Context, now time.Time, days int) ([]audience.FeedAudience, error) {
	o := audience.LoadOptions{WebSub: map[string]int{}, Email: map[string]int{}}
	zone := a.cfg.Zone()
	for i := range max(days, 1) {
		o.Days = append(o.Days, now.In(zone).AddDate(0, 0, -i).Format(time.DateOnly))
	}
	base := strings.TrimRight(a.cfg.BaseURL, "/")
	for _, s := range a.feedSpecs() {
		s, err := s.Normalize()
		if err != nil {
			return nil, err
		}
		o.Feeds = append(o.Feeds, s.Path)
		if s.Kind == feeds.KindSeries {
			n, err := a.store.CountSubscribers(ctx, subscribers.Filter{Status: subscribers.StatusActive, List: s.Slug})
			if err != nil {
				return nil, err
			}
			o.Email[s.Path] = n
		}
	}
	topics, err := a.store.SubscriptionCounts(ctx, now)
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
	return audience.Load(ctx, a.store, o)
}

// audienceCounter makes the counter of feed requests (feeds.audience).
func (a *app) audienceCounter() (*audience.Counter, error) {
	clients, err := a.clientResolver()
	if err != nil {
		return nil, err
	}
	return audience.NewCounter(audience.Options{Store: a.store, Location: a.cfg.Zone(), Log: a.log, ClientIP: clients.Addr})
}

type audienceCmd struct {
	days   int
	format string
}

func (ac *audienceCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&ac.days, "days", 7, "days of client counts, from today back")
	fs.StringVar(&ac.format, "format", "text", "text or json")
}

func (ac *audienceCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := cmdline.NoArgs("audience", args); err != nil {
		return err
	}
	if ac.format != "text" && ac.format != "json" {
		return fmt.Errorf("%w: --format %q: want text or json", cmdline.ErrUsage, ac.format)
	}
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	all, err := a.audience(ctx, time.Now(), ac.days)
	if err != nil {
		return err
	}
	if ac.format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	return audience.WriteText(c.stdout, all)
}

// audienceHandler serves the operator's view of the last 7 days.
func (a *app) audienceHandler() http.Handler {
	return audience.Handler(func(ctx context.Context) ([]audience.FeedAudience, error) {
		return a.audience(ctx, time.Now(), 7)
	})
}

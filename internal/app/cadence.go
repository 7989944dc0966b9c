package app

import (
	"context"
	"strings"

	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/subscribers"
)

// seriesCadences is what series s offers (config.SeriesCadences), typed.
func (a *App) seriesCadences(s config.Series) ([]subscribers.Cadence, subscribers.Cadence) {
	names, def := a.Config.SeriesCadences(s)
	offered := make([]subscribers.Cadence, len(names))
	for i, n := range names {
		offered[i] = subscribers.Cadence(n)
	}
	return offered, subscribers.Cadence(def)
}

// latestIssue links the latest issue of a list, for the welcome email.
func (a *App) latestIssue(ctx context.Context, list string) (subscribers.IssueLink, bool, error) {
	issues, err := a.Store.SeriesIssues(ctx, list, 1, 0)
	if err != nil || len(issues) == 0 {
		return subscribers.IssueLink{}, false, err
	}
	return subscribers.IssueLink{Title: digest.IssueTitle(issues[0], a.Config.Zone()),
		URL: strings.TrimRight(a.Config.BaseURL, "/") + "/digests/" + digest.IssuePath(issues[0].ID)}, true, nil
}

// readerLists are the configured series as lists readers choose from.
func (a *App) readerLists() []subscribers.List {
	lists := make([]subscribers.List, 0, len(a.Config.Series))
	for _, s := range a.Config.Series {
		offered, def := a.seriesCadences(s)
		lists = append(lists, subscribers.List{Slug: s.Slug, Title: s.Title, Description: s.Description,
			Cadences: offered, DefaultCadence: def})
	}
	return lists
}

// digestSeries are the configured series as the digest makes their
// issues: the cadences each offers, with each one's schedule.
func (a *App) digestSeries() []digest.Series {
	var series []digest.Series
	for _, s := range a.Config.Series {
		offered, def := a.seriesCadences(s)
		schedules := map[digest.Cadence]string{}
		for _, c := range offered {
			schedules[c] = a.Config.CadenceSchedule(s, string(c))
		}
		series = append(series, digest.Series{Slug: s.Slug, Title: s.Title, Description: s.Description, Subject: s.DigestSubject,
			Cadences: offered, DefaultCadence: def, Schedules: schedules})
	}
	return series
}

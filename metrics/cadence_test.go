package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/metrics"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// Subscribers by series and cadence: a choice the series does not offer
// counts as its default; pending and unsubscribed readers do not count.
// Exact with a step of 1; by default coarse, like the counts by status:
// rounded down to a step, and moving at most once per SubscriberEvery.
func TestCadenceCollector(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		now := time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC)
		lists := []subscribers.List{
			{Slug: "s1", Cadences: []subscribers.Cadence{subscribers.CadenceWeekly, subscribers.CadenceDaily, subscribers.CadenceStory}, DefaultCadence: subscribers.CadenceDaily},
			{Slug: "s2"},
		}
		add := func(email string, status subscribers.Status, lists ...string) int64 {
			sub, err := st.UpdateSubscriber(t.Context(), email, func(s *subscribers.Subscriber) error {
				s.Status, s.CreatedAt = status, now
				for _, l := range lists {
					s.Lists = append(s.Lists, subscribers.Subscription{List: l, Active: true, ChangedAt: now})
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return sub.ID
		}
		set := func(id int64, list string, c subscribers.Cadence) {
			if err := st.SetCadence(t.Context(), id, list, subscribers.CadenceWeekly, c, now); err != nil {
				t.Fatal(err)
			}
		}
		a := add("a@example.com", subscribers.StatusActive, "s1", "s2")
		b := add("b@example.com", subscribers.StatusActive, "s1")
		add("c@example.com", subscribers.StatusActive, "s1")
		p := add("p@example.com", subscribers.StatusActive, "s1")
		add("pending@example.com", subscribers.StatusPending, "s1")
		set(a, "s1", subscribers.CadenceStory)
		set(a, "s2", subscribers.CadenceDaily) // s2 offers weekly only
		set(b, "s1", subscribers.CadenceWeekly)
		set(p, "s1", subscribers.CadenceStory)
		if err := st.SetPause(t.Context(), p, now.Add(time.Hour), now); err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		metrics.NewCadenceCollector(reg, st, lists, metrics.StoreOptions{Now: func() time.Time { return now }, SubscriberStep: 1})
		want(t, "scrape", gather(t, reg), map[string]float64{
			`syndicated_series_subscribers{cadence="weekly",series="s1"}`: 1,
			`syndicated_series_subscribers{cadence="daily",series="s1"}`:  1, // c, by default
			`syndicated_series_subscribers{cadence="story",series="s1"}`:  2,
			`syndicated_series_subscribers{cadence="weekly",series="s2"}`: 1,
			`syndicated_series_subscribers_paused{series="s1"}`:           1,
			`syndicated_series_subscribers_paused{series="s2"}`:           0,
			`syndicated_cadence_metrics_errors_total`:                     0,
		})
		if _, ok := gather(t, reg)[`syndicated_series_subscribers{cadence="daily",series="s2"}`]; ok {
			t.Error("a cadence s2 does not offer is exported")
		}

		clock := now
		coarseReg := prometheus.NewRegistry()
		metrics.NewCadenceCollector(coarseReg, st, lists, metrics.StoreOptions{Now: func() time.Time { return clock }, SubscriberStep: 2, SubscriberEvery: time.Hour})
		story := func(want float64) {
			t.Helper()
			if got := gather(t, coarseReg)[`syndicated_series_subscribers{cadence="story",series="s1"}`]; got != want {
				t.Errorf("story readers of s1 shown as %v, want %v", got, want)
			}
		}
		want(t, "coarse scrape", gather(t, coarseReg), map[string]float64{
			`syndicated_series_subscribers{cadence="weekly",series="s1"}`: 0,
			`syndicated_series_subscribers{cadence="daily",series="s1"}`:  0,
			`syndicated_series_subscribers{cadence="story",series="s1"}`:  2,
			`syndicated_series_subscribers{cadence="weekly",series="s2"}`: 0,
			`syndicated_series_subscribers_paused{series="s1"}`:           0,
		})
		for _, e := range []string{"d@example.com", "e@example.com"} {
			set(add(e, subscribers.StatusActive, "s1"), "s1", subscribers.CadenceStory)
		}
		clock = clock.Add(time.Minute) // past the TTL, within SubscriberEvery
		story(2)
		clock = clock.Add(time.Hour)
		story(4)
	})
}

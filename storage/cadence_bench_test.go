package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// BenchmarkCreateIssue100k makes an issue for 100,000 readers per op,
// side by side: CreateIssue (the recipients chosen inside one INSERT …
// SELECT, as before cadences) and CreateCadenceIssue (the weekly readers
// chosen by a query, passed as a list of ids to the outbox, cutoffs and
// coverage kept). A fifth of the readers are daily, so the cadence issue
// has 80,000 recipients.
func BenchmarkCreateIssue100k(b *testing.B) {
	storagetest.ForEachB(b, func(b *testing.B, s storage.Storage) {
		ctx := context.Background()
		now := time.Date(2019, 4, 29, 1, 0, 0, 0, time.UTC)
		var subs []*subscribers.Subscriber
		prefs := map[string]subscribers.Preferences{}
		for i := range 100000 {
			email := fmt.Sprintf("r%06d@example.com", i)
			subs = append(subs, &subscribers.Subscriber{Email: email, Status: subscribers.StatusActive, CreatedAt: now,
				Lists: []subscribers.Subscription{{List: "s", Active: true, ChangedAt: now}}})
			if i%5 == 0 {
				prefs[email] = subscribers.Preferences{Cadences: map[string]subscribers.Cadence{"s": subscribers.CadenceDaily}}
			}
		}
		if _, _, err := s.InsertSubscribers(ctx, subs); err != nil {
			b.Fatal(err)
		}
		if err := s.SetImportedPreferences(ctx, prefs, now); err != nil {
			b.Fatal(err)
		}
		q := digest.RecipientQuery{List: "s", Cadence: subscribers.CadenceWeekly, Default: true,
			Offered: []subscribers.Cadence{subscribers.CadenceWeekly, subscribers.CadenceDaily}, Now: now}
		for _, way := range []string{"insert-select", "cadence"} {
			b.Run(way, func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					iss := digest.Issue{ID: fmt.Sprintf("s/%s-%d", way, i), Series: "s", Week: digest.Week{Year: 2019, Num: 18},
						Since: now.Add(-7 * 24 * time.Hour), Until: now}
					var err error
					if way == "cadence" {
						_, _, err = s.CreateCadenceIssue(ctx, iss, q, now)
					} else {
						_, _, err = s.CreateIssue(ctx, iss, now)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

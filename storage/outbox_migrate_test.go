package storage_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/digest/digesttest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// An issue in flight when the recipient snapshot (migration 0060) is
// applied has a row per recipient, as issues had before: after the
// upgrade its pending rows and its lapsed lease are claimed and sent, its
// sent and failed rows stay as they are, and it finishes; on both
// backends.
func TestMigrationKeepsIssuesInFlight(t *testing.T) {
	created := time.Date(2019, 6, 3, 1, 0, 0, 0, time.UTC)
	now := created.Add(time.Hour)
	const issue = "shanghai-70th/2019-W23"
	for _, name := range storagetest.Names {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := openOldSchema(t, name, 50)
			db := b.DB
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := db.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			var ids []int64
			for _, e := range []string{"sent@example.com", "pending@example.com", "lapsed@example.com", "failed@example.com"} {
				var id int64
				if err := db.QueryRowContext(ctx, `INSERT INTO subscribers (email, email_key, status, consent_source, created_at)
					VALUES ($1, $1, 'active', 'web', $2) RETURNING id`, e, b.Time(created)).Scan(&id); err != nil {
					t.Fatal(err)
				}
				exec(`INSERT INTO subscriptions (subscriber_id, list, active, changed_at) VALUES ($1, 'shanghai-70th', $2, $3)`,
					id, true, b.Time(created))
				ids = append(ids, id)
			}
			exec(`INSERT INTO digest_issues (id, series, week, since, until, created_at, status)
				VALUES ($1, 'shanghai-70th', '2019-W23', $2, $2, $2, 'sending')`, issue, b.Time(created))
			exec(`INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at, message_id, sent_at)
				VALUES ($1, $2, 'sent', 1, $3, 'kept@example.com', $3)`, issue, ids[0], b.Time(created))
			exec(`INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at)
				VALUES ($1, $2, 'pending', 0, $3)`, issue, ids[1], b.Time(created))
			exec(`INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at, claimed_by, claimed_until)
				VALUES ($1, $2, 'sending', 1, $3, 'dead', $3)`, issue, ids[2], b.Time(created.Add(time.Minute)))
			exec(`INSERT INTO digest_deliveries (issue_id, subscriber_id, state, attempts, next_attempt_at, last_error)
				VALUES ($1, $2, 'failed', 1, $3, '550 no such user')`, issue, ids[3], b.Time(created))

			s, err := storage.Open(ctx, b.URL, t.TempDir())
			if err != nil {
				t.Fatalf("migrate: %v", err)
			}
			defer s.Close()
			counts, err := s.DeliveryCounts(ctx, issue)
			want := map[digest.State]int{digest.StateSent: 1, digest.StatePending: 1, digest.StateSending: 1, digest.StateFailed: 1}
			if err != nil || !maps.Equal(counts, want) {
				t.Fatalf("counts after the upgrade = %v, %v; want %v", counts, err, want)
			}
			if done, err := s.FinishIssue(ctx, issue, now); err != nil || done {
				t.Fatalf("FinishIssue with deliveries left = %v, %v", done, err)
			}
			ds, err := digesttest.Claim(ctx, s, issue, "w", 10, now, time.Minute)
			got := make([]int64, len(ds))
			for i, d := range ds {
				got[i] = d.SubscriberID
			}
			slices.Sort(got)
			if err != nil || !slices.Equal(got, ids[1:3]) {
				t.Fatalf("claim after the upgrade = %v, %v; want %v", got, err, ids[1:3])
			}
			var done []digest.Completion
			for _, d := range ds {
				done = append(done, digest.Completion{SubscriberID: d.SubscriberID,
					Outcome: digest.Outcome{State: digest.StateSent, MessageID: "new@example.com"}})
			}
			if ok, err := s.CompleteDeliveries(ctx, issue, "w", done, now); err != nil || !slices.Equal(ok, []bool{true, true}) {
				t.Fatalf("CompleteDeliveries = %v, %v", ok, err)
			}
			if more, err := digesttest.Claim(ctx, s, issue, "w", 10, now.Add(time.Hour), time.Minute); err != nil || len(more) != 0 {
				t.Fatalf("claimed again: %v, %v", more, err)
			}
			if done, err := s.FinishIssue(ctx, issue, now); err != nil || !done {
				t.Fatalf("FinishIssue = %v, %v", done, err)
			}
			all, err := s.ListDeliveries(ctx, issue)
			if err != nil || len(all) != 4 {
				t.Fatalf("ListDeliveries = %d, %v", len(all), err)
			}
			wantRows := []string{"sent kept@example.com", "sent new@example.com", "sent new@example.com", "failed "}
			for i, d := range all {
				if got := string(d.State) + " " + d.MessageID; d.SubscriberID != ids[i] || got != wantRows[i] {
					t.Errorf("delivery %d = %d %s, want %d %s", i, d.SubscriberID, got, ids[i], wantRows[i])
				}
			}
		})
	}
}

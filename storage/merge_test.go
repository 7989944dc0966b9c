package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// A database written before one record per address holds copies of one
// person that differ only in letter case (the domain's, the local part's,
// beyond ASCII too). Migrating keeps one record per person, the first
// created, with the earliest consent and the union of the lists, moves
// the copies' confirmation requests and digest deliveries to it, and
// reports each merge; on both backends.
func TestMigrationMergesCaseDuplicates(t *testing.T) {
	day := func(m, d int) time.Time { return time.Date(2019, time.Month(m), d, 8, 0, 0, 0, time.UTC) }
	for _, name := range storagetest.Names {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := openOldSchema(t, name, 10)
			db := b.DB
			ids := map[string]int64{}
			addSub := func(email, name, status string, created time.Time, ip string, confirmed, unsubscribed any, lists map[string]bool) {
				t.Helper()
				var id int64
				err := db.QueryRowContext(ctx, `INSERT INTO subscribers (email, name, status, consent_at, consent_ip, consent_source,
					created_at, confirmed_at, unsubscribed_at) VALUES ($1, $2, $3, $4, $5, 'web', $6, $7, $8) RETURNING id`,
					email, name, status, b.Time(created), ip, b.Time(created), confirmed, unsubscribed).Scan(&id)
				if err != nil {
					t.Fatalf("insert %s: %v", email, err)
				}
				ids[email] = id
				for l, active := range lists {
					if _, err := db.ExecContext(ctx, `INSERT INTO subscriptions (subscriber_id, list, active, changed_at) VALUES ($1, $2, $3, $4)`,
						id, l, active, b.Time(created)); err != nil {
						t.Fatal(err)
					}
				}
			}
			addSub("Reader@Example.COM", "Reader", "unsubscribed", day(1, 1), "192.0.2.1", nil, b.Time(day(2, 1)), map[string]bool{"shanghai-70th": false})
			addSub("reader@example.com", "", "active", day(3, 1), "192.0.2.2", b.Time(day(3, 1)), nil, map[string]bool{"shanghai-70th": true})
			addSub("READER@EXAMPLE.COM", "R.", "pending", day(4, 1), "192.0.2.3", nil, nil, map[string]bool{"society": false})
			addSub("other@example.com", "Other", "active", day(1, 2), "192.0.2.4", b.Time(day(1, 2)), nil, map[string]bool{"shanghai-70th": true})
			addSub("Élise@example.com", "Élise", "active", day(1, 3), "192.0.2.5", b.Time(day(1, 3)), nil, map[string]bool{"society": true})
			addSub("élise@example.com", "", "pending", day(5, 3), "192.0.2.6", nil, nil, map[string]bool{"shanghai-70th": false})
			if _, err := db.ExecContext(ctx, `INSERT INTO confirmation_outbox (subscriber_id, lists, issued_at, state, next_attempt_at)
				VALUES ($1, 'society', $2, 'sent', $2)`, ids["READER@EXAMPLE.COM"], b.Time(day(4, 1))); err != nil {
				t.Fatal(err)
			}
			// Two issues: the kept copy and a folded one got the first, only
			// the folded one the second.
			for _, issue := range []string{"shanghai-70th/2019-W10", "shanghai-70th/2019-W11"} {
				if _, err := db.ExecContext(ctx, `INSERT INTO digest_issues (id, series, week, since, until, created_at, status)
					VALUES ($1, 'shanghai-70th', $2, $3, $3, $3, 'sent')`, issue, issue[len(issue)-8:], b.Time(day(3, 10))); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range []struct {
				issue, email string
			}{{"shanghai-70th/2019-W10", "Reader@Example.COM"}, {"shanghai-70th/2019-W10", "reader@example.com"}, {"shanghai-70th/2019-W11", "reader@example.com"}} {
				if _, err := db.ExecContext(ctx, `INSERT INTO digest_deliveries (issue_id, subscriber_id, state, next_attempt_at)
					VALUES ($1, $2, 'sent', $3)`, d.issue, ids[d.email], b.Time(day(3, 10))); err != nil {
					t.Fatal(err)
				}
			}

			s, err := storage.Open(ctx, b.URL, t.TempDir())
			if err != nil {
				t.Fatalf("migrate: %v", err)
			}
			defer s.Close()

			subs, err := s.ListSubscribers(ctx, subscribers.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, sub := range subs {
				var ls []string
				for _, l := range sub.Lists {
					ls = append(ls, fmt.Sprintf("%s:%v", l.List, l.Active))
				}
				got = append(got, fmt.Sprintf("%d %s %q %s consent=%s %s", sub.ID, sub.Email, sub.Name, sub.Status, sub.Consent.IP, strings.Join(ls, ",")))
			}
			want := []string{
				fmt.Sprintf(`%d Reader@Example.COM "Reader" active consent=192.0.2.1 shanghai-70th:true,society:false`, ids["Reader@Example.COM"]),
				fmt.Sprintf(`%d other@example.com "Other" active consent=192.0.2.4 shanghai-70th:true`, ids["other@example.com"]),
				fmt.Sprintf(`%d Élise@example.com "Élise" active consent=192.0.2.5 shanghai-70th:false,society:true`, ids["Élise@example.com"]),
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("after the migration:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			kept, err := s.GetSubscriber(ctx, "reader@EXAMPLE.com")
			if err != nil || kept.ID != ids["Reader@Example.COM"] || !kept.ConfirmedAt.Equal(day(3, 1)) || !kept.UnsubscribedAt.IsZero() {
				t.Errorf("kept record: %+v %v", kept, err)
			}
			if e, err := s.GetSubscriber(ctx, "ÉLISE@example.com"); err != nil || e.ID != ids["Élise@example.com"] {
				t.Errorf("Élise by another case: %+v %v", e, err)
			}
			merges, err := s.SubscriberMerges(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var report []string
			for _, m := range merges {
				report = append(report, fmt.Sprintf("%s(%d) <- %s(%d)", m.KeptEmail, m.KeptID, m.MergedEmail, m.MergedID))
			}
			wantReport := []string{
				fmt.Sprintf("Reader@Example.COM(%d) <- reader@example.com(%d)", ids["Reader@Example.COM"], ids["reader@example.com"]),
				fmt.Sprintf("Reader@Example.COM(%d) <- READER@EXAMPLE.COM(%d)", ids["Reader@Example.COM"], ids["READER@EXAMPLE.COM"]),
				fmt.Sprintf("Élise@example.com(%d) <- élise@example.com(%d)", ids["Élise@example.com"], ids["élise@example.com"]),
			}
			if strings.Join(report, "\n") != strings.Join(wantReport, "\n") {
				t.Errorf("merge report:\n%s\nwant\n%s", strings.Join(report, "\n"), strings.Join(wantReport, "\n"))
			}
			after := storagetest.OpenDB(t, b.URL)
			var cs []int64
			rows, err := after.QueryContext(ctx, `SELECT subscriber_id FROM confirmation_outbox ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				cs = append(cs, id)
			}
			rows.Close()
			if len(cs) != 1 || cs[0] != ids["Reader@Example.COM"] {
				t.Errorf("confirmation requests of subscribers %v, want one of %d", cs, ids["Reader@Example.COM"])
			}
			rows, err = after.QueryContext(ctx, `SELECT issue_id, subscriber_id FROM digest_deliveries ORDER BY issue_id`)
			if err != nil {
				t.Fatal(err)
			}
			var deliveries []string
			for rows.Next() {
				var issue string
				var id int64
				if err := rows.Scan(&issue, &id); err != nil {
					t.Fatal(err)
				}
				deliveries = append(deliveries, fmt.Sprintf("%s %d", issue, id))
			}
			rows.Close()
			if want := fmt.Sprintf("shanghai-70th/2019-W10 %[1]d|shanghai-70th/2019-W11 %[1]d", ids["Reader@Example.COM"]); strings.Join(deliveries, "|") != want {
				t.Errorf("deliveries %v, want %s", deliveries, want)
			}
			// One record per address from now on.
			if ins, skip, err := s.InsertSubscribers(ctx, []*subscribers.Subscriber{{Email: "OTHER@example.com", Status: subscribers.StatusActive}}); err != nil || ins != 0 || skip != 1 {
				t.Errorf("insert of another case: %d %d %v", ins, skip, err)
			}
		})
	}
}

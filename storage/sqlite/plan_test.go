package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage/internal/sqlq"
)

// TestFeedQueryPlans pins the plans of a feed's queries: the count is a
// range of a covering index (it never reads articles rows nor joins), and
// the list walks an index in order with no temporary b-tree for the sort.
func TestFeedQueryPlans(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2019, 4, 24, 20, 12, 0, 0, time.UTC)
	cases := []struct {
		name  string
		q     article.Query
		count bool
		want  string // the one plan line
	}{
		{"section count", article.Query{Section: "society", Status: article.StatusPublished, PublishedBefore: now}, true,
			"SEARCH a USING COVERING INDEX articles_section_status (section=? AND status=? AND published<?)"},
		{"series count", article.Query{Series: "shanghai-70th", Status: article.StatusPublished, PublishedBefore: now}, true,
			"SEARCH s USING COVERING INDEX article_series_status (series=? AND status=? AND published<?)"},
		{"section list", article.Query{Section: "society", Status: article.StatusPublished, PublishedBefore: now, Limit: 50}, false,
			"SEARCH a USING INDEX articles_section_status (section=? AND status=? AND published<?)"},
		{"series list", article.Query{Series: "shanghai-70th", Status: article.StatusPublished, PublishedBefore: now, Limit: 50}, false,
			"SEARCH s USING COVERING INDEX article_series_status (series=? AND status=? AND published<?)"},
	}
	// An archive document's day, long before now: the range is that day,
	// not the day to now (one upper bound on published, the day's end).
	day := time.Date(2008, 1, 3, 0, 0, 0, 0, time.UTC)
	dayQ := article.Query{Section: "society", Status: article.StatusPublished, PublishedBefore: now,
		PublishedFrom: day, PublishedUntil: day.AddDate(0, 0, 1)}
	tagQ := dayQ
	tagQ.Section, tagQ.Tag, tagQ.Oldest, tagQ.Limit = "", "topic", true, 100
	cases = append(cases, []struct {
		name  string
		q     article.Query
		count bool
		want  string
	}{
		{"archive day count", dayQ, true,
			"SEARCH a USING COVERING INDEX articles_section_status (section=? AND status=? AND published>? AND published<?)"},
		{"archive tag day list", tagQ, false,
			"SEARCH s USING COVERING INDEX article_tags_status (slug=? AND status=? AND published>? AND published<?)"},
	}...)
	for _, q := range []article.Query{dayQ, tagQ} {
		query, _ := sqlq.Articles(dialect.Query, q, false)
		if n := strings.Count(query, "published <"); n != 1 {
			t.Errorf("%s: %d upper bounds on published, want 1 (the day's end)", query, n)
		}
		if !strings.Contains(query, "published < ") {
			t.Errorf("%s: the upper bound is not the day's end", query)
		}
	}
	for _, tc := range cases {
		query, args := sqlq.Articles(dialect.Query, tc.q, tc.count)
		plan := explain(t, s, query, args)
		t.Logf("%s: %s\n%s", tc.name, query, strings.Join(plan, "\n"))
		if len(plan) == 0 || plan[0] != tc.want {
			t.Errorf("%s: plan %q, want first line %q", tc.name, plan, tc.want)
		}
		for _, line := range plan {
			if strings.Contains(line, "TEMP B-TREE") || strings.HasPrefix(line, "SCAN") {
				t.Errorf("%s: plan has %q", tc.name, line)
			}
		}
		if tc.count && len(plan) != 1 {
			t.Errorf("%s: count reads more than one index: %q", tc.name, plan)
		}
	}
}

// readDB opens a read-only pool of its own on s's file, closed at
// cleanup: the store lends none of its pools.
func readDB(t *testing.T, s *Store) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(s.Path(), false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func explain(t *testing.T, s *Store, query string, args []any) []string {
	t.Helper()
	rows, err := readDB(t, s).Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

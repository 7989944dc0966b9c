// Package conformance is the behaviour every storage backend must share,
// written once against the storage.Storage interface (after
// dexidp/dex storage/conformance). A backend's tests call
//
//	conformance.RunTests(t, func(t *testing.T) storage.Storage { … fresh store … })
//
// and each subtest gets its own empty store.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

type subTest struct {
	name string
	run  func(t *testing.T, s storage.Storage)
}

// RunTests runs the whole suite; newStorage must return an empty store and
// arrange its cleanup.
func RunTests(t *testing.T, newStorage func(t *testing.T) storage.Storage) {
	tests := []subTest{
		{"Ping", testPing},
		{"ArticleCreateGet", testArticleCreateGet},
		{"ArticleNotFound", testArticleNotFound},
		{"ArticleIdempotentPut", testArticleIdempotent},
		{"ArticleEdit", testArticleEdit},
		{"ArticleEditKeepsSourceUpdated", testArticleEditSourceUpdated},
		{"ArticleReclassify", testArticleReclassify},
		{"ArticleWithdraw", testArticleWithdraw},
		{"ArticleWithdrawLeavesSeriesFeed", testArticleWithdrawSeries},
		{"ArticleInvalid", testArticleInvalid},
		{"ArticleGUIDRequiredAndUnique", testArticleGUID},
		{"ArticleTimeZone", testArticleTimeZone},
		{"ArticleListFilters", testArticleListFilters},
		{"ArticleListOrderAndPaging", testArticleListOrder},
		{"ArticleNextPublication", testNextPublication},
		{"ArticleConcurrentSameID", testArticleConcurrentSameID},
		{"ArticleConcurrentManyIDs", testArticleConcurrentManyIDs},
		{"ArticlePutMany", testPutArticles},
		{"ArticlesRevision", testArticlesRevision},
		{"FeedState", testFeedState},
		{"ArticleListRange", testArticleListRange},
		{"AuthorTagFeeds", testAuthorTagFeeds},
		{"ArticleChanges", testArticleChanges},
		{"WebSubHub", testWebSubHub},
		{"SubscriberCreateUpdate", testSubscriberCreateUpdate},
		{"SubscriberAbortOnError", testSubscriberAbort},
		{"SubscriberNoWriteWithoutStatus", testSubscriberNoStatus},
		{"SubscriberNotFound", testSubscriberNotFound},
		{"SubscriberListAndCount", testSubscriberList},
		{"SubscriberDeleteSuppresses", testSubscriberDelete},
		{"SubscriberInsertMany", testInsertSubscribers},
		{"SubscriberConcurrentUpdate", testSubscriberConcurrent},
		{"TryLock", testTryLock},
		{"TryLockConcurrent", testTryLockConcurrent},
		{"SecretGeneratedOnce", testSecretGeneratedOnce},
		{"SecretConcurrent", testSecretConcurrent},
		{"SecretGenerateError", testSecretGenerateError},
		{"DigestCreateIssue", testDigestCreateIssue},
		{"DigestClaimExclusive", testDigestClaimExclusive},
		{"DigestLeaseExpiry", testDigestLease},
		{"DigestTransitions", testDigestTransitions},
		{"DigestRetryAndUnbounce", testDigestRetryAndUnbounce},
		{"DigestContentAndRecipients", testDigestContentAndRecipients},
		{"DigestHeartbeatAndGroups", testDigestHeartbeatAndGroups},
		{"DigestClaimBatch", testDigestClaimBatch},
		{"DigestTakeover", testDigestTakeover},
		{"DigestEndsClaim", testDigestEndsClaim},
		{"DigestClaimSubscribers", testDigestClaimSubscribers},
		{"ConfirmationOutbox", testConfirmationOutbox},
		{"ConfirmationClaimExclusive", testConfirmationClaimExclusive},
		{"CreateIssueSnapshot", testCreateIssueSnapshot},
		{"CadencePreferences", testCadencePreferences},
		{"CadenceRecipients", testCadenceRecipients},
		{"CadenceSwitch", testCadenceSwitch},
		{"CadenceConcurrent", testCadenceConcurrent},
		{"PreferenceActivityAndCounts", testPreferenceActivityAndCounts},
		{"WelcomeOutbox", testWelcomeOutbox},
		{"SubscriberOneRecordPerAddress", testSubscriberOneRecordPerAddress},
		{"SubscriberEventSeq", testSubscriberEventSeq},
		{"ConfirmationRequest", testConfirmationRequest},
		{"Suppress", testSuppress},
		{"BounceEvents", testBounceEvents},
		{"BounceRecordConcurrent", testBounceRecordConcurrent},
		{"BounceSoftCountAndUnbounce", testBounceSoftCountAndUnbounce},
		{"SuppressWithoutErasing", testSuppressWithoutErasing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStorage(t))
		})
	}
}

// shanghai is the offset the fixtures are written in (a newsroom at UTC+8);
// the store must keep instants, whatever the zone.
var shanghai = time.FixedZone("UTC+8", 8*3600)

// base is a fixed instant so tests do not depend on the clock.
var base = time.Date(2019, 4, 24, 20, 12, 0, 0, shanghai)

func newArticle(id string, published time.Time) *article.Article {
	return &article.Article{
		ID:          id,
		GUID:        "urn:syndicated:" + id,
		Section:     "society",
		Headline:    "Headline of " + id,
		Deck:        "Deck of " + id,
		Authors:     []article.Author{{Name: "He Wei", Place: "Shanghai"}},
		Dateline:    "Shanghai",
		Publication: "China Daily",
		Published:   published,
		Updated:     published,
		Body:        []article.Page{{Number: 1, Paragraphs: []string{"First paragraph.", "第二段。"}}},
		Language:    "en",
		Tags:        []string{"shanghai"},
		Status:      article.StatusPublished,
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func mustPut(t *testing.T, s storage.Storage, a *article.Article, now time.Time, want article.Outcome) *article.Article {
	t.Helper()
	res, err := s.PutArticle(ctx(t), a, now)
	if err != nil {
		t.Fatalf("PutArticle(%s): %v", a.ID, err)
	}
	if res.Outcome != want {
		t.Fatalf("PutArticle(%s) outcome = %v, want %v", a.ID, res.Outcome, want)
	}
	if res.Article == nil {
		t.Fatalf("PutArticle(%s) returned no article", a.ID)
	}
	return res.Article
}

func mustGet(t *testing.T, s storage.Storage, id string) *article.Article {
	t.Helper()
	a, err := s.GetArticle(ctx(t), id)
	if err != nil {
		t.Fatalf("GetArticle(%s): %v", id, err)
	}
	return a
}

func ids(as []*article.Article) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func testPing(t *testing.T, s storage.Storage) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func testArticleCreateGet(t *testing.T, s storage.Storage) {
	a := newArticle("powerhouse", base)
	a.Series = []string{"shanghai-70th"}
	a.Photo = &article.Photo{URL: "https://example.com/p.jpg", Caption: "A view", Credit: "PROVIDED TO CHINA DAILY"}
	a.EditorsNote = "This is part of a series."
	a.TotalPages = 2
	a.CanonicalURL = "https://example.com/a/powerhouse"
	a.Source = "seeds/powerhouse.txt"
	stored := mustPut(t, s, a, base, article.Created)
	got := mustGet(t, s, "powerhouse")
	if got.ContentHash() != a.ContentHash() || got.GUID != a.GUID || got.Source != a.Source {
		t.Errorf("stored article differs:\n got %+v\nwant %+v", got, a)
	}
	if !got.Updated.Equal(stored.Updated) || !got.Published.Equal(a.Published) {
		t.Errorf("times: got published %v updated %v", got.Published, got.Updated)
	}
	if !slices.Equal(got.Series, a.Series) || got.Photo == nil || got.Photo.Credit != a.Photo.Credit {
		t.Errorf("series/photo lost: %+v", got)
	}
}

func testArticleNotFound(t *testing.T, s storage.Storage) {
	_, err := s.GetArticle(ctx(t), "missing")
	if !errors.Is(err, article.ErrNotFound) {
		t.Fatalf("GetArticle(missing) = %v, want ErrNotFound", err)
	}
}

func testArticleIdempotent(t *testing.T, s storage.Storage) {
	a := newArticle("same", base)
	first := mustPut(t, s, a, base, article.Created)
	again := newArticle("same", base)
	again.Updated = time.Time{} // a source that gives no updated time
	again.Source = "elsewhere.md"
	res := mustPut(t, s, again, base.Add(time.Hour), article.Unchanged)
	if !res.Updated.Equal(first.Updated) {
		t.Errorf("Unchanged put moved Updated: %v → %v", first.Updated, res.Updated)
	}
	got := mustGet(t, s, "same")
	if !got.Updated.Equal(first.Updated) || got.Source != a.Source {
		t.Errorf("Unchanged put wrote: updated %v source %q", got.Updated, got.Source)
	}
}

func testArticleEdit(t *testing.T, s storage.Storage) {
	mustPut(t, s, newArticle("edit", base), base, article.Created)
	edit := newArticle("edit", base)
	edit.Headline = "A corrected headline"
	edit.GUID = "urn:something-else" // must be ignored
	now := base.Add(2 * time.Hour)
	res := mustPut(t, s, edit, now, article.Edited)
	got := mustGet(t, s, "edit")
	if got.Headline != "A corrected headline" {
		t.Errorf("headline = %q", got.Headline)
	}
	if got.GUID != "urn:syndicated:edit" || res.GUID != got.GUID {
		t.Errorf("GUID changed to %q", got.GUID)
	}
	if !got.Updated.Equal(now) {
		t.Errorf("Updated = %v, want %v (now)", got.Updated, now)
	}
	if !got.Published.Equal(base) {
		t.Errorf("Published moved to %v", got.Published)
	}
	if n, _ := s.CountArticles(ctx(t), article.Query{}); n != 1 {
		t.Errorf("count after edit = %d, want 1", n)
	}
}

func testArticleEditSourceUpdated(t *testing.T, s storage.Storage) {
	mustPut(t, s, newArticle("src", base), base, article.Created)
	edit := newArticle("src", base)
	edit.Deck = "New deck"
	edit.Updated = base.Add(30 * time.Minute)
	mustPut(t, s, edit, base.Add(5*time.Hour), article.Edited)
	if got := mustGet(t, s, "src"); !got.Updated.Equal(edit.Updated) {
		t.Errorf("Updated = %v, want the source's %v", got.Updated, edit.Updated)
	}
}

func testArticleReclassify(t *testing.T, s storage.Storage) {
	a := newArticle("rc", base)
	first := mustPut(t, s, a, base, article.Created)
	b := newArticle("rc", base)
	b.Series = []string{"shanghai-70th"}
	mustPut(t, s, b, base.Add(time.Hour), article.Reclassified)
	got := mustGet(t, s, "rc")
	if !got.Updated.Equal(first.Updated) {
		t.Errorf("reclassify moved Updated: %v → %v", first.Updated, got.Updated)
	}
	list, err := s.ListArticles(ctx(t), article.Query{Series: "shanghai-70th"})
	if err != nil || len(list) != 1 {
		t.Fatalf("series list = %v, %v; want [rc]", ids(list), err)
	}
	// And out again.
	mustPut(t, s, newArticle("rc", base), base.Add(2*time.Hour), article.Reclassified)
	if n, _ := s.CountArticles(ctx(t), article.Query{Series: "shanghai-70th"}); n != 0 {
		t.Errorf("series count after leaving = %d", n)
	}
}

func testArticleWithdraw(t *testing.T, s storage.Storage) {
	mustPut(t, s, newArticle("keep", base), base, article.Created)
	mustPut(t, s, newArticle("gone", base.Add(time.Minute)), base, article.Created)
	w := newArticle("gone", base.Add(time.Minute))
	w.Status = article.StatusWithdrawn
	mustPut(t, s, w, base.Add(time.Hour), article.Edited)
	pub, err := s.ListArticles(ctx(t), article.Query{Status: article.StatusPublished})
	if err != nil || !slices.Equal(ids(pub), []string{"keep"}) {
		t.Errorf("published = %v, %v; want [keep]", ids(pub), err)
	}
	all, _ := s.ListArticles(ctx(t), article.Query{})
	if !slices.Equal(ids(all), []string{"gone", "keep"}) {
		t.Errorf("all = %v", ids(all))
	}
	if n, _ := s.CountArticles(ctx(t), article.Query{Status: article.StatusWithdrawn}); n != 1 {
		t.Errorf("withdrawn count = %d", n)
	}
}

// testArticleWithdrawSeries checks that a status change reaches the series
// feed (list and count), through PutArticle and PutArticles both, and that
// the article comes back when it is published again.
func testArticleWithdrawSeries(t *testing.T, s storage.Storage) {
	const series = "shanghai-70th"
	now := base.Add(24 * time.Hour)
	for i, id := range []string{"ws0", "ws1", "ws2"} {
		a := newArticle(id, base.Add(time.Duration(i)*time.Hour))
		a.Series = []string{series}
		mustPut(t, s, a, base, article.Created)
	}
	feed := article.Query{Series: series, Status: article.StatusPublished, PublishedBefore: now}
	withSection := feed
	withSection.Section = "society"
	withdrawn := article.Query{Series: series, Status: article.StatusWithdrawn}
	check := func(when string, want []string, wantWithdrawn int) {
		t.Helper()
		for _, q := range []article.Query{feed, withSection} {
			if got := list(t, s, q); !slices.Equal(got, want) {
				t.Errorf("%s: series feed %+v = %v, want %v", when, q, got, want)
			}
			if n, err := s.CountArticles(ctx(t), q); err != nil || n != len(want) {
				t.Errorf("%s: series count %+v = %d, %v; want %d", when, q, n, err, len(want))
			}
		}
		if n, err := s.CountArticles(ctx(t), withdrawn); err != nil || n != wantWithdrawn {
			t.Errorf("%s: withdrawn series count = %d, %v; want %d", when, n, err, wantWithdrawn)
		}
		if got := list(t, s, article.Query{Series: series}); len(got) != 3 {
			t.Errorf("%s: whole series = %v, want all three", when, got)
		}
	}
	check("before", []string{"ws2", "ws1", "ws0"}, 0)

	w := newArticle("ws1", base.Add(time.Hour))
	w.Series = []string{series}
	w.Status = article.StatusWithdrawn
	mustPut(t, s, w, base.Add(time.Hour), article.Edited)
	check("withdrawn by PutArticle", []string{"ws2", "ws0"}, 1)

	w2 := newArticle("ws2", base.Add(2*time.Hour))
	w2.Series = []string{series}
	w2.Status = article.StatusWithdrawn
	if _, err := s.PutArticles(ctx(t), []*article.Article{w2}, base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	check("withdrawn by PutArticles", []string{"ws0"}, 2)

	back := newArticle("ws1", base.Add(time.Hour))
	back.Series = []string{series}
	mustPut(t, s, back, base.Add(3*time.Hour), article.Edited)
	check("published again", []string{"ws1", "ws0"}, 1)
}

func testArticleInvalid(t *testing.T, s storage.Storage) {
	cases := map[string]func(a *article.Article){
		"empty headline": func(a *article.Article) { a.Headline = " " },
		"bad id":         func(a *article.Article) { a.ID = "Has Spaces" },
		"empty section":  func(a *article.Article) { a.Section = "" },
		"bad status":     func(a *article.Article) { a.Status = "draft" },
		"empty photo":    func(a *article.Article) { a.Photo = &article.Photo{Type: "image/jpeg"} },
	}
	for name, breakIt := range cases {
		a := newArticle("bad", base)
		breakIt(a)
		_, err := s.PutArticle(ctx(t), a, base)
		if !errors.Is(err, article.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if n, _ := s.CountArticles(ctx(t), article.Query{}); n != 0 {
		t.Errorf("invalid articles were stored: %d", n)
	}
	// An invalid edit leaves the stored article as it was.
	good := mustPut(t, s, newArticle("good", base), base, article.Created)
	bad := newArticle("good", base)
	bad.Headline = ""
	if _, err := s.PutArticle(ctx(t), bad, base.Add(time.Hour)); !errors.Is(err, article.ErrInvalid) {
		t.Errorf("invalid edit: err = %v", err)
	}
	if got := mustGet(t, s, "good"); got.Headline != good.Headline || !got.Updated.Equal(good.Updated) {
		t.Errorf("invalid edit changed the article: %+v", got)
	}
	if _, err := s.PutArticle(ctx(t), nil, base); err == nil {
		t.Error("nil article accepted")
	}
}

func testArticleGUID(t *testing.T, s storage.Storage) {
	a := newArticle("noguid", base)
	a.GUID = ""
	if _, err := s.PutArticle(ctx(t), a, base); !errors.Is(err, article.ErrInvalid) {
		t.Errorf("new article without GUID: err = %v, want ErrInvalid", err)
	}
	mustPut(t, s, newArticle("one", base), base, article.Created)
	dup := newArticle("two", base)
	dup.GUID = "urn:syndicated:one"
	if _, err := s.PutArticle(ctx(t), dup, base); err == nil {
		t.Error("second article with the same GUID accepted")
	}
	// An existing article needs no GUID from the source.
	edit := newArticle("one", base)
	edit.GUID = ""
	edit.Headline = "Edited"
	if res := mustPut(t, s, edit, base.Add(time.Hour), article.Edited); res.GUID != "urn:syndicated:one" {
		t.Errorf("GUID = %q", res.GUID)
	}
}

func testArticleTimeZone(t *testing.T, s storage.Storage) {
	pub := time.Date(2019, 4, 24, 20, 12, 0, 0, shanghai)
	a := newArticle("tz", pub)
	a.Updated = pub.Add(90 * time.Minute)
	mustPut(t, s, a, pub, article.Created)
	got := mustGet(t, s, "tz")
	for name, pair := range map[string][2]time.Time{"published": {got.Published, a.Published}, "updated": {got.Updated, a.Updated}} {
		if !pair[0].Equal(pair[1]) {
			t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
		}
		if _, off := pair[0].Zone(); off != 8*3600 {
			t.Errorf("%s offset = %d s, want +08:00 (%v)", name, off, pair[0])
		}
	}
	if got.Published.Format(time.RFC3339) != "2019-04-24T20:12:00+08:00" {
		t.Errorf("published formats as %s", got.Published.Format(time.RFC3339))
	}
	list, _ := s.ListArticles(ctx(t), article.Query{})
	if len(list) != 1 || list[0].Published.Format(time.RFC3339) != "2019-04-24T20:12:00+08:00" {
		t.Errorf("listed published = %v", list)
	}
	// Same instant in another zone orders the same: UTC 12:12 == 20:12 +08.
	b := newArticle("utc", pub.UTC().Add(time.Second))
	mustPut(t, s, b, pub, article.Created)
	list, _ = s.ListArticles(ctx(t), article.Query{PublishedBefore: pub})
	if !slices.Equal(ids(list), []string{"tz"}) {
		t.Errorf("PublishedBefore across zones = %v, want [tz]", ids(list))
	}
}

// seed stores a small archive: eight society articles an hour apart (s0
// oldest), the even ones in the series, s5 withdrawn, s7 in the future, one
// article of another section, and two ties at the same instant.
func seed(t *testing.T, s storage.Storage) time.Time {
	t.Helper()
	for i := range 8 {
		a := newArticle(fmt.Sprintf("s%d", i), base.Add(time.Duration(i)*time.Hour))
		if i%2 == 0 {
			a.Series = []string{"shanghai-70th"}
		}
		if i == 5 {
			a.Status = article.StatusWithdrawn
		}
		mustPut(t, s, a, base, article.Created)
	}
	w := newArticle("w0", base.Add(90*time.Minute))
	w.Section = "world"
	w.Series = []string{"shanghai-70th"}
	mustPut(t, s, w, base, article.Created)
	// Ties: same Published, ordered by id in both directions.
	for _, id := range []string{"tie-b", "tie-a"} {
		a := newArticle(id, base.Add(-time.Hour))
		mustPut(t, s, a, base, article.Created)
	}
	return base.Add(6*time.Hour + 30*time.Minute) // "now": s7 is in the future
}

func list(t *testing.T, s storage.Storage, q article.Query) []string {
	t.Helper()
	as, err := s.ListArticles(ctx(t), q)
	if err != nil {
		t.Fatalf("ListArticles(%+v): %v", q, err)
	}
	cq := q
	cq.Limit, cq.Offset, cq.Oldest = 0, 0, false
	n, err := s.CountArticles(ctx(t), cq)
	if err != nil {
		t.Fatalf("CountArticles(%+v): %v", q, err)
	}
	if q.Limit == 0 && q.Offset == 0 && n != len(as) {
		t.Errorf("CountArticles(%+v) = %d, ListArticles gave %d", q, n, len(as))
	}
	return ids(as)
}

func testArticleListFilters(t *testing.T, s storage.Storage) {
	now := seed(t, s)
	pub := article.StatusPublished
	cases := []struct {
		name string
		q    article.Query
		want []string
	}{
		{"all", article.Query{}, []string{"s7", "s6", "s5", "s4", "s3", "s2", "w0", "s1", "s0", "tie-b", "tie-a"}},
		{"section", article.Query{Section: "society"}, []string{"s7", "s6", "s5", "s4", "s3", "s2", "s1", "s0", "tie-b", "tie-a"}},
		{"other section", article.Query{Section: "world"}, []string{"w0"}},
		{"unknown section", article.Query{Section: "sport"}, nil},
		{"series", article.Query{Series: "shanghai-70th"}, []string{"s6", "s4", "s2", "w0", "s0"}},
		{"series+section", article.Query{Series: "shanghai-70th", Section: "society"}, []string{"s6", "s4", "s2", "s0"}},
		{"feed", article.Query{Section: "society", Status: pub, PublishedBefore: now},
			[]string{"s6", "s4", "s3", "s2", "s1", "s0", "tie-b", "tie-a"}},
		{"series feed", article.Query{Series: "shanghai-70th", Status: pub, PublishedBefore: now},
			[]string{"s6", "s4", "s2", "w0", "s0"}},
		{"published before is inclusive", article.Query{Section: "society", PublishedBefore: base.Add(time.Hour)},
			[]string{"s1", "s0", "tie-b", "tie-a"}},
		{"withdrawn", article.Query{Status: article.StatusWithdrawn}, []string{"s5"}},
	}
	for _, tc := range cases {
		if got := list(t, s, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func testArticleListOrder(t *testing.T, s storage.Storage) {
	seed(t, s)
	q := article.Query{Section: "society", Oldest: true}
	if got, want := list(t, s, q), []string{"tie-a", "tie-b", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}; !slices.Equal(got, want) {
		t.Errorf("oldest first: %v, want %v", got, want)
	}
	// Pages of 3, newest first, cover everything once and in order.
	var paged []string
	for off := 0; ; off += 3 {
		page := list(t, s, article.Query{Section: "society", Limit: 3, Offset: off})
		if len(page) > 3 {
			t.Fatalf("page larger than limit: %v", page)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
	}
	if want := []string{"s7", "s6", "s5", "s4", "s3", "s2", "s1", "s0", "tie-b", "tie-a"}; !slices.Equal(paged, want) {
		t.Errorf("paged: %v, want %v", paged, want)
	}
	if got := list(t, s, article.Query{Series: "shanghai-70th", Oldest: true, Limit: 2, Offset: 1}); !slices.Equal(got, []string{"w0", "s2"}) {
		t.Errorf("series oldest page = %v", got)
	}
	if got := list(t, s, article.Query{Section: "society", Offset: 8}); !slices.Equal(got, []string{"tie-b", "tie-a"}) {
		t.Errorf("offset without limit = %v", got)
	}
	if n, _ := s.CountArticles(ctx(t), article.Query{Section: "society", Limit: 2, Offset: 1}); n != 10 {
		t.Errorf("count ignores limit/offset: got %d", n)
	}
}

func testNextPublication(t *testing.T, s storage.Storage) {
	next, err := s.NextPublication(ctx(t), base)
	if err != nil || !next.IsZero() {
		t.Fatalf("empty store: %v, %v", next, err)
	}
	seed(t, s)
	next, err = s.NextPublication(ctx(t), base.Add(6*time.Hour+30*time.Minute))
	if err != nil || !next.Equal(base.Add(7*time.Hour)) {
		t.Errorf("next = %v, %v; want s7's %v", next, err, base.Add(7*time.Hour))
	}
	// Strictly after; withdrawn s5 is skipped.
	next, _ = s.NextPublication(ctx(t), base.Add(4*time.Hour))
	if !next.Equal(base.Add(6 * time.Hour)) {
		t.Errorf("next after s4 = %v, want s6 (s5 withdrawn)", next)
	}
	next, _ = s.NextPublication(ctx(t), base.Add(7*time.Hour))
	if !next.IsZero() {
		t.Errorf("next after last = %v, want zero", next)
	}
}

func testArticleConcurrentSameID(t *testing.T, s storage.Storage) {
	const n = 16
	var wg sync.WaitGroup
	outcomes := make([]article.Outcome, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			res, err := s.PutArticle(ctx(t), newArticle("race", base), base)
			outcomes[i], errs[i] = res.Outcome, err
		})
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("put %d: %v", i, errs[i])
		}
		if outcomes[i] == article.Created {
			created++
		} else if outcomes[i] != article.Unchanged {
			t.Errorf("put %d: outcome %v", i, outcomes[i])
		}
	}
	if created != 1 {
		t.Errorf("%d puts reported Created, want 1", created)
	}
	// Concurrent edits: none fails, each is Edited, the last one wins whole.
	for i := range n {
		wg.Go(func() {
			a := newArticle("race", base)
			a.Headline = fmt.Sprintf("Edit %d", i)
			res, err := s.PutArticle(ctx(t), a, base.Add(time.Duration(i+1)*time.Minute))
			outcomes[i], errs[i] = res.Outcome, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || outcomes[i] != article.Edited {
			t.Errorf("edit %d: %v, %v", i, outcomes[i], errs[i])
		}
	}
	got := mustGet(t, s, "race")
	if got.GUID != "urn:syndicated:race" || got.Headline == newArticle("race", base).Headline {
		t.Errorf("after concurrent edits: %+v", got)
	}
	if n, _ := s.CountArticles(ctx(t), article.Query{}); n != 1 {
		t.Errorf("count = %d", n)
	}
}

func testArticleConcurrentManyIDs(t *testing.T, s storage.Storage) {
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errc := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				a := newArticle(fmt.Sprintf("w%d-%d", w, i), base.Add(time.Duration(i)*time.Minute))
				a.Series = []string{"shanghai-70th"}
				if _, err := s.PutArticle(ctx(t), a, base); err != nil {
					errc <- err
				}
				if _, err := s.ListArticles(ctx(t), article.Query{Series: "shanghai-70th", Limit: 5}); err != nil {
					errc <- err
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if n, _ := s.CountArticles(ctx(t), article.Query{Series: "shanghai-70th"}); n != workers*each {
		t.Errorf("count = %d, want %d", n, workers*each)
	}
}

// Subscriber times are stored to the microsecond and come back in UTC.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func subscribe(t *testing.T, s storage.Storage, email string, status subscribers.Status, lists ...string) *subscribers.Subscriber {
	t.Helper()
	sub, err := s.UpdateSubscriber(ctx(t), email, func(sub *subscribers.Subscriber) error {
		sub.Status = status
		sub.Consent = subscribers.Consent{At: t0, IP: "192.0.2.1", UserAgent: "test", Source: "web"}
		sub.CreatedAt = t0
		for _, l := range lists {
			sub.Lists = append(sub.Lists, subscribers.Subscription{List: l, Active: true, ChangedAt: t0})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateSubscriber(%s): %v", email, err)
	}
	return sub
}

func testSubscriberCreateUpdate(t *testing.T, s storage.Storage) {
	var sawNew bool
	sub, err := s.UpdateSubscriber(ctx(t), "Reader@example.com", func(sub *subscribers.Subscriber) error {
		sawNew = sub.ID == 0 && sub.Email == "Reader@example.com" && sub.Status == ""
		sub.Name = "Ré <Reader>"
		sub.Status = subscribers.StatusPending
		sub.Consent = subscribers.Consent{At: t0, IP: "2001:db8::1", UserAgent: "Mozilla/5.0", Source: "web"}
		sub.ConfirmationSentAt = t0
		sub.Lists = []subscribers.Subscription{{List: "shanghai-70th", Active: true, ChangedAt: t0}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawNew {
		t.Error("fn did not get a fresh subscriber with only Email set")
	}
	if sub.ID == 0 || sub.CreatedAt.IsZero() || sub.Status != subscribers.StatusPending {
		t.Fatalf("created: %+v", sub)
	}
	got, err := s.GetSubscriber(ctx(t), "Reader@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != sub.ID || got.Name != "Ré <Reader>" || got.Consent.IP != "2001:db8::1" ||
		!got.Consent.At.Equal(t0) || !got.ConfirmationSentAt.Equal(t0) || !got.ConfirmedAt.IsZero() {
		t.Errorf("stored: %+v", got)
	}
	if len(got.Lists) != 1 || got.Lists[0].List != "shanghai-70th" || !got.Lists[0].Active || !got.Lists[0].ChangedAt.Equal(t0) {
		t.Errorf("lists: %+v", got.Lists)
	}
	// Update: confirm, add a list, deactivate the first.
	t1 := t0.Add(time.Hour)
	upd, err := s.UpdateSubscriber(ctx(t), "Reader@example.com", func(sub *subscribers.Subscriber) error {
		if sub.ID != got.ID || sub.Status != subscribers.StatusPending {
			return fmt.Errorf("fn got %+v", sub)
		}
		sub.Status = subscribers.StatusActive
		sub.ConfirmedAt = t1
		sub.BounceCount = 2
		sub.Lists[0].Active = false
		sub.Lists[0].ChangedAt = t1
		sub.Lists = append(sub.Lists, subscribers.Subscription{List: "weekly", Active: true, ChangedAt: t1})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	byID, err := s.GetSubscriberByID(ctx(t), sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*subscribers.Subscriber{upd, byID} {
		if g.Status != subscribers.StatusActive || !g.ConfirmedAt.Equal(t1) || g.BounceCount != 2 || !g.CreatedAt.Equal(sub.CreatedAt) {
			t.Errorf("updated: %+v", g)
		}
		if len(g.Lists) != 2 || g.Lists[0].Active || !g.Lists[1].Active || g.Lists[1].List != "weekly" {
			t.Errorf("updated lists: %+v", g.Lists)
		}
	}
	if n, _ := s.CountSubscribers(ctx(t), subscribers.Filter{}); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
}

func testSubscriberAbort(t *testing.T, s storage.Storage) {
	subscribe(t, s, "a@example.com", subscribers.StatusPending, "shanghai-70th")
	boom := errors.New("boom")
	_, err := s.UpdateSubscriber(ctx(t), "a@example.com", func(sub *subscribers.Subscriber) error {
		sub.Status = subscribers.StatusActive
		sub.Lists = nil
		return boom
	})
	if err != boom {
		t.Errorf("err = %v, want fn's error as is", err)
	}
	got, _ := s.GetSubscriber(ctx(t), "a@example.com")
	if got.Status != subscribers.StatusPending || len(got.Lists) != 1 {
		t.Errorf("aborted update wrote: %+v", got)
	}
	_, err = s.UpdateSubscriber(ctx(t), "new@example.com", func(sub *subscribers.Subscriber) error {
		sub.Status = subscribers.StatusActive
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
	if _, err := s.GetSubscriber(ctx(t), "new@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("aborted create wrote: %v", err)
	}
	// An invalid status is refused.
	if _, err := s.UpdateSubscriber(ctx(t), "a@example.com", func(sub *subscribers.Subscriber) error {
		sub.Status = "zombie"
		return nil
	}); err == nil {
		t.Error("invalid status accepted")
	}
}

func testSubscriberNoStatus(t *testing.T, s storage.Storage) {
	sub, err := s.UpdateSubscriber(ctx(t), "nobody@example.com", func(sub *subscribers.Subscriber) error {
		sub.Name = "not saved"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sub != nil && sub.ID != 0 {
		t.Errorf("unsaved subscriber has ID %d", sub.ID)
	}
	if n, _ := s.CountSubscribers(ctx(t), subscribers.Filter{}); n != 0 {
		t.Errorf("a subscriber without status was written (%d)", n)
	}
}

func testSubscriberNotFound(t *testing.T, s storage.Storage) {
	if _, err := s.GetSubscriber(ctx(t), "x@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("GetSubscriber: %v", err)
	}
	if _, err := s.GetSubscriberByID(ctx(t), 42); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("GetSubscriberByID: %v", err)
	}
	if err := s.DeleteSubscriber(ctx(t), "x@example.com", "h"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("DeleteSubscriber: %v", err)
	}
	if ok, err := s.IsSuppressed(ctx(t), "h"); err != nil || ok {
		t.Errorf("delete of an unknown address suppressed it: %v %v", ok, err)
	}
}

func emails(subs []*subscribers.Subscriber) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.Email
	}
	return out
}

func testSubscriberList(t *testing.T, s storage.Storage) {
	subscribe(t, s, "1@example.com", subscribers.StatusActive, "shanghai-70th")
	subscribe(t, s, "2@example.com", subscribers.StatusPending, "shanghai-70th")
	subscribe(t, s, "3@example.com", subscribers.StatusActive, "weekly")
	subscribe(t, s, "4@example.com", subscribers.StatusActive, "shanghai-70th", "weekly")
	subscribe(t, s, "5@example.com", subscribers.StatusUnsubscribed)
	// 6 left the series list: inactive subscription.
	six := subscribe(t, s, "6@example.com", subscribers.StatusActive)
	if _, err := s.UpdateSubscriber(ctx(t), six.Email, func(sub *subscribers.Subscriber) error {
		sub.Lists = []subscribers.Subscription{{List: "shanghai-70th", Active: false, ChangedAt: t0}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		f    subscribers.Filter
		want []string
	}{
		{subscribers.Filter{}, []string{"1@example.com", "2@example.com", "3@example.com", "4@example.com", "5@example.com", "6@example.com"}},
		{subscribers.Filter{Status: subscribers.StatusActive}, []string{"1@example.com", "3@example.com", "4@example.com", "6@example.com"}},
		{subscribers.Filter{List: "shanghai-70th"}, []string{"1@example.com", "2@example.com", "4@example.com"}},
		{subscribers.Filter{List: "shanghai-70th", Status: subscribers.StatusActive}, []string{"1@example.com", "4@example.com"}},
		{subscribers.Filter{Status: subscribers.StatusBounced}, []string{}},
	}
	for _, tc := range cases {
		got, err := s.ListSubscribers(ctx(t), tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(emails(got), tc.want) {
			t.Errorf("ListSubscribers(%+v) = %v, want %v", tc.f, emails(got), tc.want)
		}
		n, err := s.CountSubscribers(ctx(t), tc.f)
		if err != nil || n != len(tc.want) {
			t.Errorf("CountSubscribers(%+v) = %d, %v; want %d", tc.f, n, err, len(tc.want))
		}
		for _, sub := range got {
			if sub.Email == "4@example.com" && len(sub.Lists) != 2 {
				t.Errorf("listed subscriber lacks lists: %+v", sub.Lists)
			}
		}
	}
	// Paging with AfterID and Limit.
	var paged []string
	var after int64
	for {
		page, err := s.ListSubscribers(ctx(t), subscribers.Filter{Status: subscribers.StatusActive, AfterID: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 3 {
			t.Fatalf("page of %d", len(page))
		}
		paged = append(paged, emails(page)...)
		after = page[len(page)-1].ID
	}
	if want := []string{"1@example.com", "3@example.com", "4@example.com", "6@example.com"}; !slices.Equal(paged, want) {
		t.Errorf("paged = %v, want %v", paged, want)
	}
}

func testSubscriberDelete(t *testing.T, s storage.Storage) {
	gone := subscribe(t, s, "gone@example.com", subscribers.StatusActive, "shanghai-70th")
	subscribe(t, s, "stay@example.com", subscribers.StatusActive, "shanghai-70th")
	if ok, _ := s.IsSuppressed(ctx(t), "hash-gone"); ok {
		t.Fatal("suppressed before delete")
	}
	if err := s.DeleteSubscriber(ctx(t), "gone@example.com", "hash-gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSubscriber(ctx(t), "gone@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("deleted subscriber still there: %v", err)
	}
	if _, err := s.GetSubscriberByID(ctx(t), gone.ID); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("deleted subscriber still there by id: %v", err)
	}
	if ok, err := s.IsSuppressed(ctx(t), "hash-gone"); err != nil || !ok {
		t.Errorf("IsSuppressed = %v, %v", ok, err)
	}
	if got, _ := s.ListSubscribers(ctx(t), subscribers.Filter{List: "shanghai-70th"}); !slices.Equal(emails(got), []string{"stay@example.com"}) {
		t.Errorf("list after delete = %v", emails(got))
	}
	// Coming back gets a new id, never the old one.
	back := subscribe(t, s, "gone@example.com", subscribers.StatusPending)
	if back.ID == gone.ID {
		t.Errorf("id %d reused", back.ID)
	}
	if err := s.DeleteSubscriber(ctx(t), "gone@example.com", "hash-gone"); err != nil {
		t.Errorf("second delete with the same hash: %v", err)
	}
}

func testInsertSubscribers(t *testing.T, s storage.Storage) {
	subscribe(t, s, "old@example.com", subscribers.StatusActive, "weekly")
	batch := []*subscribers.Subscriber{
		{Email: "old@example.com", Name: "Must not overwrite", Status: subscribers.StatusPending},
		{Email: "n1@example.com", Name: "N1", Status: subscribers.StatusActive, ConfirmedAt: t0, CreatedAt: t0,
			Consent: subscribers.Consent{At: t0, Source: "import"},
			Lists:   []subscribers.Subscription{{List: "shanghai-70th", Active: true, ChangedAt: t0}}},
		{Email: "n2@example.com", Status: subscribers.StatusPending},
		{Email: "n1@example.com", Name: "duplicate in the batch"},
	}
	for i := range 1200 { // more than one statement's worth of rows
		batch = append(batch, &subscribers.Subscriber{Email: fmt.Sprintf("bulk%04d@example.com", i), Status: subscribers.StatusActive,
			Lists: []subscribers.Subscription{{List: "weekly", Active: true}}})
	}
	inserted, skipped, err := s.InsertSubscribers(ctx(t), batch)
	if err != nil {
		t.Fatal(err)
	}
	if inserted != 1202 || skipped != 2 {
		t.Errorf("inserted %d skipped %d, want 1202 and 2", inserted, skipped)
	}
	old, _ := s.GetSubscriber(ctx(t), "old@example.com")
	if old.Name != "" || old.Status != subscribers.StatusActive {
		t.Errorf("existing subscriber overwritten: %+v", old)
	}
	n1, err := s.GetSubscriber(ctx(t), "n1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if n1.Name != "N1" || !n1.ConfirmedAt.Equal(t0) || !n1.CreatedAt.Equal(t0) || n1.Consent.Source != "import" ||
		len(n1.Lists) != 1 || n1.Lists[0].List != "shanghai-70th" {
		t.Errorf("n1 = %+v", n1)
	}
	if n, _ := s.CountSubscribers(ctx(t), subscribers.Filter{List: "weekly"}); n != 1201 {
		t.Errorf("weekly count = %d, want 1201", n)
	}
	// Again: everything is skipped.
	inserted, skipped, err = s.InsertSubscribers(ctx(t), batch)
	if err != nil || inserted != 0 || skipped != len(batch) {
		t.Errorf("second import: %d, %d, %v", inserted, skipped, err)
	}
	if inserted, skipped, err := s.InsertSubscribers(ctx(t), nil); err != nil || inserted != 0 || skipped != 0 {
		t.Errorf("empty import: %d, %d, %v", inserted, skipped, err)
	}
}

func testSubscriberConcurrent(t *testing.T, s storage.Storage) {
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.UpdateSubscriber(ctx(t), "busy@example.com", func(sub *subscribers.Subscriber) error {
				if sub.ID == 0 {
					sub.Status = subscribers.StatusActive
				}
				sub.BounceCount++
				return nil
			})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := s.GetSubscriber(ctx(t), "busy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.BounceCount != n {
		t.Errorf("BounceCount = %d after %d concurrent increments: an update was lost", got.BounceCount, n)
	}
}

func testTryLock(t *testing.T, s storage.Storage) {
	release, ok, err := s.TryLock(ctx(t), "feeds")
	if err != nil || !ok {
		t.Fatalf("first TryLock: %v, %v", ok, err)
	}
	if _, ok2, err := s.TryLock(ctx(t), "feeds"); err != nil || ok2 {
		t.Fatalf("second TryLock while held: ok=%v err=%v", ok2, err)
	}
	other, ok, err := s.TryLock(ctx(t), "digest")
	if err != nil || !ok {
		t.Fatalf("TryLock of another name: %v, %v", ok, err)
	}
	release()
	release() // idempotent
	again, ok, err := s.TryLock(ctx(t), "feeds")
	if err != nil || !ok {
		t.Fatalf("TryLock after release: %v, %v", ok, err)
	}
	again()
	other()
}

func testTryLockConcurrent(t *testing.T, s storage.Storage) {
	const n = 8
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		winners  int
		releases []func()
	)
	for range n {
		wg.Go(func() {
			release, ok, err := s.TryLock(ctx(t), "digest:shanghai-70th")
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				winners++
				releases = append(releases, release)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if winners != 1 {
		t.Errorf("%d holders of one lock, want 1", winners)
	}
	for _, r := range releases {
		r()
	}
}

func testPutArticles(t *testing.T, s storage.Storage) {
	mustPut(t, s, newArticle("p0", base), base, article.Created)
	edit := newArticle("p0", base)
	edit.Headline = "Edited"
	res, err := s.PutArticles(ctx(t), []*article.Article{newArticle("p1", base), edit, newArticle("p1", base)}, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got []article.Outcome
	for _, r := range res {
		got = append(got, r.Outcome)
	}
	if want := []article.Outcome{article.Created, article.Edited, article.Unchanged}; !slices.Equal(got, want) {
		t.Errorf("outcomes = %v, want %v", got, want)
	}
	// One bad article: nothing of the batch is stored.
	bad := newArticle("p3", base)
	bad.Headline = ""
	if _, err := s.PutArticles(ctx(t), []*article.Article{newArticle("p2", base), bad}, base); !errors.Is(err, article.ErrInvalid) {
		t.Errorf("bad batch: %v", err)
	}
	if _, err := s.GetArticle(ctx(t), "p2"); !errors.Is(err, article.ErrNotFound) {
		t.Errorf("failed batch stored p2: %v", err)
	}
}

// testArticlesRevision checks that every write that changes an article
// moves the revision forward, through PutArticle and PutArticles, and that
// unchanged puts and failed batches leave it where it was.
func testArticlesRevision(t *testing.T, s storage.Storage) {
	rev := func() int64 {
		t.Helper()
		r, err := s.ArticlesRevision(ctx(t))
		if err != nil {
			t.Fatalf("ArticlesRevision: %v", err)
		}
		return r
	}
	last := rev()
	step := func(what string, wantBump bool) {
		t.Helper()
		r := rev()
		switch {
		case wantBump && r <= last:
			t.Errorf("%s: revision %d → %d, want it to increase", what, last, r)
		case !wantBump && r != last:
			t.Errorf("%s: revision %d → %d, want it unchanged", what, last, r)
		}
		last = r
	}
	step("nothing written", false)

	mustPut(t, s, newArticle("rev", base), base, article.Created)
	step("create", true)
	mustPut(t, s, newArticle("rev", base), base.Add(time.Hour), article.Unchanged)
	step("unchanged put", false)

	edit := newArticle("rev", base)
	edit.Headline = "Edited for the revision"
	mustPut(t, s, edit, base.Add(time.Hour), article.Edited)
	step("edit", true)

	rc := newArticle("rev", base)
	rc.Headline = edit.Headline
	rc.Series = []string{"shanghai-70th"}
	mustPut(t, s, rc, base.Add(2*time.Hour), article.Reclassified)
	step("reclassify", true)

	w := newArticle("rev", base)
	w.Headline, w.Series = edit.Headline, rc.Series
	w.Status = article.StatusWithdrawn
	mustPut(t, s, w, base.Add(3*time.Hour), article.Edited)
	step("withdraw", true)

	if _, err := s.PutArticles(ctx(t), []*article.Article{newArticle("rev-a", base), newArticle("rev-b", base)}, base); err != nil {
		t.Fatal(err)
	}
	step("PutArticles creating two", true)
	res, err := s.PutArticles(ctx(t), []*article.Article{newArticle("rev-a", base), newArticle("rev-b", base)}, base.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Outcome != article.Unchanged {
			t.Fatalf("repeated batch: outcome %v, want unchanged", r.Outcome)
		}
	}
	step("PutArticles with nothing new", false)

	bad := newArticle("rev-bad", base)
	bad.Headline = ""
	if _, err := s.PutArticles(ctx(t), []*article.Article{newArticle("rev-c", base), bad}, base); !errors.Is(err, article.ErrInvalid) {
		t.Fatalf("bad batch: %v", err)
	}
	step("failed PutArticles", false)
	if _, err := s.PutArticle(ctx(t), bad, base); !errors.Is(err, article.ErrInvalid) {
		t.Fatalf("bad put: %v", err)
	}
	step("failed PutArticle", false)
}

// testSecretGeneratedOnce: the first call stores what generate returns; later
// calls return it without generating; names are independent.
func testSecretGeneratedOnce(t *testing.T, s storage.Storage) {
	calls := 0
	gen := func(v string) func() (string, error) {
		return func() (string, error) { calls++; return v, nil }
	}
	got, err := s.Secret(ctx(t), "hmac", gen("first-value"))
	if err != nil || got != "first-value" || calls != 1 {
		t.Fatalf("first Secret = %q, %v after %d generate calls; want first-value, 1 call", got, err, calls)
	}
	got, err = s.Secret(ctx(t), "hmac", gen("second-value"))
	if err != nil || got != "first-value" || calls != 1 {
		t.Fatalf("second Secret = %q, %v after %d generate calls; want first-value without generating", got, err, calls)
	}
	got, err = s.Secret(ctx(t), "other", gen("other-value"))
	if err != nil || got != "other-value" || calls != 2 {
		t.Fatalf("Secret of another name = %q, %v after %d generate calls; want other-value", got, err, calls)
	}
}

// testSecretConcurrent: callers racing on first use, each generating a
// different value, all end with the same one.
func testSecretConcurrent(t *testing.T, s storage.Storage) {
	const n = 8
	var (
		wg  sync.WaitGroup
		got [n]string
	)
	for i := range n {
		wg.Go(func() {
			v, err := s.Secret(ctx(t), "hmac", func() (string, error) { return fmt.Sprintf("value-%d", i), nil })
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for i := range n {
		if got[i] == "" || got[i] != got[0] {
			t.Fatalf("concurrent Secret results differ: %q", got)
		}
	}
	if v, err := s.Secret(ctx(t), "hmac", func() (string, error) { return "late", nil }); err != nil || v != got[0] {
		t.Errorf("Secret after the race = %q, %v; want %q", v, err, got[0])
	}
}

// testSecretGenerateError: a failing generate is reported and stores
// nothing, so the next call generates again.
func testSecretGenerateError(t *testing.T, s storage.Storage) {
	boom := errors.New("no entropy")
	if v, err := s.Secret(ctx(t), "hmac", func() (string, error) { return "", boom }); !errors.Is(err, boom) || v != "" {
		t.Fatalf("Secret with failing generate = %q, %v; want the error", v, err)
	}
	called := false
	v, err := s.Secret(ctx(t), "hmac", func() (string, error) { called = true; return "after-error", nil })
	if err != nil || v != "after-error" || !called {
		t.Fatalf("Secret after a failed generate = %q, %v (generated: %v); want a fresh value", v, err, called)
	}
}

package conformance

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// Readers' cadences and pauses, issues of every cadence and the welcome
// outbox (digest.CadenceStore, subscribers.PreferenceStore and
// WelcomeOutbox).

var (
	weekly = subscribers.CadenceWeekly
	daily  = subscribers.CadenceDaily
	story  = subscribers.CadenceStory
)

// cadenceIssue is an issue of series s, cadence c, id suffix key, for the
// stories published in (since, until].
func cadenceIssue(s string, key string, since, until time.Time) digest.Issue {
	return digest.Issue{ID: s + "/" + key, Series: s, Week: digest.WeekOf(until, time.UTC), Since: since, Until: until}
}

func recipients(t *testing.T, s storage.Storage, issueID string) []int64 {
	t.Helper()
	ds, err := s.ListDeliveries(ctx(t), issueID)
	if err != nil {
		t.Fatal(err)
	}
	return subscriberIDs(ds)
}

// setCadence moves a reader of list to cadence c from the one they have
// (the tests' lists are weekly by default).
func setCadence(t *testing.T, s storage.Storage, id int64, list string, c subscribers.Cadence, now time.Time) {
	t.Helper()
	got, err := s.GetPreferences(ctx(t), []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	from := weekly
	if cur, ok := got[id].Cadences[list]; ok {
		from = cur
	}
	if err := s.SetCadence(ctx(t), id, list, from, c, now); err != nil {
		t.Fatal(err)
	}
}

// testCreateIssueSnapshot: CreateIssue freezes the list's active
// subscribers, in subscriber order, as the issue's deliveries; none is
// ErrNoRecipients, and creating it again changes nothing.
func testCreateIssueSnapshot(t *testing.T, s storage.Storage) {
	iss := testIssue("s1")
	subscribe(t, s, "pending@example.com", subscribers.StatusPending, "s1")
	subscribe(t, s, "elsewhere@example.com", subscribers.StatusActive, "s3")
	if _, _, err := s.CreateIssue(ctx(t), iss, digestNow); !errors.Is(err, digest.ErrNoRecipients) {
		t.Fatalf("CreateIssue(no active subscriber) = %v, want ErrNoRecipients", err)
	}
	// Active on the list: b only.
	b := subscribe(t, s, "b@example.com", subscribers.StatusActive, "s1")
	stored, created, err := s.CreateIssue(ctx(t), iss, digestNow)
	if err != nil || !created || stored.ID != iss.ID || stored.Status != digest.IssueSending {
		t.Fatalf("CreateIssue = %+v, %v, %v", stored, created, err)
	}
	if got := recipients(t, s, iss.ID); !slices.Equal(got, []int64{b.ID}) {
		t.Fatalf("recipients = %v, want %v", got, []int64{b.ID})
	}
	subscribe(t, s, "a@example.com", subscribers.StatusActive, "s1")
	if _, created, err := s.CreateIssue(ctx(t), iss, digestNow); err != nil || created {
		t.Fatalf("CreateIssue of an existing issue = %v, %v; want false, nil", created, err)
	}
	if got := recipients(t, s, iss.ID); !slices.Equal(got, []int64{b.ID}) {
		t.Fatalf("recipients after a second create = %v, want them unchanged", got)
	}
	// Thousands at once, every third not active, claimed in order.
	var bulk []*subscribers.Subscriber
	for i := range 3000 {
		st := subscribers.StatusActive
		if i%3 == 0 {
			st = subscribers.StatusUnsubscribed
		}
		bulk = append(bulk, &subscribers.Subscriber{Email: fmt.Sprintf("m%04d@example.com", i), Status: st,
			CreatedAt: t0, Lists: []subscribers.Subscription{{List: "s2", Active: true, ChangedAt: t0}}})
	}
	if _, _, err := s.InsertSubscribers(ctx(t), bulk); err != nil {
		t.Fatal(err)
	}
	active, err := s.ListSubscribers(ctx(t), subscribers.Filter{List: "s2", Status: subscribers.StatusActive})
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, sub := range active {
		want = append(want, sub.ID)
	}
	slices.Sort(want)
	if len(want) != 2000 {
		t.Fatalf("%d active subscribers of s2, want 2000", len(want))
	}
	if _, _, err := s.CreateIssue(ctx(t), testIssue("s2"), digestNow); err != nil {
		t.Fatal(err)
	}
	if got := recipients(t, s, testIssue("s2").ID); !slices.Equal(got, want) {
		t.Fatalf("%d recipients, want the %d active subscribers in order", len(got), len(want))
	}
}

func testCadencePreferences(t *testing.T, s storage.Storage) {
	a := subscribe(t, s, "a@example.com", subscribers.StatusActive, "s1", "s2")
	b := subscribe(t, s, "b@example.com", subscribers.StatusActive, "s1")
	got, err := s.GetPreferences(ctx(t), []int64{a.ID, b.ID})
	if err != nil || len(got) != 0 {
		t.Fatalf("preferences before any = %v, %v", got, err)
	}
	setCadence(t, s, a.ID, "s1", daily, t0)
	setCadence(t, s, a.ID, "s2", story, t0)
	setCadence(t, s, a.ID, "s2", weekly, t0.Add(time.Hour))
	until := t0.Add(14 * 24 * time.Hour)
	if err := s.SetPause(ctx(t), b.ID, until, t0); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetPreferences(ctx(t), []int64{a.ID, b.ID, 999999})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]subscribers.Cadence{"s1": daily, "s2": weekly}; !maps.Equal(got[a.ID].Cadences, want) || !got[a.ID].PausedUntil.IsZero() {
		t.Errorf("a's preferences = %+v, want cadences %v and no pause", got[a.ID], want)
	}
	if !got[b.ID].PausedUntil.Equal(until) || len(got[b.ID].Cadences) != 0 || !got[b.ID].Paused(t0) || got[b.ID].Paused(until) {
		t.Errorf("b's preferences = %+v, want paused until %v", got[b.ID], until)
	}
	if err := s.SetPause(ctx(t), b.ID, time.Time{}, t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetPreferences(ctx(t), []int64{b.ID}); !got[b.ID].PausedUntil.IsZero() {
		t.Errorf("after resuming, b is paused until %v", got[b.ID].PausedUntil)
	}
	// Erasing a subscriber erases their preferences.
	if err := s.DeleteSubscriber(ctx(t), a.Email, "hash-a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetPreferences(ctx(t), []int64{a.ID}); len(got) != 0 {
		t.Errorf("preferences of an erased subscriber: %+v", got)
	}

	// An import's rows take their preferences; a subscriber that was
	// there before keeps theirs.
	created := t0.Add(time.Minute)
	subs := []*subscribers.Subscriber{
		{Email: "new@example.com", Status: subscribers.StatusActive, CreatedAt: created,
			Lists: []subscribers.Subscription{{List: "s1", Active: true, ChangedAt: created}}},
		{Email: b.Email, Status: subscribers.StatusActive, CreatedAt: created},
	}
	if _, _, err := s.InsertSubscribers(ctx(t), subs); err != nil {
		t.Fatal(err)
	}
	if err := s.SetImportedPreferences(ctx(t), map[string]subscribers.Preferences{
		"new@example.com": {Cadences: map[string]subscribers.Cadence{"s1": story}, PausedUntil: until},
		b.Email:           {Cadences: map[string]subscribers.Cadence{"s1": story}},
	}, created); err != nil {
		t.Fatal(err)
	}
	n, err := s.GetSubscriber(ctx(t), "new@example.com")
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetPreferences(ctx(t), []int64{n.ID, b.ID})
	if got[n.ID].Cadences["s1"] != story || !got[n.ID].PausedUntil.Equal(until) {
		t.Errorf("imported preferences = %+v", got[n.ID])
	}
	if len(got[b.ID].Cadences) != 0 {
		t.Errorf("an import changed the cadences of a subscriber it did not add: %+v", got[b.ID])
	}
}

// Who gets an issue of each cadence: active, on the list, not paused, and
// of that cadence (no choice, or a choice the list no longer offers, is
// the default).
func testCadenceRecipients(t *testing.T, s storage.Storage) {
	now := digestNow
	none := subscribe(t, s, "none@example.com", subscribers.StatusActive, "s1")
	dly := subscribe(t, s, "daily@example.com", subscribers.StatusActive, "s1")
	sty := subscribe(t, s, "story@example.com", subscribers.StatusActive, "s1")
	wk := subscribe(t, s, "weekly@example.com", subscribers.StatusActive, "s1")
	paused := subscribe(t, s, "paused@example.com", subscribers.StatusActive, "s1")
	resumed := subscribe(t, s, "resumed@example.com", subscribers.StatusActive, "s1")
	subscribe(t, s, "pending@example.com", subscribers.StatusPending, "s1")
	other := subscribe(t, s, "other@example.com", subscribers.StatusActive, "s2")
	setCadence(t, s, dly.ID, "s1", daily, t0)
	setCadence(t, s, sty.ID, "s1", story, t0)
	setCadence(t, s, wk.ID, "s1", weekly, t0)
	setCadence(t, s, other.ID, "s2", daily, t0)
	if err := s.SetPause(ctx(t), paused.ID, now.Add(time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPause(ctx(t), resumed.ID, now, t0); err != nil { // ends as the issue is made
		t.Fatal(err)
	}
	offered := []subscribers.Cadence{weekly, daily} // story is not offered: its reader gets the default
	q := digest.RecipientQuery{List: "s1", Cadence: weekly, Default: true, Offered: offered, Now: now}
	w := cadenceIssue("s1", "2019-W18", now.Add(-7*24*time.Hour), now)
	if _, created, err := s.CreateCadenceIssue(ctx(t), w, q, now); err != nil || !created {
		t.Fatalf("weekly issue: %v, %v", created, err)
	}
	if got, want := recipients(t, s, w.ID), []int64{none.ID, sty.ID, wk.ID, resumed.ID}; !slices.Equal(got, want) {
		t.Errorf("weekly recipients = %v, want %v", got, want)
	}
	d := cadenceIssue("s1", "2019-04-29", now.Add(-24*time.Hour), now)
	q.Cadence, q.Default = daily, false
	if _, _, err := s.CreateCadenceIssue(ctx(t), d, q, now); err != nil {
		t.Fatal(err)
	}
	if got, want := recipients(t, s, d.ID), []int64{dly.ID}; !slices.Equal(got, want) {
		t.Errorf("daily recipients = %v, want %v", got, want)
	}
	q.Cadence, q.Offered = story, []subscribers.Cadence{weekly, daily}
	if _, _, err := s.CreateCadenceIssue(ctx(t), cadenceIssue("s1", "story/x", now.Add(-time.Hour), now), q, now); !errors.Is(err, digest.ErrNoRecipients) {
		t.Errorf("story issue of a list that does not offer it: %v, want ErrNoRecipients", err)
	}
	if _, err := s.GetIssue(ctx(t), "s1/story/x"); !errors.Is(err, digest.ErrNotFound) {
		t.Errorf("an issue without recipients was stored: %v", err)
	}
	// Each issue is stored with its cadence.
	for c, id := range map[subscribers.Cadence]string{weekly: w.ID, daily: d.ID} {
		last, err := s.LastIssueOf(ctx(t), "s1", c, "")
		if err != nil || last.ID != id {
			t.Errorf("LastIssueOf(%s) = %v, %v; want %s", c, last, err, id)
		}
	}
	if _, err := s.LastIssueOf(ctx(t), "s1", story, ""); !errors.Is(err, digest.ErrNotFound) {
		t.Errorf("LastIssueOf(story) = %v, want ErrNotFound", err)
	}
	if _, err := s.LastIssueOf(ctx(t), "s1", weekly, w.ID); !errors.Is(err, digest.ErrNotFound) {
		t.Errorf("LastIssueOf(weekly) except the only one = %v, want ErrNotFound", err)
	}
	// An existing issue is left as it is.
	if _, created, err := s.CreateCadenceIssue(ctx(t), w, digest.RecipientQuery{List: "s1", Cadence: weekly, Default: true, Now: now}, now); err != nil || created {
		t.Errorf("creating an existing issue: %v, %v", created, err)
	}
	issues, err := s.SeriesIssues(ctx(t), "s1", 10, 0)
	if err != nil || len(issues) != 2 {
		t.Fatalf("SeriesIssues = %d, %v", len(issues), err)
	}
	if page, _ := s.SeriesIssues(ctx(t), "s1", 1, 1); len(page) != 1 || page[0].ID != issues[1].ID {
		t.Errorf("SeriesIssues(1, 1) = %v, want the second", page)
	}
}

// A reader who changes cadence gets no story twice and misses none: the
// first issue of the new cadence starts where their mail stopped.
func testCadenceSwitch(t *testing.T, s storage.Storage) {
	day := 24 * time.Hour
	mon := digestNow // Monday 29 April 2019 09:00 Shanghai
	offered := []subscribers.Cadence{weekly, daily, story}
	query := func(c subscribers.Cadence, now time.Time) digest.RecipientQuery {
		return digest.RecipientQuery{List: "s1", Cadence: c, Default: c == weekly, Offered: offered, Now: now}
	}
	create := func(iss digest.Issue, q digest.RecipientQuery) {
		t.Helper()
		if _, created, err := s.CreateCadenceIssue(ctx(t), iss, q, q.Now); err != nil || !created {
			t.Fatalf("create %s: %v, %v", iss.ID, created, err)
		}
	}
	cutoffs := func(id string) map[int64]time.Time {
		t.Helper()
		got, err := s.IssueCutoffs(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	r := subscribe(t, s, "r@example.com", subscribers.StatusActive, "s1")
	steady := subscribe(t, s, "steady@example.com", subscribers.StatusActive, "s1")

	// Week 18 goes to both (weekly by default).
	w18 := cadenceIssue("s1", "2019-W18", mon.Add(-7*day), mon)
	create(w18, query(weekly, mon))
	// Wednesday r moves to daily: their mail has gone up to Monday 09:00.
	setCadence(t, s, r.ID, "s1", daily, mon.Add(2*day))
	// The daily issue of Wednesday covers Tuesday 18:00 to Wednesday
	// 18:00; r gets it from Monday 09:00 (caught up), the floor allowing.
	if from, err := s.CatchUpFrom(ctx(t), query(daily, mon.Add(2*day)), mon.Add(33*time.Hour)); err != nil || !from.Equal(mon) {
		t.Errorf("CatchUpFrom = %v, %v; want %v", from, err, mon)
	}
	wed := cadenceIssue("s1", "2019-05-01", mon.Add(33*time.Hour), mon.Add(57*time.Hour))
	q := query(daily, wed.Until)
	q.Floor = mon
	create(wed, q)
	if got := recipients(t, s, wed.ID); !slices.Equal(got, []int64{r.ID}) {
		t.Fatalf("Wednesday's daily recipients = %v, want r only", got)
	}
	if got := cutoffs(wed.ID); !got[r.ID].Equal(mon) || len(got) != 1 {
		t.Errorf("Wednesday's cutoffs = %v, want r from %v", got, mon)
	}
	// Thursday's is an ordinary one for r.
	thu := cadenceIssue("s1", "2019-05-02", wed.Until, wed.Until.Add(day))
	create(thu, query(daily, thu.Until))
	if got := cutoffs(thu.ID); len(got) != 0 {
		t.Errorf("Thursday's cutoffs = %v, want none", got)
	}
	// Friday r goes back to weekly: week 19 (Monday to Monday) gives them
	// only what came after Thursday's daily; steady gets all of it.
	setCadence(t, s, r.ID, "s1", weekly, thu.Until.Add(time.Hour))
	w19 := cadenceIssue("s1", "2019-W19", mon, mon.Add(7*day))
	create(w19, query(weekly, w19.Until))
	if got := recipients(t, s, w19.ID); !slices.Equal(got, []int64{r.ID, steady.ID}) {
		t.Fatalf("week 19 recipients = %v", got)
	}
	if got := cutoffs(w19.ID); !got[r.ID].Equal(thu.Until) || len(got) != 1 {
		t.Errorf("week 19 cutoffs = %v, want r from %v", got, thu.Until)
	}

	// A reader whose mail has gone as far as the issue is left out: a
	// story reader who moves to daily after the day's last story email.
	x := subscribe(t, s, "x@example.com", subscribers.StatusActive, "s1")
	setCadence(t, s, x.ID, "s1", story, w19.Until)
	st := cadenceIssue("s1", "story/a", w19.Until, w19.Until.Add(5*time.Hour))
	create(st, query(story, st.Until))
	setCadence(t, s, x.ID, "s1", daily, st.Until.Add(time.Minute))
	y := subscribe(t, s, "y@example.com", subscribers.StatusActive, "s1")
	setCadence(t, s, y.ID, "s1", daily, st.Until)
	d := cadenceIssue("s1", "2019-05-06", w19.Until.Add(-15*time.Hour), st.Until)
	create(d, query(daily, d.Until))
	if got := recipients(t, s, d.ID); !slices.Equal(got, []int64{y.ID}) {
		t.Errorf("daily recipients = %v, want y only (x's mail went as far already)", got)
	}

	// Changes to the same cadence change nothing; a pause ends catching up.
	z := subscribe(t, s, "z@example.com", subscribers.StatusActive, "s1")
	create(cadenceIssue("s1", "2019-W20", w19.Until, w19.Until.Add(7*day)), query(weekly, w19.Until.Add(7*day)))
	setCadence(t, s, z.ID, "s1", daily, w19.Until.Add(7*day+time.Hour))
	if err := s.SetPause(ctx(t), z.ID, w19.Until.Add(7*day+2*time.Hour), w19.Until.Add(7*day+time.Hour)); err != nil {
		t.Fatal(err)
	}
	late := w19.Until.Add(9 * day)
	zd := cadenceIssue("s1", "2019-05-22", late.Add(-day), late)
	q = query(daily, late)
	q.Floor = late.Add(-8 * day)
	create(zd, q)
	got := cutoffs(zd.ID)
	if _, ok := got[z.ID]; ok {
		t.Errorf("z has a cutoff after a pause: %v (a pause ends catching up)", got)
	}
	// x, left out of the last daily issue, catches up from where their
	// story emails stopped, as far back as the floor.
	if !got[x.ID].Equal(q.Floor) {
		t.Errorf("x's cutoff = %v, want the floor %v", got[x.ID], q.Floor)
	}
}

// Issue creation and cadence changes of one list take turns: a change
// made while an issue is created sees it.
func testCadenceConcurrent(t *testing.T, s storage.Storage) {
	var subs []*subscribers.Subscriber
	for i := range 40 {
		subs = append(subs, subscribe(t, s, fmt.Sprintf("c%02d@example.com", i), subscribers.StatusActive, "s1"))
	}
	now := digestNow
	offered := []subscribers.Cadence{weekly, daily}
	var wg sync.WaitGroup
	wg.Go(func() {
		q := digest.RecipientQuery{List: "s1", Cadence: weekly, Default: true, Offered: offered, Now: now}
		// Every change may come first: then nobody is weekly.
		if _, _, err := s.CreateCadenceIssue(ctx(t), cadenceIssue("s1", "2019-W18", now.Add(-7*24*time.Hour), now), q, now); err != nil && !errors.Is(err, digest.ErrNoRecipients) {
			t.Error(err)
		}
	})
	for _, sub := range subs {
		wg.Go(func() {
			if err := s.SetCadence(ctx(t), sub.ID, "s1", weekly, daily, now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Whoever got the weekly issue has their mail covered to its until:
	// a daily issue over that span leaves them out.
	var got []int64
	if _, err := s.GetIssue(ctx(t), "s1/2019-W18"); err == nil {
		got = recipients(t, s, "s1/2019-W18")
	}
	q := digest.RecipientQuery{List: "s1", Cadence: daily, Offered: offered, Now: now}
	_, _, err := s.CreateCadenceIssue(ctx(t), cadenceIssue("s1", "2019-04-29", now.Add(-24*time.Hour), now), q, now)
	if len(got) == len(subs) {
		if !errors.Is(err, digest.ErrNoRecipients) {
			t.Errorf("daily issue after all got the weekly one: %v, want ErrNoRecipients", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	daily := recipients(t, s, "s1/2019-04-29")
	for _, id := range daily {
		if slices.Contains(got, id) {
			t.Errorf("subscriber %d got both the weekly and the daily issue of the same span", id)
		}
	}
}

func testPreferenceActivityAndCounts(t *testing.T, s storage.Storage) {
	a := subscribe(t, s, "a@example.com", subscribers.StatusActive, "s1", "s2")
	b := subscribe(t, s, "b@example.com", subscribers.StatusActive, "s1")
	subscribe(t, s, "c@example.com", subscribers.StatusActive, "s1")
	subscribe(t, s, "gone@example.com", subscribers.StatusUnsubscribed, "s1")
	setCadence(t, s, a.ID, "s1", daily, t0)
	if err := s.SetPause(ctx(t), b.ID, digestNow.Add(time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	counts, err := s.CadenceCounts(ctx(t), digestNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []subscribers.CadenceCount{
		{List: "s1", Cadence: "", Paused: false, Count: 1},
		{List: "s1", Cadence: "", Paused: true, Count: 1},
		{List: "s1", Cadence: daily, Paused: false, Count: 1},
		{List: "s2", Cadence: "", Paused: false, Count: 1},
	}
	if !slices.Equal(counts, want) {
		t.Errorf("CadenceCounts = %+v, want %+v", counts, want)
	}

	if _, err := s.EnqueueConfirmation(ctx(t), subscribers.Confirmation{SubscriberID: a.ID, Lists: []string{"s1"}, IssuedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnqueueWelcome(ctx(t), subscribers.Welcome{SubscriberID: a.ID, Lists: []string{"s1"}, CreatedAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	iss := testIssue("s2") // a is the only reader of s2
	if _, _, err := s.CreateIssue(ctx(t), iss, digestNow); err != nil {
		t.Fatal(err)
	}
	acts, err := s.SubscriberActivity(ctx(t), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]subscribers.Activity{}
	for _, x := range acts {
		kinds[x.Kind] = x
	}
	if len(acts) != 3 || kinds["confirmation"].Ref != "s1" || kinds["welcome"].State != "pending" ||
		kinds["issue"].Ref != iss.ID || !kinds["issue"].At.Equal(digestNow) {
		t.Errorf("activity = %+v", acts)
	}
	if acts, _ := s.SubscriberActivity(ctx(t), b.ID); len(acts) != 0 {
		t.Errorf("activity of another subscriber = %+v", acts)
	}
}

func testWelcomeOutbox(t *testing.T, s storage.Storage) {
	a := subscribe(t, s, "a@example.com", subscribers.StatusActive, "s1", "s2")
	id, err := s.EnqueueWelcome(ctx(t), subscribers.Welcome{SubscriberID: a.ID, Lists: []string{"s1", "s2"}, CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnqueueWelcome(ctx(t), subscribers.Welcome{SubscriberID: a.ID, Lists: []string{"a,b"}, CreatedAt: t0}); err == nil {
		t.Error("a list with a comma was queued")
	}
	got, err := s.ClaimWelcomes(ctx(t), 10, t0, time.Minute)
	if err != nil || len(got) != 1 || got[0].ID != id || !slices.Equal(got[0].Lists, []string{"s1", "s2"}) ||
		got[0].State != subscribers.ConfirmationSending || got[0].Attempts != 1 {
		t.Fatalf("ClaimWelcomes = %+v, %v", got, err)
	}
	if again, _ := s.ClaimWelcomes(ctx(t), 10, t0.Add(30*time.Second), time.Minute); len(again) != 0 {
		t.Errorf("claimed twice within the lease: %+v", again)
	}
	if err := s.FinishWelcome(ctx(t), id, subscribers.ConfirmationPending, "421 busy", t0.Add(5*time.Minute), t0); err != nil {
		t.Fatal(err)
	}
	if early, _ := s.ClaimWelcomes(ctx(t), 10, t0.Add(time.Minute), time.Minute); len(early) != 0 {
		t.Errorf("claimed before its retry time: %+v", early)
	}
	got, _ = s.ClaimWelcomes(ctx(t), 10, t0.Add(5*time.Minute), time.Minute)
	if len(got) != 1 || got[0].Attempts != 2 || got[0].LastError != "421 busy" {
		t.Fatalf("retry claim = %+v", got)
	}
	if err := s.FinishWelcome(ctx(t), id, subscribers.ConfirmationSent, "", time.Time{}, t0.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A lease that ran out is taken over.
	id2, _ := s.EnqueueWelcome(ctx(t), subscribers.Welcome{SubscriberID: a.ID, Lists: []string{"s1"}, CreatedAt: t0})
	if got, _ := s.ClaimWelcomes(ctx(t), 10, t0, time.Minute); len(got) != 1 || got[0].ID != id2 {
		t.Fatalf("claim = %+v", got)
	}
	if got, _ := s.ClaimWelcomes(ctx(t), 10, t0.Add(2*time.Minute), time.Minute); len(got) != 1 || got[0].ID != id2 || got[0].Attempts != 2 {
		t.Errorf("claim after the lease = %+v", got)
	}
	if acts, _ := s.SubscriberActivity(ctx(t), a.ID); len(acts) != 2 {
		t.Errorf("activity = %+v", acts)
	}
}

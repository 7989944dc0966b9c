package subscribers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

var (
	weekly = subscribers.CadenceWeekly
	daily  = subscribers.CadenceDaily
	story  = subscribers.CadenceStory
)

// newReaderEnv is newEnv with a series that offers every cadence, a
// second one that offers the weekly digest only, and the welcome email.
func newReaderEnv(t testing.TB, st storage.Storage) *env {
	t.Helper()
	return newEnv(t, st, func(c *subscribers.Config) {
		c.Lists = []subscribers.List{
			{Slug: "shanghai-70th", Title: "Shanghai 70th anniversary series", Description: "Seventy years on.",
				Cadences: []subscribers.Cadence{weekly, daily, story}, DefaultCadence: weekly},
			{Slug: "society", Title: "Society"},
		}
		c.SyncMail = true
		c.Readers = subscribers.ReaderConfig{
			Welcome: hermes.New(hermes.Brand{Name: "China Daily News", Link: "https://news.example.com"}),
			LatestIssue: func(_ context.Context, list string) (subscribers.IssueLink, bool, error) {
				if list == "shanghai-70th" {
					return subscribers.IssueLink{Title: "Week 17, 2019", URL: "https://news.example.com/digests/shanghai-70th/2019-W17"}, true, nil
				}
				return subscribers.IssueLink{}, false, nil
			},
		}
	})
}

var prefsRE = regexp.MustCompile(`https://news\.example\.com/preferences\?token=[A-Za-z0-9_%-]+`)

// prefsToken is the preferences token of the link in m.
func prefsToken(t *testing.T, m *mail.Message) string {
	t.Helper()
	link := prefsRE.FindString(m.Text)
	if link == "" {
		t.Fatalf("no preferences link in:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, link) {
		t.Errorf("the HTML part lacks the preferences link %s", link)
	}
	u, _ := url.Parse(link)
	return u.Query().Get("token")
}

// signUp subscribes email to lists at cadences, confirms, and returns
// the welcome email.
func (e *env) signUp(t *testing.T, email, name string, lists []string, cadences map[string]subscribers.Cadence) *mail.Message {
	t.Helper()
	if err := e.svc.Subscribe(t.Context(), subscribers.Request{Email: email, Name: name, Lists: lists, Cadences: cadences, IP: "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	sent := e.out.Take()
	if len(sent) != 1 {
		t.Fatalf("sign-up sent %d emails, want the confirmation", len(sent))
	}
	if _, err := e.svc.Confirm(t.Context(), confirmToken(t, sent[0])); err != nil {
		t.Fatal(err)
	}
	sent = e.out.Take()
	if len(sent) != 1 {
		t.Fatalf("confirmation sent %d emails, want the welcome", len(sent))
	}
	return sent[0]
}

// The cadence chosen at sign-up changes nothing until the reader
// confirms; then the welcome email names each series, how often it
// comes and its latest issue, and links the preferences.
func TestSignUpCadenceAndWelcome(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		e := newReaderEnv(t, st)
		ctx := t.Context()
		if err := e.svc.Subscribe(ctx, subscribers.Request{Email: "x@example.com", Lists: []string{"society"},
			Cadences: map[string]subscribers.Cadence{"society": daily}}); !errors.Is(err, subscribers.ErrUnknownCadence) {
			t.Errorf("daily for a weekly-only list: %v, want ErrUnknownCadence", err)
		}
		if err := e.svc.Subscribe(ctx, subscribers.Request{Email: "li@example.com", Name: "Li Lei", Lists: []string{"shanghai-70th", "society"},
			Cadences: map[string]subscribers.Cadence{"shanghai-70th": daily}}); err != nil {
			t.Fatal(err)
		}
		conf := e.out.Take()
		if len(conf) != 1 || !strings.Contains(conf[0].Text, "Shanghai 70th anniversary series (daily)") {
			t.Fatalf("confirmation: %d emails, want one naming the daily cadence", len(conf))
		}
		sub := get(t, st, "li@example.com")
		if got, _ := st.GetPreferences(ctx, []int64{sub.ID}); len(got) != 0 {
			t.Errorf("preferences before confirming: %+v", got)
		}
		if r, err := e.svc.CheckConfirm(ctx, confirmToken(t, conf[0])); err != nil || r.Lists[0].Slug != "shanghai-70th" || r.Lists[0].Title != "Shanghai 70th anniversary series (daily)" {
			t.Errorf("CheckConfirm = %+v, %v", r, err)
		}
		if _, err := e.svc.Confirm(ctx, confirmToken(t, conf[0])); err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetPreferences(ctx, []int64{sub.ID})
		if got[sub.ID].Cadences["shanghai-70th"] != daily {
			t.Errorf("preferences after confirming: %+v", got)
		}
		welcome := e.out.Take()
		if len(welcome) != 1 {
			t.Fatalf("%d emails after confirming, want the welcome", len(welcome))
		}
		w := welcome[0]
		for _, want := range []string{"Welcome Li Lei", "Shanghai 70th anniversary series", "Daily: one email a day", "Society", "Weekly: one email a week",
			"https://news.example.com/digests/shanghai-70th/2019-W17", "Week 17, 2019"} {
			if !strings.Contains(w.Text, want) {
				t.Errorf("welcome text lacks %q:\n%s", want, w.Text)
			}
		}
		if w.To != "li@example.com" || !strings.HasPrefix(w.Headers["List-Unsubscribe"], "<https://news.example.com/unsubscribe?token=") {
			t.Errorf("welcome to %s, List-Unsubscribe %q", w.To, w.Headers["List-Unsubscribe"])
		}
		if r, err := e.svc.OpenPreferences(ctx, prefsToken(t, w)); err != nil || r.Subscriber.ID != sub.ID {
			t.Errorf("the welcome's preferences link: %v, %v", r, err)
		}
		// The same link again: no second welcome.
		if _, err := e.svc.Confirm(ctx, confirmToken(t, conf[0])); err != nil {
			t.Fatal(err)
		}
		if again := e.out.Take(); len(again) != 0 {
			t.Errorf("confirming twice sent %d more emails", len(again))
		}
	})
}

// A known reader asking, in another letter case, for a further series at
// a cadence changes nothing of their record or preferences until the
// link is followed: the cadence waits with the lists in the request.
// Then the one record gets the list, the cadence and the request's name.
func TestSignUpCadenceWaitsForConfirmation(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		e := newReaderEnv(t, st)
		ctx := t.Context()
		li, err := e.svc.Add(ctx, "li@example.com", "Li Lei", []string{"society"}, true)
		if err != nil {
			t.Fatal(err)
		}
		before := fields(get(t, st, "li@example.com"))
		if err := e.svc.Subscribe(ctx, subscribers.Request{Email: "LI@Example.com", Name: "Mallory", Lists: []string{"shanghai-70th"},
			Cadences: map[string]subscribers.Cadence{"shanghai-70th": story}, IP: "203.0.113.66"}); err != nil {
			t.Fatal(err)
		}
		conf := e.out.Take()
		if len(conf) != 1 || !strings.Contains(conf[0].Text, "Shanghai 70th anniversary series (each story)") {
			t.Fatalf("confirmation: %d emails, want one naming the story cadence", len(conf))
		}
		if now := fields(get(t, st, "li@example.com")); now != before {
			t.Errorf("changed before confirmation:\n was %s\n now %s", before, now)
		}
		if got, _ := st.GetPreferences(ctx, []int64{li.ID}); len(got) != 0 {
			t.Errorf("preferences before confirming: %+v", got)
		}
		if _, err := e.svc.Confirm(ctx, confirmToken(t, conf[0])); err != nil {
			t.Fatal(err)
		}
		sub := get(t, st, "li@example.com")
		if sub.ID != li.ID || sub.Email != "li@example.com" || sub.Name != "Mallory" || activeLists(sub) != "shanghai-70th,society" {
			t.Errorf("after confirming: %+v", sub)
		}
		if got, _ := st.GetPreferences(ctx, []int64{li.ID}); got[li.ID].Cadences["shanghai-70th"] != story {
			t.Errorf("preferences after confirming: %+v", got)
		}
		if welcome := e.out.Take(); len(welcome) != 1 || welcome[0].To != "li@example.com" {
			t.Errorf("%d emails after confirming, want the welcome to the address as stored", len(welcome))
		}
	})
}

// A preferences link that is forged, truncated, expired, of another
// purpose, or of a subscriber since erased changes nothing and says why.
func TestPreferencesTokens(t *testing.T) {
	e := newReaderEnv(t, storagetest.SQLite(t))
	ctx := t.Context()
	w := e.signUp(t, "li@example.com", "", []string{"shanghai-70th"}, nil)
	tok := prefsToken(t, w)
	before := snapshot(t, e.store)
	sub := get(t, e.store, "li@example.com")
	unsub, _ := e.svc.UnsubscribeURL(sub, "shanghai-70th")
	uu, _ := url.Parse(unsub)
	bad := map[string]string{
		"truncated":   tok[:len(tok)-3],
		"forged":      tok[:5] + strings.Map(func(r rune) rune { return r ^ 1 }, tok[5:6]) + tok[6:],
		"empty":       "",
		"unsubscribe": uu.Query().Get("token"),
		"garbage":     "not-a-token",
	}
	for name, b := range bad {
		if _, err := e.svc.OpenPreferences(ctx, b); !errors.Is(err, subscribers.ErrInvalidToken) {
			t.Errorf("%s token: %v, want ErrInvalidToken", name, err)
		}
		if _, err := e.svc.ChangePreferences(ctx, b, subscribers.PreferenceChange{Lists: map[string]bool{"shanghai-70th": false}}); !errors.Is(err, subscribers.ErrInvalidToken) {
			t.Errorf("%s token changed preferences: %v", name, err)
		}
		if err := e.svc.Erase(ctx, b); !errors.Is(err, subscribers.ErrInvalidToken) {
			t.Errorf("%s token erased: %v", name, err)
		}
	}
	e.clock.Add(subscribers.DefaultPreferencesTTL + time.Hour)
	if _, err := e.svc.PauseMail(ctx, tok, 2); !errors.Is(err, subscribers.ErrTokenExpired) {
		t.Errorf("expired token: %v, want ErrTokenExpired", err)
	}
	if after := snapshot(t, e.store); after != before {
		t.Errorf("a refused token changed subscribers:\n%s\nto\n%s", before, after)
	}
	if got, _ := e.store.GetPreferences(ctx, []int64{sub.ID}); len(got) != 0 {
		t.Errorf("a refused token changed preferences: %+v", got)
	}
}

// What the preference page does: lists joined at once and left, each
// one's cadence, the name, a pause and its end, the data export, and
// erasure.
func TestPreferenceCentre(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		e := newReaderEnv(t, st)
		ctx := t.Context()
		tok := prefsToken(t, e.signUp(t, "li@example.com", "Li", []string{"shanghai-70th"}, map[string]subscribers.Cadence{"shanghai-70th": daily}))
		r, err := e.svc.OpenPreferences(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Lists) != 2 || !r.Lists[0].Subscribed || r.Lists[0].Cadence != daily || r.Lists[1].Subscribed || r.Lists[1].Cadence != weekly ||
			r.Lists[0].Description != "Seventy years on." || !slices.Equal(r.Lists[0].Offer.Cadences, []subscribers.Cadence{weekly, daily, story}) {
			t.Fatalf("reader = %+v", r.Lists)
		}
		// A bad change changes nothing.
		before := snapshot(t, st)
		long := strings.Repeat("x", 300)
		for name, ch := range map[string]subscribers.PreferenceChange{
			"bad name":        {Lists: map[string]bool{"society": true}, Name: &long},
			"unknown list":    {Lists: map[string]bool{"nope": true}},
			"cadence offered": {Lists: map[string]bool{"society": true}, Cadences: map[string]subscribers.Cadence{"society": story}},
		} {
			if _, err := e.svc.ChangePreferences(ctx, tok, ch); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		if after := snapshot(t, st); after != before {
			t.Errorf("a refused change changed subscribers")
		}
		// Weekly for the series, society added (active at once), a new name.
		name := "Li Lei"
		r, err = e.svc.ChangePreferences(ctx, tok, subscribers.PreferenceChange{
			Lists:    map[string]bool{"shanghai-70th": true, "society": true},
			Cadences: map[string]subscribers.Cadence{"shanghai-70th": weekly}, Name: &name})
		if err != nil {
			t.Fatal(err)
		}
		sub := get(t, st, "li@example.com")
		if sub.Name != "Li Lei" || activeLists(sub) != "shanghai-70th,society" || sub.Status != subscribers.StatusActive ||
			r.Lists[0].Cadence != weekly || !r.Lists[1].Subscribed {
			t.Errorf("after the change: %+v, %+v", sub, r.Lists)
		}
		// Pauses of 2, 4 or 8 weeks only.
		if _, err := e.svc.PauseMail(ctx, tok, 3); !errors.Is(err, subscribers.ErrInvalidPause) {
			t.Errorf("a three-week pause: %v", err)
		}
		r, err = e.svc.PauseMail(ctx, tok, 4)
		if err != nil || !r.Paused(e.clock.Now()) || !r.Preferences.PausedUntil.Equal(e.clock.Now().UTC().AddDate(0, 0, 28)) {
			t.Errorf("pause: %+v, %v", r.Preferences, err)
		}
		if r, err = e.svc.ResumeMail(ctx, tok); err != nil || r.Paused(e.clock.Now()) {
			t.Errorf("resume: %+v, %v", r.Preferences, err)
		}
		if _, err := e.svc.PauseMail(ctx, tok, 2); err != nil {
			t.Fatal(err)
		}
		// The data, as the reader downloads it.
		d, err := e.svc.ExportData(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(d)
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"address", "name", "lists", "paused_until", "consent", "events"} {
			if _, ok := back[k]; !ok {
				t.Errorf("export lacks %q: %s", k, b)
			}
		}
		var kinds []string
		for _, ev := range d.Events {
			kinds = append(kinds, ev.Event+"/"+ev.Kind)
		}
		if d.Address != "li@example.com" || d.Name != "Li Lei" || d.Consent.IP != "192.0.2.7" || len(d.Lists) != 2 ||
			d.Lists[0].Cadence != weekly || d.Lists[1].Effective != weekly || d.PausedUntil.IsZero() ||
			!slices.Contains(kinds, "email/confirmation") || !slices.Contains(kinds, "email/welcome") || !slices.Contains(kinds, "confirmed/") {
			t.Errorf("export = %s", b)
		}
		// Leaving every list unsubscribes; joining one again subscribes.
		if _, err := e.svc.ChangePreferences(ctx, tok, subscribers.PreferenceChange{Lists: map[string]bool{"shanghai-70th": false, "society": false}}); err != nil {
			t.Fatal(err)
		}
		if sub := get(t, st, "li@example.com"); sub.Status != subscribers.StatusUnsubscribed || activeLists(sub) != "" {
			t.Errorf("after leaving every list: %+v", sub)
		}
		if _, err := e.svc.ChangePreferences(ctx, tok, subscribers.PreferenceChange{Lists: map[string]bool{"society": true}}); err != nil {
			t.Fatal(err)
		}
		if sub := get(t, st, "li@example.com"); sub.Status != subscribers.StatusActive || activeLists(sub) != "society" {
			t.Errorf("after joining again: %+v", sub)
		}
		// Erasing is the erasure of subscribers remove.
		if err := e.svc.Erase(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetSubscriber(ctx, "li@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
			t.Errorf("after erasing: %v", err)
		}
		h, err := e.svc.SuppressionHash(ctx, "li@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if sup, _ := st.IsSuppressed(ctx, h); !sup {
			t.Error("the erased address is not suppressed")
		}
		if _, err := e.svc.OpenPreferences(ctx, tok); !errors.Is(err, subscribers.ErrInvalidToken) {
			t.Errorf("the link after erasing: %v", err)
		}
	})
}

// Cadences and pauses go out and come back with the CSV.
func TestCadencesInCSV(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		e := newReaderEnv(t, st)
		ctx := t.Context()
		csv := "email,lists,cadences,paused_until\n" +
			"a@example.com,shanghai-70th;society,shanghai-70th:daily,\n" +
			"b@example.com,shanghai-70th,story,2026-06-01\n" +
			"c@example.com,society,daily,\n" + // society offers weekly only
			"d@example.com,society,shanghai-70th:daily,\n" + // a list the row does not have
			"e@example.com,shanghai-70th,hourly,\n" +
			"f@example.com,shanghai-70th,,soon\n"
		rep, err := e.svc.ImportCSV(ctx, strings.NewReader(csv), nil)
		if err != nil {
			t.Fatal(err)
		}
		var bad []int
		for _, b := range rep.Bad {
			bad = append(bad, b.Line)
		}
		if rep.Inserted != 2 || !slices.Equal(bad, []int{4, 5, 6, 7}) {
			t.Fatalf("import: %+v, bad lines %v", rep, bad)
		}
		a, b := get(t, st, "a@example.com"), get(t, st, "b@example.com")
		got, _ := st.GetPreferences(ctx, []int64{a.ID, b.ID})
		if got[a.ID].Cadences["shanghai-70th"] != daily || len(got[a.ID].Cadences) != 1 ||
			got[b.ID].Cadences["shanghai-70th"] != story || !got[b.ID].PausedUntil.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("imported preferences: %+v", got)
		}
		// An address already there keeps its preferences.
		if _, err := e.svc.ImportCSV(ctx, strings.NewReader("email,lists,cadences\na@example.com,shanghai-70th,story\n"), nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetPreferences(ctx, []int64{a.ID}); got[a.ID].Cadences["shanghai-70th"] != daily {
			t.Errorf("an import changed an existing subscriber's cadence: %+v", got[a.ID])
		}
		var out strings.Builder
		if err := e.svc.ExportCSV(ctx, &out); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if !strings.HasSuffix(lines[0], ",cadences,paused_until") || !strings.HasSuffix(lines[1], ",shanghai-70th:daily,") ||
			!strings.HasSuffix(lines[2], ",shanghai-70th:story,2026-06-01T00:00:00Z") {
			t.Errorf("export:\n%s", out.String())
		}
		// The export reads back into another store as it was.
		st2 := storagetest.SQLite(t)
		e2 := newReaderEnv(t, st2)
		if _, err := e2.svc.ImportCSV(ctx, strings.NewReader(out.String()), nil); err != nil {
			t.Fatal(err)
		}
		b2 := get(t, st2, "b@example.com")
		if got, _ := st2.GetPreferences(ctx, []int64{b2.ID}); got[b2.ID].Cadences["shanghai-70th"] != story || got[b2.ID].PausedUntil.IsZero() {
			t.Errorf("round trip: %+v", got[b2.ID])
		}
	})
}

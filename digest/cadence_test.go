package digest_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

var (
	weekly = subscribers.CadenceWeekly
	daily  = subscribers.CadenceDaily
	storyC = subscribers.CadenceStory
)

// newCadenceFixture is newFixture for a series that offers every cadence,
// weekly by default, with the schedules a newsroom would set.
func newCadenceFixture(t testing.TB, st storage.Storage, baseURL string) *fixture {
	t.Helper()
	f := newFixture(t, st, baseURL)
	offered := []digest.Cadence{weekly, daily, storyC}
	render := hermes.New(hermes.Brand{Name: "Shanghai Daily", Link: baseURL + "/"})
	subs, err := subscribers.New(subscribers.Config{
		Confirmation: render, Store: st, Mailer: nopTransport{}, Secret: []byte("digest-test-secret-0123456789"), BaseURL: baseURL,
		Lists: []subscribers.List{{Slug: series, Title: "Shanghai 70th anniversary series", Cadences: offered, DefaultCadence: weekly},
			{Slug: "other", Title: "Other"}},
		Now: f.clock.Now, SyncMail: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.cfg
	cfg.Subscribers = subs
	cfg.Series = []digest.Series{{Slug: series, Title: "Shanghai 70th anniversary series",
		Description: "Stories commemorating the 70th anniversary of the liberation of Shanghai.",
		Cadences:    offered, DefaultCadence: weekly,
		Schedules: map[digest.Cadence]string{weekly: "CRON_TZ=Asia/Shanghai 0 9 * * MON",
			daily: "CRON_TZ=Asia/Shanghai 0 18 * * *", storyC: "* * * * *"}}}
	dg, err := digest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.subs, f.dg, f.cfg = subs, dg, cfg
	return f
}

// job returns the fixture's job of cadence c.
func (f *fixture) job(t *testing.T, c digest.Cadence) digest.Job {
	t.Helper()
	jobs, err := f.dg.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Cadence == c {
			return j
		}
	}
	t.Fatalf("no %s job", c)
	return digest.Job{}
}

// run runs the job of cadence c at time at (the clock moved there) and
// sends what it made.
func (f *fixture) run(t *testing.T, srv *smtpServer, c digest.Cadence, at time.Time) digest.RunResult {
	t.Helper()
	f.clock.mu.Lock()
	f.clock.t = at
	f.clock.mu.Unlock()
	r, err := f.dg.RunJob(t.Context(), f.job(t, c), at)
	if err != nil {
		t.Fatalf("run %s at %s: %v", c, at, err)
	}
	if r.Issue != nil {
		if rep, err := f.sender(srv.transport(t), f.st, "w-"+string(c)).SendIssue(t.Context(), r.Issue, nil); err != nil || !rep.Finished {
			t.Fatalf("send %s: %+v, %v", r.Issue.ID, rep, err)
		}
	}
	return r
}

// textOf is the plain-text part of a received message, decoded.
func textOf(t *testing.T, m *netmail.Message) string {
	t.Helper()
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	m.Body = bytes.NewReader(raw) // for the next reading
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("no text/plain part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, err := io.ReadAll(quotedprintable.NewReader(p))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

var headlineRE = regexp.MustCompile(`(?m)^Headline ([a-z0-9-]+)\r?$`)

// headlines lists the stories of every message addr received, in order.
func headlines(t *testing.T, srv *smtpServer, addr string) []string {
	t.Helper()
	var out []string
	for _, m := range srv.received(addr) {
		for _, h := range headlineRE.FindAllStringSubmatch(textOf(t, m), -1) {
			out = append(out, h[1])
		}
	}
	return out
}

func at(day, hour, minute int) time.Time {
	return time.Date(2019, 4, day, hour, minute, 0, 0, newsroom)
}

// Each cadence makes its own issues for its own readers: the week's, the
// day's (none on a day without a story), and one per story (stories
// published close together in one), each id saying what it is, each
// email with the bulk headers and the reader's own preferences link.
func TestCadenceIssues(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := newCadenceFixture(t, st, "https://news.example.com")
		srv := startSMTP(t)
		w := f.subscribe(t, "weekly@example.com")
		d := f.subscribe(t, "daily@example.com")
		s := f.subscribe(t, "story@example.com")
		f.subscribe(t, "elsewhere@example.com", "other")
		for sub, c := range map[*subscribers.Subscriber]digest.Cadence{d: daily, s: storyC} {
			if err := st.SetCadence(t.Context(), sub.ID, series, weekly, c, now0.Add(-30*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		jobs, err := f.dg.Jobs()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, j := range jobs {
			names = append(names, j.Name+" "+j.Spec)
		}
		if want := []string{"digest-shanghai-70th CRON_TZ=Asia/Shanghai 0 9 * * MON", "digest-daily/shanghai-70th CRON_TZ=Asia/Shanghai 0 18 * * *",
			"digest-story/shanghai-70th * * * * *"}; !slices.Equal(names, want) {
			t.Errorf("jobs = %q, want %q", names, want)
		}

		f.put(t, story("tue", at(23, 10, 0)))
		f.put(t, story("fri", at(26, 11, 0)))
		f.put(t, story("sun", at(28, 10, 0)))
		// Saturday has no story: no daily issue.
		if r := f.run(t, srv, daily, at(27, 18, 0)); r.Issue != nil || r.Skipped != "no new articles" {
			t.Errorf("Saturday's daily run: %+v", r)
		}
		r := f.run(t, srv, daily, at(28, 18, 0))
		if r.Issue == nil || r.Issue.ID != series+"/2019-04-28" || r.Issue.Cadence() != daily {
			t.Fatalf("Sunday's daily run: %+v", r)
		}
		r = f.run(t, srv, weekly, at(29, 9, 0))
		if r.Issue == nil || r.Issue.ID != series+"/2019-W18" || r.Issue.Cadence() != weekly {
			t.Fatalf("Monday's weekly run: %+v", r)
		}
		// Two stories a minute and a half apart go in one email, once
		// two minutes have passed without another.
		f.put(t, story("fresh1", at(29, 10, 0)))
		f.put(t, story("fresh2", at(29, 10, 1)))
		if r := f.run(t, srv, storyC, at(29, 10, 2)); r.Issue != nil || r.Skipped != "not yet" {
			t.Errorf("story run while stories are coming: %+v", r)
		}
		r = f.run(t, srv, storyC, at(29, 10, 4))
		if r.Issue == nil || r.Issue.ID != series+"/story/fresh1" || r.Issue.Content.Subject != "Headline fresh2 (and 1 more)" {
			t.Fatalf("story run: %+v", r)
		}
		if r := f.run(t, srv, storyC, at(29, 10, 5)); r.Issue != nil || r.Skipped != "no new articles" {
			t.Errorf("story run with nothing new: %+v", r)
		}
		// A story that keeps company coming is sent once the first is
		// ten minutes old.
		for i, m := range []int{20, 22, 24, 26, 28, 30} {
			f.put(t, story("burst"+string(rune('a'+i)), at(29, 11, m)))
		}
		if r := f.run(t, srv, storyC, at(29, 11, 29)); r.Issue != nil {
			t.Errorf("story run within the burst: %+v", r)
		}
		if r := f.run(t, srv, storyC, at(29, 11, 31)); r.Issue == nil || r.Issue.ID != series+"/story/bursta" {
			t.Errorf("story run ten minutes into a burst: %+v", r)
		}

		for addr, want := range map[string][]string{
			w.Email: {"sun", "fri", "tue"},
			d.Email: {"sun"},
			s.Email: {"fresh2", "fresh1", "burstf", "burste", "burstd", "burstc", "burstb", "bursta"},
		} {
			if got := headlines(t, srv, addr); !slices.Equal(got, want) {
				t.Errorf("%s got %v, want %v", addr, got, want)
			}
		}
		if n := len(srv.received("elsewhere@example.com")); n != 0 {
			t.Errorf("a reader of another list got %d emails", n)
		}
		// Story mail follows the digest's bulk rules.
		m := srv.received(s.Email)[0]
		prefs, _ := f.subs.PreferencesURL(s)
		unsubPrefix := "<https://news.example.com/unsubscribe?token="
		if !strings.HasPrefix(m.Header.Get("List-Unsubscribe"), unsubPrefix) || m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" ||
			m.Header.Get("List-Id") != "<shanghai-70th.digest.example.com>" || m.Header.Get("Precedence") != "bulk" ||
			!strings.HasPrefix(m.Header.Get("Message-Id"), "<digest.shanghai-70th.story.fresh1.") {
			t.Errorf("story email headers: %v", m.Header)
		}
		body := textOf(t, srv.received(s.Email)[0])
		prefsPrefix := prefs[:strings.LastIndexByte(prefs, '=')+1]
		if !strings.Contains(body, prefsPrefix) || !strings.Contains(body, "https://news.example.com/digests/shanghai-70th/story/fresh1") {
			t.Errorf("story email lacks the preferences link or its browser page:\n%s", body)
		}
		for _, sub := range []*subscribers.Subscriber{w, d, s} {
			for _, m := range srv.received(sub.Email) {
				tok := regexp.MustCompile(`/preferences\?token=([A-Za-z0-9_%-]+)`).FindStringSubmatch(textOf(t, m))
				if tok == nil {
					t.Errorf("%s: an email without a preferences link", sub.Email)
					continue
				}
				raw, _ := url.QueryUnescape(tok[1])
				if c, err := f.subs.Signer().VerifyPreferences(raw, f.clock.Now()); err != nil || c.ID != sub.ID {
					t.Errorf("%s: the preferences link is for %d (%v)", sub.Email, c.ID, err)
				}
			}
		}
	})
}

// A reader who changes cadence between issues never gets a story twice,
// and one who moves to a more frequent cadence misses none: each issue of
// the new cadence starts where their mail stopped.
func TestCadenceChangeMailsNoStoryTwice(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := newCadenceFixture(t, st, "https://news.example.com")
		srv := startSMTP(t)
		r := f.subscribe(t, "r@example.com")           // daily, then weekly, story, daily
		q := f.subscribe(t, "q@example.com")           // weekly, then daily
		steady := f.subscribe(t, "steady@example.com") // weekly throughout
		change := func(sub *subscribers.Subscriber, c digest.Cadence, when time.Time) {
			t.Helper()
			f.clock.mu.Lock()
			f.clock.t = when
			f.clock.mu.Unlock()
			prefs, err := f.subs.PreferencesURL(sub)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(prefs)
			if _, err := f.subs.ChangePreferences(t.Context(), u.Query().Get("token"), subscribers.PreferenceChange{
				Lists: map[string]bool{series: true}, Cadences: map[string]subscribers.Cadence{series: c}}); err != nil {
				t.Fatal(err)
			}
		}
		may := func(day, hour, minute int) time.Time { return time.Date(2019, 5, day, hour, minute, 0, 0, newsroom) }
		change(r, daily, at(28, 12, 0))

		f.put(t, story("w18", at(25, 10, 0)))
		f.run(t, srv, weekly, at(29, 9, 0)) // W18 to q and steady
		f.put(t, story("a", at(30, 10, 0)))
		f.run(t, srv, daily, at(30, 18, 0)) // a to r
		change(r, weekly, may(1, 9, 0))
		f.put(t, story("b", may(2, 10, 0)))
		f.run(t, srv, daily, may(2, 18, 0)) // nobody daily now
		f.run(t, srv, weekly, may(6, 9, 0)) // W19: a and b to steady and q, b only to r
		change(r, storyC, may(7, 8, 0))
		f.put(t, story("c", may(7, 10, 0)))
		f.run(t, srv, storyC, may(7, 10, 5)) // c to r
		change(r, daily, may(7, 11, 0))
		f.put(t, story("d", may(7, 15, 0)))
		f.run(t, srv, daily, may(7, 18, 0)) // d only to r
		change(q, daily, may(8, 9, 0))
		f.put(t, story("e", may(8, 12, 0)))
		f.run(t, srv, daily, may(8, 18, 0))  // e to r; c, d (caught up) and e to q
		f.run(t, srv, weekly, may(13, 9, 0)) // W20: c, d, e to steady only

		for _, tc := range []struct {
			sub  *subscribers.Subscriber
			want []string
		}{
			{r, []string{"a", "b", "c", "d", "e"}},
			{q, []string{"w18", "b", "a", "e", "d", "c"}},
			{steady, []string{"w18", "b", "a", "e", "d", "c"}},
		} {
			got := headlines(t, srv, tc.sub.Email)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s got %v, want %v", tc.sub.Email, got, tc.want)
			}
			seen := map[string]bool{}
			for _, h := range got {
				if seen[h] {
					t.Errorf("%s got story %s twice", tc.sub.Email, h)
				}
				seen[h] = true
			}
		}
		// r's W19 copy counts what it holds; the browser copy is the
		// issue's own: a and b.
		var w19 string
		for _, m := range srv.received(r.Email) {
			if strings.Contains(m.Header.Get("Message-Id"), "2019-W19") {
				w19 = textOf(t, m)
			}
		}
		if !strings.Contains(w19, "1 new story since Tuesday 30 April 2019, 18:00") {
			t.Errorf("r's copy of week 19 does not count its one story:\n%s", w19)
		}
		iss, err := st.GetIssue(t.Context(), series+"/2019-W19")
		if err != nil {
			t.Fatal(err)
		}
		var frozen []string
		for _, a := range f.dg.Frozen(iss).Articles {
			frozen = append(frozen, a.Headline)
		}
		if !slices.Equal(frozen, []string{"Headline b", "Headline a"}) {
			t.Errorf("week 19's browser copy = %v", frozen)
		}
	})
}

// The browser copy of an issue is the issue as it was frozen (a story
// withdrawn since stays, an edit does not show), and the archive lists
// the issues of every cadence, each marked.
func TestBrowserCopyIsFrozen(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newCadenceFixture(t, st, "https://news.example.com")
	srv := startSMTP(t)
	f.subscribe(t, "weekly@example.com")
	sub := f.subscribe(t, "story@example.com")
	if err := st.SetCadence(t.Context(), sub.ID, series, weekly, storyC, at(20, 0, 0)); err != nil {
		t.Fatal(err)
	}
	a := story("kept", at(26, 11, 0))
	f.put(t, a)
	f.run(t, srv, weekly, at(29, 9, 0))
	f.put(t, story("solo", at(29, 10, 0)))
	f.run(t, srv, storyC, at(29, 10, 15))
	a.Status = article.StatusWithdrawn
	a.Headline = "Edited afterwards"
	a.Updated = at(29, 12, 0)
	f.put(t, a)

	mux := http.NewServeMux()
	f.webHandler(t).Register(mux)
	srvHTTP := httptest.NewServer(mux)
	defer srvHTTP.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srvHTTP.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/digests/shanghai-70th/2019-W18")
	if code != 200 || !strings.Contains(body, "Headline kept") || strings.Contains(body, "Edited afterwards") {
		t.Errorf("weekly browser copy: %d, has the frozen headline %v", code, strings.Contains(body, "Headline kept"))
	}
	code, body = get("/digests/shanghai-70th/story/solo")
	if code != 200 || !strings.Contains(body, "Headline solo") || !strings.Contains(body, "Each story") {
		t.Errorf("story browser copy: %d\n%s", code, body)
	}
	for _, p := range []string{"/digests/shanghai-70th/story/nope", "/digests/shanghai-70th/2019-04-31", "/digests/shanghai-70th/someday"} {
		if code, _ := get(p); code != 404 {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	code, body = get("/digests/shanghai-70th")
	for _, want := range []string{`<span class="tag">Weekly</span> <a href="/digests/shanghai-70th/2019-W18">Week 18, 2019</a>`,
		`<span class="tag">Each story</span> <a href="/digests/shanghai-70th/story/solo">Headline solo</a>`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("archive lacks %s", want)
		}
	}
	if strings.Index(body, "story/solo") > strings.Index(body, "2019-W18") {
		t.Error("the archive is not newest first")
	}
	code, body = get("/digests/shanghai-70th.atom")
	if code != 200 || !strings.Contains(body, "https://news.example.com/digests/shanghai-70th/story/solo") {
		t.Errorf("archive feed: %d\n%s", code, body)
	}
}

package digest_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/internal/testkit"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

func TestWeeks(t *testing.T) {
	w, err := digest.ParseWeek("2019-W17")
	if err != nil || w != (digest.Week{Year: 2019, Num: 17}) || w.String() != "2019-W17" {
		t.Fatalf("ParseWeek = %v, %v", w, err)
	}
	if got := w.Start(newsroom); !got.Equal(time.Date(2019, 4, 22, 0, 0, 0, 0, newsroom)) {
		t.Errorf("Start = %v", got)
	}
	if got := w.End(newsroom); !got.Equal(time.Date(2019, 4, 29, 0, 0, 0, 0, newsroom)) {
		t.Errorf("End = %v", got)
	}
	// Sunday 23:30 in Shanghai is still W17 though it is W17's Sunday
	// 15:30 UTC; Monday 00:30 Shanghai is W18 though UTC is still Sunday.
	if got := digest.WeekOf(time.Date(2019, 4, 28, 23, 30, 0, 0, newsroom), newsroom); got != w {
		t.Errorf("WeekOf(Sunday night) = %v", got)
	}
	if got := digest.WeekOf(time.Date(2019, 4, 28, 16, 30, 0, 0, time.UTC), newsroom); got.String() != "2019-W18" {
		t.Errorf("WeekOf(Monday 00:30 Shanghai) = %v", got)
	}
	for _, s := range []string{"2020-W53", "2019-w01", "2026-W01"} {
		if _, err := digest.ParseWeek(s); err != nil {
			t.Errorf("ParseWeek(%q): %v", s, err)
		}
	}
	for _, s := range []string{"2019-W53", "2019-W00", "2019-17", "W17", "2019-W17x", ""} {
		if _, err := digest.ParseWeek(s); err == nil {
			t.Errorf("ParseWeek(%q) accepted", s)
		}
	}
}

func TestPlanRenderAndPage(t *testing.T) {
	st := storagetest.SQLite(t)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := newFixture(t, st, srv.URL)
	f.webHandler(t).Register(mux)
	ctx := t.Context()
	var (
		p   *digest.Plan
		m   *mail.Message
		sub *subscribers.Subscriber
		iss *digest.Issue
	)
	testkit.Step(t, "no articles, no issue", func(t *testing.T) {
		p, err := f.dg.Plan(ctx, series, digest.WeekOf(now0, newsroom), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.dg.Create(ctx, p); !errors.Is(err, digest.ErrNoArticles) {
			t.Fatalf("Create without articles: %v, want ErrNoArticles", err)
		}
		if _, err := f.dg.Plan(ctx, "nope", digest.WeekOf(now0, newsroom), time.Time{}); !errors.Is(err, digest.ErrUnknownSeries) {
			t.Errorf("unknown series: %v", err)
		}
	})

	testkit.Step(t, "plan", func(t *testing.T) {
		f.seedArticles(t)
		var err error
		p, err = f.dg.Plan(ctx, series, digest.WeekOf(now0, newsroom), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range p.Articles {
			ids = append(ids, a.ID)
		}
		if strings.Join(ids, ",") != "escaped,second,first" {
			t.Fatalf("articles = %v, want escaped,second,first (newest first; no old, withdrawn, future or other series)", ids)
		}
		if p.Issue.ID != "shanghai-70th/2019-W18" || !p.Issue.Until.Equal(now0) || !p.Issue.Since.Equal(now0.Add(-7*24*time.Hour)) || p.Stored {
			t.Errorf("plan = %+v", p.Issue)
		}
		// --since overrides the first issue's 7 days.
		if p2, _ := f.dg.Plan(ctx, series, digest.WeekOf(now0, newsroom), now0.Add(-4*24*time.Hour)); len(p2.Articles) != 2 {
			t.Errorf("with since: %d articles, want 2", len(p2.Articles))
		}

	})

	testkit.Step(t, "email", func(t *testing.T) {
		sub = f.subscribe(t, "reader@example.com")
		var err error
		m, err = f.dg.Message(p, sub)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			`href="https://www.shine.cn/news/metro/1904221/"`, // canonical URL
			`href="` + srv.URL + `/articles/second"`,          // no canonical URL: ours
			`src="https://img.example.com/bund.jpg"`,
			"Headline first", "Deck first", "By Wu Qiong in Shanghai and Li Qian",
			"23 April 2019, 09:00 UTC",                  // published 6 days before Monday 09:00, Shanghai time, as pages show dates
			"3 new stories since Monday 22 April 2019.", // the intro's "since" carries its year
			"Stories commemorating the 70th anniversary",
			`href="` + srv.URL + `/digests/shanghai-70th/2019-W18"`,
			"Tom &amp; Jerry &lt;script&gt;",
			srv.URL + "/unsubscribe?token=",
		} {
			if !strings.Contains(m.HTML, want) {
				t.Errorf("HTML lacks %q", want)
			}
		}
		if strings.Contains(m.HTML, "<script>alert") {
			t.Error("headline not escaped")
		}
		if i, j := strings.Index(m.HTML, "Tom &amp; Jerry"), strings.Index(m.HTML, "Headline first"); i < 0 || j < i {
			t.Error("stories are not newest first in the email")
		}
		for _, want := range []string{"Headline first", "Headline second", "Deck second", srv.URL + "/unsubscribe?token=",
			"23 April 2019, 09:00 UTC+8"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("text lacks %q:\n%s", want, m.Text)
			}
		}
		// The stories' dates in words, no ISO week code.
		if m.Subject != "Shanghai 70th anniversary series: 23–27 April 2019" {
			t.Errorf("subject = %q", m.Subject)
		}
		lu := m.Headers["List-Unsubscribe"]
		if !strings.HasPrefix(lu, "<"+srv.URL+"/unsubscribe?token=") || strings.Contains(lu, "mailto:") /* no smtp.unsubscribe_mailbox */ ||
			m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe headers = %q / %q", lu, m.Headers["List-Unsubscribe-Post"])
		}
		if m.MessageID != "digest.shanghai-70th.2019-W18."+strconv.FormatInt(sub.ID, 10)+"@example.com" {
			t.Errorf("Message-ID = %q", m.MessageID)
		}

	})

	testkit.Step(t, "browser page", func(t *testing.T) {
		// The browser page exists once the issue does.
		get := func(path string) (int, string) {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, _ := get("/digests/shanghai-70th/2019-W18"); code != 404 {
			t.Errorf("page before the issue exists: %d", code)
		}
		var created bool
		var err error
		iss, created, err = f.dg.Create(ctx, p)
		if err != nil || !created {
			t.Fatal(created, err)
		}
		code, body := get("/digests/shanghai-70th/2019-W18")
		if code != 200 || !strings.Contains(body, "Headline second") || strings.Contains(body, "/unsubscribe?token=") {
			t.Errorf("page = %d, has articles %v, has an unsubscribe token %v", code, strings.Contains(body, "Headline second"), strings.Contains(body, "/unsubscribe?token="))
		}
		for _, path := range []string{"/digests/shanghai-70th/2019-W17", "/digests/nope/2019-W18", "/digests/shanghai-70th/bad"} {
			if code, _ := get(path); code != 404 {
				t.Errorf("%s: %d, want 404", path, code)
			}
		}

	})

	testkit.Step(t, "next week", func(t *testing.T) {
		// The next week's issue starts at this one's cut-off.
		f.clock.Add(7 * 24 * time.Hour)
		f.put(t, story("next", now0.Add(3*24*time.Hour)))
		p3, err := f.dg.Plan(ctx, series, digest.WeekOf(f.clock.Now(), newsroom), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !p3.Issue.Since.Equal(iss.Until) || len(p3.Articles) != 2 { // "future" (now0+1h) and "next"
			t.Errorf("next issue since %v (want %v), %d articles (want 2)", p3.Issue.Since, iss.Until, len(p3.Articles))
		}
		// Planning a stored week returns it as stored.
		if again, _ := f.dg.Plan(ctx, series, digest.WeekOf(now0, newsroom), time.Time{}); !again.Stored || len(again.Articles) != 3 {
			t.Errorf("stored plan = %+v", again)
		}
	})
}

func TestDateRange(t *testing.T) {
	d := func(y int, m time.Month, day, h int) time.Time { return time.Date(y, m, day, h, 0, 0, 0, newsroom) }
	for _, c := range []struct {
		a, b time.Time
		want string
	}{
		{d(2019, 4, 22, 9), d(2019, 4, 22, 23), "22 April 2019"},
		{d(2019, 4, 22, 9), d(2019, 4, 28, 9), "22–28 April 2019"},
		{d(2019, 4, 29, 9), d(2019, 5, 5, 9), "29 April – 5 May 2019"},
		{d(2019, 12, 30, 9), d(2020, 1, 3, 9), "30 December 2019 – 3 January 2020"},
		// b is shown in a's zone: 28 April 16:30 UTC is 29 April in Shanghai.
		{d(2019, 4, 22, 9), time.Date(2019, 4, 28, 16, 30, 0, 0, time.UTC), "22–29 April 2019"},
	} {
		if got := digest.DateRange(c.a, c.b); got != c.want {
			t.Errorf("DateRange(%v, %v) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

// A series' subject template (config series.N.subject) names what it
// wants; a template that names a field that does not exist is refused when
// the service starts.
func TestSubjectTemplate(t *testing.T) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, "https://news.example.com")
	f.seedArticles(t)
	cfg := f.cfg
	cfg.Series = []digest.Series{{Slug: series, Title: "Shanghai at 70", Subject: "{{.Series}} | week {{.Week}} | {{.Stories}} stories from {{.From.Format \"2 Jan\"}} to {{.To.Format \"2 Jan\"}}"}}
	dg, err := digest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dg.Plan(t.Context(), series, digest.WeekOf(now0, newsroom), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := dg.Render(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Shanghai at 70 | week 2019-W18 | 3 stories from 23 Apr to 27 Apr"; r.Subject != want {
		t.Errorf("subject = %q, want %q", r.Subject, want)
	}
	for _, bad := range []string{"{{.Serie}}", "{{.Series"} {
		cfg.Series[0].Subject = bad
		if _, err := digest.New(cfg); err == nil || !strings.Contains(err.Error(), series) {
			t.Errorf("subject %q: err = %v, want one naming the series", bad, err)
		}
	}
}

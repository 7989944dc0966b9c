package digest_test

import (
	"bytes"
	"context"
	"fmt"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	digestweb "github.com/syndicated/syndicated/digest/web"
	"github.com/syndicated/syndicated/internal/smtptest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/hermes"
	smtpmail "github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
	"github.com/syndicated/syndicated/templates"
)

const series = "shanghai-70th"

// now is Monday 29 April 2019, 09:00 in Shanghai: the W18 digest's time.
// newsroom is the zone the tests configure (config newsroom.zone).
var newsroom = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

var now0 = time.Date(2019, 4, 29, 9, 0, 0, 0, newsroom)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type nopTransport struct{}

func (nopTransport) Send(context.Context, *mail.Message) error { return nil }

type fixture struct {
	st    storage.Storage
	clock *clock
	subs  *subscribers.Service
	dg    *digest.Service
	cfg   digest.Config // what dg was made with
}

func newFixture(t testing.TB, st storage.Storage, baseURL string) *fixture {
	t.Helper()
	c := &clock{t: now0}
	render := hermes.New(hermes.Brand{Name: "Shanghai Daily", Link: baseURL + "/"})
	subs, err := subscribers.New(subscribers.Config{
		Confirmation: render,
		Store:        st, Mailer: nopTransport{}, Secret: []byte("digest-test-secret-0123456789"), BaseURL: baseURL,
		Lists: []subscribers.List{{Slug: series, Title: "Shanghai 70th anniversary series"}, {Slug: "other", Title: "Other"}},
		Now:   c.Now, SyncMail: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := digest.Config{
		Store: st, Articles: st, Subscribers: subs, BaseURL: baseURL,
		Series: []digest.Series{{Slug: series, Title: "Shanghai 70th anniversary series",
			Description: "Stories commemorating the 70th anniversary of the liberation of Shanghai."}},
		Renderer: render,
		Zone:     newsroom,
		From:     "Shanghai Daily <news@example.com>",
		Now:      c.Now,
	}
	dg, err := digest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, clock: c, subs: subs, dg: dg, cfg: cfg}
}

func (f *fixture) put(t testing.TB, a *article.Article) {
	t.Helper()
	if a.GUID == "" {
		a.GUID = "urn:test:" + a.ID
	}
	if a.Updated.IsZero() {
		a.Updated = a.Published
	}
	if _, err := f.st.PutArticle(t.Context(), a, a.Published); err != nil {
		t.Fatal(err)
	}
}

func story(id string, published time.Time) *article.Article {
	return &article.Article{ID: id, Section: "society", Series: []string{series}, Headline: "Headline " + id,
		Deck: "Deck " + id, Authors: []article.Author{{Name: "Wu Qiong"}}, Published: published,
		Body: []article.Page{{Number: 1, Paragraphs: []string{"Text."}}}, Status: article.StatusPublished}
}

// seedArticles stores three stories of the week before now0, plus ones
// that must stay out: older, withdrawn, future, another series.
func (f *fixture) seedArticles(t testing.TB) {
	f.put(t, story("old", now0.Add(-8*24*time.Hour)))
	a := story("first", now0.Add(-6*24*time.Hour))
	a.CanonicalURL = "https://www.shine.cn/news/metro/1904221/"
	a.Photo = &article.Photo{URL: "https://img.example.com/bund.jpg", Caption: "The Bund"}
	a.Authors = []article.Author{{Name: "Wu Qiong", Place: "Shanghai"}, {Name: "Li Qian"}}
	f.put(t, a)
	f.put(t, story("second", now0.Add(-3*24*time.Hour)))
	x := story("escaped", now0.Add(-2*24*time.Hour))
	x.Headline = `Tom & Jerry <script>alert(1)</script>`
	f.put(t, x)
	w := story("withdrawn", now0.Add(-2*24*time.Hour))
	w.Status = article.StatusWithdrawn
	f.put(t, w)
	f.put(t, story("future", now0.Add(time.Hour)))
	o := story("elsewhere", now0.Add(-time.Hour))
	o.Series = nil
	f.put(t, o)
}

func (f *fixture) subscribe(t *testing.T, email string, lists ...string) *subscribers.Subscriber {
	t.Helper()
	if len(lists) == 0 {
		lists = []string{series}
	}
	sub, err := f.subs.Add(t.Context(), email, "", lists, true)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// createIssue plans and creates this week's issue.
func (f *fixture) createIssue(t testing.TB) *digest.Issue {
	t.Helper()
	p, err := f.dg.Plan(t.Context(), series, digest.WeekOf(f.clock.Now(), newsroom), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	iss, _, err := f.dg.Create(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// smtpServer is the recording SMTP server (internal/smtptest) with faults
// chosen by the recipient's local part:
//
//	tempN@  451 at RCPT for the first N attempts
//	perm@   550 at RCPT (a hard bounce)
//	dropN@  connection dropped during DATA for the first N attempts
type smtpServer struct {
	*smtptest.Server
	addr string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	s.Server = smtptest.Start(t, smtptest.Script{
		Rcpt: func(to string) error {
			if strings.HasPrefix(to, "perm@") {
				return smtptest.Reply(550, 5, 1, 1, "no such user")
			}
			var limit int
			if _, _ = fmt.Sscanf(to, "temp%d@", &limit); limit > 0 && s.RcptAttempts(to) <= limit {
				return smtptest.Reply(451, 4, 3, 0, "try again later")
			}
			return nil
		},
		Data: func(to []string, _ []byte) error {
			for _, rcpt := range to {
				var limit int
				if _, _ = fmt.Sscanf(rcpt, "drop%d@", &limit); limit > 0 && s.RcptAttempts(rcpt) <= limit {
					return smtptest.ErrDrop
				}
			}
			return nil
		},
	})
	s.addr = s.Addr
	return s
}

// received returns the messages accepted for addr, parsed.
func (s *smtpServer) received(addr string) []*netmail.Message {
	var out []*netmail.Message
	for _, m := range s.Received() {
		if slices.Contains(m.To, addr) {
			if pm, err := netmail.ReadMessage(bytes.NewReader(m.Raw)); err == nil {
				out = append(out, pm)
			}
		}
	}
	return out
}

func (s *smtpServer) total() int { return s.Count() }

func (s *smtpServer) transport(t *testing.T) mail.Mailer {
	t.Helper()
	m, err := smtpmail.New(smtpmail.Config{URL: "smtp://" + s.addr + "?tls=none", From: "Shanghai Daily <news@example.com>",
		Timeout: 5 * time.Second, Conns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func (f *fixture) sender(tr mail.Transport, st digest.Store, worker string) *digest.Sender {
	return digest.NewSender(digest.SenderConfig{Store: st, Compose: f.dg.Compose, Transport: tr,
		Workers: 3, Batch: 6, Lease: 5 * time.Minute, Worker: worker, Now: f.clock.Now,
		Backoff: func(int) time.Duration { return time.Minute }})
}

// webHandler is the digest pages' handler with plain pages (no brand,
// the service's zone), as a site without configuration renders them.
func (f *fixture) webHandler(t testing.TB) *digestweb.Handler {
	t.Helper()
	site := templates.Site{Zone: f.dg.Zone(), BaseURL: strings.TrimSuffix(f.dg.ViewURL(""), "/digests/")}
	for _, s := range f.dg.AllSeries() {
		site.Digests = append(site.Digests, templates.Feed{Slug: s.Slug, Title: s.Title, Description: s.Description, Series: true})
	}
	pages, err := templates.New(site)
	if err != nil {
		t.Fatal(err)
	}
	return digestweb.New(f.dg, nil, pages)
}

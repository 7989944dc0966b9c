package digest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	digestweb "github.com/syndicated/syndicated/digest/web"
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

// smtpServer is an in-process SMTP server with faults chosen by the
// recipient's local part:
//
//	tempN@  451 at RCPT for the first N attempts
//	perm@   550 at RCPT (a hard bounce)
//	dropN@  connection dropped during DATA for the first N attempts
type smtpServer struct {
	addr     string
	mu       sync.Mutex
	attempts map[string]int
	got      map[string][]*netmail.Message // by recipient
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	s := &smtpServer{attempts: map[string]int{}, got: map[string][]*netmail.Message{}}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *smtpServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{s: s, c: c}, nil
}

type smtpSession struct {
	s  *smtpServer
	c  *smtp.Conn
	to []string
}

func (x *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	x.s.attempts[to]++
	n := x.s.attempts[to]
	x.s.mu.Unlock()
	if strings.HasPrefix(to, "perm@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	var limit int
	if _, _ = fmt.Sscanf(to, "temp%d@", &limit); limit > 0 && n <= limit {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	x.to = append(x.to, to)
	return nil
}
func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range x.to {
		var limit int
		_, _ = fmt.Sscanf(to, "drop%d@", &limit)
		x.s.mu.Lock()
		n := x.s.attempts[to]
		x.s.mu.Unlock()
		if limit > 0 && n <= limit {
			_ = x.c.Conn().Close()
			return errors.New("dropped")
		}
	}
	m, err := netmail.ReadMessage(strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	for _, to := range x.to {
		x.s.got[to] = append(x.s.got[to], m)
	}
	x.s.mu.Unlock()
	return nil
}
func (x *smtpSession) Reset()        { x.to = nil }
func (x *smtpSession) Logout() error { return nil }

func (s *smtpServer) received(addr string) []*netmail.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[addr]
}

func (s *smtpServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ms := range s.got {
		n += len(ms)
	}
	return n
}

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

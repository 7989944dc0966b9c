package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/syndicated/syndicated/article"
	smail "github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// Series is a configured series the digest is sent for.
type Series struct {
	Slug        string
	Title       string
	Description string // the digest's intro
	// Subject is the template of the issues' subject line (see
	// SubjectData); empty: DefaultSubject. Story issues' subject is
	// StorySubject.
	Subject string
	// Cadences the series offers and its default (none: weekly only),
	// and each one's schedule (a cron spec, for Jobs).
	Cadences       []Cadence
	DefaultCadence Cadence
	Schedules      map[Cadence]string
}

// Config is what a Service needs.
type Config struct {
	Store Store
	// Admin, when set, lets RetryFailed make failed deliveries pending
	// again (the store: storage.Storage).
	Admin       Admin
	Articles    article.Store
	Subscribers *subscribers.Service // unsubscribe links
	Series      []Series
	BaseURL     string
	// Zone is the newsroom's (config newsroom.zone): weeks run from Monday
	// 00:00 there and emails show dates in it.
	Zone     *time.Location
	Renderer Renderer // lays the issue out as HTML and text (mail/hermes)
	// From is smtp.from: its domain is the Message-IDs'.
	From string
	// UnsubscribeMailbox is smtp.unsubscribe_mailbox: when set, a mailto:
	// List-Unsubscribe beside the https one; empty, https only (nothing
	// would read the mail).
	UnsubscribeMailbox string
	Now                func() time.Time // default time.Now
	Log                *slog.Logger
	// Returns, when set, gives each copy its own envelope sender and
	// mailto: unsubscribe address (VERP, package bounce), so that mail
	// coming back later names the copy.
	Returns ReturnAddresses
}

// ReturnAddresses are the addresses of one copy that mail comes back to.
type ReturnAddresses interface {
	// ReturnPath is the envelope sender of the issue's copy to the
	// subscriber: where delivery status notifications go.
	ReturnPath(issueID string, subscriberID int64) string
	// UnsubscribeAddress is the copy's mailto: List-Unsubscribe address,
	// or "" when mail to it is not read.
	UnsubscribeAddress(issueID string, subscriberID int64) string
}

// Service plans, creates and renders issues. It is safe for concurrent use.
type Service struct {
	cfg    Config
	domain string
	mu     sync.Mutex
	mails  map[string]*issueMail // issue id → the issue rendered once, for sending

	cadences CadenceStore // nil: weekly issues only, through Store
}

// ErrNoArticles is returned by Create when the series has no new articles:
// no issue, no email.
var ErrNoArticles = errors.New("no new articles since the last digest")

// ErrUnknownSeries is returned for a series that is not configured.
var ErrUnknownSeries = errors.New("unknown series")

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Articles == nil || cfg.Subscribers == nil || cfg.Renderer == nil || cfg.Zone == nil {
		return nil, errors.New("digest: Store, Articles, Subscribers, Renderer and Zone are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	for _, se := range cfg.Series {
		if _, err := ParseSubject(se.Subject); err != nil {
			return nil, fmt.Errorf("digest: series %s: subject %q: %w", se.Slug, se.Subject, err)
		}
	}
	s := &Service{cfg: cfg, mails: map[string]*issueMail{}, domain: "syndicated.local"}
	s.cadences, _ = cfg.Store.(CadenceStore)
	if cfg.From != "" {
		a, err := mail.ParseAddress(cfg.From)
		if err != nil {
			return nil, fmt.Errorf("digest: from %q: %w", cfg.From, err)
		}
		if at := strings.LastIndexByte(a.Address, '@'); at >= 0 {
			s.domain = a.Address[at+1:]
		}
	}
	return s, nil
}

// Series returns the configured series with this slug.
func (s *Service) Series(slug string) (Series, error) {
	for _, se := range s.cfg.Series {
		if se.Slug == slug {
			return se, nil
		}
	}
	return Series{}, fmt.Errorf("%w %q", ErrUnknownSeries, slug)
}

// AllSeries returns the configured series.
func (s *Service) AllSeries() []Series { return append([]Series(nil), s.cfg.Series...) }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.cfg.Now() }

// Zone is the newsroom's zone.
func (s *Service) Zone() *time.Location { return s.cfg.Zone }

// Week is the ISO week t falls in, in the newsroom's zone.
func (s *Service) Week(t time.Time) Week { return WeekOf(t, s.cfg.Zone) }

// Plan is an issue and its articles, stored or not.
type Plan struct {
	Issue    Issue
	Articles []*article.Article // newest first
	Stored   bool               // the issue exists in the store
}

// Plan works out the issue of series for week w. A stored issue is
// returned as stored. Otherwise its articles are those published after the
// previous issue's cut-off (none: since, or else 7 days before) up to the
// end of the week or now, whichever is first.
func (s *Service) Plan(ctx context.Context, series string, w Week, since time.Time) (*Plan, error) {
	return s.PlanAt(ctx, series, w, since, s.cfg.Now())
}

// PlanAt is Plan as it was at time at: an issue not stored yet holds the
// articles published up to at (or the week's end, if earlier). Catching up
// a missed scheduled run plans at the time it should have run.
func (s *Service) PlanAt(ctx context.Context, series string, w Week, since, at time.Time) (*Plan, error) {
	if _, err := s.Series(series); err != nil {
		return nil, err
	}
	id := IssueID(series, w)
	if p, err := s.stored(ctx, id); p != nil || err != nil {
		return p, err
	}
	p, err := s.plan(ctx, series, id, since, earlier(at, w.End(s.cfg.Zone)), 7*24*time.Hour)
	if err == nil {
		p.Issue.Week = w
	}
	return p, err
}

// Stored returns the stored issue of series for week w with its articles;
// ErrNotFound when there is none.
func (s *Service) Stored(ctx context.Context, series string, w Week) (*Plan, error) {
	iss, err := s.cfg.Store.GetIssue(ctx, IssueID(series, w))
	if err != nil {
		return nil, err
	}
	arts, err := s.Articles(ctx, iss)
	if err != nil {
		return nil, err
	}
	return &Plan{Issue: *iss, Articles: arts, Stored: true}, nil
}

// Create stores the issue p plans, with its recipients and its content
// laid out now (every reader gets the same email, whatever happens to the
// articles later), unless it has no articles (ErrNoArticles) or no
// recipients (ErrNoRecipients). Creating an issue that exists does nothing.
func (s *Service) Create(ctx context.Context, p *Plan) (*Issue, bool, error) {
	if p.Stored {
		return &p.Issue, false, nil
	}
	if len(p.Articles) == 0 {
		return nil, false, fmt.Errorf("%s: %w", p.Issue.ID, ErrNoArticles)
	}
	se, err := s.Series(p.Issue.Series)
	if err != nil {
		return nil, false, err
	}
	if s.cadences != nil {
		return s.createCadence(ctx, p, se)
	}
	c, err := s.Layout(p)
	if err != nil {
		return nil, false, err
	}
	iss := p.Issue
	iss.Content = c
	return s.cfg.Store.CreateIssue(ctx, iss, s.cfg.Now())
}

// Articles returns the series' visible articles published in (Since,
// Until] of iss, newest first.
func (s *Service) Articles(ctx context.Context, iss *Issue) ([]*article.Article, error) {
	const page = 100
	var out []*article.Article
	for off := 0; ; off += page {
		as, err := s.cfg.Articles.ListArticles(ctx, article.Query{Series: iss.Series, Status: article.StatusPublished,
			PublishedBefore: iss.Until, Limit: page, Offset: off})
		if err != nil {
			return nil, fmt.Errorf("articles of %s: %w", iss.ID, err)
		}
		for _, a := range as {
			if !a.Published.After(iss.Since) {
				return out, nil
			}
			out = append(out, a)
		}
		if len(as) < page {
			return out, nil
		}
	}
}

// ViewURL is the issue's "view in browser" page.
func (s *Service) ViewURL(id string) string { return s.cfg.BaseURL + "/digests/" + id }

// ArticleURL is where a headline links: the canonical URL when it is an
// http(s) URL, else the article's page here.
func (s *Service) ArticleURL(a *article.Article) string {
	if u, err := url.Parse(a.CanonicalURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		return a.CanonicalURL
	}
	return s.cfg.BaseURL + "/articles/" + url.PathEscape(a.ID)
}

// Recipient is who an issue is rendered for; nil renders the browser copy.
type Recipient struct {
	Name           string
	UnsubscribeURL string
	PreferencesURL string
}

// Rendered is one issue rendered for one recipient.
type Rendered struct {
	Subject string
	HTML    string
	Text    string
}

// Email is an issue laid out for one recipient, or for the browser: what a
// Renderer turns into HTML and plain text.
type Email struct {
	Title          string   // the series title
	Intros         []string // the series description, the issue's summary (the last)
	Name           string   // the recipient's name, may be empty
	ViewURL        string   // the "view in browser" page; empty in the browser copy
	UnsubscribeURL string   // one-click unsubscribe; empty in the browser copy
	PreferencesURL string   // the reader's preference page; empty in the browser copy
	Articles       []ArticleView
	// Since is the issue's: Articles published at or before it are only
	// in the copies of readers catching up (zero in content laid out
	// before it was kept: every article is everyone's).
	Since   time.Time `json:",omitzero"`
	Cadence string    `json:",omitempty"` // weekly, daily or story
}

// ArticleView is one article of an Email, its dates already in the
// newsroom's zone.
type ArticleView struct {
	URL, Headline, Deck, Byline string
	Date                        string // e.g. "Monday 22 April 2019, 09:00"
	DateTime                    string // RFC 3339
	Photo                       *article.Photo
	// Published (UTC), Section (slug) and Lang are kept from the article
	// as it was when the issue was made (zero in older content).
	Published time.Time `json:",omitzero"`
	Section   string    `json:",omitempty"`
	Lang      string    `json:",omitempty"`
}

// Renderer renders an Email as HTML and plain text.
type Renderer interface {
	RenderDigest(e *Email) (html, text string, err error)
}

// Layout is the content of the issue p: its stored content, or else its
// subject and Email laid out from p.Articles, without a reader.
func (s *Service) Layout(p *Plan) (*Content, error) {
	if p.Issue.Content != nil {
		return p.Issue.Content, nil
	}
	se, err := s.Series(p.Issue.Series)
	if err != nil {
		return nil, err
	}
	return s.layout(p, se, nil)
}

// layout lays p out; extra are older stories (published at or before the
// issue's Since, newest first) that only readers catching up get.
func (s *Service) layout(p *Plan, se Series, extra []*article.Article) (*Content, error) {
	subject, err := s.subject(p, se)
	if err != nil {
		return nil, err
	}
	return &Content{Subject: subject, Email: *s.email(p, se, extra)}, nil
}

// Render renders the issue for rcpt (nil: the browser copy, without an
// unsubscribe link).
func (s *Service) Render(p *Plan, rcpt *Recipient) (*Rendered, error) {
	c, err := s.Layout(p)
	if err != nil {
		return nil, err
	}
	return s.render(p.Issue.ID, c, rcpt)
}

// render lays c out for rcpt.
func (s *Service) render(issueID string, c *Content, rcpt *Recipient) (*Rendered, error) {
	e := c.Email
	if rcpt != nil {
		e.Name = rcpt.Name
		e.ViewURL = s.ViewURL(issueID)
		e.UnsubscribeURL = rcpt.UnsubscribeURL
		e.PreferencesURL = rcpt.PreferencesURL
	}
	html, text, err := s.cfg.Renderer.RenderDigest(&e)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", issueID, err)
	}
	return &Rendered{Subject: c.Subject, HTML: html, Text: text}, nil
}

func stories(n int) string {
	if n == 1 {
		return "1 new story"
	}
	return fmt.Sprintf("%d new stories", n)
}

// MessageID is the stable Message-ID of the issue to a subscriber, so that
// a copy sent again after a crash can be recognised as the same message.
func (s *Service) MessageID(issueID string, subscriberID int64) string {
	return fmt.Sprintf("digest.%s.%d@%s", strings.ReplaceAll(issueID, "/", "."), subscriberID, s.domain)
}

// Message renders the issue p for sub: the email, its List-Unsubscribe
// headers and its stable Message-ID.
func (s *Service) Message(p *Plan, sub *subscribers.Subscriber) (*smail.Message, error) {
	unsub, err := s.cfg.Subscribers.UnsubscribeURL(sub, p.Issue.Series)
	if err != nil {
		return nil, err
	}
	prefs, err := s.cfg.Subscribers.PreferencesURL(sub)
	if err != nil {
		return nil, err
	}
	r, err := s.Render(p, &Recipient{Name: sub.Name, UnsubscribeURL: unsub, PreferencesURL: prefs})
	if err != nil {
		return nil, err
	}
	m := s.envelope(&p.Issue, sub, unsub, r.Subject)
	m.HTML, m.Text = r.HTML, r.Text
	return m, nil
}

// envelope is the message of the issue to sub without its body.
func (s *Service) envelope(iss *Issue, sub *subscribers.Subscriber, unsub, subject string) *smail.Message {
	m := &smail.Message{To: sub.Email, ToName: sub.Name, Subject: subject,
		MessageID: s.MessageID(iss.ID, sub.ID),
		Headers: map[string]string{
			"List-Id":    fmt.Sprintf("<%s.digest.%s>", iss.Series, s.domain),
			"Precedence": "bulk",
		}}
	box := s.cfg.UnsubscribeMailbox
	if r := s.cfg.Returns; r != nil {
		m.EnvelopeFrom = r.ReturnPath(iss.ID, sub.ID)
		if a := r.UnsubscribeAddress(iss.ID, sub.ID); a != "" {
			box = a
		}
	}
	mailto := ""
	if box != "" {
		mailto = "mailto:" + box + "?subject=unsubscribe"
	}
	m.SetListUnsubscribe(unsub, mailto)
	return m
}

// Compose is the sender's render stage. The issue is rendered once, with
// placeholders for the reader's name and unsubscribe URL, and kept while it
// is being sent; each copy splices its reader's values in (see
// issueMail.fill), or is rendered in full when a value cannot be spliced.
func (s *Service) Compose(ctx context.Context, iss *Issue, sub *subscribers.Subscriber) (*smail.Message, error) {
	unsub, err := s.cfg.Subscribers.UnsubscribeURL(sub, iss.Series)
	if err != nil {
		return nil, err
	}
	prefs, err := s.cfg.Subscribers.PreferencesURL(sub)
	if err != nil {
		return nil, err
	}
	im, err := s.issueMail(ctx, iss, unsubscribePrefix(unsub), unsubscribePrefix(prefs))
	if err != nil {
		return nil, err
	}
	if after, ok := im.cutoffs[sub.ID]; ok {
		if im, err = s.variant(im, iss.ID, after); err != nil {
			return nil, err
		}
	}
	m := s.envelope(iss, sub, unsub, im.content.Subject)
	if body := im.fill(sub.Name, unsub, prefs); body != nil {
		m.Body = body
		return m, nil
	}
	r, err := s.render(iss.ID, im.content, &Recipient{Name: sub.Name, UnsubscribeURL: unsub, PreferencesURL: prefs})
	if err != nil {
		return nil, err
	}
	m.HTML, m.Text = r.HTML, r.Text
	return m, nil
}

// issueMail returns the issue's content rendered once, from the cache;
// prefix and prefs are the unsubscribe and preferences URLs' parts before
// their tokens.
func (s *Service) issueMail(ctx context.Context, iss *Issue, prefix, prefs string) (*issueMail, error) {
	s.mu.Lock()
	im, ok := s.mails[iss.ID]
	s.mu.Unlock()
	if ok {
		return im, nil
	}
	c := iss.Content
	if c == nil { // an issue stored before content was kept
		arts, err := s.Articles(ctx, iss)
		if err != nil {
			return nil, err
		}
		if c, err = s.Layout(&Plan{Issue: *iss, Articles: arts, Stored: true}); err != nil {
			return nil, err
		}
	}
	// The issue's own readers get its own stories; the older ones it
	// holds are for readers catching up (variant).
	own := *c
	own.Email = s.forReader(c.Email, c.Email.Since)
	im, err := s.prepare(iss.ID, &own, prefix, prefs)
	if err != nil {
		return nil, err
	}
	im.full = c
	if s.cadences != nil {
		if im.cutoffs, err = s.cadences.IssueCutoffs(ctx, iss.ID); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if len(s.mails) > 16 {
		clear(s.mails)
	}
	s.mails[iss.ID] = im
	s.mu.Unlock()
	return im, nil
}

// Issues lists the series' stored issues, newest week first;
// ErrUnknownSeries for a series not configured.
func (s *Service) Issues(ctx context.Context, series string) ([]*Issue, error) {
	if _, err := s.Series(series); err != nil {
		return nil, err
	}
	all, err := s.cfg.Store.ListIssues(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("issues of %s: %w", series, err)
	}
	var out []*Issue
	for _, iss := range all {
		if iss.Series == series {
			out = append(out, iss)
		}
	}
	slices.SortStableFunc(out, func(a, b *Issue) int { return b.Until.Compare(a.Until) })
	return out, nil
}

// IssuesPage lists the series' stored issues of every cadence, newest
// first: limit of them after skipping offset. ErrUnknownSeries for a
// series not configured.
func (s *Service) IssuesPage(ctx context.Context, series string, limit, offset int) ([]*Issue, error) {
	if _, err := s.Series(series); err != nil {
		return nil, err
	}
	if s.cadences == nil {
		all, err := s.Issues(ctx, series)
		if err != nil {
			return nil, err
		}
		return all[min(offset, len(all)):min(offset+limit, len(all))], nil
	}
	return s.cadences.SeriesIssues(ctx, series, limit, offset)
}

// Recipients are the readers the issue p plans would go to if it were
// created now (for a dry run), as they are now.
func (s *Service) Recipients(ctx context.Context, p *Plan) ([]*subscribers.Subscriber, error) {
	se, err := s.Series(p.Issue.Series)
	if err != nil {
		return nil, err
	}
	if s.cadences == nil {
		return s.cfg.Subscribers.List(ctx, subscribers.Filter{Status: subscribers.StatusActive, List: p.Issue.Series})
	}
	ids, err := s.cadences.Recipients(ctx, recipientQuery(se, p.Issue.Cadence(), s.cfg.Now()))
	if err != nil {
		return nil, err
	}
	byID, err := s.cfg.Store.GetSubscribersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*subscribers.Subscriber, 0, len(ids))
	for _, id := range ids {
		if sub := byID[id]; sub != nil {
			out = append(out, sub)
		}
	}
	return out, nil
}

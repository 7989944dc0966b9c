package digest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/subscribers"
)

// Issues of every cadence. A series offers some of the cadences (weekly,
// the default, daily and story); each reader of it gets one. Each cadence
// makes issues the way the weekly digest does: an issue holds the series'
// stories published in (Since, Until], is frozen when it is created, and
// its recipients, the readers of that cadence, are snapshotted as the
// outbox's deliveries. Ids say what an issue is:
//
//	shanghai-70th/2019-W17        weekly: one per ISO week
//	shanghai-70th/2019-04-24      daily: one per day (in the newsroom's zone)
//	shanghai-70th/story/ID        story: the stories published since the
//	                              previous story issue, named by the first
//
// Readers who change cadence: each change records how far the series'
// mail to the reader has gone (the Until of the last issue they got). The
// next issue of their new cadence gives them only stories after that (no
// story twice), and reaches back to it when it is earlier than the issue's
// Since, up to CatchUpLimit (no story missed): such a recipient has a
// cutoff, and the issue's content holds the older stories too.

// Cadence is how often a reader gets a series (subscribers.Cadence).
type Cadence = subscribers.Cadence

// CatchUpLimit bounds how far back an issue reaches for a reader who moved
// to a more frequent cadence.
const CatchUpLimit = 7 * 24 * time.Hour

// Story issues gather stories published close together: a story issue is
// made once StoryQuiet has passed without a new story of the series, or
// once its first story is StoryMaxWait old, whichever comes first.
const (
	StoryQuiet   = 2 * time.Minute
	StoryMaxWait = 10 * time.Minute
)

// Cadence is the kind of issue iss is, read from its id.
func (iss *Issue) Cadence() Cadence { return CadenceOfID(iss.ID) }

// CadenceOfID is the cadence of the issue with this id.
func CadenceOfID(id string) Cadence {
	_, rest, _ := strings.Cut(id, "/")
	switch {
	case strings.HasPrefix(rest, "story/"):
		return subscribers.CadenceStory
	case len(rest) == len(time.DateOnly):
		return subscribers.CadenceDaily
	}
	return subscribers.CadenceWeekly
}

// DayID names the daily issue of series for the day of t in loc.
func DayID(series string, t time.Time, loc *time.Location) string {
	return series + "/" + t.In(loc).Format(time.DateOnly)
}

// StoryID names the story issue of series whose first story is articleID.
func StoryID(series, articleID string) string { return series + "/story/" + articleID }

// ParseDay reads "2019-04-24" as that day's midnight in loc.
func ParseDay(s string, loc *time.Location) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(s), loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: want YYYY-MM-DD, e.g. 2019-04-24", s)
	}
	return d, nil
}

// IssuePath is the issue's path under /digests/ (its id with the story's
// article id escaped).
func IssuePath(id string) string {
	if series, rest, ok := strings.Cut(id, "/story/"); ok {
		return series + "/story/" + url.PathEscape(rest)
	}
	return id
}

// RecipientQuery selects an issue's recipients: the active subscribers
// with an active subscription to List who are not paused at Now and whose
// cadence for the list is Cadence. A reader without a choice, or whose
// choice the list no longer offers, gets the list's default cadence: they
// are selected when Default is true. Offered lists what the list offers.
type RecipientQuery struct {
	List    string
	Cadence Cadence
	Default bool
	Offered []Cadence
	Now     time.Time
	// Floor is the earliest a recipient's copy may start: an issue's
	// content holds no story published at or before it. Zero: Since.
	Floor time.Time
}

// CadenceStore is what issues of every cadence need of the store beside
// Store.
type CadenceStore interface {
	// CreateCadenceIssue creates iss for the recipients q selects, in one
	// transaction under the list's issue lock (which a change of cadence
	// also takes): the recipients, in subscriber order, become the
	// issue's deliveries (as CreateIssue does). A recipient whose mail
	// of the list has gone past iss.Since (they changed cadence) gets a
	// cutoff there, and one whose mail has reached iss.Until is left out;
	// one who moved to a more frequent cadence gets a cutoff back where
	// their mail stopped, but not before q.Floor. The issue is stored
	// with its cadence. ErrNoRecipients when nobody is selected (nothing
	// is stored); an existing issue is returned as it is (created false).
	CreateCadenceIssue(ctx context.Context, iss Issue, q RecipientQuery, now time.Time) (*Issue, bool, error)
	// LastIssueOf is the series' issue of cadence c with the latest Until
	// other than exceptID; ErrNotFound when there is none.
	LastIssueOf(ctx context.Context, series string, c Cadence, exceptID string) (*Issue, error)
	// CatchUpFrom is the earliest point before since where the mail of a
	// reader q selects stopped when they moved to this cadence (zero when
	// none): how far back the issue's content must reach.
	CatchUpFrom(ctx context.Context, q RecipientQuery, since time.Time) (time.Time, error)
	// Recipients are the ids of the subscribers q selects now, in order
	// (what CreateCadenceIssue would take, before coverage).
	Recipients(ctx context.Context, q RecipientQuery) ([]int64, error)
	// IssueCutoffs returns the recipients of the issue whose copy starts
	// elsewhere than its Since, and where.
	IssueCutoffs(ctx context.Context, issueID string) (map[int64]time.Time, error)
	// SeriesIssues lists the series' issues of every cadence, newest
	// Until first, limit of them after skipping offset.
	SeriesIssues(ctx context.Context, series string, limit, offset int) ([]*Issue, error)
}

// ErrNotYet is returned by PlanStory while the stories since the last
// story issue may still be joined by others (see StoryQuiet).
var ErrNotYet = errors.New("stories may still be coming: not yet")

// storyFirstSpan is how far back the first story issue of a series looks
// (later ones start where the previous ended), and the most any story
// issue reaches back after the daemon was down.
const storyFirstSpan = 24 * time.Hour

// offer is what the series offers: its cadences and default.
func (se Series) offer() subscribers.Offer {
	return subscribers.List{Cadences: se.Cadences, DefaultCadence: se.DefaultCadence}.Offer()
}

// Offers reports whether the series offers cadence c.
func (se Series) Offers(c Cadence) bool { return slices.Contains(se.offer().Cadences, c) }

// recipientQuery selects the readers of se at cadence c at now.
func recipientQuery(se Series, c Cadence, now time.Time) RecipientQuery {
	o := se.offer()
	return RecipientQuery{List: se.Slug, Cadence: c, Default: c == o.Default, Offered: o.Cadences, Now: now}
}

// lastUntil is the Until of the series' last issue of cadence c other
// than exceptID, or zero when there is none.
func (s *Service) lastUntil(ctx context.Context, series string, c Cadence, exceptID string) (time.Time, error) {
	var (
		prev *Issue
		err  error
	)
	if s.cadences != nil {
		prev, err = s.cadences.LastIssueOf(ctx, series, c, exceptID)
	} else {
		prev, err = s.cfg.Store.LastIssue(ctx, series, exceptID)
	}
	switch {
	case err == nil:
		return prev.Until, nil
	case errors.Is(err, ErrNotFound):
		return time.Time{}, nil
	}
	return time.Time{}, err
}

// stored returns the plan of the stored issue id, or nil when there is
// none.
func (s *Service) stored(ctx context.Context, id string) (*Plan, error) {
	iss, err := s.cfg.Store.GetIssue(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	arts, err := s.Articles(ctx, iss)
	if err != nil {
		return nil, err
	}
	return &Plan{Issue: *iss, Articles: arts, Stored: true}, nil
}

// plan is the plan of a new issue id of series for (since, until]; a zero
// since is the previous issue of its cadence's until, or else until less
// first.
func (s *Service) plan(ctx context.Context, series, id string, since, until time.Time, first time.Duration) (*Plan, error) {
	until = until.UTC().Truncate(time.Microsecond)
	if since.IsZero() {
		prev, err := s.lastUntil(ctx, series, CadenceOfID(id), id)
		if err != nil {
			return nil, err
		}
		since = prev
		if since.IsZero() {
			since = until.Add(-first)
		}
	}
	iss := Issue{ID: id, Series: series, Week: WeekOf(until, s.cfg.Zone), Since: since.UTC().Truncate(time.Microsecond), Until: until}
	arts, err := s.Articles(ctx, &iss)
	if err != nil {
		return nil, err
	}
	return &Plan{Issue: iss, Articles: arts}, nil
}

// PlanDay works out the daily issue of series for the day of day (in the
// newsroom's zone) as it stands at time at: a stored issue as stored;
// otherwise the series' articles published after the previous daily
// issue's cut-off (none: since, or else a day before) up to at or the
// day's end, whichever is first.
func (s *Service) PlanDay(ctx context.Context, series string, day time.Time, since, at time.Time) (*Plan, error) {
	if _, err := s.Series(series); err != nil {
		return nil, err
	}
	id := DayID(series, day, s.cfg.Zone)
	if p, err := s.stored(ctx, id); p != nil || err != nil {
		return p, err
	}
	d := day.In(s.cfg.Zone)
	end := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, s.cfg.Zone)
	return s.plan(ctx, series, id, since, earlier(at, end), 24*time.Hour)
}

// PlanStory works out the story issue of series at time at: the series'
// articles published since the previous story issue (at most a day
// back), named by the first of them. ErrNotYet while they may still be
// joined by others: the newest is less than StoryQuiet old and the oldest
// less than StoryMaxWait. A plan without articles means nothing is new.
func (s *Service) PlanStory(ctx context.Context, series string, at time.Time) (*Plan, error) {
	if _, err := s.Series(series); err != nil {
		return nil, err
	}
	since, err := s.lastUntil(ctx, series, subscribers.CadenceStory, "")
	if err != nil {
		return nil, err
	}
	if floor := at.Add(-storyFirstSpan); since.Before(floor) {
		since = floor
	}
	p, err := s.plan(ctx, series, StoryID(series, "-"), since, at, storyFirstSpan)
	if err != nil || len(p.Articles) == 0 {
		return p, err
	}
	newest, oldest := p.Articles[0], p.Articles[len(p.Articles)-1]
	if at.Sub(newest.Published) < StoryQuiet && at.Sub(oldest.Published) < StoryMaxWait {
		return p, ErrNotYet
	}
	p.Issue.ID = StoryID(series, oldest.ID)
	if stored, err := s.stored(ctx, p.Issue.ID); stored != nil || err != nil {
		return stored, err
	}
	return p, nil
}

// StoredIssue returns the stored issue with this id and its articles as
// they are now; ErrNotFound when there is none.
func (s *Service) StoredIssue(ctx context.Context, id string) (*Plan, error) {
	p, err := s.stored(ctx, id)
	if err == nil && p == nil {
		err = fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return p, err
}

// createCadence stores the issue p plans for the readers of its cadence,
// with its content laid out now. Readers who moved to this cadence from a
// less frequent one get the stories since their mail stopped (up to
// CatchUpLimit before the issue's Since): the content holds those too.
func (s *Service) createCadence(ctx context.Context, p *Plan, se Series) (*Issue, bool, error) {
	now := s.cfg.Now()
	q := recipientQuery(se, p.Issue.Cadence(), now)
	from, err := s.cadences.CatchUpFrom(ctx, q, p.Issue.Since)
	if err != nil {
		return nil, false, err
	}
	var extra []*article.Article
	if !from.IsZero() {
		q.Floor = later(from, p.Issue.Since.Add(-CatchUpLimit))
		older := Issue{ID: p.Issue.ID, Series: p.Issue.Series, Since: q.Floor, Until: p.Issue.Since}
		if extra, err = s.Articles(ctx, &older); err != nil {
			return nil, false, err
		}
	}
	c, err := s.layout(p, se, extra)
	if err != nil {
		return nil, false, err
	}
	iss := p.Issue
	iss.Content = c
	return s.cadences.CreateCadenceIssue(ctx, iss, q, now)
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// IssueTitle names an issue for readers: "Week 17, 2019", "Wednesday 24
// April 2019", or a story issue's subject (its newest headline).
func IssueTitle(iss *Issue, loc *time.Location) string {
	switch iss.Cadence() {
	case subscribers.CadenceDaily:
		_, day, _ := strings.Cut(iss.ID, "/")
		if d, err := ParseDay(day, loc); err == nil {
			return d.Format("Monday 2 January 2006")
		}
		return day
	case subscribers.CadenceStory:
		if iss.Content != nil && iss.Content.Subject != "" {
			return iss.Content.Subject
		}
		return "New story"
	}
	return fmt.Sprintf("Week %d, %d", iss.Week.Num, iss.Week.Year)
}

package digest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

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
	// issue's deliveries (as CreateIssueWith does). A recipient whose mail
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
	// IssueCutoffs returns the recipients of the issue whose copy starts
	// elsewhere than its Since, and where.
	IssueCutoffs(ctx context.Context, issueID string) (map[int64]time.Time, error)
	// SeriesIssues lists the series' issues of every cadence, newest
	// Until first, limit of them after skipping offset.
	SeriesIssues(ctx context.Context, series string, limit, offset int) ([]*Issue, error)
}

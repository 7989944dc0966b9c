package subscribers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Cadence is how often a reader hears from a series.
type Cadence string

const (
	// CadenceWeekly is the weekly digest: the series' new stories of the
	// week, one email (the default).
	CadenceWeekly Cadence = "weekly"
	// CadenceDaily is one email a day with the series' new stories of
	// that day; none on a day without any.
	CadenceDaily Cadence = "daily"
	// CadenceStory is one email per new story, within minutes of its
	// publication (stories published close together share one).
	CadenceStory Cadence = "story"
)

// Cadences lists every cadence, least frequent first.
var Cadences = []Cadence{CadenceWeekly, CadenceDaily, CadenceStory}

// ParseCadence reads a cadence name ("weekly", "daily", "story"; also
// "each story", "per story" and any case).
func ParseCadence(s string) (Cadence, error) {
	switch c := strings.ToLower(strings.TrimSpace(s)); c {
	case "weekly", "daily", "story":
		return Cadence(c), nil
	case "each story", "per story", "stories", "each-story", "per-story":
		return CadenceStory, nil
	}
	return "", fmt.Errorf("unknown cadence %q (want weekly, daily or story)", s)
}

// Label is the cadence in a reader's words.
func (c Cadence) Label() string {
	switch c {
	case CadenceDaily:
		return "Daily"
	case CadenceStory:
		return "Each story"
	}
	return "Weekly"
}

// Describe says what the cadence sends, for forms and emails.
func (c Cadence) Describe() string {
	switch c {
	case CadenceDaily:
		return "one email a day with that day's new stories"
	case CadenceStory:
		return "one email for each new story, as it is published"
	}
	return "one email a week with the week's new stories"
}

// Offer is what a list offers: its cadences and the default one.
type Offer struct {
	Cadences []Cadence
	Default  Cadence
}

// Offer returns the cadences l offers and its default; a list configured
// with none offers the weekly digest only.
func (l List) Offer() Offer {
	o := Offer{Cadences: slices.Clone(l.Cadences), Default: l.DefaultCadence}
	if len(o.Cadences) == 0 {
		o.Cadences = []Cadence{CadenceWeekly}
	}
	if !slices.Contains(o.Cadences, o.Default) {
		o.Default = o.Cadences[0]
	}
	return o
}

// Effective is the cadence a reader who chose c gets: c when offered,
// else the default.
func (o Offer) Effective(c Cadence) Cadence {
	if slices.Contains(o.Cadences, c) {
		return c
	}
	return o.Default
}

// Preferences are what a reader chose beyond their lists: a cadence per
// list (lists without one get the list's default) and a pause.
type Preferences struct {
	Cadences map[string]Cadence `json:"cadences,omitempty"`
	// PausedUntil: no issue created before this time is sent to the
	// reader. Zero: not paused.
	PausedUntil time.Time `json:"paused_until,omitzero"`
}

// Paused reports whether the reader is paused at now.
func (p Preferences) Paused(now time.Time) bool { return now.Before(p.PausedUntil) }

// PreferenceStore keeps readers' cadences and pauses (storage implements
// it beside Store).
type PreferenceStore interface {
	// GetPreferences returns the preferences of each of ids that has any.
	GetPreferences(ctx context.Context, ids []int64) (map[int64]Preferences, error)
	// SetCadence records that the subscriber wants list at cadence to,
	// where they got it at from (the cadence their stored choice, or none,
	// gives now). A change also records, under the list's issue lock, how
	// far the list's mail to them has gone: the latest until of the list's
	// issues of cadence from made since they took it, or what was recorded
	// at their previous change, whichever is later. The first issue of the
	// new cadence starts there: no story is mailed to them twice, none is
	// skipped. Setting the cadence stored changes nothing.
	SetCadence(ctx context.Context, subscriberID int64, list string, from, to Cadence, now time.Time) error
	// SetPause pauses the subscriber's mail until until (zero: resumes).
	SetPause(ctx context.Context, subscriberID int64, until, now time.Time) error
	// SetImportedPreferences sets the preferences of the subscribers with
	// these addresses that were created at created (the rows an import
	// has just inserted: the others are left as they are).
	SetImportedPreferences(ctx context.Context, prefs map[string]Preferences, created time.Time) error
	// SubscriberActivity lists what was sent to the subscriber, oldest
	// first (for their data export).
	SubscriberActivity(ctx context.Context, subscriberID int64) ([]Activity, error)
	// CadenceCounts counts the active subscribers of each list by the
	// cadence they chose ("" for none) and whether they are paused at now.
	CadenceCounts(ctx context.Context, now time.Time) ([]CadenceCount, error)
}

// Activity is one email sent (or being sent) to a subscriber.
type Activity struct {
	At     time.Time `json:"at"`
	Kind   string    `json:"kind"`             // "confirmation", "welcome", "issue"
	Ref    string    `json:"ref,omitempty"`    // the issue id; the lists of a confirmation
	State  string    `json:"state"`            // pending, sending, sent, failed, skipped
	Detail string    `json:"detail,omitempty"` // why it failed
}

// CadenceCount is a number of active subscribers of a list with a stored
// cadence choice (Cadence "" when none) and pause state.
type CadenceCount struct {
	List    string
	Cadence Cadence
	Paused  bool
	Count   int
}

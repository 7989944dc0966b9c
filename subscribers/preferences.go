package subscribers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The preference centre: every email carries a link to
// /preferences?token=…, an opaque signed token (PreferencesToken) that
// works for PreferencesTTL. Whoever holds it reads the mail, so the page
// needs no account and no second confirmation: the reader subscribes to or
// leaves each list, picks each one's cadence, pauses all mail, changes the
// name used in greetings, downloads their data and erases themselves.

// DefaultPreferencesTTL is how long a preferences link works.
const DefaultPreferencesTTL = 365 * 24 * time.Hour

// PauseWeeks are the pauses a reader may choose.
var PauseWeeks = []int{2, 4, 8}

// ErrNoPreferences is returned when the store keeps no preferences.
var ErrNoPreferences = errors.New("subscribers: the store keeps no reader preferences")

// ReaderConfig is what the preference centre and the welcome email need.
type ReaderConfig struct {
	// PreferencesTTL is how long a preferences link works (default
	// DefaultPreferencesTTL).
	PreferencesTTL time.Duration
	// Welcome renders the email sent once a sign-up is confirmed; nil:
	// no welcome email.
	Welcome WelcomeRenderer
	// LatestIssue finds the latest issue of a list, for the welcome
	// email; nil or ok false: the email names the list without a link.
	LatestIssue func(ctx context.Context, list string) (link IssueLink, ok bool, err error)
}

// IssueLink is an issue the welcome email links to.
type IssueLink struct {
	Title, URL string
}

// readers is the Service's part for readers' preferences.
type readers struct {
	cfg      ReaderConfig
	prefs    PreferenceStore // nil: the store keeps none
	welcomes WelcomeOutbox   // nil: no welcome outbox
}

func (s *Service) setupReaders(cfg Config) error {
	s.readers.cfg = cfg.Readers
	if s.readers.cfg.PreferencesTTL <= 0 {
		s.readers.cfg.PreferencesTTL = DefaultPreferencesTTL
	}
	s.readers.prefs, _ = cfg.Store.(PreferenceStore)
	s.readers.welcomes, _ = cfg.Store.(WelcomeOutbox)
	for _, l := range cfg.Lists {
		for _, c := range l.Cadences {
			if _, err := ParseCadence(string(c)); err != nil {
				return fmt.Errorf("subscribers: list %s: %w", l.Slug, err)
			}
		}
	}
	return nil
}

// list returns the configured list with this slug.
func (s *Service) list(slug string) (List, bool) {
	i := slices.IndexFunc(s.lists, func(l List) bool { return l.Slug == slug })
	if i < 0 {
		return List{}, false
	}
	return s.lists[i], true
}

// PreferencesURL is sub's link to the preference page, valid for
// PreferencesTTL from now. As in UnsubscribeURL, a "--" of the token is
// written "-%2D".
func (s *Service) PreferencesURL(sub *Subscriber) (string, error) {
	tok, err := s.signer.PreferencesToken(PreferencesClaims{ID: sub.ID, Created: sub.CreatedAt,
		Expires: s.now().Add(s.readers.cfg.PreferencesTTL)})
	if err != nil {
		return "", err
	}
	u := *s.base
	u.Path = strings.TrimRight(u.Path, "/") + "/preferences"
	u.RawQuery = "token=" + strings.ReplaceAll(tok, "--", "-%2D")
	return u.String(), nil
}

// Reader is what the preference page shows: the subscriber a token names,
// their preferences and every configured list as it stands for them.
type Reader struct {
	Subscriber  *Subscriber
	Preferences Preferences
	Lists       []ReaderList
}

// ReaderList is one configured list for one reader.
type ReaderList struct {
	List
	Offer      Offer
	Subscribed bool    // an active subscription
	Cadence    Cadence // the cadence they get (or would get) it at
}

// Paused reports whether the reader's mail is paused at now.
func (r *Reader) Paused(now time.Time) bool { return r.Preferences.Paused(now) }

// tokenReader loads the subscriber a preferences token names.
func (s *Service) tokenReader(ctx context.Context, token string) (*Subscriber, error) {
	if s.readers.prefs == nil {
		return nil, ErrNoPreferences
	}
	c, err := s.signer.VerifyPreferences(token, s.now())
	if err != nil {
		return nil, err
	}
	sub, err := s.store.GetSubscriberByID(ctx, c.ID)
	if errors.Is(err, ErrNotFound) || (err == nil && sub.CreatedAt.Unix() != c.Created.Unix()) {
		return nil, fmt.Errorf("%w: no such subscriber", ErrInvalidToken)
	}
	if err != nil {
		return nil, fmt.Errorf("preferences: %w", err)
	}
	return sub, nil
}

// reader makes the page's view of sub.
func (s *Service) reader(ctx context.Context, sub *Subscriber) (*Reader, error) {
	got, err := s.readers.prefs.GetPreferences(ctx, []int64{sub.ID})
	if err != nil {
		return nil, fmt.Errorf("preferences: %w", err)
	}
	r := &Reader{Subscriber: sub, Preferences: got[sub.ID]}
	for _, l := range s.lists {
		o := l.Offer()
		r.Lists = append(r.Lists, ReaderList{List: l, Offer: o, Subscribed: sub.Status == StatusActive && hasActive(sub, l.Slug),
			Cadence: o.Effective(r.Preferences.Cadences[l.Slug])})
	}
	return r, nil
}

// OpenPreferences verifies a preferences token and returns its reader.
// It changes nothing (the page a GET shows). A forged, altered, truncated
// or expired token, or one whose subscriber is gone, gives an error
// wrapping ErrInvalidToken.
func (s *Service) OpenPreferences(ctx context.Context, token string) (*Reader, error) {
	sub, err := s.tokenReader(ctx, token)
	if err != nil {
		return nil, err
	}
	return s.reader(ctx, sub)
}

// PreferenceChange is what the preference form sends: whether the reader
// wants each configured list (lists not named are left as they are), the
// cadence of each, and the name (nil: unchanged).
type PreferenceChange struct {
	Lists    map[string]bool
	Cadences map[string]Cadence
	Name     *string
}

// ChangePreferences applies ch for the reader a token names. Holding the
// token proves the reader reads the mail it came in, so a list they add
// is active at once. Leaving every list unsubscribes them; adding one
// makes them active again. A cadence a list does not offer, a list that
// is not configured or a bad name changes nothing and is an error
// (ErrUnknownList, ErrUnknownCadence, ErrInvalidName).
func (s *Service) ChangePreferences(ctx context.Context, token string, ch PreferenceChange) (*Reader, error) {
	sub, err := s.tokenReader(ctx, token)
	if err != nil {
		return nil, err
	}
	for slug := range ch.Lists {
		if _, ok := s.list(slug); !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownList, slug)
		}
	}
	for slug, c := range ch.Cadences {
		l, ok := s.list(slug)
		if !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownList, slug)
		}
		if !slices.Contains(l.Offer().Cadences, c) {
			return nil, fmt.Errorf("%w: %s does not offer %q", ErrUnknownCadence, l.Title, c)
		}
	}
	name := ""
	if ch.Name != nil {
		if name, err = ValidateName(*ch.Name); err != nil {
			return nil, err
		}
	}
	now := s.now().UTC()
	sub, err = s.store.UpdateSubscriber(ctx, sub.Email, func(cur *Subscriber) error {
		if cur.ID != sub.ID {
			return fmt.Errorf("%w: no such subscriber", ErrInvalidToken)
		}
		if ch.Name != nil {
			cur.Name = name
		}
		for _, l := range s.lists {
			want, named := ch.Lists[l.Slug]
			if !named || want == (cur.Status == StatusActive && hasActive(cur, l.Slug)) {
				continue
			}
			setList(cur, l.Slug, want, now, false)
		}
		anyActive := slices.ContainsFunc(cur.Lists, func(l Subscription) bool { return l.Active })
		switch {
		case anyActive && cur.Status != StatusActive:
			cur.Status = StatusActive
			if cur.ConfirmedAt.IsZero() {
				cur.ConfirmedAt = now
			}
		case !anyActive && (cur.Status == StatusActive || cur.Status == StatusPending):
			cur.Status = StatusUnsubscribed
			cur.UnsubscribedAt = now
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			return nil, err
		}
		return nil, fmt.Errorf("preferences: %w", err)
	}
	if err := s.setCadences(ctx, sub.ID, ch.Cadences, now); err != nil {
		return nil, err
	}
	return s.reader(ctx, sub)
}

// ErrUnknownCadence is wrapped when a request names a cadence a list does
// not offer.
var ErrUnknownCadence = errors.New("unknown cadence")

// setCadences stores the cadences that differ from the reader's stored
// choices.
func (s *Service) setCadences(ctx context.Context, id int64, cadences map[string]Cadence, now time.Time) error {
	if len(cadences) == 0 || s.readers.prefs == nil {
		return nil
	}
	got, err := s.readers.prefs.GetPreferences(ctx, []int64{id})
	if err != nil {
		return fmt.Errorf("preferences: %w", err)
	}
	for _, l := range s.lists { // in a fixed order
		c, ok := cadences[l.Slug]
		if !ok || got[id].Cadences[l.Slug] == c {
			continue
		}
		from := l.Offer().Effective(got[id].Cadences[l.Slug])
		if err := s.readers.prefs.SetCadence(ctx, id, l.Slug, from, c, now); err != nil {
			return fmt.Errorf("preferences: %w", err)
		}
	}
	return nil
}

// PauseMail pauses every email to the reader a token names for weeks
// weeks (one of PauseWeeks) from now.
func (s *Service) PauseMail(ctx context.Context, token string, weeks int) (*Reader, error) {
	if !slices.Contains(PauseWeeks, weeks) {
		return nil, fmt.Errorf("%w: a pause of %d weeks", ErrInvalidPause, weeks)
	}
	sub, err := s.tokenReader(ctx, token)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if err := s.readers.prefs.SetPause(ctx, sub.ID, now.AddDate(0, 0, 7*weeks), now); err != nil {
		return nil, fmt.Errorf("pause: %w", err)
	}
	return s.reader(ctx, sub)
}

// ErrInvalidPause is wrapped for a pause the page does not offer.
var ErrInvalidPause = errors.New("invalid pause")

// ResumeMail ends the pause of the reader a token names.
func (s *Service) ResumeMail(ctx context.Context, token string) (*Reader, error) {
	sub, err := s.tokenReader(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := s.readers.prefs.SetPause(ctx, sub.ID, time.Time{}, s.now().UTC()); err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	return s.reader(ctx, sub)
}

// DataExport is everything kept about a reader, as they download it.
type DataExport struct {
	Address        string        `json:"address"`
	Name           string        `json:"name"`
	Status         Status        `json:"status"`
	CreatedAt      time.Time     `json:"created_at"`
	ConfirmedAt    time.Time     `json:"confirmed_at,omitzero"`
	UnsubscribedAt time.Time     `json:"unsubscribed_at,omitzero"`
	BounceCount    int           `json:"bounce_count"`
	Lists          []ExportList  `json:"lists"`
	PausedUntil    time.Time     `json:"paused_until,omitzero"`
	Consent        Consent       `json:"consent"`
	Events         []ExportEvent `json:"events"`
	ExportedAt     time.Time     `json:"exported_at"`
}

// ExportList is one list in a DataExport.
type ExportList struct {
	List      string    `json:"list"`
	Title     string    `json:"title"`
	Active    bool      `json:"active"`
	ChangedAt time.Time `json:"changed_at"`
	// Cadence is what the reader chose ("" for none: they get Effective).
	Cadence   Cadence `json:"cadence,omitempty"`
	Effective Cadence `json:"effective_cadence"`
}

// ExportEvent is one thing that happened, oldest first.
type ExportEvent struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"` // created, confirmed, unsubscribed, email
	Kind   string    `json:"kind,omitempty"`
	Ref    string    `json:"ref,omitempty"`
	State  string    `json:"state,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// ExportData returns what is kept about the reader a token names.
func (s *Service) ExportData(ctx context.Context, token string) (*DataExport, error) {
	sub, err := s.tokenReader(ctx, token)
	if err != nil {
		return nil, err
	}
	r, err := s.reader(ctx, sub)
	if err != nil {
		return nil, err
	}
	acts, err := s.readers.prefs.SubscriberActivity(ctx, sub.ID)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	d := &DataExport{Address: sub.Email, Name: sub.Name, Status: sub.Status, CreatedAt: sub.CreatedAt,
		ConfirmedAt: sub.ConfirmedAt, UnsubscribedAt: sub.UnsubscribedAt, BounceCount: sub.BounceCount,
		PausedUntil: r.Preferences.PausedUntil, Consent: sub.Consent, ExportedAt: s.now().UTC(),
		Lists: []ExportList{}, Events: []ExportEvent{}}
	for _, l := range sub.Lists {
		el := ExportList{List: l.List, Title: s.listTitle(l.List), Active: l.Active, ChangedAt: l.ChangedAt,
			Cadence: r.Preferences.Cadences[l.List]}
		el.Effective = el.Cadence
		if cl, ok := s.list(l.List); ok {
			el.Effective = cl.Offer().Effective(el.Cadence)
		}
		d.Lists = append(d.Lists, el)
	}
	add := func(at time.Time, event string) {
		if !at.IsZero() {
			d.Events = append(d.Events, ExportEvent{At: at, Event: event})
		}
	}
	add(sub.CreatedAt, "created")
	add(sub.ConfirmedAt, "confirmed")
	add(sub.UnsubscribedAt, "unsubscribed")
	for _, a := range acts {
		d.Events = append(d.Events, ExportEvent{At: a.At, Event: "email", Kind: a.Kind, Ref: a.Ref, State: a.State, Detail: a.Detail})
	}
	slices.SortStableFunc(d.Events, func(a, b ExportEvent) int { return a.At.Compare(b.At) })
	return d, nil
}

// Erase erases the reader a token names, as Remove does (their data goes,
// a keyed hash of the address stays to keep it from coming back with an
// import).
func (s *Service) Erase(ctx context.Context, token string) error {
	sub, err := s.tokenReader(ctx, token)
	if err != nil {
		return err
	}
	h, err := s.SuppressionHash(ctx, sub.Email)
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	if err := s.store.DeleteSubscriber(ctx, sub.Email, h); err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	return nil
}

// Preferences returns the stored preferences of subs, by id (for the
// operator's list and export).
func (s *Service) Preferences(ctx context.Context, subs []*Subscriber) (map[int64]Preferences, error) {
	if s.readers.prefs == nil || len(subs) == 0 {
		return map[int64]Preferences{}, nil
	}
	ids := make([]int64, len(subs))
	for i, sub := range subs {
		ids[i] = sub.ID
	}
	return s.readers.prefs.GetPreferences(ctx, ids)
}

// The cadence a sign-up asks for travels with its lists, through the
// confirmation outbox and the confirmation token, as "slug:cadence": it
// changes nothing until the reader confirms.

// listChoice writes a list and the cadence asked for it ("" for none).
func listChoice(slug string, c Cadence) string {
	if c == "" {
		return slug
	}
	return slug + ":" + string(c)
}

// splitChoice reads what listChoice wrote.
func splitChoice(s string) (string, Cadence) {
	slug, c, _ := strings.Cut(s, ":")
	return slug, Cadence(c)
}

// cleanCadences checks the cadences a sign-up asks for: each of a list
// asked for, and offered by it.
func (s *Service) cleanCadences(lists []string, in map[string]Cadence) (map[string]Cadence, error) {
	out := map[string]Cadence{}
	for slug, c := range in {
		if c == "" {
			continue
		}
		l, ok := s.list(slug)
		if !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownList, slug)
		}
		if !slices.Contains(lists, slug) {
			continue // a cadence for a list not ticked
		}
		if !slices.Contains(l.Offer().Cadences, c) {
			return nil, fmt.Errorf("%w: %s does not offer %q", ErrUnknownCadence, l.Title, c)
		}
		out[slug] = c
	}
	return out, nil
}

// choices writes lists with the cadences asked for them.
func choices(lists []string, cadences map[string]Cadence) []string {
	out := make([]string, len(lists))
	for i, l := range lists {
		out[i] = listChoice(l, cadences[l])
	}
	return out
}

// choiceTitle is a list's title, with the cadence asked for it when the
// list offers several: "Shanghai 70th anniversary series (daily)".
func (s *Service) choiceTitle(choice string) string {
	slug, c := splitChoice(choice)
	title := s.listTitle(slug)
	if l, ok := s.list(slug); ok && len(l.Offer().Cadences) > 1 {
		if c == "" {
			c = l.Offer().Default
		}
		title += " (" + strings.ToLower(c.Label()) + ")"
	}
	return title
}

package subscribers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/syndicated/syndicated/mail"
)

// The welcome email goes out once a sign-up is confirmed: the lists the
// reader chose, how often each arrives, a link to the latest issue of
// each, and the reader's preferences link. It goes through an outbox of
// its own, retried like the confirmations.

// WelcomeData fills the welcome email.
type WelcomeData struct {
	Name           string // the reader's name, may be empty (given at sign-up, mailed after consent)
	Lists          []WelcomeList
	PreferencesURL string
	UnsubscribeURL string // every list
}

// WelcomeList is one list a welcome email names.
type WelcomeList struct {
	Title   string
	Cadence Cadence
	Latest  *IssueLink // nil: no issue yet
}

// WelcomeRenderer renders the welcome email; the service sets To and the
// List-Unsubscribe headers. mail/hermes implements it.
type WelcomeRenderer interface {
	RenderWelcome(d WelcomeData) (*mail.Message, error)
}

// Welcome is one welcome email in its outbox.
type Welcome struct {
	ID            int64
	SubscriberID  int64
	Lists         []string
	CreatedAt     time.Time
	State         ConfirmationState // the same states as a confirmation's
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	SentAt        time.Time
}

// WelcomeOutbox keeps the welcome emails until they are sent (storage
// implements it beside Store).
type WelcomeOutbox interface {
	EnqueueWelcome(ctx context.Context, w Welcome) (int64, error)
	// ClaimWelcomes is ConfirmationOutbox.ClaimConfirmations for welcomes.
	ClaimWelcomes(ctx context.Context, limit int, now time.Time, lease time.Duration) ([]Welcome, error)
	FinishWelcome(ctx context.Context, id int64, state ConfirmationState, lastError string, next, now time.Time) error
}

// welcomeMaxAge is how long a welcome email that cannot be sent is
// retried: after that it would no longer be a welcome.
const welcomeMaxAge = 3 * 24 * time.Hour

// queueWelcome stores the welcome email of a confirmation of lists and
// sends it in the background (or now, with SyncMail).
func (s *Service) queueWelcome(ctx context.Context, sub *Subscriber, lists []string) {
	if s.readers.cfg.Welcome == nil || s.readers.welcomes == nil || len(lists) == 0 {
		return
	}
	now := s.now().UTC()
	if _, err := s.readers.welcomes.EnqueueWelcome(ctx, Welcome{SubscriberID: sub.ID, Lists: lists, CreatedAt: now, NextAttemptAt: now}); err != nil {
		s.log.Warn("subscribe: welcome email not queued", "subscriber", sub.ID, "err", err)
		return
	}
	if s.syncMail {
		if _, err := s.sendWelcomes(ctx); err != nil {
			s.log.Warn("subscribe: welcome outbox", "err", err)
		}
		return
	}
	s.sends.Add(1)
	go func() {
		defer s.sends.Done()
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.mailTO)
		defer cancel()
		if _, err := s.sendWelcomes(bctx); err != nil {
			s.log.Warn("subscribe: welcome outbox", "err", err)
		}
	}()
}

// SendWelcomes sends the welcome emails that are due and returns how many
// went out.
func (s *Service) SendWelcomes(ctx context.Context) (int, error) { return s.sendWelcomes(ctx) }

func (s *Service) sendWelcomes(ctx context.Context) (int, error) {
	if s.readers.welcomes == nil || s.readers.cfg.Welcome == nil {
		return 0, nil
	}
	sent := 0
	for {
		batch, err := s.readers.welcomes.ClaimWelcomes(ctx, 20, s.now().UTC(), s.mailTO+time.Minute)
		if err != nil {
			return sent, fmt.Errorf("welcome: %w", err)
		}
		if len(batch) == 0 {
			return sent, nil
		}
		for _, w := range batch {
			if s.deliverWelcome(ctx, w) {
				sent++
			}
			if ctx.Err() != nil {
				return sent, ctx.Err()
			}
		}
	}
}

// deliverWelcome sends one claimed welcome and records the outcome; it
// reports whether it was sent.
func (s *Service) deliverWelcome(ctx context.Context, w Welcome) bool {
	finish := func(state ConfirmationState, reason string, next time.Time) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.readers.welcomes.FinishWelcome(fctx, w.ID, state, reason, next, s.now().UTC()); err != nil {
			s.log.Error("subscribe: could not record a welcome email's outcome", "subscriber", w.SubscriberID, "err", err)
		}
	}
	sub, err := s.store.GetSubscriberByID(ctx, w.SubscriberID)
	switch {
	case errors.Is(err, ErrNotFound):
		finish(ConfirmationFailed, "subscriber removed", time.Time{})
		return false
	case err != nil:
		finish(ConfirmationPending, err.Error(), s.now().Add(time.Minute))
		return false
	case sub.Status != StatusActive:
		finish(ConfirmationFailed, "subscriber is "+string(sub.Status), time.Time{})
		return false
	}
	err = s.sendWelcome(ctx, sub, w.Lists)
	if err == nil {
		finish(ConfirmationSent, "", time.Time{})
		return true
	}
	reason := mailReason(err)
	next := s.now().Add(confirmRetry(w.Attempts)).UTC()
	if mail.IsPermanent(err) || next.After(w.CreatedAt.Add(welcomeMaxAge)) {
		s.log.Warn("subscribe: welcome email not sent, given up", "subscriber", sub.ID, "attempt", w.Attempts, "reason", reason)
		finish(ConfirmationFailed, reason, time.Time{})
		return false
	}
	s.log.Warn("subscribe: welcome email not sent, will retry", "subscriber", sub.ID, "attempt", w.Attempts,
		"retry_at", next.Format(time.RFC3339), "reason", reason)
	finish(ConfirmationPending, reason, next)
	return false
}

// sendWelcome renders and sends the welcome email of lists to sub.
func (s *Service) sendWelcome(ctx context.Context, sub *Subscriber, lists []string) error {
	prefs, err := s.PreferencesURL(sub)
	if err != nil {
		return err
	}
	unsub, err := s.UnsubscribeURL(sub, AllLists)
	if err != nil {
		return err
	}
	got := map[int64]Preferences{}
	if s.readers.prefs != nil {
		if got, err = s.readers.prefs.GetPreferences(ctx, []int64{sub.ID}); err != nil {
			return err
		}
	}
	d := WelcomeData{Name: sub.Name, PreferencesURL: prefs, UnsubscribeURL: unsub}
	for _, slug := range lists {
		l, ok := s.list(slug)
		if !ok || !hasActive(sub, slug) {
			continue
		}
		wl := WelcomeList{Title: l.Title, Cadence: l.Offer().Effective(got[sub.ID].Cadences[slug])}
		if f := s.readers.cfg.LatestIssue; f != nil {
			link, ok, err := f(ctx, slug)
			if err != nil {
				return err
			}
			if ok {
				wl.Latest = &link
			}
		}
		d.Lists = append(d.Lists, wl)
	}
	if len(d.Lists) == 0 {
		return nil // left every list since: nothing to welcome them to
	}
	msg, err := s.readers.cfg.Welcome.RenderWelcome(d)
	if err != nil {
		return err
	}
	msg.To, msg.ToName = sub.Email, sub.Name
	msg.Date = s.now()
	msg.SetListUnsubscribe(unsub, "")
	return s.mailer.Send(ctx, msg)
}

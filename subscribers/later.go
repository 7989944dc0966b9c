package subscribers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// What later notifications (package bounce: bounces, complaints and
// unsubscribe requests that arrive by mail or webhook) do to a subscriber,
// by id: the notification names a copy, not an address.

// SubscriberID finds the subscriber with this address (normalised first);
// ErrNotFound when there is none.
func (s *Service) SubscriberID(ctx context.Context, email string) (int64, error) {
	e, err := Normalize(email)
	if err != nil {
		return 0, ErrNotFound
	}
	sub, err := s.store.GetSubscriber(ctx, e)
	if err != nil {
		return 0, err
	}
	return sub.ID, nil
}

// Bounce marks an active subscriber bounced (a hard bounce, or enough soft
// ones), as the digest does for a mailbox refused at RCPT: one bounce
// more, the time kept for "subscribers unbounce --all-since". changed is
// false when the subscriber is not active (pending, unsubscribed, already
// bounced) or no longer exists.
func (s *Service) Bounce(ctx context.Context, id int64, at time.Time) (bool, error) {
	changed, err := s.store.MarkBounced(ctx, id, at.UTC())
	if err != nil {
		return false, fmt.Errorf("bounce subscriber %d: %w", id, err)
	}
	return changed, nil
}

// Complain handles a spam complaint: the subscriber leaves every list,
// is unsubscribed, and the address is suppressed, so that neither an
// import nor a sign-up brings it back. Repeating it changes nothing.
// changed is false when the subscriber no longer exists.
func (s *Service) Complain(ctx context.Context, id int64, at time.Time) (bool, error) {
	sub, err := s.store.GetSubscriberByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("complaint: %w", err)
	}
	if err := s.Suppress(ctx, sub.Email, "complaint"); err != nil {
		return false, fmt.Errorf("complaint: %w", err)
	}
	if _, err := s.unsubscribeID(ctx, sub.Email, id, AllLists, at); err != nil {
		return false, fmt.Errorf("complaint: %w", err)
	}
	return true, nil
}

// UnsubscribeList takes the subscriber off list (AllLists: every list),
// as a one-click unsubscribe would: unsubscribed once no list is left.
// changed is false when nothing was active on it, or the subscriber no
// longer exists.
func (s *Service) UnsubscribeList(ctx context.Context, id int64, list string, at time.Time) (bool, error) {
	sub, err := s.store.GetSubscriberByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("unsubscribe: %w", err)
	}
	changed, err := s.unsubscribeID(ctx, sub.Email, id, list, at)
	if err != nil {
		return false, fmt.Errorf("unsubscribe: %w", err)
	}
	return changed, nil
}

// unsubscribeID takes subscriber id (whose address is email) off list or,
// for AllLists, off every list.
func (s *Service) unsubscribeID(ctx context.Context, email string, id int64, list string, at time.Time) (bool, error) {
	now := at.UTC()
	changed := false
	_, err := s.store.UpdateSubscriber(ctx, email, func(sub *Subscriber) error {
		changed = false
		if sub.ID != id {
			return nil // erased (ID 0: nothing is written) or another subscriber since
		}
		changed = sub.leave(list, now)
		return nil
	})
	return changed, err
}

package subscribers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Unbounce undoes wrong bounces (a relay that refused everyone, say): the
// bounced subscribers with these addresses become active again on the
// lists they had. With no address it undoes every bounce the digest sender
// recorded at or after since (which must then be set). It returns the
// addresses it changed; an address that is not bounced is left alone.
func (s *Service) Unbounce(ctx context.Context, emails []string, since time.Time) ([]string, error) {
	if len(emails) == 0 && since.IsZero() {
		return nil, errors.New("unbounce: give addresses or a time")
	}
	norm := make([]string, 0, len(emails))
	for _, e := range emails {
		n, err := Normalize(e)
		if err != nil {
			return nil, fmt.Errorf("unbounce: %w", err)
		}
		norm = append(norm, n)
	}
	done, err := s.store.UnbounceSubscribers(ctx, norm, since)
	if err != nil {
		return nil, fmt.Errorf("unbounce: %w", err)
	}
	return done, nil
}

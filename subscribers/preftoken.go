package subscribers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// PreferencesClaims is what a preferences token binds: one subscriber (by
// id and the second it was created, so that a reused id never matches)
// and until when the link works. Like the other opaque tokens it holds no
// address.
type PreferencesClaims struct {
	ID      int64
	Created time.Time
	Expires time.Time
}

// PreferencesToken makes an opaque token for the preference page.
func (s *Signer) PreferencesToken(c PreferencesClaims) (string, error) {
	if c.ID <= 0 || c.Expires.IsZero() {
		return "", errors.New("subscribers: preferences token needs an id and an expiry")
	}
	b := []byte{tokenVersion}
	b = binary.AppendUvarint(b, uint64(c.ID))
	b = binary.AppendUvarint(b, unix(c.Created))
	b = binary.AppendUvarint(b, unix(c.Expires))
	return s.seal(purposePrefs, b), nil
}

// VerifyPreferences checks a preferences token's signature and expiry at
// now. Tokens made for another purpose (an unsubscribe link's) never
// verify.
func (s *Signer) VerifyPreferences(token string, now time.Time) (PreferencesClaims, error) {
	r, err := s.open(purposePrefs, token)
	if err != nil {
		return PreferencesClaims{}, err
	}
	c := PreferencesClaims{ID: int64(r.uint()), Created: fromUnix(r.uint()), Expires: fromUnix(r.uint())}
	if err := r.done(); err != nil {
		return PreferencesClaims{}, err
	}
	if c.ID <= 0 || c.Expires.IsZero() {
		return PreferencesClaims{}, fmt.Errorf("%w: incomplete", ErrInvalidToken)
	}
	if !now.Before(c.Expires) {
		return PreferencesClaims{}, ErrTokenExpired
	}
	return c, nil
}

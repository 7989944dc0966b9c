package subscribers

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalidToken is wrapped by every token verification error: a forged,
// altered, truncated, expired or wrong-purpose token.
var ErrInvalidToken = errors.New("invalid token")

// ErrTokenExpired is returned for a genuine token whose time has passed; it
// wraps ErrInvalidToken.
var ErrTokenExpired = fmt.Errorf("%w: expired", ErrInvalidToken)

// AllLists in an unsubscribe token means every list.
const AllLists = "all"

// MinKeyLen is the shortest secret NewSigner accepts.
const MinKeyLen = 16

// token purposes; each gets its own derived key, so a token made for one
// purpose never verifies as another.
const (
	purposeConfirm  = "confirm"
	purposeUnsub    = "unsubscribe"
	purposeForm     = "form"
	purposeSuppress = "suppress"
)

// Signer makes and verifies the HMAC-SHA256 tokens of this package. It is
// safe for concurrent use.
type Signer struct {
	keys map[string][]byte // purpose → derived key; read-only after NewSigner
}

// NewSigner derives per-purpose keys from secret (the config secret).
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < MinKeyLen {
		return nil, fmt.Errorf("subscribers: token secret must be at least %d bytes", MinKeyLen)
	}
	s := &Signer{keys: map[string][]byte{}}
	for _, p := range []string{purposeConfirm, purposeUnsub, purposeForm, purposeSuppress} {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("syndicated/subscribers/v1/" + p))
		s.keys[p] = m.Sum(nil)
	}
	return s, nil
}

// ConfirmClaims is what a confirmation token binds.
type ConfirmClaims struct {
	Email    string    `json:"e"`
	Lists    []string  `json:"l"`
	IssuedAt time.Time `json:"i"`
	Expires  time.Time `json:"x"`
}

// UnsubscribeClaims is what an unsubscribe token binds: one subscriber (by
// id and address) and one list, or AllLists.
type UnsubscribeClaims struct {
	ID    int64  `json:"s"`
	Email string `json:"e"`
	List  string `json:"l"`
}

type formClaims struct {
	Nonce   string    `json:"n"`
	Expires time.Time `json:"x"`
}

func (s *Signer) sign(purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, s.keys[purpose])
	m.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

func (s *Signer) verify(purpose, token string, v any) error {
	if len(token) > 4096 {
		return fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	p, sig, ok := strings.Cut(token, ".")
	if !ok || p == "" || strings.Contains(sig, ".") {
		return fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: malformed signature", ErrInvalidToken)
	}
	m := hmac.New(sha256.New, s.keys[purpose])
	m.Write([]byte(p))
	if !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return fmt.Errorf("%w: malformed payload", ErrInvalidToken)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: bad payload", ErrInvalidToken)
	}
	return nil
}

// ConfirmToken signs c.
func (s *Signer) ConfirmToken(c ConfirmClaims) (string, error) {
	c.IssuedAt = c.IssuedAt.UTC().Truncate(time.Second)
	c.Expires = c.Expires.UTC().Truncate(time.Second)
	return s.sign(purposeConfirm, c)
}

// VerifyConfirm checks a confirmation token's signature and expiry at now.
func (s *Signer) VerifyConfirm(token string, now time.Time) (ConfirmClaims, error) {
	var c ConfirmClaims
	if err := s.verify(purposeConfirm, token, &c); err != nil {
		return ConfirmClaims{}, err
	}
	if c.Email == "" || len(c.Lists) == 0 {
		return ConfirmClaims{}, fmt.Errorf("%w: incomplete", ErrInvalidToken)
	}
	if !now.Before(c.Expires) {
		return ConfirmClaims{}, ErrTokenExpired
	}
	return c, nil
}

// UnsubscribeToken signs c. Unsubscribe tokens do not expire: a link in an
// old digest keeps working.
func (s *Signer) UnsubscribeToken(c UnsubscribeClaims) (string, error) {
	if c.ID == 0 || c.Email == "" || c.List == "" {
		return "", errors.New("subscribers: unsubscribe token needs an id, an email and a list")
	}
	return s.sign(purposeUnsub, c)
}

// VerifyUnsubscribe checks an unsubscribe token's signature.
func (s *Signer) VerifyUnsubscribe(token string) (UnsubscribeClaims, error) {
	var c UnsubscribeClaims
	if err := s.verify(purposeUnsub, token, &c); err != nil {
		return UnsubscribeClaims{}, err
	}
	if c.ID == 0 || c.Email == "" || c.List == "" {
		return UnsubscribeClaims{}, fmt.Errorf("%w: incomplete", ErrInvalidToken)
	}
	return c, nil
}

// FormToken makes an anti-CSRF token for a form, valid until expires.
func (s *Signer) FormToken(expires time.Time) string {
	var n [12]byte
	_, _ = rand.Read(n[:])
	t, _ := s.sign(purposeForm, formClaims{Nonce: hex.EncodeToString(n[:]), Expires: expires.UTC().Truncate(time.Second)})
	return t
}

// VerifyFormToken checks an anti-CSRF token at now.
func (s *Signer) VerifyFormToken(token string, now time.Time) error {
	var c formClaims
	if err := s.verify(purposeForm, token, &c); err != nil {
		return err
	}
	if !now.Before(c.Expires) {
		return ErrTokenExpired
	}
	return nil
}

// SuppressionHash is the keyed hash kept for a deleted address. The whole
// address is lower-cased first so that a change of case cannot bring a
// removed address back.
func (s *Signer) SuppressionHash(normalizedEmail string) string {
	m := hmac.New(sha256.New, s.keys[purposeSuppress])
	m.Write([]byte(strings.ToLower(normalizedEmail)))
	return hex.EncodeToString(m.Sum(nil))
}

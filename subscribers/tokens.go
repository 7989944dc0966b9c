package subscribers

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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
	purposePrefs    = "preferences"
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
	for _, p := range []string{purposeConfirm, purposeUnsub, purposeForm, purposeSuppress, purposePrefs} {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("syndicated/subscribers/v1/" + p))
		s.keys[p] = m.Sum(nil)
	}
	return s, nil
}

// ConfirmClaims is what a confirmation token binds: one subscriber (by id
// and the second it was created, so a reused id never matches), the lists
// to confirm, when it was issued and until when it works. Email is set only
// when a token of the old format (base64 JSON with the address inside,
// accepted until its expiry, never issued) is verified.
type ConfirmClaims struct {
	ID      int64
	Created time.Time
	Email   string
	// RequestID is the sign-up request (the outbox row) the token
	// confirms; 0 in tokens issued before requests were numbered.
	RequestID int64
	Lists     []string
	IssuedAt  time.Time
	Expires   time.Time
}

// UnsubscribeClaims is what an unsubscribe token binds: one subscriber (by
// id and creation second) and one list, or AllLists. Email is set only for
// a token of the old format (in digests sent before the opaque tokens).
type UnsubscribeClaims struct {
	ID      int64
	Created time.Time
	Email   string
	List    string
}

// legacyConfirm and legacyUnsub are the old tokens' JSON payloads.
type legacyConfirm struct {
	Email    string    `json:"e"`
	Lists    []string  `json:"l"`
	IssuedAt time.Time `json:"i"`
	Expires  time.Time `json:"x"`
}

type legacyUnsub struct {
	ID    int64  `json:"s"`
	Email string `json:"e"`
	List  string `json:"l"`
}

type formClaims struct {
	Nonce   string    `json:"n"`
	Expires time.Time `json:"x"`
}

// Opaque tokens are base64url of: a version byte, uvarint and
// length-prefixed fields, then the first macLen bytes of the HMAC-SHA256
// of all that under the purpose's key. They carry no address; a 128-bit
// tag is plenty against forgery.
const (
	tokenVersion = 1
	// confirmRequestVersion is a confirmation token that names its
	// request: the version byte, then the subscriber, creation second and
	// request id, and the rest as in version 1.
	confirmRequestVersion = 2
	macLen                = 16
)

func (s *Signer) seal(purpose string, payload []byte) string {
	m := hmac.New(sha256.New, s.keys[purpose])
	m.Write(payload)
	return base64.RawURLEncoding.EncodeToString(m.Sum(payload)[:len(payload)+macLen])
}

// open checks a token's tag and returns its payload after the version
// byte, which must be tokenVersion.
func (s *Signer) open(purpose, token string) (*tokenReader, error) {
	r, v, err := s.openVersion(purpose, token)
	if err == nil && v != tokenVersion {
		return nil, fmt.Errorf("%w: unknown version", ErrInvalidToken)
	}
	return r, err
}

// openVersion checks a token's tag and returns its version and payload.
func (s *Signer) openVersion(purpose, token string) (*tokenReader, byte, error) {
	if len(token) > 1024 {
		return nil, 0, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 1+macLen {
		return nil, 0, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	payload, tag := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	m := hmac.New(sha256.New, s.keys[purpose])
	m.Write(payload)
	if !hmac.Equal(tag, m.Sum(nil)[:macLen]) {
		return nil, 0, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	return &tokenReader{b: payload[1:]}, payload[0], nil
}

type tokenReader struct {
	b   []byte
	bad bool
}

func (r *tokenReader) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *tokenReader) str() string {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.bad = true
		return ""
	}
	v := string(r.b[:n])
	r.b = r.b[n:]
	return v
}

// done reports a payload read whole, nothing left over.
func (r *tokenReader) done() error {
	if r.bad || len(r.b) != 0 {
		return fmt.Errorf("%w: bad payload", ErrInvalidToken)
	}
	return nil
}

func appendStr(b []byte, v string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

func unix(t time.Time) uint64 {
	if t.IsZero() || t.Unix() < 0 {
		return 0
	}
	return uint64(t.Unix())
}

func fromUnix(v uint64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(int64(v), 0).UTC()
}

// ConfirmToken makes an opaque confirmation token for c (ID, Created,
// Lists, IssuedAt, Expires; Email is not used).
func (s *Signer) ConfirmToken(c ConfirmClaims) (string, error) {
	if c.ID <= 0 || len(c.Lists) == 0 || !c.Expires.After(c.IssuedAt) {
		return "", errors.New("subscribers: confirmation token needs an id, lists and an expiry after its issue")
	}
	b := []byte{tokenVersion}
	if c.RequestID > 0 {
		b[0] = confirmRequestVersion
	}
	b = binary.AppendUvarint(b, uint64(c.ID))
	b = binary.AppendUvarint(b, unix(c.Created))
	if c.RequestID > 0 {
		b = binary.AppendUvarint(b, uint64(c.RequestID))
	}
	b = binary.AppendUvarint(b, unix(c.IssuedAt))
	b = binary.AppendUvarint(b, unix(c.Expires)-unix(c.IssuedAt))
	b = binary.AppendUvarint(b, uint64(len(c.Lists)))
	for _, l := range c.Lists {
		b = appendStr(b, l)
	}
	return s.seal(purposeConfirm, b), nil
}

// VerifyConfirm checks a confirmation token's signature and expiry at now.
// Tokens of the old format are still accepted.
func (s *Signer) VerifyConfirm(token string, now time.Time) (ConfirmClaims, error) {
	var c ConfirmClaims
	if strings.Contains(token, ".") {
		var l legacyConfirm
		if err := s.verifyLegacy(purposeConfirm, token, &l); err != nil {
			return ConfirmClaims{}, err
		}
		c = ConfirmClaims{Email: l.Email, Lists: l.Lists, IssuedAt: l.IssuedAt, Expires: l.Expires}
		if c.Email == "" {
			return ConfirmClaims{}, fmt.Errorf("%w: incomplete", ErrInvalidToken)
		}
	} else {
		r, v, err := s.openVersion(purposeConfirm, token)
		if err != nil {
			return ConfirmClaims{}, err
		}
		if v != tokenVersion && v != confirmRequestVersion {
			return ConfirmClaims{}, fmt.Errorf("%w: unknown version", ErrInvalidToken)
		}
		c.ID = int64(r.uint())
		c.Created = fromUnix(r.uint())
		if v == confirmRequestVersion {
			if c.RequestID = int64(r.uint()); c.RequestID <= 0 {
				r.bad = true
			}
		}
		issued := r.uint()
		c.IssuedAt, c.Expires = fromUnix(issued), fromUnix(issued+r.uint())
		n := r.uint()
		for i := uint64(0); i < n && !r.bad; i++ {
			c.Lists = append(c.Lists, r.str())
		}
		if err := r.done(); err != nil {
			return ConfirmClaims{}, err
		}
		if c.ID <= 0 {
			return ConfirmClaims{}, fmt.Errorf("%w: incomplete", ErrInvalidToken)
		}
	}
	if len(c.Lists) == 0 {
		return ConfirmClaims{}, fmt.Errorf("%w: incomplete", ErrInvalidToken)
	}
	if !now.Before(c.Expires) {
		return ConfirmClaims{}, ErrTokenExpired
	}
	return c, nil
}

// UnsubscribeToken makes an opaque unsubscribe token for c (ID, Created,
// List). Unsubscribe tokens do not expire: a link in an old digest keeps
// working.
func (s *Signer) UnsubscribeToken(c UnsubscribeClaims) (string, error) {
	if c.ID <= 0 || c.List == "" {
		return "", errors.New("subscribers: unsubscribe token needs an id and a list")
	}
	b := []byte{tokenVersion}
	b = binary.AppendUvarint(b, uint64(c.ID))
	b = binary.AppendUvarint(b, unix(c.Created))
	b = appendStr(b, c.List)
	return s.seal(purposeUnsub, b), nil
}

// VerifyUnsubscribe checks an unsubscribe token's signature. Tokens of the
// old format (in digests already sent) are still accepted.
func (s *Signer) VerifyUnsubscribe(token string) (UnsubscribeClaims, error) {
	var c UnsubscribeClaims
	if strings.Contains(token, ".") {
		var l legacyUnsub
		if err := s.verifyLegacy(purposeUnsub, token, &l); err != nil {
			return UnsubscribeClaims{}, err
		}
		c = UnsubscribeClaims{ID: l.ID, Email: l.Email, List: l.List}
		if c.Email == "" {
			return UnsubscribeClaims{}, fmt.Errorf("%w: incomplete", ErrInvalidToken)
		}
	} else {
		r, err := s.open(purposeUnsub, token)
		if err != nil {
			return UnsubscribeClaims{}, err
		}
		c.ID = int64(r.uint())
		c.Created = fromUnix(r.uint())
		c.List = r.str()
		if err := r.done(); err != nil {
			return UnsubscribeClaims{}, err
		}
	}
	if c.ID <= 0 || c.List == "" {
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
	if err := s.verifyLegacy(purposeForm, token, &c); err != nil {
		return err
	}
	if !now.Before(c.Expires) {
		return ErrTokenExpired
	}
	return nil
}

// InitialSuppressionKey is the key suppression hashes were made with when
// it was derived from the secret: the suppression key kept in the store is
// created equal to it, so that hashes recorded before keep matching, and
// from then on it no longer follows the secret.
func (s *Signer) InitialSuppressionKey() []byte {
	return bytes.Clone(s.keys[purposeSuppress])
}

// SuppressionHash is the keyed hash kept for a suppressed address: the
// HMAC-SHA256 under key of its Key, so that a change of case cannot bring
// a removed address back.
func SuppressionHash(key []byte, normalizedEmail string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(Key(normalizedEmail)))
	return hex.EncodeToString(m.Sum(nil))
}

// sign makes a token of the old JSON format; only form tokens use it now.
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

// verifyLegacy checks a token of the old format: base64url JSON, a dot,
// the base64url HMAC-SHA256. Form tokens still use it (they carry no
// personal data); confirm and unsubscribe tokens of this format, mailed
// before the opaque ones, are accepted and never issued.
func (s *Signer) verifyLegacy(purpose, token string, v any) error {
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

package bounce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/mail"
	"strings"
	"sync"
)

// VERP makes and reads the per-copy addresses of bounce.address (variable
// envelope return paths): each copy of an issue goes out with the envelope
// sender LOCAL+TOKEN@DOMAIN, and, when mail to the bounce domain is read,
// List-Unsubscribe's mailto: is LOCAL+unsubscribe-TOKEN@DOMAIN. A
// notification sent back to such an address names its copy even when its
// text quotes nothing of it.
//
// TOKEN is lower-case base32 (local parts are often case-folded on the
// way) of: the subscriber id (uvarint), a 4-byte tag of the issue id (the
// first bytes of its SHA-256; the copy is found among the subscriber's
// deliveries, see IssueTag), then the first 10 bytes of an HMAC-SHA256 of
// those under a key derived from the secret, bound to the address's
// purpose (a bounce token is no unsubscribe token). No address is inside.
// It is 28 characters for ids below 2^21, so the longest local part,
// LOCAL+unsubscribe-TOKEN, stays within RFC 5321's 64 octets for a LOCAL
// of up to 20.
type VERP struct {
	local, domain string
	key           []byte
	unsubscribe   bool
	macs          sync.Pool // hash.Hash: HMACs keyed with key, reset for each use
}

// Target is what a verified token names.
type Target struct {
	Unsubscribe  bool // an unsubscribe request, not a bounce
	SubscriberID int64
	Tag          [4]byte // IssueTag of the copy's issue
}

// Errors of VERP.Parse.
var (
	// ErrNotVERP: the address is not bounce.address or one of its VERP
	// forms (another local part or domain).
	ErrNotVERP = errors.New("not a bounce address")
	// ErrNoToken: bounce.address itself, with no token.
	ErrNoToken = errors.New("bounce address without a token")
	// ErrBadToken: a token that does not verify (forged, altered,
	// truncated, signed with another secret) or of another purpose.
	ErrBadToken = errors.New("token does not verify")
)

const (
	verpMACLen      = 10
	verpTagLen      = 4
	unsubscribeMark = "unsubscribe-"
	// MaxLocalLen is the longest local part of bounce.address that keeps
	// every VERP address within RFC 5321's 64 octets.
	MaxLocalLen = 20
)

var verpEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewVERP reads address (bounce.address, a bare address such as
// bounces@bounce.example.org) and derives the token key from secret.
// unsubscribeByMail says whether mail to the bounce domain is read (an
// inbound way is configured), so that UnsubscribeAddress gives an address.
func NewVERP(address string, secret []byte, unsubscribeByMail bool) (*VERP, error) {
	a, err := mail.ParseAddress(address)
	if err != nil || a.Name != "" || strings.Contains(address, "<") {
		return nil, fmt.Errorf("bounce.address %q is not a bare email address such as bounces@bounce.example.org", address)
	}
	local, domain, _ := strings.Cut(a.Address, "@")
	if strings.Contains(local, "+") || local == "" || domain == "" {
		return nil, fmt.Errorf("bounce.address %q: the local part must not contain '+' (it separates the token)", address)
	}
	if len(local) > MaxLocalLen {
		return nil, fmt.Errorf("bounce.address %q: the local part is longer than %d characters, so tokens would not fit in an address", address, MaxLocalLen)
	}
	if len(secret) < 16 {
		return nil, errors.New("bounce: the secret is shorter than 16 bytes")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("syndicated/bounce/v1/verp"))
	v := &VERP{local: strings.ToLower(local), domain: strings.ToLower(domain), key: m.Sum(nil), unsubscribe: unsubscribeByMail}
	v.macs.New = func() any { return hmac.New(sha256.New, v.key) }
	return v, nil
}

// Domain is the bounce domain (inbound SMTP accepts mail for it only).
func (v *VERP) Domain() string { return v.domain }

// Address is bounce.address itself.
func (v *VERP) Address() string { return v.local + "@" + v.domain }

// IssueTag is the tag of an issue id that tokens carry.
func IssueTag(issueID string) [4]byte {
	sum := sha256.Sum256([]byte(issueID))
	return [4]byte(sum[:verpTagLen])
}

// ReturnPath is the envelope sender of the issue's copy to the subscriber.
func (v *VERP) ReturnPath(issueID string, subscriberID int64) string {
	return v.local + "+" + v.token(false, subscriberID, IssueTag(issueID)) + "@" + v.domain
}

// UnsubscribeAddress is the mailto: List-Unsubscribe address of the copy,
// or "" when mail to the bounce domain is not read.
func (v *VERP) UnsubscribeAddress(issueID string, subscriberID int64) string {
	if !v.unsubscribe {
		return ""
	}
	return v.local + "+" + unsubscribeMark + v.token(true, subscriberID, IssueTag(issueID)) + "@" + v.domain
}

func (v *VERP) token(unsubscribe bool, subscriberID int64, tag [4]byte) string {
	payload := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+verpTagLen+verpMACLen), uint64(subscriberID))
	payload = append(payload, tag[:]...)
	return verpEncoding.EncodeToString(append(payload, v.mac(unsubscribe, payload)...))
}

func (v *VERP) mac(unsubscribe bool, payload []byte) []byte {
	m := v.macs.Get().(hash.Hash)
	defer v.macs.Put(m)
	m.Reset()
	if unsubscribe {
		m.Write([]byte{'u'})
	} else {
		m.Write([]byte{'b'})
	}
	m.Write(payload)
	var sum [sha256.Size]byte
	return m.Sum(sum[:0])[:verpMACLen]
}

// Parse verifies a VERP address (in any letter case, with or without
// angle brackets) and returns the copy it names. It returns ErrNotVERP for
// an address that is not bounce.address's, ErrNoToken for bounce.address
// itself and ErrBadToken for a token that does not verify.
func (v *VERP) Parse(addr string) (Target, error) {
	addr = strings.ToLower(strings.Trim(strings.TrimSpace(addr), "<>"))
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || addr[at+1:] != v.domain {
		return Target{}, ErrNotVERP
	}
	local := addr[:at]
	if local == v.local {
		return Target{}, ErrNoToken
	}
	tok, ok := strings.CutPrefix(local, v.local+"+")
	if !ok {
		return Target{}, ErrNotVERP
	}
	var t Target
	if rest, ok := strings.CutPrefix(tok, unsubscribeMark); ok {
		t.Unsubscribe, tok = true, rest
	}
	if len(tok) > 64 {
		return Target{}, ErrBadToken
	}
	raw, err := verpEncoding.DecodeString(tok)
	if err != nil || len(raw) < 1+verpTagLen+verpMACLen || verpEncoding.EncodeToString(raw) != tok {
		return Target{}, ErrBadToken
	}
	payload, sum := raw[:len(raw)-verpMACLen], raw[len(raw)-verpMACLen:]
	if !hmac.Equal(sum, v.mac(t.Unsubscribe, payload)) {
		return Target{}, ErrBadToken
	}
	id, n := binary.Uvarint(payload)
	if n <= 0 || len(payload)-n != verpTagLen || id == 0 || id > 1<<62 {
		return Target{}, ErrBadToken
	}
	t.SubscriberID = int64(id)
	copy(t.Tag[:], payload[n:])
	return t, nil
}

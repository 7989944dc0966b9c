package subscribers

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ErrInvalidEmail is wrapped by every error Normalize returns.
var ErrInvalidEmail = errors.New("invalid email address")

// ErrInvalidName is wrapped by every error ValidateName returns.
var ErrInvalidName = errors.New("invalid name")

// MaxNameLen is the longest display name accepted, in bytes.
const MaxNameLen = 200

// Normalize returns the canonical form of an email address: surrounding
// white space trimmed, the domain lower-cased and converted to its ASCII
// (IDNA) form, the local part kept exactly as written. It rejects control
// characters (CR and LF above all, so an address can never reach a mail
// header carrying another header), a missing or doubled @, and a domain that
// is not a valid host name. Every error wraps ErrInvalidEmail.
func Normalize(email string) (string, error) {
	e := strings.TrimSpace(email)
	if e == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidEmail)
	}
	if !utf8.ValidString(e) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalidEmail)
	}
	for _, r := range e {
		if r == '\r' || r == '\n' {
			return "", fmt.Errorf("%w: contains a line break", ErrInvalidEmail)
		}
		if unicode.IsControl(r) {
			return "", fmt.Errorf("%w: contains a control character", ErrInvalidEmail)
		}
	}
	at := strings.LastIndexByte(e, '@')
	if at < 0 {
		return "", fmt.Errorf("%w: missing @", ErrInvalidEmail)
	}
	local, domain := e[:at], e[at+1:]
	if err := checkLocal(local); err != nil {
		return "", err
	}
	d, err := normalizeDomain(domain)
	if err != nil {
		return "", err
	}
	out := local + "@" + d
	if len(out) > 254 {
		return "", fmt.Errorf("%w: longer than 254 characters", ErrInvalidEmail)
	}
	return out, nil
}

// Key is the identity of a normalised address: one person whatever the
// letter case they typed. The domain is case-insensitive by the standard;
// the local part is by every mailbox provider in practice, so it is
// folded too. The address as typed is what mail is sent to; Key is what
// finds the subscriber, the per-address limit and the suppression hash.
func Key(normalized string) string { return strings.ToLower(normalized) }

// atext reports whether r may appear unquoted in a local part (RFC 5322
// atext, plus any non-ASCII character as RFC 6531 allows).
func atext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r >= 0x80:
		return !unicode.IsSpace(r)
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

func checkLocal(local string) error {
	if local == "" {
		return fmt.Errorf("%w: nothing before the @", ErrInvalidEmail)
	}
	if len(local) > 64 {
		return fmt.Errorf("%w: the part before the @ is longer than 64 characters", ErrInvalidEmail)
	}
	if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		// Quoted string: printable characters, with \ escaping " and \.
		q := local[1 : len(local)-1]
		for i := 0; i < len(q); i++ {
			switch q[i] {
			case '\\':
				i++
				if i == len(q) {
					return fmt.Errorf("%w: bad escape in quoted local part", ErrInvalidEmail)
				}
			case '"':
				return fmt.Errorf("%w: unescaped quote in local part", ErrInvalidEmail)
			}
		}
		return nil
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return fmt.Errorf("%w: misplaced dot before the @", ErrInvalidEmail)
	}
	for _, r := range local {
		if r != '.' && !atext(r) {
			return fmt.Errorf("%w: character %q not allowed before the @", ErrInvalidEmail, r)
		}
	}
	return nil
}

func normalizeDomain(domain string) (string, error) {
	if domain == "" {
		return "", fmt.Errorf("%w: nothing after the @", ErrInvalidEmail)
	}
	if strings.HasPrefix(domain, "[") {
		return "", fmt.Errorf("%w: address literals are not accepted", ErrInvalidEmail)
	}
	a, err := idna.Lookup.ToASCII(strings.ToLower(domain))
	if err != nil {
		return "", fmt.Errorf("%w: domain %q: %v", ErrInvalidEmail, domain, err)
	}
	if len(a) > 253 {
		return "", fmt.Errorf("%w: domain longer than 253 characters", ErrInvalidEmail)
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%w: domain %q has no dot", ErrInvalidEmail, domain)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("%w: domain %q has an empty or too long label", ErrInvalidEmail, domain)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("%w: domain %q has a label starting or ending with a hyphen", ErrInvalidEmail, domain)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("%w: domain %q contains %q", ErrInvalidEmail, domain, c)
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return "", fmt.Errorf("%w: domain %q ends in a number", ErrInvalidEmail, domain)
	}
	return a, nil
}

// ValidateName trims a display name and rejects line breaks, other control
// characters, invalid UTF-8 and names longer than MaxNameLen. The empty name
// is valid. Every error wraps ErrInvalidName. HTML in a name is kept as
// written: pages and emails escape it when they show it.
func ValidateName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if !utf8.ValidString(n) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalidName)
	}
	for _, r := range n {
		if r == '\r' || r == '\n' {
			return "", fmt.Errorf("%w: contains a line break", ErrInvalidName)
		}
		if unicode.IsControl(r) {
			return "", fmt.Errorf("%w: contains a control character", ErrInvalidName)
		}
	}
	if len(n) > MaxNameLen {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidName, MaxNameLen)
	}
	return n, nil
}

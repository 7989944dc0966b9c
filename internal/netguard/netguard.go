// Package netguard keeps requests whose address comes from outside (a
// photo URL in an article, a callback a subscriber names) off this machine
// and the internal network: it refuses loopback, private, link-local and
// other non-public addresses when a connection is made, so after DNS
// resolution and after every redirect, unless an address is allowed.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrRefused is wrapped by every refusal.
var ErrRefused = errors.New("address refused: not a public address")

// Policy refuses every address that is not public unicast, except those
// in Allow.
type Policy struct {
	Allow []netip.Prefix
}

// nonPublic are ranges that are not the public internet beyond what
// netip's predicates name: shared address space (RFC 6598), "this"
// network, IETF protocol assignments, benchmarking, reserved and
// broadcast, NAT64 (which can reach any IPv4 address), the deprecated
// site-local and IPv4-compatible IPv6.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("::/96"),
}

// Check returns nil for a public address or an allowed one.
func (p Policy) Check(a netip.Addr) error {
	a = a.Unmap()
	for _, pre := range p.Allow {
		if pre.Contains(a) {
			return nil
		}
	}
	var kind string
	switch {
	case !a.IsValid() || a.IsUnspecified():
		kind = "unspecified"
	case a.IsLoopback():
		kind = "loopback"
	case a.IsPrivate():
		kind = "private"
	case a.IsLinkLocalUnicast():
		kind = "link-local"
	case a.IsMulticast():
		kind = "multicast"
	default:
		for _, pre := range nonPublic {
			if pre.Contains(a) {
				kind = "reserved (" + pre.String() + ")"
				break
			}
		}
	}
	if kind != "" {
		return fmt.Errorf("%w: %s is %s", ErrRefused, a, kind)
	}
	return nil
}

// control is a net.Dialer Control: it sees the address actually dialled.
func (p Policy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrRefused, address)
	}
	return p.Check(ap.Addr())
}

// Dialer returns a dialer that refuses what Check refuses.
func (p Policy) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.control}
}

// MaxRedirects is how many redirects Client follows.
const MaxRedirects = 5

// Client returns an HTTP client for requests to addresses from outside:
// it dials through Dialer (no proxy from the environment, which would
// connect to the proxy's address instead), follows at most MaxRedirects
// redirects and only to http or https, and gives up after timeout.
func (p Policy) Client(timeout time.Duration) *http.Client {
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           p.Dialer(timeout).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= MaxRedirects {
				return fmt.Errorf("more than %d redirects", MaxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to %s: only http and https are followed", req.URL.Scheme)
			}
			return nil
		},
	}
}

// Package clientip finds the address of the client behind a request: the
// connection's peer or, when the peer is a configured trusted reverse
// proxy, the address that proxy recorded in the one header it sets
// (X-Forwarded-For by default, or Forwarded). The other header is never
// read, so a client cannot slip an address of its choosing past a proxy
// that sets one header and passes the other through.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The headers a proxy may record the client in.
const (
	XForwardedFor = "X-Forwarded-For"
	Forwarded     = "Forwarded" // RFC 7239
)

// Resolver finds client addresses. The zero value (and nil) trusts no
// proxy: the client is the peer.
type Resolver struct {
	trusted []netip.Prefix
	header  string
}

// New returns a Resolver trusting the proxies in trusted, which record the
// client in header (XForwardedFor when empty, or Forwarded; any case).
func New(trusted []netip.Prefix, header string) (*Resolver, error) {
	switch {
	case header == "" || strings.EqualFold(header, XForwardedFor):
		header = XForwardedFor
	case strings.EqualFold(header, Forwarded):
		header = Forwarded
	default:
		return nil, fmt.Errorf("client address header %q: want %s or %s", header, XForwardedFor, Forwarded)
	}
	return &Resolver{trusted: trusted, header: header}, nil
}

// Header is the header read from trusted proxies.
func (r *Resolver) Header() string {
	if r == nil || r.header == "" {
		return XForwardedFor
	}
	return r.header
}

// Trusted reports whether a is one of the trusted proxies.
func (r *Resolver) Trusted(a netip.Addr) bool {
	return r != nil && r.isTrusted(a)
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Peer is the connection's peer address (RemoteAddr's host); invalid when
// RemoteAddr holds no IP address.
func Peer(req *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// Addr is the client's address. From a peer that is no trusted proxy it
// is the peer. From a trusted proxy it is the rightmost hop of the
// configured header that is not itself a trusted proxy (each proxy
// appends the address it saw, so hops further left are what the client,
// or a proxy not trusted, wrote); when every hop is trusted, the leftmost;
// when the header is absent or a hop is no IP address ("unknown", an
// obfuscated name), the last trusted address seen, which a client cannot
// choose. Invalid only when RemoteAddr holds no IP address.
func (r *Resolver) Addr(req *http.Request) netip.Addr {
	peer := Peer(req)
	if r == nil || len(r.trusted) == 0 || !peer.IsValid() || !r.isTrusted(peer) {
		return peer
	}
	var buf [8]string // most requests pass a proxy or two: no allocation
	hops := r.hops(req.Header, buf[:0])
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(hops[i])
		if err != nil {
			return addr
		}
		addr = hop.Unmap()
		if !r.isTrusted(addr) {
			return addr
		}
	}
	return addr
}

// String is Addr as text ("" when invalid), for the consent record and the
// per-client limit.
func (r *Resolver) String(req *http.Request) string {
	a := r.Addr(req)
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// hops lists the addresses recorded in the configured header, first hop
// first, from every instance of the header in order. Ports and IPv6
// brackets are taken off. They are appended to hops.
func (r *Resolver) hops(h http.Header, hops []string) []string {
	if r.header == Forwarded {
		for _, v := range h.Values(Forwarded) {
			for elem := range strings.SplitSeq(v, ",") {
				for pair := range strings.SplitSeq(elem, ";") {
					k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
						hops = append(hops, hostOnly(strings.Trim(strings.TrimSpace(val), `"`)))
					}
				}
			}
		}
		return hops
	}
	for _, v := range h.Values(XForwardedFor) {
		for hop := range strings.SplitSeq(v, ",") {
			hops = append(hops, hostOnly(strings.TrimSpace(hop)))
		}
	}
	return hops
}

// hostOnly takes the port and brackets off "[2001:db8::1]:4711" or
// "192.0.2.1:80"; a bare address is returned as it is.
func hostOnly(s string) string {
	// Only what may carry a port goes to SplitHostPort, whose error for a
	// bare address would be an allocation on every request.
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		if host, _, err := net.SplitHostPort(s); err == nil {
			return host
		}
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
}

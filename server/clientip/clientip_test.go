package clientip_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/syndicated/syndicated/server/clientip"
)

func resolve(t *testing.T, r *clientip.Resolver, remote string, hdr ...string) string {
	t.Helper()
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return r.String(req)
}

// Only the configured header counts, only from a trusted proxy, and its
// rightmost hop that is no trusted proxy is the client: what a client
// writes in either header never chooses its address.
func TestOneHeaderFromTrustedProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	xff, err := clientip.New(proxies, "")
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := clientip.New(proxies, "forwarded")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		r      *clientip.Resolver
		remote string
		hdr    []string
		want   string
	}{
		{"not a proxy: headers ignored", xff, "203.0.113.9:1", []string{"X-Forwarded-For", "1.2.3.4", "Forwarded", "for=1.2.3.4"}, "203.0.113.9"},
		{"rightmost untrusted hop", xff, "10.0.0.2:1", []string{"X-Forwarded-For", "1.2.3.4, 198.51.100.7"}, "198.51.100.7"},
		{"inner proxies skipped", xff, "10.0.0.2:1", []string{"X-Forwarded-For", "198.51.100.7, 10.0.0.3"}, "198.51.100.7"},
		{"headers repeated, in order", xff, "10.0.0.2:1", []string{"X-Forwarded-For", "1.2.3.4", "X-Forwarded-For", "198.51.100.7"}, "198.51.100.7"},
		{"no header: the proxy", xff, "10.0.0.2:1", nil, "10.0.0.2"},
		{"garbage: the last trusted", xff, "10.0.0.2:1", []string{"X-Forwarded-For", "garbage"}, "10.0.0.2"},
		{"a forged Forwarded is not read", xff, "10.0.0.2:1", []string{"Forwarded", "for=192.0.2.66", "X-Forwarded-For", "198.51.100.7"}, "198.51.100.7"},
		{"a forged Forwarded alone is not read", xff, "10.0.0.2:1", []string{"Forwarded", "for=192.0.2.66"}, "10.0.0.2"},
		{"Forwarded configured", fwd, "10.0.0.2:1", []string{"Forwarded", `for=192.0.2.66, for="[2001:db8::7]:4711";proto=https`}, "2001:db8::7"},
		{"X-Forwarded-For not read then", fwd, "10.0.0.2:1", []string{"X-Forwarded-For", "198.51.100.7"}, "10.0.0.2"},
		{"unknown hop", fwd, "10.0.0.2:1", []string{"Forwarded", "for=192.0.2.66, for=unknown"}, "10.0.0.2"},
		{"mapped IPv4", xff, "[::ffff:10.0.0.2]:1", []string{"X-Forwarded-For", "::ffff:198.51.100.7"}, "198.51.100.7"},
		{"no proxy configured", nil, "10.0.0.2:1", []string{"X-Forwarded-For", "198.51.100.7"}, "10.0.0.2"},
	} {
		if got := resolve(t, c.r, c.remote, c.hdr...); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if _, err := clientip.New(proxies, "X-Real-IP"); err == nil {
		t.Error("X-Real-IP accepted as the header")
	}
}

package bounce

import (
	"errors"
	"math"
	"strings"
	"testing"
)

var secret = []byte("verp-test-secret-0123456789")

func TestVERPRoundTrip(t *testing.T) {
	v, err := NewVERP("Bounces@Bounce.Example.ORG", secret, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{1, 127, 128, 2_000_000, 1 << 40, math.MaxInt32} {
		rp := v.ReturnPath("shanghai-70th/2019-W22", id)
		un := v.UnsubscribeAddress("shanghai-70th/2019-W22", id)
		local, _, _ := strings.Cut(un, "@")
		if len(local) > 64 {
			t.Errorf("id %d: local part %q is %d octets", id, local, len(local))
		}
		if !strings.HasPrefix(rp, "bounces+") || !strings.HasSuffix(rp, "@bounce.example.org") || strings.Contains(rp, "shanghai") {
			t.Errorf("return path %q", rp)
		}
		for _, addr := range []string{rp, strings.ToUpper(rp), "<" + rp + ">"} {
			got, err := v.Parse(addr)
			if err != nil || got.Unsubscribe || got.SubscriberID != id || got.Tag != IssueTag("shanghai-70th/2019-W22") {
				t.Errorf("Parse(%q) = %+v, %v", addr, got, err)
			}
		}
		if got, err := v.Parse(un); err != nil || !got.Unsubscribe || got.SubscriberID != id {
			t.Errorf("Parse(%q) = %+v, %v", un, got, err)
		}
	}
	if len(v.ReturnPath("x", 1_000_000)) > len("bounces+")+28+len("@bounce.example.org") {
		t.Errorf("token longer than 28 characters: %s", v.ReturnPath("x", 1_000_000))
	}
}

func TestVERPRefuses(t *testing.T) {
	v, _ := NewVERP("bounces@bounce.example.org", secret, false)
	if v.UnsubscribeAddress("i", 1) != "" {
		t.Error("an unsubscribe address while no inbound way is configured")
	}
	rp := v.ReturnPath("shanghai-70th/2019-W22", 42)
	tok := strings.TrimSuffix(strings.TrimPrefix(rp, "bounces+"), "@bounce.example.org")
	other, _ := NewVERP("bounces@bounce.example.org", []byte("another-secret-0123456789"), true)
	cases := map[string]error{
		"bounces@bounce.example.org":                                  ErrNoToken,
		"bounces+" + tok + "@other.example.org":                       ErrNotVERP,
		"postmaster@bounce.example.org":                               ErrNotVERP,
		"bouncesx+" + tok + "@bounce.example.org":                     ErrNotVERP,
		"bounces+" + tok[:len(tok)-1] + "@bounce.example.org":         ErrBadToken,
		"bounces+" + tok + "a@bounce.example.org":                     ErrBadToken,
		"bounces+unsubscribe-" + tok + "@bounce.example.org":          ErrBadToken, // a bounce token is no unsubscribe token
		"bounces+!!!!@bounce.example.org":                             ErrBadToken,
		other.ReturnPath("shanghai-70th/2019-W22", 42):                ErrBadToken,
		"bounces+" + strings.Repeat("a", 200) + "@bounce.example.org": ErrBadToken,
	}
	for addr, want := range cases {
		if _, err := v.Parse(addr); !errors.Is(err, want) {
			t.Errorf("Parse(%q) = %v, want %v", addr, err, want)
		}
	}
	for _, bad := range []string{"Bounces <bounces@bounce.example.org>", "a+b@bounce.example.org", "not an address",
		"averyveryverylonglocalpart@bounce.example.org"} {
		if _, err := NewVERP(bad, secret, true); err == nil {
			t.Errorf("NewVERP(%q) accepted", bad)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		action, status string
		code           int
		kind           Kind
		ok             bool
	}{
		{"failed", "5.1.1", 550, KindHard, true},
		{"failed", "5.1.1", 0, KindHard, true},
		{"failed", "5.1.10", 550, KindHard, true},
		{"failed", "5.2.1", 550, KindHard, true},
		{"failed", "", 550, KindHard, true},
		{"failed", "", 553, KindHard, true},
		{"failed", "5.2.2", 552, KindSoft, true},
		{"failed", "5.4.4", 0, KindSoft, true},
		{"failed", "4.4.7", 0, KindSoft, true},
		{"failed", "5.7.1", 554, KindRejected, true},
		{"failed", "", 554, KindSoft, true},
		{"failed", "", 0, KindSoft, true},
		{"delayed", "4.4.1", 0, KindSoft, true},
		{"delayed", "4.7.0", 421, KindRejected, true},
		{"", "4.2.2", 452, KindSoft, true},
		{"delivered", "2.0.0", 250, "", false},
		{"relayed", "", 0, "", false},
		{"", "2.0.0", 0, "", false},
		{"", "", 0, "", false},
	}
	for _, c := range cases {
		k, ok := Classify(c.action, c.status, c.code)
		if k != c.kind || ok != c.ok {
			t.Errorf("Classify(%q, %q, %d) = %q, %v; want %q, %v", c.action, c.status, c.code, k, ok, c.kind, c.ok)
		}
	}
}

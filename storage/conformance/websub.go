package conformance

import (
	"testing"
	"time"

	"github.com/syndicated/syndicated/feeds/websub"
	"github.com/syndicated/syndicated/storage"
)

// testWebSubHub: subscriptions renew in place; a topic's content is
// queued once per subscription and version (a second replica queuing the
// same bytes changes nothing); claims are exclusive and lapse; outcomes
// deliver, retry, give up or delete; a newer version replaces what a
// claimed distribution was sending; leases expire.
func testWebSubHub(t *testing.T, s storage.Storage) {
	c := ctx(t)
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	topic := "https://news.example/feeds/society.atom"
	sub := func(cb, secret string, lease time.Duration) websub.Subscription {
		got, err := s.PutSubscription(c, websub.Subscription{Topic: topic, Callback: cb, Secret: secret, Lease: lease,
			Expires: t0.Add(lease), Created: t0})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	a := sub("https://a.example/cb", "", time.Hour)
	b := sub("https://b.example/cb?x=1", "s3cret", 2*time.Hour)
	a2 := sub("https://a.example/cb", "new secret", 3*time.Hour) // renewal
	if a2.ID != a.ID || a2.Secret != "new secret" || !a2.Expires.Equal(t0.Add(3*time.Hour)) || a2.Lease != 3*time.Hour {
		t.Errorf("renewal: %+v, was %+v", a2, a)
	}
	if n, err := s.LiveSubscriptions(c, topic, t0); err != nil || n != 2 {
		t.Errorf("live subscriptions: %d, %v", n, err)
	}
	queue := func(body string, at time.Time) int {
		n, err := s.QueueDistribution(c, topic, "application/atom+xml; charset=utf-8", []byte(body), "sum-"+body, at)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := queue("v1", t0); n != 2 {
		t.Fatalf("queued %d, want 2", n)
	}
	if n := queue("v1", t0); n != 0 {
		t.Errorf("the same bytes again queued %d, want 0", n)
	}
	claim := func(owner string, at time.Time) []websub.Distribution {
		ds, err := s.ClaimDistributions(c, owner, at, at.Add(time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	got := claim("r1", t0)
	if len(got) != 2 || string(got[0].Body) != "v1" || got[0].ContentType != "application/atom+xml; charset=utf-8" {
		t.Fatalf("claim: %+v", got)
	}
	for _, d := range got {
		if d.Callback == b.Callback && d.Secret != "s3cret" {
			t.Errorf("claimed distribution lacks the secret: %+v", d)
		}
	}
	if again := claim("r2", t0); len(again) != 0 {
		t.Errorf("a second claim took %d claimed distributions", len(again))
	}
	finish := func(owner string, d websub.Distribution, o websub.Outcome, at time.Time) {
		if err := s.FinishDistribution(c, owner, d, o, at); err != nil {
			t.Fatal(err)
		}
	}
	var da, db websub.Distribution
	for _, d := range got {
		if d.ID == a.ID {
			da = d
		} else {
			db = d
		}
	}
	finish("r1", da, websub.Outcome{Delivered: true}, t0)
	finish("r1", db, websub.Outcome{RetryAt: t0.Add(10 * time.Second), Err: "503"}, t0)
	if early := claim("r1", t0.Add(5*time.Second)); len(early) != 0 {
		t.Errorf("a retry was claimed before its time: %+v", early)
	}
	retry := claim("r1", t0.Add(11*time.Second))
	if len(retry) != 1 || retry[0].ID != b.ID || retry[0].Attempts != 1 {
		t.Fatalf("retry claim: %+v", retry)
	}
	// The claim lapses; another replica takes it over; the first one's
	// late outcome changes nothing.
	taken := claim("r2", t0.Add(2*time.Minute))
	if len(taken) != 1 || taken[0].ID != b.ID {
		t.Fatalf("takeover: %+v", taken)
	}
	finish("r1", retry[0], websub.Outcome{Delivered: true}, t0.Add(2*time.Minute))
	// A new version while r2 sends: r2's outcome does not mark it done.
	if n := queue("v2", t0.Add(3*time.Minute)); n != 2 {
		t.Errorf("v2 queued %d, want 2", n)
	}
	finish("r2", taken[0], websub.Outcome{Delivered: true}, t0.Add(3*time.Minute))
	v2 := claim("r3", t0.Add(3*time.Minute))
	if len(v2) != 2 || string(v2[0].Body) != "v2" || v2[0].Attempts != 0 {
		t.Fatalf("v2 claim: %+v", v2)
	}
	for _, d := range v2 {
		if d.ID == a.ID {
			finish("r3", d, websub.Outcome{Gone: true}, t0.Add(3*time.Minute)) // 410: unsubscribed
		} else {
			finish("r3", d, websub.Outcome{Err: "gave up"}, t0.Add(3*time.Minute))
		}
	}
	if n, _ := s.LiveSubscriptions(c, topic, t0.Add(3*time.Minute)); n != 1 {
		t.Errorf("after a 410, %d live subscriptions, want 1", n)
	}
	if left := claim("r3", t0.Add(time.Hour)); len(left) != 0 {
		t.Errorf("a given-up distribution was claimed again: %+v", left)
	}
	counts, err := s.SubscriptionCounts(c, t0)
	if err != nil || counts[topic] != 1 {
		t.Errorf("counts %v, %v", counts, err)
	}
	if n, err := s.ExpireSubscriptions(c, t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("expired %d, %v; want 1", n, err)
	}
	if n, _ := s.LiveSubscriptions(c, topic, t0); n != 0 {
		t.Errorf("%d subscriptions after expiry", n)
	}
	if err := s.DeleteSubscription(c, topic, "https://nobody.example/"); err != nil {
		t.Errorf("deleting an unknown subscription: %v", err)
	}
}

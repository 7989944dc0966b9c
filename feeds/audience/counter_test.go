package audience_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/syndicated/syndicated/feeds/audience"
	"github.com/syndicated/syndicated/server/clientip"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

func request(ip, ua string) *httpRequest {
	r := httptest.NewRequest("GET", "/feeds/society.rss", nil)
	r.RemoteAddr = ip + ":4711"
	if ua != "" {
		r.Header.Set("User-Agent", ua)
	}
	return r
}

// TestCrowd: two replicas count a simulated crowd of aggregators and
// individuals; what the store then says is what they sent: each
// aggregator's latest count summed over its feed ids and formats, and the
// distinct individuals of the day (one person polling often, or through
// both replicas, is one), within HyperLogLog's error.
func TestCrowd(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		now := time.Date(2019, 4, 24, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		newCounter := func() *audience.Counter {
			c, err := audience.NewCounter(audience.Options{Store: st, Now: clock, MaxFeeds: 10})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		r1, r2 := newCounter(), newCounter()
		for _, c := range []*audience.Counter{r1, r2} {
			runOnce(t, c) // fetches the day's key
		}
		const feed = "/feeds/society"
		for poll := range 3 { // counts move; the latest wins
			r1.Observe(feed, "rss", request("192.0.2.1", fmt.Sprintf("Feedly/1.0 (+http://www.feedly.com/fetcher.html; %d subscribers; )", 460+poll)))
			r2.Observe(feed, "atom", request("192.0.2.1", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 12 subscribers; )"))
		}
		r1.Observe(feed, "rss", request("192.0.2.2", "Feedbin feed-id:1697787 - 102 subscribers"))
		r2.Observe(feed, "rss", request("192.0.2.2", "Feedbin feed-id:1697788 - 3 subscribers"))
		r1.Observe(feed, "json", request("192.0.2.3", "Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)"))
		// 800 people, each polling 4 times, half of them through each
		// replica, some through both.
		for i := range 800 {
			ip := fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256)
			ua := []string{"NetNewsWire (RSS Reader; https://netnewswire.com/)", "Miniflux/2.0.51 (https://miniflux.app)",
				"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}[i%3]
			for p := range 4 {
				c := r1
				if (i+p)%2 == 0 && i%5 == 0 || i%2 == 1 {
					c = r2
				}
				c.Observe(feed, "rss", request(ip, ua))
			}
		}
		for _, c := range []*audience.Counter{r1, r2} {
			if err := c.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got, err := audience.Load(ctx, st, audience.LoadOptions{Days: []string{"2019-04-24", "2019-04-23"}, Feeds: []string{feed, "/feeds/series/x"},
			Email: map[string]int{"/feeds/series/x": 7}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("feeds %+v", got)
		}
		fa := got[0]
		if fa.Feed != "/feeds/series/x" || fa.Email != 7 {
			t.Errorf("series %+v", fa)
		}
		fa = got[1]
		want := map[string]int{"Feedly": 462 + 12, "Feedbin": 105, "Inoreader": 114}
		for _, a := range fa.Aggregators {
			if want[a.Name] != a.Subscribers {
				t.Errorf("%s: %d subscribers, want %d", a.Name, a.Subscribers, want[a.Name])
			}
			delete(want, a.Name)
		}
		if len(want) != 0 || fa.Subscribers != 474+105+114 {
			t.Errorf("aggregators %+v (total %d), missing %v", fa.Aggregators, fa.Subscribers, want)
		}
		if n := fa.Clients[0].Clients; n < 784 || n > 816 {
			t.Errorf("%d distinct clients on the day, want 800 ± 2%%", n)
		}
		if fa.Clients[1].Clients != 0 {
			t.Errorf("the day before: %d clients", fa.Clients[1].Clients)
		}
	})
}

// TestNothingIdentifyingKept: the store holds no address, agent or hash,
// and once the day ends its key is deleted.
func TestNothingIdentifyingKept(t *testing.T) {
	st := storagetest.SQLite(t)
	now := time.Date(2019, 4, 24, 23, 0, 0, 0, time.UTC)
	c, _ := audience.NewCounter(audience.Options{Store: st, Now: func() time.Time { return now }})
	runOnce(t, c)
	c.Observe("/feeds/society", "rss", request("198.51.100.77", "Reader/3.1 (secret-agent)"))
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	dump := dumpTables(t, st, "audience_days", "audience_reports", "audience_keys")
	for _, bad := range []string{"198.51.100.77", "secret-agent", "Reader/3.1"} {
		if containsStr(dump, bad) {
			t.Errorf("the store keeps %q", bad)
		}
	}
	now = now.Add(2 * time.Hour) // the next day
	runOnce(t, c)
	if err := st.PruneAudience(context.Background(), "2019-01-01", c.Day(now), now.AddDate(0, 0, -35)); err != nil {
		t.Fatal(err)
	}
	if containsStr(dumpTables(t, st, "audience_keys"), "2019-04-24") {
		t.Errorf("the ended day's key is still stored")
	}
}

// TestMemoryBound: however many feeds are asked for, a counter keeps at
// most MaxFeeds of them, the rest counted together as "other".
func TestMemoryBound(t *testing.T) {
	st := storagetest.SQLite(t)
	c, _ := audience.NewCounter(audience.Options{Store: st, MaxFeeds: 5})
	runOnce(t, c)
	for i := range 100 {
		c.Observe(fmt.Sprintf("/feeds/authors/a%d", i), "rss", request("192.0.2.9", "x"))
	}
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := audience.Load(context.Background(), st, audience.LoadOptions{Days: []string{c.Day(time.Now())}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 || got[len(got)-1].Feed != audience.OtherFeed || got[len(got)-1].Clients[0].Clients != 1 {
		t.Errorf("%d feeds kept: %+v", len(got), got)
	}
}

// TestObserveAllocatesNothing: counting an individual's poll, the client
// found by a clientip.Resolver behind a trusted proxy, allocates nothing
// (it runs on every feed request).
func TestObserveAllocatesNothing(t *testing.T) {
	st := storagetest.SQLite(t)
	res, err := clientip.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, clientip.XForwardedFor)
	if err != nil {
		t.Fatal(err)
	}
	c, err := audience.NewCounter(audience.Options{Store: st, ClientIP: res.Addr})
	if err != nil {
		t.Fatal(err)
	}
	runOnce(t, c)
	r := request("127.0.0.1", "NetNewsWire (RSS Reader; https://netnewswire.com/)")
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	if allocs := testing.AllocsPerRun(100, func() { c.Observe("/feeds/society", "rss", r) }); allocs != 0 {
		t.Errorf("Observe: %v allocations, want 0", allocs)
	}
}

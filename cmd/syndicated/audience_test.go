package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/feeds/audience"
)

// TestAudienceCommand: a simulated crowd of aggregators and individuals
// polls the feeds of a running daemon; after it stops, `syndicated
// audience` reports what they sent, and /metrics and /audience said so
// while it ran.
func TestAudienceCommand(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	errb := &syncBuffer{}
	c := &cli{stdout: io.Discard, stderr: errb, onServing: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() { done <- c.main(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0"}) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case code := <-done:
		t.Fatalf("serve exited %d:\n%s", code, errb.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start:\n%s", errb.String())
	}
	poll := func(path, ua, forwardedFor string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("User-Agent", ua)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 3 {
		poll("/feeds/society.rss", "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )", "")
		poll("/feeds/society.atom", "Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)", "")
		poll("/feeds/series/shanghai-70th.json", "Feedbin feed-id:1697787 - 102 subscribers", "")
	}
	// Individuals all come from 127.0.0.1 here: distinct by their agents.
	for i := range 40 {
		for range 3 {
			poll("/feeds/society.rss", fmt.Sprintf("NetNewsWire/%d.0 (RSS Reader)", i), "")
		}
	}
	poll("/feeds/society/archive/2019-04.rss", "Backfiller/1.0", "") // not a subscriber
	_, metrics := get(t, base+"/metrics")
	if !bytes.Contains(metrics, []byte(`syndicated_feed_audience_email_subscribers{feed="/feeds/series/shanghai-70th"} 0`)) {
		t.Errorf("/metrics lacks the audience gauges")
	}
	cancel() // serve writes what it counted as it stops
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, errb.String())
	}
	var out bytes.Buffer
	c = &cli{stdout: &out, stderr: errb}
	if code := c.main(context.Background(), []string{"audience", "--data", data, "--format", "json", "--days", "2"}); code != 0 {
		t.Fatalf("audience exited %d:\n%s", code, errb.String())
	}
	var got []audience.FeedAudience
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	by := map[string]audience.FeedAudience{}
	for _, fa := range got {
		by[fa.Feed] = fa
	}
	soc, series := by["/feeds/society"], by["/feeds/series/shanghai-70th"]
	if soc.Subscribers != 462+114 || series.Subscribers != 102 {
		t.Errorf("aggregator subscribers: society %+v, series %+v", soc.Aggregators, series.Aggregators)
	}
	if len(soc.Clients) != 2 || soc.Clients[0].Clients != 40 {
		t.Errorf("society clients %+v, want 40 today", soc.Clients)
	}
	if _, ok := by["/feeds/society/archive/2019-04"]; ok {
		t.Errorf("an archive page counted as a feed")
	}
	out.Reset()
	if code := c.main(context.Background(), []string{"audience", "--data", data}); code != 0 {
		t.Fatalf("audience exited %d", code)
	}
	if !strings.Contains(out.String(), "576 (Feedly 462, Inoreader 114)") {
		t.Errorf("text report:\n%s", out.String())
	}
}

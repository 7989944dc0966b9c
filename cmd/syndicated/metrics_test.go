package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape reads GET /metrics into series text (as exposed, labels sorted)
// → value.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, body := get(t, base+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// closedPort is a loopback address nothing listens on: SMTP there fails
// with a temporary error, so digest deliveries wait for a retry.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// The operator's metrics move with real actions on a running daemon: feed
// builds, feed requests by feed, format and status, ingest outcomes,
// subscribers by status and the digest queue (read from the store).
func TestOpsMetricsMoveWithRealActions(t *testing.T) {
	const token = "test-token-0123456789"
	ctx := context.Background()
	data := t.TempDir()
	smtp := "SYNDICATED_SMTP_URL=smtp://" + closedPort(t)
	public := "SYNDICATED_BASE_URL=https://news.example" // real mail is refused with a loopback base_url
	if code, _, errs := run(t, ctx, nil, "import", "--data", data, "../../samples"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	for _, e := range []string{"li@example.com", "wang@example.com"} {
		if code, _, errs := run(t, ctx, nil, "subscribers", "add", "--data", data, "--confirmed", e); code != 0 {
			t.Fatalf("add: %s", errs)
		}
	}
	if code, _, errs := run(t, ctx, nil, "subscribers", "add", "--data", data, "zhao@example.com"); code != 0 {
		t.Fatalf("add pending: %s", errs)
	}
	// Both deliveries of this issue fail to connect and wait for a retry;
	// nothing could be sent, so the command exits 1.
	code, out, errs := run(t, ctx, []string{smtp, public}, "digest", "send", "--data", data, "--week", "2019-W22", "--since", "2019-05-01")
	if code != 1 || !strings.Contains(out, "retry later 2") {
		t.Fatalf("digest send: %d\n%s\n%s", code, out, errs)
	}

	base := servingIn(t, []string{smtp, public, "SYNDICATED_HTTP_API_TOKEN=" + token}, data)
	m0 := scrape(t, base)
	for k, v := range map[string]float64{
		// Coarse: 2 and 1 rounded down to a multiple of 10.
		`syndicated_subscribers{status="active"}`:            0,
		`syndicated_subscribers{status="pending"}`:           0,
		`syndicated_subscribers{status="unsubscribed"}`:      0,
		`syndicated_digest_open_deliveries{state="pending"}`: 2,
		`syndicated_digest_open_deliveries{state="sent"}`:    0,
		`syndicated_digest_queue_depth`:                      2,
		`syndicated_digest_queue_due`:                        0,
		`syndicated_feed_builds_total{result="error"}`:       0,
	} {
		if m0[k] != v {
			t.Errorf("at start: %s = %v, want %v", k, m0[k], v)
		}
	}
	builtAt := m0[`syndicated_feed_build_last_success_timestamp_seconds`]
	if m0[`syndicated_feed_builds_total{result="ok"}`] < 1 || m0[`syndicated_feed_build_duration_seconds_count`] < 1 ||
		builtAt < float64(time.Now().Add(-time.Minute).Unix()) || builtAt > float64(time.Now().Unix()+1) {
		t.Errorf("first build not recorded: ok %v, durations %v, last success %v",
			m0[`syndicated_feed_builds_total{result="ok"}`], m0[`syndicated_feed_build_duration_seconds_count`], builtAt)
	}

	// Feed requests: two plain, one conditional (304), one unknown feed.
	get(t, base+"/feeds/society.rss")
	resp, _ := get(t, base+"/feeds/society.rss")
	get(t, base+"/feeds/society.rss", "If-None-Match", resp.Header.Get("ETag"))
	get(t, base+"/feeds/series/shanghai-70th.json")
	get(t, base+"/feeds/no-such-feed.atom")

	// Ingest: created, unchanged, rejected, updated (withdrawn).
	api := func(method, path, body string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d", method, path, resp.StatusCode, want)
		}
	}
	story := `{"id":"metrics-story","section":"society","headline":"Counted on arrival","published":"2019-07-01T09:00:00+08:00","body":["One paragraph."]}`
	api(http.MethodPost, "/api/articles", story, 201)
	api(http.MethodPost, "/api/articles", story, 200)
	api(http.MethodPost, "/api/articles", `{"id":"metrics-bad","section":"society","headline":"","body":["x"]}`, 400)
	api(http.MethodDelete, "/api/articles/metrics-story", "", 200)
	// A subscriber leaves (erased): the coarse count shows nothing of one.
	if code, _, errs := run(t, ctx, nil, "subscribers", "remove", "--data", data, "wang@example.com"); code != 0 {
		t.Fatalf("remove: %s", errs)
	}

	var m1 map[string]float64
	waitFor(t, "a rebuild after the pushes", func() bool {
		m1 = scrape(t, base)
		return m1[`syndicated_feed_builds_total{result="ok"}`] > m0[`syndicated_feed_builds_total{result="ok"}`]
	})
	for k, d := range map[string]float64{
		`syndicated_feed_requests_total{code="200",feed="society",format="rss"}`:               2,
		`syndicated_feed_requests_total{code="304",feed="society",format="rss"}`:               1,
		`syndicated_feed_requests_total{code="200",feed="series/shanghai-70th",format="json"}`: 1,
		`syndicated_feed_requests_total{code="404",feed="other",format="other"}`:               1,
		`syndicated_ingest_articles_total{outcome="created",source="api"}`:                     1,
		`syndicated_ingest_articles_total{outcome="unchanged",source="api"}`:                   1,
		`syndicated_ingest_articles_total{outcome="rejected",source="api"}`:                    1,
		`syndicated_ingest_articles_total{outcome="updated",source="api"}`:                     1,
		`syndicated_ingest_articles_total{outcome="error",source="api"}`:                       0,
		`syndicated_subscribers{status="active"}`:                                              0,
	} {
		if got := m1[k] - m0[k]; got != d {
			t.Errorf("%s moved by %v, want %v", k, got, d)
		}
	}
	if m1[`syndicated_feed_build_last_success_timestamp_seconds`] <= builtAt {
		t.Errorf("last successful build time did not move: %v, was %v", m1[`syndicated_feed_build_last_success_timestamp_seconds`], builtAt)
	}
}

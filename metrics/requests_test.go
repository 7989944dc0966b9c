package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/metrics"
	"github.com/syndicated/syndicated/server/response"
)

// TestFeedRequestsCountsStatus: requests are counted by the status sent,
// whether the writer records it already (behind server.Server, which
// wraps every answer in a response.Recorder) or not; behind a recorder
// counting a request allocates nothing.
func TestFeedRequestsCountsStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewFeedRequests(reg, []feeds.Spec{{Slug: "society", Kind: feeds.KindSection, Title: "Society", BaseURL: "https://news.example"}})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("<rss/>"))
	}))
	plain := httptest.NewRequest(http.MethodGet, "/feeds/society.rss", nil)
	cond := httptest.NewRequest(http.MethodGet, "/feeds/society.rss", nil)
	cond.Header.Set("If-None-Match", `"x"`)
	var rec response.Recorder
	for _, req := range []*http.Request{plain, cond, cond} {
		rec.Reset(httptest.NewRecorder())
		h.ServeHTTP(&rec, req)
		h.ServeHTTP(httptest.NewRecorder(), req) // no recorder of the server's
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mm := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mm.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if mf.GetName() == "syndicated_feed_requests_total" && labels["feed"] == "society" && labels["format"] == "rss" {
				got[labels["code"]] = mm.GetCounter().GetValue()
			}
		}
	}
	for code, want := range map[string]float64{"200": 2, "304": 4} {
		if got[code] != want {
			t.Errorf("requests answered %s: %v, want %v", code, got[code], want)
		}
	}
	w := httptest.NewRecorder()
	if allocs := testing.AllocsPerRun(100, func() {
		rec.Reset(w)
		h.ServeHTTP(&rec, cond)
	}); allocs != 0 {
		t.Errorf("a request behind a recorder: %v allocations, want 0", allocs)
	}
}

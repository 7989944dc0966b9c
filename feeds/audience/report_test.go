package audience_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/syndicated/syndicated/feeds/audience"
)

// TestHandler: the operator's view is the command's table, JSON when
// asked either way, and a clear 503 when the store cannot be read.
func TestHandler(t *testing.T) {
	all := []audience.FeedAudience{{
		Feed:        "/feeds/society",
		Aggregators: []audience.AggregatorCount{{Name: "Feedly", Subscribers: 120}, {Name: "Inoreader", Subscribers: 7}},
		Subscribers: 127,
		Clients:     []audience.DayClients{{Day: "2026-12-07", Clients: 31}, {Day: "2026-12-06", Clients: 0}},
		WebSub:      2,
	}}
	h := audience.Handler(func(context.Context) ([]audience.FeedAudience, error) { return all, nil })

	get := func(target, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	text := get("/audience", "")
	if ct := text.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	if body := text.Body.String(); !strings.Contains(body, "127 (Feedly 120, Inoreader 7)") || !strings.Contains(body, "12-07 31, 12-06 0") {
		t.Errorf("table:\n%s", body)
	}
	if cc := text.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	for _, w := range []*httptest.ResponseRecorder{get("/audience?format=json", ""), get("/audience", "application/json")} {
		var got []audience.FeedAudience
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got) != 1 || got[0].Subscribers != 127 || got[0].WebSub != 2 {
			t.Errorf("JSON (%s): %v %+v\n%s", w.Header().Get("Content-Type"), err, got, w.Body)
		}
	}

	failing := audience.Handler(func(context.Context) ([]audience.FeedAudience, error) { return nil, errors.New("database is locked") })
	w := httptest.NewRecorder()
	failing.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/audience", nil))
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "database is locked") {
		t.Errorf("store failure: %d %q", w.Code, w.Body)
	}
}

package websub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// noStore is a Store the test never reaches.
type noStore struct{ Store }

// TestGuardedTransportRefusesAtConnect: whatever a callback's name
// resolved to when it subscribed, the hub does not connect to a loopback
// address (DNS rebinding), and does not follow a redirect.
func TestGuardedTransportRefusesAtConnect(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	h, err := NewHub(HubOptions{Store: noStore{}, URL: "https://news.example/websub", BaseURL: "https://news.example",
		Content: func(context.Context, string) ([]byte, string, error) { return nil, "", nil }})
	if err != nil {
		t.Fatal(err)
	}
	o := h.send(context.Background(), Distribution{Subscription: Subscription{Topic: "https://news.example/feeds/society.rss",
		Callback: srv.URL + "/cb"}, Body: []byte("x"), ContentType: "text/plain"})
	if o.Delivered || o.RetryAt.IsZero() || !strings.Contains(o.Err, "callback refused") || hits != 0 {
		t.Errorf("outcome %+v after %d hits, want a refusal before connecting", o, hits)
	}
}

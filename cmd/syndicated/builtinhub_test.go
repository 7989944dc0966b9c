package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBuiltinHubPushes runs serve with feeds.hub = "builtin": the feeds
// name BASE_URL/websub as their hub (JSON Feed hubs too), a subscriber
// subscribes there, and an article pushed through the API reaches it as
// the feed's full, signed content within seconds.
func TestBuiltinHubPushes(t *testing.T) {
	const token, secret = "hub-test-token-0123456789", "subscriber secret"
	var mu sync.Mutex
	var got []string
	var sigOK []bool
	var received time.Time
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, r.URL.Query().Get("hub.challenge"))
			return
		}
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		mu.Lock()
		got = append(got, string(body))
		sigOK = append(sigOK, r.Header.Get("X-Hub-Signature") == "sha256="+hex.EncodeToString(m.Sum(nil)))
		received = time.Now()
		mu.Unlock()
	}))
	defer sub.Close()
	env := []string{"SYNDICATED_FEEDS_HUB=builtin", "SYNDICATED_FEEDS_HUB_ALLOW_CALLBACKS=127.0.0.1", "SYNDICATED_HTTP_API_TOKEN=" + token}
	base := servingIn(t, env, t.TempDir())
	const site = "http://127.0.0.1:8080" // base_url's default
	_, raw := get(t, base+"/feeds/society.json")
	body := string(raw)
	if !strings.Contains(body, `"hubs":[{"type":"WebSub","url":"`+site+`/websub"}]`) {
		t.Fatalf("JSON Feed does not name the built-in hub:\n%.400s", body)
	}
	topic := site + "/feeds/society.atom"
	resp, err := http.PostForm(base+"/websub", url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic},
		"hub.callback": {sub.URL + "/push"}, "hub.secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("subscribe: %d", resp.StatusCode)
	}
	time.Sleep(300 * time.Millisecond) // the verification
	req, _ := http.NewRequest(http.MethodPost, base+"/api/articles", strings.NewReader(
		`{"id":"hub-push-story","section":"society","headline":"Ferries run all night","published":"2019-07-01T09:00:00+08:00","body":["First paragraph."]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	pushed := time.Now()
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, "the push", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0 && strings.Contains(got[len(got)-1], "Ferries run all night")
	})
	mu.Lock()
	defer mu.Unlock()
	if !sigOK[len(sigOK)-1] {
		t.Errorf("the push's X-Hub-Signature does not verify")
	}
	if !strings.HasPrefix(got[len(got)-1], "<?xml") || !strings.Contains(got[len(got)-1], `<link href="`+site+`/websub" rel="hub">`) {
		t.Errorf("pushed content is not the Atom feed naming its hub:\n%.300s", got[len(got)-1])
	}
	t.Logf("pushed %s after the API call", received.Sub(pushed).Round(time.Millisecond))
}

package websub_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/feeds/websub"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

const base = "https://news.example"

// subscriber is a WebSub subscriber written from the recommendation
// (§5.1 request, §5.3 verification, §7 and §8 authenticated delivery),
// independently of the hub: it confirms only what it asked for, and
// checks every signature with its own secret.
type subscriber struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	want   map[string]string // mode → topic it intends
	leases []string
	got    []delivery
	status []int // answers to deliveries, in turn; then 204
}

type delivery struct {
	body, contentType string
	links             []string
	at                time.Time
}

func newSubscriber(t *testing.T, secret string) *subscriber {
	s := &subscriber{t: t, secret: secret, want: map[string]string{}}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *subscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		if q.Get("keep") != "me" { // the callback's own query survives
			http.Error(w, "lost my query", 400)
			return
		}
		if topic, ok := s.want[q.Get("hub.mode")]; !ok || topic != q.Get("hub.topic") {
			http.NotFound(w, r) // not my intent
			return
		}
		s.leases = append(s.leases, q.Get("hub.lease_seconds"))
		_, _ = io.WriteString(w, q.Get("hub.challenge"))
	case http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		if s.secret != "" {
			m := hmac.New(sha256.New, []byte(s.secret))
			m.Write(body)
			if r.Header.Get("X-Hub-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
				s.t.Errorf("delivery with signature %q does not verify", r.Header.Get("X-Hub-Signature"))
			}
		} else if r.Header.Get("X-Hub-Signature") != "" {
			s.t.Errorf("unsigned subscription got a signature")
		}
		s.got = append(s.got, delivery{string(body), r.Header.Get("Content-Type"), r.Header.Values("Link"), time.Now()})
		if len(s.status) > 0 {
			code := s.status[0]
			s.status = s.status[1:]
			w.WriteHeader(code)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *subscriber) callback() string { return s.srv.URL + "/cb?keep=me" }

func (s *subscriber) deliveries() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.got...)
}

// request sends a subscription request to the hub, as §5.1 describes.
func (s *subscriber) request(t *testing.T, hubURL, mode, topic string, extra url.Values) *http.Response {
	t.Helper()
	s.mu.Lock()
	s.want[mode] = topic
	s.mu.Unlock()
	form := url.Values{"hub.mode": {mode}, "hub.topic": {topic}, "hub.callback": {s.callback()}}
	if s.secret != "" {
		form.Set("hub.secret", s.secret)
	}
	for k, v := range extra {
		form[k] = v
	}
	resp, err := http.PostForm(hubURL, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// feedsource is the daemon's feeds as the hub sees them.
type feedsource struct {
	mu     sync.Mutex
	bodies map[string]string
}

func (f *feedsource) set(path, body string) {
	f.mu.Lock()
	f.bodies[path] = body
	f.mu.Unlock()
}

func (f *feedsource) content(_ context.Context, path string) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.bodies[path]
	if !ok {
		return nil, "", io.EOF
	}
	return []byte(b), "application/atom+xml; charset=utf-8", nil
}

func newHub(t *testing.T, st storage.Storage, src *feedsource, mod func(*websub.HubOptions)) (*websub.Hub, string) {
	t.Helper()
	o := websub.HubOptions{Store: st, URL: base + websub.HubPath, BaseURL: base, Content: src.content,
		Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, MaxLease: 48 * time.Hour,
		Backoff: 20 * time.Millisecond, Poll: 20 * time.Millisecond, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&o)
	}
	h, err := websub.NewHub(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h, srv.URL
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func live(t *testing.T, st storage.Storage, topic string) int {
	n, err := st.LiveSubscriptions(context.Background(), topic, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHubSubscribeDistributeUnsubscribe: a subscriber subscribes (its
// lease capped), gets the full content within seconds of a change, signed,
// with the hub and self links; the same bytes are not pushed twice; it
// unsubscribes and gets nothing more. Two replicas share the work: each
// change reaches the subscriber once.
func TestHubSubscribeDistributeUnsubscribe(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		src := &feedsource{bodies: map[string]string{"/feeds/society.atom": "<feed>v1</feed>"}}
		topic := base + "/feeds/society.atom"
		hub1, hubURL := newHub(t, st, src, nil)
		hub2, _ := newHub(t, st, src, nil) // a second replica
		sub := newSubscriber(t, "a secret of the subscriber")
		resp := sub.request(t, hubURL, "subscribe", topic, url.Values{"hub.lease_seconds": {"999999999"}})
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("subscribe: %d", resp.StatusCode)
		}
		waitFor(t, "the subscription", func() bool { return live(t, st, topic) == 1 })
		if sub.leases[0] != "172800" {
			t.Errorf("lease offered %q, want the 48h maximum", sub.leases[0])
		}
		ctx := context.Background()
		for _, h := range []*websub.Hub{hub1, hub2} { // both replicas rebuilt and saw the change
			if err := h.Publish(ctx, topic); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		waitFor(t, "the first distribution", func() bool { return len(sub.deliveries()) == 1 })
		d := sub.deliveries()[0]
		if took := d.at.Sub(start); took > 5*time.Second {
			t.Errorf("distribution took %s", took)
		}
		if d.body != "<feed>v1</feed>" || d.contentType != "application/atom+xml; charset=utf-8" {
			t.Errorf("delivery %+v", d)
		}
		if strings.Join(d.links, ", ") != "<"+base+websub.HubPath+`>; rel="hub", <`+topic+`>; rel="self"` {
			t.Errorf("links %q", d.links)
		}
		_ = hub1.Publish(ctx, topic) // same bytes: nothing
		src.set("/feeds/society.atom", "<feed>v2</feed>")
		_ = hub2.Publish(ctx, topic)
		_ = hub1.Publish(ctx, topic)
		waitFor(t, "the second distribution", func() bool { return len(sub.deliveries()) >= 2 })
		time.Sleep(200 * time.Millisecond)
		if got := sub.deliveries(); len(got) != 2 || got[1].body != "<feed>v2</feed>" {
			t.Errorf("deliveries %d (want 2, the second v2)", len(got))
		}
		if resp := sub.request(t, hubURL, "unsubscribe", topic, nil); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("unsubscribe: %d", resp.StatusCode)
		}
		waitFor(t, "the unsubscription", func() bool { return live(t, st, topic) == 0 })
		src.set("/feeds/society.atom", "<feed>v3</feed>")
		_ = hub1.Publish(ctx, topic)
		time.Sleep(200 * time.Millisecond)
		if n := len(sub.deliveries()); n != 2 {
			t.Errorf("%d deliveries after unsubscribing", n)
		}
	})
}

// TestHubRefuses: requests the hub answers with an error, and intents a
// subscriber does not confirm.
func TestHubRefuses(t *testing.T) {
	st := storagetest.SQLite(t)
	src := &feedsource{bodies: map[string]string{"/feeds/society.rss": "<rss/>"}}
	resolver := fakeResolver{"intranet.example": "10.1.2.3", "metadata.example": "169.254.169.254", "cgnat.example": "100.64.1.1"}
	_, hubURL := newHub(t, st, src, func(o *websub.HubOptions) { o.Allow = nil; o.Resolver = resolver })
	post := func(form url.Values) int {
		resp, err := http.PostForm(hubURL, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	topic := base + "/feeds/society.rss"
	for name, c := range map[string]struct {
		form url.Values
		want int
	}{
		"loopback callback":   {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {"http://127.0.0.1:9/cb"}}, 400},
		"IPv6 loopback":       {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {"http://[::1]/cb"}}, 400},
		"private by name":     {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {"http://intranet.example/cb"}}, 400},
		"link-local metadata": {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {"http://metadata.example/latest"}}, 400},
		"shared address":      {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {"http://cgnat.example/"}}, 400},
		"mapped IPv4":         {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {"http://[::ffff:10.0.0.1]/"}}, 400},
		"not http":            {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {"gopher://x.example/"}}, 400},
		"another site's topic": {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {"https://other.example/feed"},
			"hub.callback": {"http://203.0.113.9/"}}, 400},
		"unknown feed": {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {base + "/feeds/sport.rss"}, "hub.callback": {"http://203.0.113.9/"}}, 404},
		"publish":      {url.Values{"hub.mode": {"publish"}, "hub.url": {topic}}, 400},
		"long secret":  {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {"http://203.0.113.9/"}, "hub.secret": {strings.Repeat("s", 200)}}, 400},
		"bad lease":    {url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {"http://203.0.113.9/"}, "hub.lease_seconds": {"-5"}}, 400},
	} {
		if got := post(c.form); got != c.want {
			t.Errorf("%s: %d, want %d", name, got, c.want)
		}
	}
	if resp, _ := http.Get(hubURL); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}

	// A subscriber that does not confirm (it never asked) is not
	// subscribed.
	_, hubURL = newHub(t, st, src, nil)
	sub := newSubscriber(t, "")
	form := url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {sub.callback()}}
	if got := post2(t, hubURL, form); got != http.StatusAccepted {
		t.Fatalf("subscribe: %d", got)
	}
	time.Sleep(300 * time.Millisecond)
	if n := live(t, st, topic); n != 0 {
		t.Errorf("%d subscriptions without confirmation", n)
	}
}

func post2(t *testing.T, u string, form url.Values) int {
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type fakeResolver map[string]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, &net_error{host}
}

type net_error struct{ host string }

func (e *net_error) Error() string { return "no such host " + e.host }

// TestHubRetriesThenGivesUp: failing callbacks are retried with growing
// waits, up to Attempts; a 410 ends the subscription.
func TestHubRetriesThenGivesUp(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		src := &feedsource{bodies: map[string]string{"/feeds/society.json": `{"v":1}`}}
		topic := base + "/feeds/society.json"
		hub, hubURL := newHub(t, st, src, func(o *websub.HubOptions) { o.Attempts = 3 })
		flaky := newSubscriber(t, "")
		flaky.status = []int{503, 500, 502, 503, 503}
		gone := newSubscriber(t, "")
		gone.status = []int{410}
		for _, s := range []*subscriber{flaky, gone} {
			s.request(t, hubURL, "subscribe", topic, nil)
		}
		waitFor(t, "both subscriptions", func() bool { return live(t, st, topic) == 2 })
		if err := hub.Publish(context.Background(), topic); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "three attempts", func() bool { return len(flaky.deliveries()) == 3 })
		waitFor(t, "the 410", func() bool { return live(t, st, topic) == 1 })
		time.Sleep(400 * time.Millisecond)
		d := flaky.deliveries()
		if len(d) != 3 {
			t.Fatalf("%d attempts, want 3 then a give-up", len(d))
		}
		if w1, w2 := d[1].at.Sub(d[0].at), d[2].at.Sub(d[1].at); w1 < 20*time.Millisecond || w2 < 40*time.Millisecond {
			t.Errorf("waits %s then %s, want at least 20ms then 40ms", w1, w2)
		}
	})
}

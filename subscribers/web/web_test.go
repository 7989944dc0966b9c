package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/mailtest"
	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
	"github.com/syndicated/syndicated/subscribers/web"
)

type env struct {
	mux   *http.ServeMux
	svc   *subscribers.Service
	st    storage.Storage
	clock *mailtest.Clock
	out   *mailtest.Outbox
}

func newEnv(t *testing.T, st storage.Storage, ipBurst int) *env {
	t.Helper()
	ck := mailtest.NewClock(time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC))
	out := mailtest.NewOutbox(t, "News <news@example.com>", ck.Now)
	svc, err := subscribers.New(subscribers.Config{
		Store: st, Mailer: out, Secret: []byte("web-test-secret-0123456789"), BaseURL: "https://news.example.com",
		Confirmation: hermes.New(hermes.Brand{Name: "Daily"}),
		Lists:        []subscribers.List{{Slug: "shanghai-70th", Title: "Shanghai 70th"}, {Slug: "society", Title: "Society"}},
		Now:          ck.Now, IPBurst: ipBurst, IPEvery: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := web.New(svc, web.Options{Product: "Daily <News>", MaxBodyBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	out.Wait = svc.Wait
	t.Cleanup(svc.Wait) // before the temp dir and the store go
	mux := http.NewServeMux()
	h.Register(mux)
	return &env{mux: mux, svc: svc, st: st, clock: ck, out: out}
}

type req struct {
	method, target, ctype, body string
	hdr                         map[string]string
	remote                      string
}

func (e *env) do(r req) *httptest.ResponseRecorder {
	hr := httptest.NewRequest(r.method, "https://news.example.com"+r.target, strings.NewReader(r.body))
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	}
	for k, v := range r.hdr {
		hr.Header.Set(k, v)
	}
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, hr)
	e.svc.Wait() // what a sign-up does after its answer
	return w
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (e *env) csrf(t *testing.T) string {
	t.Helper()
	w := e.do(req{method: "GET", target: "/subscribe"})
	m := csrfRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no csrf field:\n%s", w.Body)
	}
	return m[1]
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

const formCT = "application/x-www-form-urlencoded"

func snapshot(t *testing.T, st storage.Storage) string {
	t.Helper()
	subs, err := st.ListSubscribers(context.Background(), subscribers.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range subs {
		fmt.Fprintf(&b, "%+v\n", *s)
	}
	return b.String()
}

func TestSubscribeForm(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		e := newEnv(t, st, 100)
		w := e.do(req{method: "GET", target: "/subscribe?list=society"})
		body := w.Body.String()
		for _, want := range []string{
			`<label for="email">`, `id="email" name="email"`, `<label for="name">`,
			`type="checkbox" id="list-shanghai-70th" name="list" value="shanghai-70th">`,
			`type="checkbox" id="list-society" name="list" value="society" checked>`,
			`name="website"`, `name="csrf"`, `<html lang="en">`, `Daily &lt;News&gt;`, `<button type="submit">`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("form lacks %s", want)
			}
		}
		if w.Code != 200 || w.Header().Get("Referrer-Policy") != "same-origin" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Errorf("GET /subscribe: %d %v", w.Code, w.Header())
		}
		if strings.Contains(body, "<script") {
			t.Error("the form needs JavaScript")
		}

		tok := e.csrf(t)
		w = e.do(req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "reader@example.com", "name", "<b>Li</b>", "list", "society", "list", "shanghai-70th"), hdr: map[string]string{"Origin": "https://news.example.com", "Sec-Fetch-Site": "same-origin"}})
		if w.Code != 200 || !strings.Contains(w.Body.String(), "Check your inbox") {
			t.Fatalf("POST form: %d %s", w.Code, w.Body)
		}
		sent := w.Body.String()
		s, err := st.GetSubscriber(context.Background(), "reader@example.com")
		if err != nil || s.Status != subscribers.StatusPending || s.Name != "<b>Li</b>" || s.Consent.IP != "192.0.2.1" || s.Consent.Source != "web" {
			t.Fatalf("stored %+v %v", s, err)
		}
		msgs := e.out.Take()
		if len(msgs) != 1 {
			t.Fatalf("%d mails", len(msgs))
		}
		link := regexp.MustCompile(`https://news\.example\.com/confirm\?token=[^\s"<>]+`).FindString(msgs[0].Text)
		u, _ := url.Parse(link)

		// Same page for a pending address (limited), an active one, a new one.
		w = e.do(req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "reader@example.com")})
		if w.Code != 200 || w.Body.String() != sent || len(e.out.Take()) != 0 {
			t.Errorf("pending again: %d, %d mails", w.Code, len(e.out.Take()))
		}

		// The link's GET (a mail scanner's too) shows a button and
		// confirms nothing; the button's POST confirms.
		w = e.do(req{method: "GET", target: "/confirm?" + u.RawQuery})
		if w.Code != 200 || !strings.Contains(w.Body.String(), `<button type="submit" id="confirm">Confirm</button>`) || !strings.Contains(w.Body.String(), "<li>Society</li>") {
			t.Fatalf("confirm page: %d %s", w.Code, w.Body)
		}
		if s, _ := st.GetSubscriber(context.Background(), "reader@example.com"); s.Status != subscribers.StatusPending {
			t.Fatalf("the GET confirmed: %+v", s)
		}
		w = e.do(req{method: "POST", target: "/confirm", ctype: formCT, body: form("token", u.Query().Get("token"))})
		if w.Code != 200 || !strings.Contains(w.Body.String(), "Subscription confirmed") || !strings.Contains(w.Body.String(), "<li>Society</li>") {
			t.Fatalf("confirm: %d %s", w.Code, w.Body)
		}
		if s, _ := st.GetSubscriber(context.Background(), "reader@example.com"); s.Status != subscribers.StatusActive {
			t.Fatalf("not active: %+v", s)
		}
		e.clock.Add(time.Hour)
		w = e.do(req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "reader@example.com", "list", "society")})
		if w.Code != 200 || w.Body.String() != sent || len(e.out.Take()) != 0 {
			t.Errorf("active again: %d", w.Code)
		}
		w = e.do(req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "new@example.com")})
		if w.Code != 200 || w.Body.String() != sent || len(e.out.Take()) != 1 {
			t.Errorf("new: %d", w.Code)
		}

		// JSON.
		for _, addr := range []string{"json@example.com", "json@example.com", "reader@example.com"} {
			w = e.do(req{method: "POST", target: "/subscribe", ctype: "application/json; charset=utf-8", body: `{"email":"` + addr + `","lists":["society"]}`})
			if w.Code != 202 || !strings.Contains(w.Body.String(), `"status":"accepted"`) {
				t.Errorf("JSON %s: %d %s", addr, w.Code, w.Body)
			}
		}
		if s, err := st.GetSubscriber(context.Background(), "json@example.com"); err != nil || s.Consent.Source != "api" {
			t.Errorf("json subscriber %+v %v", s, err)
		}
	})
}

func TestBadInputsChangeNothing(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		e := newEnv(t, st, 1000)
		ctx := context.Background()
		a, err := e.svc.Add(ctx, "a@example.com", "A", []string{"shanghai-70th", "society"}, true)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.svc.Add(ctx, "b@example.com", "B", nil, true)
		if err != nil {
			t.Fatal(err)
		}
		e.out.Take()
		tok := e.csrf(t)
		other, _ := subscribers.NewSigner([]byte("another-secret-0123456789"))
		foreignCSRF := other.FormToken(e.clock.Now().Add(time.Hour))
		expiredCSRF := e.svc.Signer().FormToken(e.clock.Now().Add(-time.Second))
		unsubURL, _ := e.svc.UnsubscribeURL(a, "society")
		good := strings.TrimPrefix(unsubURL, "https://news.example.com")
		goodTok, _ := url.ParseQuery(strings.SplitN(good, "?", 2)[1])
		altered := goodTok.Get("token")
		altered = altered[:5] + string(rune('A'+(altered[5]-'A'+1)%26)) + altered[6:]
		forged, _ := other.UnsubscribeToken(subscribers.UnsubscribeClaims{ID: a.ID, Created: a.CreatedAt, List: subscribers.AllLists})
		// b's id but not b's creation time: a removed subscriber's token
		// after its id was reused. It must not touch b.
		wrongSub, _ := e.svc.Signer().UnsubscribeToken(subscribers.UnsubscribeClaims{ID: b.ID, Created: b.CreatedAt.Add(-time.Hour), List: subscribers.AllLists})
		expiredConfirm, _ := e.svc.Signer().ConfirmToken(subscribers.ConfirmClaims{ID: a.ID, Created: a.CreatedAt, Lists: []string{"society"}, IssuedAt: e.clock.Now().Add(-80 * time.Hour), Expires: e.clock.Now().Add(-8 * time.Hour)})
		q := func(tok string) string { return url.Values{"token": {tok}}.Encode() }
		big := strings.Repeat("x", 5000)
		oneClick := "List-Unsubscribe=One-Click"

		cases := []struct {
			name string
			r    req
			code int
			want string
		}{
			{"form without csrf", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("email", "x@example.com")}, 403, "reload the page"},
			{"form with foreign csrf", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", foreignCSRF, "email", "x@example.com")}, 403, "reload the page"},
			{"form with expired csrf", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", expiredCSRF, "email", "x@example.com")}, 403, "reload the page"},
			{"cross-site origin", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x@example.com"), hdr: map[string]string{"Origin": "https://evil.example"}}, 403, "from this site"},
			{"null origin", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x@example.com"), hdr: map[string]string{"Origin": "null"}}, 403, "from this site"},
			{"cross-site fetch", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x@example.com"), hdr: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, "from this site"},
			{"cross-site JSON", req{method: "POST", target: "/subscribe", ctype: "application/json", body: `{"email":"x@example.com"}`, hdr: map[string]string{"Origin": "https://evil.example"}}, 403, `"error"`},
			{"CRLF in email", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x@example.com\r\nBcc: y@example.com")}, 400, "valid email address"},
			{"CRLF in name", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x@example.com", "name", "X\r\nBcc: y@example.com")}, 400, "name on one line"},
			{"no email", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok)}, 400, "valid email address"},
			{"no @", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x.example.com")}, 400, "missing @"},
			{"bad domain", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x@exa_mple.com")}, 400, "valid email address"},
			{"HTML in email is escaped", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", `<script>x</script>@example.com`)}, 400, "&lt;script&gt;"},
			{"unknown list", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x@example.com", "list", "secret")}, 400, "choose lists"},
			{"honeypot", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x@example.com", "website", "http://spam.example")}, 200, "Check your inbox"},
			{"JSON honeypot", req{method: "POST", target: "/subscribe", ctype: "application/json", body: `{"email":"x@example.com","website":"spam"}`}, 202, "accepted"},
			{"form too large", req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x@example.com", "name", big)}, 413, "too large"},
			{"JSON too large", req{method: "POST", target: "/subscribe", ctype: "application/json", body: `{"email":"x@example.com","name":"` + big + `"}`}, 413, "too large"},
			{"JSON malformed", req{method: "POST", target: "/subscribe", ctype: "application/json", body: `{"email":`}, 400, "not valid JSON"},
			{"JSON unknown field", req{method: "POST", target: "/subscribe", ctype: "application/json", body: `{"email":"x@example.com","status":"active"}`}, 400, "not valid JSON"},
			{"JSON trailing data", req{method: "POST", target: "/subscribe", ctype: "application/json", body: `{"email":"x@example.com"}{}`}, 400, "trailing"},
			{"JSON CRLF email", req{method: "POST", target: "/subscribe", ctype: "application/json", body: `{"email":"x@example.com\r\nBcc: y@example.com"}`}, 400, "valid email address"},
			{"other content type", req{method: "POST", target: "/subscribe", ctype: "text/plain", body: "x@example.com"}, 415, "form or JSON"},
			{"confirm without token", req{method: "GET", target: "/confirm"}, 400, "not valid"},
			{"confirm forged", req{method: "GET", target: "/confirm?" + q(forged)}, 400, "not valid"},
			{"confirm expired", req{method: "GET", target: "/confirm?" + q(expiredConfirm)}, 400, "expired"},
			{"confirm with an unsubscribe token", req{method: "GET", target: "/confirm?" + goodTok.Encode()}, 400, "not valid"},
			{"unsubscribe page does not unsubscribe", req{method: "GET", target: good}, 200, "Unsubscribe from Society"},
			{"HEAD unsubscribe page", req{method: "HEAD", target: good}, 200, ""},
			{"unsubscribe page forged", req{method: "GET", target: "/unsubscribe?" + q(forged)}, 400, "not valid"},
			{"unsubscribe page altered", req{method: "GET", target: "/unsubscribe?" + q(altered)}, 400, "not valid"},
			{"unsubscribe page without token", req{method: "GET", target: "/unsubscribe"}, 400, "not valid"},
			{"one-click forged", req{method: "POST", target: "/unsubscribe?" + q(forged), ctype: formCT, body: oneClick}, 400, "Invalid unsubscribe link"},
			{"one-click altered", req{method: "POST", target: "/unsubscribe?" + q(altered), ctype: formCT, body: oneClick}, 400, "Invalid unsubscribe link"},
			{"one-click reused id", req{method: "POST", target: "/unsubscribe?" + q(wrongSub), ctype: formCT, body: oneClick}, 200, "Unsubscribed."},
			{"one-click without token", req{method: "POST", target: "/unsubscribe", ctype: formCT, body: oneClick}, 400, "Invalid unsubscribe link"},
			{"button forged", req{method: "POST", target: "/unsubscribe?" + q(forged), ctype: formCT, body: "page=1&all=1"}, 400, "not valid"},
			{"unsubscribe body too large", req{method: "POST", target: good, ctype: formCT, body: "x=" + big}, 413, "too large"},
			{"confirm token as one-click", req{method: "POST", target: "/unsubscribe?" + q(expiredConfirm), ctype: formCT, body: oneClick}, 400, "Invalid"},
			{"PUT subscribe", req{method: "PUT", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", "x@example.com")}, 405, ""},
			{"DELETE unsubscribe", req{method: "DELETE", target: good}, 405, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := snapshot(t, st)
				w := e.do(c.r)
				if w.Code != c.code || !strings.Contains(w.Body.String(), c.want) {
					t.Errorf("got %d %q; want %d containing %q", w.Code, w.Body.String(), c.code, c.want)
				}
				if strings.Contains(w.Body.String(), "<script>") {
					t.Error("unescaped HTML in the response")
				}
				if after := snapshot(t, st); after != before {
					t.Errorf("store changed:\n%s\n→\n%s", before, after)
				}
				if n := len(e.out.Take()); n != 0 {
					t.Errorf("%d mails sent", n)
				}
			})
		}
	})
}

func TestUnsubscribe(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		e := newEnv(t, st, 100)
		ctx := context.Background()
		a, _ := e.svc.Add(ctx, "a@example.com", "A", []string{"shanghai-70th", "society"}, true)
		b, _ := e.svc.Add(ctx, "b@example.com", "B", []string{"shanghai-70th", "society"}, true)
		c, _ := e.svc.Add(ctx, "c@example.com", "C", []string{"shanghai-70th", "society"}, true)
		status := func(email string) string {
			s, err := st.GetSubscriber(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			var act []string
			for _, l := range s.Lists {
				if l.Active {
					act = append(act, l.List)
				}
			}
			return string(s.Status) + ":" + strings.Join(act, ",")
		}
		path := func(s *subscribers.Subscriber, list string) string {
			u, _ := e.svc.UnsubscribeURL(s, list)
			return strings.TrimPrefix(u, "https://news.example.com")
		}
		// RFC 8058 one-click: 200, tiny body, one list.
		w := e.do(req{method: "POST", target: path(a, "society"), ctype: formCT, body: "List-Unsubscribe=One-Click"})
		if w.Code != 200 || w.Body.Len() > 64 || status("a@example.com") != "active:shanghai-70th" {
			t.Errorf("one-click: %d %q %s", w.Code, w.Body, status("a@example.com"))
		}
		// Again: idempotent.
		if w := e.do(req{method: "POST", target: path(a, "society"), ctype: formCT, body: "List-Unsubscribe=One-Click"}); w.Code != 200 {
			t.Errorf("repeat: %d", w.Code)
		}
		// The page's "everything" button.
		w = e.do(req{method: "GET", target: path(b, "society")})
		if !strings.Contains(w.Body.String(), `id="unsubscribe-all"`) || status("b@example.com") != "active:shanghai-70th,society" {
			t.Fatalf("page: %s", w.Body)
		}
		action := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(w.Body.String())[1]
		action = strings.ReplaceAll(action, "&amp;", "&")
		w = e.do(req{method: "POST", target: action, ctype: formCT, body: "page=1&all=1", hdr: map[string]string{"Origin": "https://news.example.com"}})
		if w.Code != 200 || !strings.Contains(w.Body.String(), "You are unsubscribed") || status("b@example.com") != "unsubscribed:" {
			t.Errorf("all: %d %s %s", w.Code, w.Body, status("b@example.com"))
		}
		// The page's list button.
		w = e.do(req{method: "POST", target: path(c, "shanghai-70th"), ctype: formCT, body: "page=1"})
		if w.Code != 200 || !strings.Contains(w.Body.String(), "Shanghai 70th") || status("c@example.com") != "active:society" {
			t.Errorf("list button: %d %s", w.Code, status("c@example.com"))
		}
		// An "all" token.
		if w := e.do(req{method: "POST", target: path(c, subscribers.AllLists), ctype: formCT, body: "List-Unsubscribe=One-Click"}); w.Code != 200 || status("c@example.com") != "unsubscribed:" {
			t.Errorf("all token: %d %s", w.Code, status("c@example.com"))
		}
		// About one token in a hundred has "--", which the link writes
		// "-%2D" (typography would make a dash of it where the link is
		// text): find such a reader; the link works as any other.
		for i := 0; ; i++ {
			if i == 3000 {
				t.Fatal("no token with -- in 3000 readers")
			}
			email := fmt.Sprintf("dash%d@example.com", i)
			d, err := e.svc.Add(ctx, email, "D", []string{"society"}, true)
			if err != nil {
				t.Fatal(err)
			}
			p := path(d, "society")
			if strings.Contains(p, "--") {
				t.Fatalf("link with --: %s", p)
			}
			if !strings.Contains(p, "-%2D") {
				continue
			}
			if w := e.do(req{method: "POST", target: p, ctype: formCT, body: "List-Unsubscribe=One-Click"}); w.Code != 200 || status(email) != "unsubscribed:" {
				t.Errorf("one-click with %s: %d %s", p, w.Code, status(email))
			}
			break
		}
	})
}

func TestRateLimits(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		e := newEnv(t, st, 2)
		tok := e.csrf(t)
		post := func(email, remote string) *httptest.ResponseRecorder {
			return e.do(req{method: "POST", target: "/subscribe", ctype: formCT, body: form("csrf", tok, "email", email), remote: remote})
		}
		if w := post("one@example.com", "198.51.100.1:1234"); w.Code != 200 {
			t.Fatal(w.Code)
		}
		if w := post("one@example.com", "198.51.100.1:1234"); w.Code != 200 || !strings.Contains(w.Body.String(), "Check your inbox") {
			t.Errorf("address limit must look like success: %d", w.Code)
		}
		if n := len(e.out.Take()); n != 1 {
			t.Errorf("%d confirmations for one address", n)
		}
		before := snapshot(t, st)
		w := post("two@example.com", "198.51.100.1:1234")
		if w.Code != 429 || w.Header().Get("Retry-After") == "" {
			t.Errorf("IP limit: %d", w.Code)
		}
		if snapshot(t, st) != before || len(e.out.Take()) != 0 {
			t.Error("rate-limited request changed something")
		}
		if w := post("two@example.com", "203.0.113.5:999"); w.Code != 200 {
			t.Errorf("another client: %d", w.Code)
		}
	})
}

// previousReleaseToken makes an unsubscribe token the way the previous
// release did (base64url JSON with the address, a dot, the base64url
// HMAC-SHA256 under the purpose key derived from the secret), as found in
// digests already in readers' inboxes.
func previousReleaseToken(secret string, id int64, email, list string) string {
	k := hmac.New(sha256.New, []byte(secret))
	k.Write([]byte("syndicated/subscribers/v1/unsubscribe"))
	payload := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"s":%d,"e":%q,"l":%q}`, id, email, list))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Links mailed before the opaque tokens keep working; new links carry no
// address.
func TestPreviousReleaseUnsubscribeLinks(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		e := newEnv(t, st, 5)
		a, err := e.svc.Add(context.Background(), "old.reader@example.com", "", []string{"society"}, true)
		if err != nil {
			t.Fatal(err)
		}
		old := previousReleaseToken("web-test-secret-0123456789", a.ID, a.Email, "society")
		w := e.do(req{method: "GET", target: "/unsubscribe?" + url.Values{"token": {old}}.Encode()})
		if w.Code != 200 || !strings.Contains(w.Body.String(), "o•••@example.com") {
			t.Fatalf("page for an old link: %d\n%s", w.Code, w.Body)
		}
		w = e.do(req{method: "POST", target: "/unsubscribe?" + url.Values{"token": {old}}.Encode(), ctype: formCT, body: "List-Unsubscribe=One-Click"})
		if w.Code != 200 || w.Body.String() != "Unsubscribed.\n" {
			t.Fatalf("one-click with an old link: %d %s", w.Code, w.Body)
		}
		if s, _ := st.GetSubscriber(context.Background(), a.Email); s.Status != subscribers.StatusUnsubscribed {
			t.Errorf("after the old link: %s", s.Status)
		}
		forged := previousReleaseToken("some-other-secret-0123456789", a.ID, a.Email, "society")
		if w := e.do(req{method: "POST", target: "/unsubscribe?" + url.Values{"token": {forged}}.Encode(), ctype: formCT, body: "List-Unsubscribe=One-Click"}); w.Code != 400 {
			t.Errorf("old-format link under another key: %d", w.Code)
		}
		u, _ := e.svc.UnsubscribeURL(a, "society")
		if strings.Contains(u, "old.reader") || strings.Contains(u, "b2xkLnJlYWRlc") || len(u) > len("https://news.example.com/unsubscribe?token=")+64 {
			t.Errorf("new link %s", u)
		}
	})
}

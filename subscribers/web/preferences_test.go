package web_test

import (
	"encoding/json"
	"html"
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

// newPrefsEnv is newEnv for a series that offers three cadences and one
// that offers the weekly digest only; it returns an active reader of the
// first and their preferences token.
func newPrefsEnv(t *testing.T, st storage.Storage) (*env, string) {
	t.Helper()
	ck := mailtest.NewClock(time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC))
	out := mailtest.NewOutbox(t, "News <news@example.com>", ck.Now)
	svc, err := subscribers.New(subscribers.Config{
		Store: st, Mailer: out, Secret: []byte("web-test-secret-0123456789"), BaseURL: "https://news.example.com",
		Confirmation: hermes.New(hermes.Brand{Name: "Daily"}),
		Lists: []subscribers.List{{Slug: "shanghai-70th", Title: "Shanghai 70th", Description: "Seventy years on.",
			Cadences: []subscribers.Cadence{subscribers.CadenceWeekly, subscribers.CadenceDaily, subscribers.CadenceStory}},
			{Slug: "society", Title: "Society", Description: "The city's people."}},
		Now: ck.Now, SyncMail: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := web.New(svc, web.Options{Product: "Daily", MaxBodyBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	sub, err := svc.Add(t.Context(), "li@example.com", "Li", []string{"shanghai-70th"}, true)
	if err != nil {
		t.Fatal(err)
	}
	link, err := svc.PreferencesURL(sub)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	return &env{mux: mux, svc: svc, st: st, clock: ck, out: out}, u.Query().Get("token")
}

var formTokenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page opens the preference page and returns its body and CSRF token.
func (e *env) page(t *testing.T, tok string) (string, string) {
	t.Helper()
	w := e.do(req{method: "GET", target: "/preferences?token=" + url.QueryEscape(tok)})
	if w.Code != 200 {
		t.Fatalf("GET /preferences: %d\n%s", w.Code, w.Body)
	}
	m := formTokenRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatal("no csrf field on the preference page")
	}
	return html.UnescapeString(w.Body.String()), html.UnescapeString(m[1])
}

func (e *env) post(tok, csrf string, kv ...string) *httptest.ResponseRecorder {
	return e.do(req{method: "POST", target: "/preferences", ctype: formCT,
		body: form(append([]string{"token", tok, "csrf", csrf}, kv...)...)})
}

func TestPreferencePage(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		e, tok := newPrefsEnv(t, st)
		before := snapshot(t, st)
		body, csrf := e.page(t, tok)
		for _, want := range []string{"l•••@example.com", "Shanghai 70th", "Seventy years on.", "Society", "The city's people.",
			`name="cadence-shanghai-70th" value="daily"`, `id="list-shanghai-70th" name="list" value="shanghai-70th" checked`,
			`value="Li"`, `id="pause-2"`, `id="pause-8"`, `id="export"`, `id="erase"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(body, "li@example.com") || strings.Contains(body, `name="cadence-society"`) {
			t.Error("the page shows the whole address, or cadences for a series that offers one")
		}
		if w := e.do(req{method: "HEAD", target: "/preferences?token=" + url.QueryEscape(tok)}); w.Code != 200 {
			t.Errorf("HEAD: %d", w.Code)
		}
		if after := snapshot(t, st); after != before {
			t.Error("GET or HEAD changed a subscriber")
		}

		// Refused: no CSRF token, another site, a forged or expired link.
		refused := []struct {
			name string
			r    req
			code int
			says string
		}{
			{"no csrf", req{method: "POST", target: "/preferences", ctype: formCT, body: form("token", tok, "action", "erase", "confirm", "1")}, 403, "expired or did not come from this site"},
			{"cross-site", req{method: "POST", target: "/preferences", ctype: formCT, hdr: map[string]string{"Origin": "https://evil.example"},
				body: form("token", tok, "csrf", csrf, "action", "erase", "confirm", "1")}, 403, "only be sent from this site"},
			{"forged", req{method: "POST", target: "/preferences", ctype: formCT, body: form("token", tok[:len(tok)-2]+"AA", "csrf", csrf, "action", "erase", "confirm", "1")}, 400, "not valid"},
			{"truncated", req{method: "POST", target: "/preferences", ctype: formCT, body: form("token", tok[:10], "csrf", csrf, "action", "pause", "weeks", "2")}, 400, "not valid"},
			{"unknown action", req{method: "POST", target: "/preferences", ctype: formCT, body: form("token", tok, "csrf", csrf, "action", "delete-everyone")}, 400, "could not be understood"},
			{"erase unticked", req{method: "POST", target: "/preferences", ctype: formCT, body: form("token", tok, "csrf", csrf, "action", "erase")}, 400, "tick the box"},
			{"bad pause", req{method: "POST", target: "/preferences", ctype: formCT, body: form("token", tok, "csrf", csrf, "action", "pause", "weeks", "52")}, 400, ""},
			{"bad cadence", req{method: "POST", target: "/preferences", ctype: formCT, body: form("token", tok, "csrf", csrf, "action", "save", "list", "society", "cadence-society", "story")}, 400, "Nothing was saved"},
		}
		for _, r := range refused {
			w := e.do(r.r)
			if w.Code != r.code || !strings.Contains(w.Body.String(), r.says) || !strings.Contains(w.Body.String(), "othing was") {
				t.Errorf("%s: %d, want %d saying %q and that nothing was changed\n%s", r.name, w.Code, r.code, r.says, w.Body)
			}
		}
		if w := e.do(req{method: "GET", target: "/preferences?token=forged"}); w.Code != 400 || !strings.Contains(w.Body.String(), "not valid") {
			t.Errorf("GET with a forged token: %d", w.Code)
		}
		if after := snapshot(t, st); after != before {
			t.Error("a refused request changed a subscriber")
		}

		// Save: daily for the series, society added, a new name.
		w := e.post(tok, csrf, "action", "save", "list", "shanghai-70th", "list", "society", "cadence-shanghai-70th", "daily", "name", "Li Lei")
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/preferences?") {
			t.Fatalf("save: %d %s", w.Code, w.Header().Get("Location"))
		}
		sub := get(t, st, "li@example.com")
		prefs, _ := st.GetPreferences(t.Context(), []int64{sub.ID})
		if sub.Name != "Li Lei" || activeLists(sub) != "shanghai-70th,society" || prefs[sub.ID].Cadences["shanghai-70th"] != subscribers.CadenceDaily {
			t.Errorf("after saving: %+v %+v", sub, prefs[sub.ID])
		}
		after := e.do(req{method: "GET", target: w.Header().Get("Location")}).Body.String()
		if !strings.Contains(after, "Your preferences are saved.") || !strings.Contains(after, `value="daily" checked`) {
			t.Error("the page after saving does not say so, or shows the old cadence")
		}
		// Pause, then resume.
		if w := e.post(tok, csrf, "action", "pause", "weeks", "4"); w.Code != http.StatusSeeOther {
			t.Fatalf("pause: %d\n%s", w.Code, w.Body)
		}
		body, _ = e.page(t, tok)
		if !strings.Contains(body, "Your emails are paused") || !strings.Contains(body, "18 May 2026") || !strings.Contains(body, `id="resume"`) {
			t.Errorf("paused page:\n%s", body)
		}
		if w := e.post(tok, csrf, "action", "resume"); w.Code != http.StatusSeeOther {
			t.Fatalf("resume: %d", w.Code)
		}
		if body, _ = e.page(t, tok); strings.Contains(body, "Your emails are paused") {
			t.Error("still paused after resuming")
		}
		// The data, as a JSON download.
		w = e.post(tok, csrf, "action", "export")
		var data map[string]any
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") ||
			!strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment;") || json.Unmarshal(w.Body.Bytes(), &data) != nil ||
			data["address"] != "li@example.com" || data["name"] != "Li Lei" {
			t.Errorf("export: %d %v\n%s", w.Code, w.Header(), w.Body)
		}
		// Erase.
		if w := e.post(tok, csrf, "action", "erase", "confirm", "1"); w.Code != 200 || !strings.Contains(w.Body.String(), "Your data is erased") {
			t.Fatalf("erase: %d", w.Code)
		}
		if subs, _ := st.ListSubscribers(t.Context(), subscribers.Filter{}); len(subs) != 0 {
			t.Errorf("%d subscribers left after erasing", len(subs))
		}
		if w := e.do(req{method: "GET", target: "/preferences?token=" + url.QueryEscape(tok)}); w.Code != 400 {
			t.Errorf("the link after erasing: %d", w.Code)
		}
	})
}

// The sign-up form offers the cadences of a series that has several, and
// a choice travels to the confirmation.
func TestSignUpFormOffersCadences(t *testing.T) {
	e, _ := newPrefsEnv(t, storagetest.SQLite(t))
	w := e.do(req{method: "GET", target: "/subscribe"})
	body := w.Body.String()
	if !strings.Contains(body, `<legend>How often: Shanghai 70th</legend>`) || !strings.Contains(body, `name="cadence-shanghai-70th" value="weekly" checked`) ||
		strings.Contains(body, `name="cadence-society"`) {
		t.Errorf("sign-up form:\n%s", body)
	}
	csrf := html.UnescapeString(csrfRE.FindStringSubmatch(body)[1])
	w = e.do(req{method: "POST", target: "/subscribe", ctype: formCT,
		body: form("csrf", csrf, "email", "new@example.com", "list", "shanghai-70th", "cadence-shanghai-70th", "story")})
	if w.Code != 200 {
		t.Fatalf("sign-up: %d", w.Code)
	}
	sent := e.out.Take()
	if len(sent) != 1 || !strings.Contains(sent[0].Text, "Shanghai 70th (each story)") {
		t.Fatalf("confirmation: %d emails", len(sent))
	}
	w = e.do(req{method: "POST", target: "/subscribe", ctype: "application/json",
		body: `{"email":"json@example.com","lists":["society"],"cadences":{"society":"daily"}}`})
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"cadences"`) {
		t.Errorf("JSON sign-up with a cadence not offered: %d %s", w.Code, w.Body)
	}
}

func get(t *testing.T, st storage.Storage, email string) *subscribers.Subscriber {
	t.Helper()
	sub, err := st.GetSubscriber(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func activeLists(s *subscribers.Subscriber) string {
	var out []string
	for _, l := range s.Lists {
		if l.Active {
			out = append(out, l.List)
		}
	}
	return strings.Join(out, ",")
}

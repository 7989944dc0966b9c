package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/syndicated/syndicated/internal/app"
	"github.com/syndicated/syndicated/internal/browsertest"
	"github.com/syndicated/syndicated/subscribers"
)

// confirmPost presses the confirm page's button: a POST of the link's
// token to /confirm.
func confirmPost(t *testing.T, base, link string) []byte {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(base+"/confirm", url.Values{"token": {u.Query().Get("token")}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /confirm: %d\n%s", resp.StatusCode, b)
	}
	return b
}

// signUp posts a JSON sign-up with extra headers and returns the status.
func signUp(t *testing.T, base, email string, hdr ...string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/subscribe", strings.NewReader(`{"email":"`+email+`","lists":["shanghai-70th"]}`))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// subscriberStatus is the stored subscriber's status and consent address;
// it waits for a sign-up to be recorded (that happens after its answer).
func subscriberStatus(t *testing.T, a *app.App, email string) (subscribers.Status, string) {
	t.Helper()
	var s *subscribers.Subscriber
	var err error
	waitFor(t, email+" recorded", func() bool {
		s, err = a.Store.GetSubscriber(context.Background(), email)
		return !errors.Is(err, subscribers.ErrNotFound)
	})
	if err != nil {
		t.Fatalf("%s: %v", email, err)
	}
	return s.Status, s.Consent.IP
}

// A mail scanner fetching the confirmation link (GET, HEAD, or a browser
// opening it) confirms nothing; pressing the page's button does.
func TestConfirmLinkNeedsTheButton(t *testing.T) {
	env := []string{"SYNDICATED_SAMPLES=false"}
	base, data := serving(t, env)
	const email = "scanned.reader@example.org"
	if code := signUp(t, base, email); code != http.StatusAccepted {
		t.Fatalf("sign-up: %d", code)
	}
	within(t, 10*time.Second, "the confirmation email", func() bool { return tryLinkIn(data, confirmLink) != "" })
	link := tryLinkIn(data, confirmLink)
	if strings.Contains(link, "scanned") || len(link) > 100 {
		t.Errorf("the link shows the address or is long: %s", link)
	}
	a := openIn(t, env, data)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequest(method, base+link, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s of the link: %d", method, resp.StatusCode)
		}
	}
	ctx := browsertest.Chromium(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+link), chromedp.WaitVisible(chromedp.ID("confirm"))); err != nil {
		t.Fatal(err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main h1")))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := subscriberStatus(t, a, email); st != subscribers.StatusPending || strings.TrimSpace(heading) != "Confirm your subscription" {
		t.Fatalf("after opening the link: %s, page %q", st, heading)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.CSS(`main [role="status"]`))); err != nil {
		t.Fatal(err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main [role="status"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := subscriberStatus(t, a, email); st != subscribers.StatusActive || !strings.Contains(status, "now subscribed") {
		t.Errorf("after the button: %s, page %q", st, status)
	}
}

// Behind a trusted proxy each visitor has their own rate-limit bucket and
// consent record; from anyone else the forwarding headers are ignored.
func TestTrustedProxiesNameTheClient(t *testing.T) {
	t.Run("trusted", func(t *testing.T) {
		env := []string{"SYNDICATED_SAMPLES=false", "SYNDICATED_HTTP_TRUSTED_PROXIES=127.0.0.0/8, ::1"}
		base, data := serving(t, env)
		for i := range 5 {
			if code := signUp(t, base, fmt.Sprintf("crowd%d@example.org", i), "X-Forwarded-For", "198.51.100.7, 127.0.0.1"); code != http.StatusAccepted {
				t.Fatalf("sign-up %d from 198.51.100.7: %d", i, code)
			}
		}
		if code := signUp(t, base, "crowd6@example.org", "X-Forwarded-For", "198.51.100.7"); code != http.StatusTooManyRequests {
			t.Errorf("sixth sign-up from 198.51.100.7: %d, want 429", code)
		}
		if code := signUp(t, base, "other@example.org", "X-Forwarded-For", "2001:db8::17"); code != http.StatusAccepted {
			t.Errorf("another visitor behind the same proxy: %d, want 202", code)
		}
		// Forwarded is not the configured header: not read.
		if code := signUp(t, base, "forged@example.org", "Forwarded", `for=192.0.2.66`); code != http.StatusAccepted {
			t.Errorf("a sign-up with Forwarded: %d, want 202", code)
		}
		a := openIn(t, env, data)
		if _, ip := subscriberStatus(t, a, "crowd0@example.org"); ip != "198.51.100.7" {
			t.Errorf("consent IP %q, want the visitor's 198.51.100.7", ip)
		}
		if _, ip := subscriberStatus(t, a, "other@example.org"); ip != "2001:db8::17" {
			t.Errorf("consent IP %q, want 2001:db8::17", ip)
		}
		if _, ip := subscriberStatus(t, a, "forged@example.org"); ip != "127.0.0.1" {
			t.Errorf("consent IP from an unread Forwarded %q, want the proxy's 127.0.0.1", ip)
		}
	})
	t.Run("forwarded header configured", func(t *testing.T) {
		env := []string{"SYNDICATED_SAMPLES=false", "SYNDICATED_HTTP_TRUSTED_PROXIES=127.0.0.0/8, ::1", "SYNDICATED_HTTP_FORWARDED_HEADER=Forwarded"}
		base, data := serving(t, env)
		if code := signUp(t, base, "other@example.org", "Forwarded", `for="[2001:db8::17]:4711";proto=https, for=127.0.0.1`, "X-Forwarded-For", "192.0.2.66"); code != http.StatusAccepted {
			t.Errorf("sign-up: %d, want 202", code)
		}
		if _, ip := subscriberStatus(t, openIn(t, env, data), "other@example.org"); ip != "2001:db8::17" {
			t.Errorf("consent IP from Forwarded %q, want 2001:db8::17", ip)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		env := []string{"SYNDICATED_SAMPLES=false"}
		base, data := serving(t, env)
		if code := signUp(t, base, "spoof@example.org", "X-Forwarded-For", "203.0.113.50"); code != http.StatusAccepted {
			t.Fatalf("sign-up: %d", code)
		}
		if _, ip := subscriberStatus(t, openIn(t, env, data), "spoof@example.org"); ip != "127.0.0.1" {
			t.Errorf("consent IP %q from an untrusted peer's header, want 127.0.0.1", ip)
		}
	})
}

func TestAdminListenerTakesMetrics(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := l.Addr().String()
	l.Close()
	base, _ := serving(t, []string{"SYNDICATED_SAMPLES=false", "SYNDICATED_HTTP_ADMIN_LISTEN=" + admin})
	if resp, _ := get(t, base+"/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("public /metrics: %d, want 404", resp.StatusCode)
	}
	resp, body := get(t, "http://"+admin+"/metrics")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "syndicated_job_runs_total") || !strings.Contains(string(body), "go_goroutines") {
		t.Errorf("admin /metrics: %d", resp.StatusCode)
	}
	if resp, _ := get(t, "http://"+admin+"/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("admin listener serves the index: %d", resp.StatusCode)
	}
}

// The binary's pages carry the security headers, and a lower-case bearer
// scheme is accepted while an article in an unknown section is refused.
func TestEdgeThroughTheBinary(t *testing.T) {
	const token = "edge-binary-token-0123456789"
	base, _ := serving(t, []string{"SYNDICATED_HTTP_API_TOKEN=" + token})
	for _, path := range []string{"/", "/subscribe", "/digests/shanghai-70th", "/no-such-page"} {
		resp, _ := get(t, base+path)
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
	}
	push := func(auth, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/articles", strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	art := `{"id":"edge-binary","section":"%s","headline":"Ferry timetable changes","published":"2019-05-01T10:00:00+08:00","body":["Text."]}`
	if code, b := push("bearer "+token, fmt.Sprintf(art, "sports")); code != 400 || !strings.Contains(b, `"field":"section"`) {
		t.Errorf("unknown section: %d %s", code, b)
	}
	if code, b := push("bearer "+token, ""); code != 400 || !strings.Contains(b, `"field":"body"`) {
		t.Errorf("no body: %d %s", code, b)
	}
	if code, b := push("bearer "+token, fmt.Sprintf(art, "society")); code != 201 {
		t.Errorf("lower-case bearer: %d %s", code, b)
	}
}

// Markdown import keeps http(s) links (as text with the address) and says
// which links it dropped.
func TestImportMarkdownLinks(t *testing.T) {
	env := []string{"SYNDICATED_SAMPLES=false"}
	data, dir := t.TempDir(), t.TempDir()
	md := "---\nid: harbour-links\nsection: society\nheadline: Harbour pilots publish their logbook\npublished: 2019-05-20T08:00:00+08:00\n---\n" +
		"The pilots put [their logbook](https://example.com/logbook) online.\n\n" +
		"Do not [click](javascript:alert(1)) this.\n"
	file := filepath.Join(dir, "harbour.md")
	if err := os.WriteFile(file, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, context.Background(), env, "import", "--data", data, file)
	if code != 0 {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	if !strings.Contains(errs, `harbour.md:9: link \"javascript:alert(1)\" dropped`) {
		t.Errorf("no warning about the dropped link:\n%s", errs)
	}
	a, err := openIn(t, env, data).Store.GetArticle(context.Background(), "harbour-links")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Body[0].Paragraphs; len(got) != 2 || got[0] != "The pilots put their logbook (https://example.com/logbook) online." || got[1] != "Do not click this." {
		t.Errorf("body %q", got)
	}
}

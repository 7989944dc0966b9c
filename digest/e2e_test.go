package digest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/internal/browsertest"
	"github.com/syndicated/syndicated/internal/mailpittest"
	"github.com/syndicated/syndicated/internal/testkit"
	"github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers/web"
)

// TestEndToEndMailpit sends a real issue through Mailpit, checks the
// one-click unsubscribe headers and that POSTing the URL unsubscribes, and
// looks at the email and the "view in browser" page in headless Chromium
// (screenshots kept as artifacts).
func TestEndToEndMailpit(t *testing.T) {
	mp := mailpittest.Start(t)
	bctx := browsertest.Chromium(t)
	smtpAddr, api := mp.SMTP, mp.API
	shots := browsertest.ArtifactsDir(t, "digest-e2e")

	st := storagetest.SQLite(t)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := newFixture(t, st, srv.URL)
	h, err := web.New(f.subs, web.Options{Product: "Shanghai Daily"})
	if err != nil {
		t.Fatal(err)
	}
	h.Register(mux)
	f.webHandler(t).Register(mux)
	f.seedArticles(t)
	readers := []string{"li@example.com", "wang@example.com", "zhao@example.com"}
	for _, e := range readers {
		f.subscribe(t, e)
	}
	var iss *digest.Issue
	var firstID, unsubURL, reader string
	testkit.Step(t, "send through Mailpit", func(t *testing.T) {
		iss = f.createIssue(t)
		mailer, err := smtp.New(smtp.Config{URL: "smtp://" + smtpAddr + "?tls=none", From: "Shanghai Daily <news@example.com>"})
		if err != nil {
			t.Fatal(err)
		}
		defer mailer.Close()
		rep, err := f.sender(mailer, st, "e2e").SendIssue(t.Context(), iss, nil)
		if err != nil || rep.Sent != 3 || !rep.Finished {
			t.Fatalf("send = %+v, %v", rep, err)
		}

	})

	testkit.Step(t, "one-click headers", func(t *testing.T) {
		messages := mp.Messages(t)
		if len(messages) != 3 {
			t.Fatalf("Mailpit has %d messages, want 3", len(messages))
		}
		for _, m := range messages {
			hdr := mp.Headers(t, m.ID)
			lu := strings.Join(hdr["List-Unsubscribe"], "")
			if got := strings.Join(hdr["List-Unsubscribe-Post"], ""); got != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post = %q", got)
			}
			u := regexp.MustCompile(`<(http[^>]+)>`).FindStringSubmatch(lu)
			if u == nil || strings.Contains(lu, "mailto:") { // no smtp.unsubscribe_mailbox: https only
				t.Fatalf("List-Unsubscribe = %q", lu)
			}
			if !strings.Contains(strings.Join(hdr["Message-Id"], "")+strings.Join(hdr["Message-ID"], ""), "digest.shanghai-70th.2019-W18.") {
				t.Errorf("Message-ID = %v", hdr)
			}
			if firstID == "" {
				firstID, unsubURL, reader = m.ID, u[1], m.To[0].Address
			}
		}

	})

	testkit.Step(t, "the email in a browser", func(t *testing.T) {
		if err := chromedp.Do(bctx, chromedp.Navigate(api+"/view/"+firstID+".html"), chromedp.WaitVisible(chromedp.CSS("body"))); err != nil {
			t.Fatalf("view email: %v", err)
		}
		browsertest.Screenshot(t, bctx, shots, "1-digest-email")

	})

	testkit.Step(t, "the view in browser page", func(t *testing.T) {
		if err := chromedp.Do(bctx, chromedp.Navigate(f.dg.ViewURL(iss.ID)), chromedp.WaitVisible(chromedp.CSS("h2.digest-headline"))); err != nil {
			t.Fatalf("view page: %v", err)
		}
		headlines, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("h2.digest-headline")).map(e => e.innerText)`))
		if err != nil {
			t.Fatal(err)
		}
		linkCount, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("h2.digest-headline a[href^='http']").length`))
		if err != nil {
			t.Fatal(err)
		}
		if len(headlines) != 3 || headlines[0] != "Tom & Jerry <script>alert(1)</script>" || linkCount != 3 {
			t.Errorf("page headlines = %q, %d links", headlines, linkCount)
		}
		browsertest.Screenshot(t, bctx, shots, "2-digest-page")

	})

	testkit.Step(t, "one-click unsubscribe", func(t *testing.T) {
		// As a mail client does it (RFC 8058).
		resp, err := http.PostForm(unsubURL, url.Values{"List-Unsubscribe": {"One-Click"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("one-click POST: %s", resp.Status)
		}
		sub, err := st.GetSubscriber(context.Background(), reader)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range sub.Lists {
			if l.List == series && l.Active {
				t.Errorf("%s still on %s after one-click unsubscribe: %+v", reader, series, sub)
			}
		}
	})

	testkit.Step(t, "the next issue skips them", func(t *testing.T) {
		f.clock.Add(7 * 24 * time.Hour)
		f.put(t, story("next-week", f.clock.Now().Add(-time.Hour)))
		next := f.createIssue(t)
		if counts, _ := st.DeliveryCounts(t.Context(), next.ID); counts[digest.StatePending] != 2 {
			t.Errorf("next issue recipients %v, want 2", counts)
		}
	})
	t.Logf("screenshots in %s", shots)
}

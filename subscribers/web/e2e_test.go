package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/syndicated/syndicated/internal/browsertest"
	"github.com/syndicated/syndicated/internal/mailpittest"
	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/mail/smtp"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
	"github.com/syndicated/syndicated/subscribers/web"
)

// TestEndToEndBrowser walks sign-up, confirmation by email (through
// Mailpit) and unsubscribe in headless Chromium, saving a screenshot of
// every page.
func TestEndToEndBrowser(t *testing.T) {
	mp := mailpittest.Start(t)
	ctx := browsertest.Chromium(t)
	smtpAddr, api := mp.SMTP, mp.API
	shots := browsertest.ArtifactsDir(t, "subscribers-e2e")

	st := storagetest.SQLite(t)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mailer, err := smtp.New(smtp.Config{URL: "smtp://" + smtpAddr + "?tls=none", From: "Shanghai Daily <news@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	defer mailer.Close()
	svc, err := subscribers.New(subscribers.Config{
		Store: st, Mailer: mailer, Secret: []byte("e2e-secret-0123456789abcdef"), BaseURL: srv.URL,
		Confirmation: hermes.New(hermes.Brand{Name: "Shanghai Daily", Link: srv.URL}),
		Lists:        []subscribers.List{{Slug: "shanghai-70th", Title: "Shanghai 70th anniversary series"}, {Slug: "society", Title: "Society"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())
	h, err := web.New(svc, web.Options{Product: "Shanghai Daily"})
	if err != nil {
		t.Fatal(err)
	}
	h.Register(mux)

	shot := func(name string) { t.Helper(); browsertest.Screenshot(t, ctx, shots, name) }
	heading := func() string {
		t.Helper()
		// While a page loads the old h1 can vanish under the query; the
		// caller polls, so an error is just "not yet".
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(s)
	}

	// 1. Sign up with the form.
	const addr = "reader@example.com"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/subscribe"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), addr),
		chromedp.SendKeys(chromedp.ID("name"), "Li <Lei>"),
		chromedp.Click(chromedp.ID("list-society")),
	); err != nil {
		t.Fatalf("fill form: %v", err)
	}
	shot("1-subscribe-form")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	// Wait for the new page.
	waitHeading(t, ctx, heading, "Check your inbox")
	shot("2-check-inbox")

	// 2. Read the confirmation email from Mailpit.
	msg := mp.WaitFor(t, addr)
	link := regexp.MustCompile(regexp.QuoteMeta(srv.URL) + `/confirm\?token=[A-Za-z0-9_.%-]+`).FindString(msg.Text)
	if link == "" {
		t.Fatalf("no confirm link in:\n%s", msg.Text)
	}
	// The name is the visitor's text: it is not mailed before consent.
	if strings.Contains(msg.HTML+msg.Text, "Lei") {
		t.Error("the visitor's name is in the confirmation email")
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(api+"/view/"+msg.ID+".html"), chromedp.WaitVisible(chromedp.CSS("body"))); err != nil {
		t.Fatalf("view email: %v", err)
	}
	shot("3-confirmation-email")

	// 3. Follow the link: the page alone (what a mail scanner fetches)
	// confirms nothing; its button does.
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("confirm"))); err != nil {
		t.Fatal(err)
	}
	waitHeading(t, ctx, heading, "Confirm your subscription")
	shot("4-confirm-page")
	if s, _ := st.GetSubscriber(context.Background(), addr); s.Status != subscribers.StatusPending {
		t.Fatalf("opening the confirm page confirmed: %+v", s)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("confirm"))); err != nil {
		t.Fatal(err)
	}
	waitHeading(t, ctx, heading, "Subscription confirmed")
	shot("4-confirmed")
	sub, err := st.GetSubscriber(context.Background(), addr)
	if err != nil || sub.Status != subscribers.StatusActive {
		t.Fatalf("after confirm: %+v %v", sub, err)
	}

	// 4. Open the unsubscribe link (as in a digest), see that the page alone
	// changes nothing, click, see the result.
	unsub, err := svc.UnsubscribeURL(sub, "society")
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(unsub), chromedp.WaitVisible(chromedp.ID("unsubscribe"))); err != nil {
		t.Fatal(err)
	}
	shot("5-unsubscribe-page")
	if s, _ := st.GetSubscriber(context.Background(), addr); s.Status != subscribers.StatusActive {
		t.Fatal("opening the unsubscribe page unsubscribed")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("unsubscribe-all"))); err != nil {
		t.Fatal(err)
	}
	waitHeading(t, ctx, heading, "You are unsubscribed")
	shot("6-unsubscribed")
	if s, _ := st.GetSubscriber(context.Background(), addr); s.Status != subscribers.StatusUnsubscribed {
		t.Fatalf("after unsubscribe: %+v", s)
	}
	t.Logf("screenshots in %s", shots)
}

func waitHeading(t *testing.T, ctx context.Context, heading func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := heading()
		if got == want {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("page heading %q, want %q; page: %s", got, want, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

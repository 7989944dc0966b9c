package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/syndicated/syndicated/internal/browsertest"
	"github.com/syndicated/syndicated/internal/mailpittest"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// readersConfig is a newsroom with two series: the anniversary series in
// every cadence, and a second one weekly only.
const readersConfig = `
[[sections]]
slug = "society"
title = "Society"
aliases = ["China / Society", "社会"]

[[series]]
slug = "shanghai-70th"
title = "Shanghai 70th anniversary series"
description = "Stories commemorating the 70th anniversary of the liberation of Shanghai."
tags = ["shanghai-70th"]
cadences = ["weekly", "daily", "story"]

[[series]]
slug = "city-lights"
title = "City lights"
description = "The people who keep the city running at night."
tags = ["night"]
`

// TestReaderJourneyInBrowser is a reader's whole journey, in Chromium
// against the real daemon and its mail in Mailpit: sign up for the series
// daily, confirm, get the welcome email, open the preferences from it,
// switch to weekly and add the second series, pause, resume, download
// the data and erase it. Every page on the way is checked at 320, 390 and
// 1280 px: nothing wider than the screen, no axe-core violation, tap
// targets of 44 px; screenshots go to the artifacts.
func TestReaderJourneyInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium, Mailpit and the daemon")
	}
	mp := mailpittest.Start(t)
	axe := browsertest.Axe(t)
	// base_url names a host of its own (mail with links to loopback is
	// refused), which Chromium resolves to the daemon.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(listen)
	base := "http://syndicated.test:" + port
	ctx := browsertest.ChromiumWith(t, chromedp.Flag("host-resolver-rules", "MAP syndicated.test 127.0.0.1"))
	shots := browsertest.ArtifactsDir(t, "readers")

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "syndicated.toml")
	writeFile(t, cfg, readersConfig)
	env := []string{"SYNDICATED_BASE_URL=" + base, "SYNDICATED_SMTP_URL=smtp://" + mp.SMTP + "?tls=none",
		"SYNDICATED_SMTP_FROM=Shanghai Daily <news@syndicated.test>", "SYNDICATED_LOG_LEVEL=warn"}
	syndicated := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, context.Background(), env, append(args, "--config", cfg, "--data", data)...)
		if code != 0 {
			t.Fatalf("%v: %d\n%s\n%s", args, code, out, errs)
		}
		return out
	}
	syndicated("import", "../../samples")
	csv := filepath.Join(dir, "seed.csv")
	writeFile(t, csv, "email,lists,cadences\nweekly.seed@example.net,shanghai-70th,\ndaily.seed@example.net,shanghai-70th,daily\n")
	syndicated("subscribers", "import", csv)
	syndicated("digest", "send", "--series", "shanghai-70th", "--week", "2019-W22", "--since", "2019-05-01")
	syndicated("digest", "send", "--series", "shanghai-70th", "--day", "2019-05-27", "--since", "2019-05-26")

	// The daemon, on the port base_url names.
	sctx, stop := context.WithCancel(context.Background())
	serving := make(chan string, 1)
	done := make(chan int, 1)
	logs := &syncBuffer{}
	c := &cli{stdout: io.Discard, stderr: logs, environ: env, onServing: func(a string) { serving <- a }}
	go func() { done <- c.main(sctx, []string{"serve", "--config", cfg, "--data", data, "--listen", listen}) }()
	select {
	case <-serving:
	case code := <-done:
		t.Fatalf("serve exited with %d:\n%s", code, logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs)
	}
	t.Cleanup(func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("serve exited with %d:\n%s", code, logs)
		}
	})
	st, err := storage.Open(t.Context(), "", data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	heading := func() string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main h1")))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(s)
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	look := func(name string) { t.Helper(); lookAtPage(t, ctx, axe, shots, name) }

	// 1. Sign up for the series, daily.
	const addr = "reader@example.net"
	do("open the sign-up form", chromedp.Navigate(base+"/subscribe"), chromedp.WaitVisible(chromedp.ID("email")))
	look("subscribe")
	do("fill the form",
		chromedp.SendKeys(chromedp.ID("email"), addr),
		chromedp.SendKeys(chromedp.ID("name"), "Lin Wei"),
		chromedp.Click(chromedp.ID("cadence-shanghai-70th-daily")),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	waitHeading(t, ctx, heading, "Check your inbox")
	look("subscribe-sent")

	// 2. Confirm from the email.
	confirmMail := waitMail(t, mp, addr, "Please confirm")
	if !strings.Contains(confirmMail.Text, "Shanghai 70th anniversary series (daily)") {
		t.Errorf("the confirmation does not name the daily cadence:\n%s", confirmMail.Text)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/confirm\?token=[A-Za-z0-9_.%-]+`).FindString(confirmMail.Text)
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", confirmMail.Text)
	}
	do("open the confirmation link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("confirm")))
	look("confirm")
	do("confirm", chromedp.Click(chromedp.ID("confirm")))
	waitHeading(t, ctx, heading, "Subscription confirmed")
	look("confirmed")
	sub, err := st.GetSubscriber(t.Context(), addr)
	if err != nil || sub.Status != subscribers.StatusActive {
		t.Fatalf("after confirming: %+v, %v", sub, err)
	}
	if p := preferencesOf(t, st, sub.ID); p.Cadences["shanghai-70th"] != subscribers.CadenceDaily {
		t.Errorf("cadence after confirming: %+v", p)
	}

	// 3. The welcome email: the series, daily, its latest issue (the
	// week's, which runs to the end of its week), the preferences link.
	welcome := waitMail(t, mp, addr, "Welcome")
	for _, want := range []string{"Shanghai 70th anniversary series", "Daily: one email a day", base + "/digests/shanghai-70th/2019-W22", "Welcome Lin Wei"} {
		if !strings.Contains(welcome.Text, want) {
			t.Errorf("the welcome email lacks %q:\n%s", want, welcome.Text)
		}
	}
	do("view the welcome email", chromedp.Navigate(mp.API+"/view/"+welcome.ID+".html"), chromedp.WaitVisible(chromedp.CSS("body")))
	browsertest.Screenshot(t, ctx, shots, "welcome-email")
	prefs := regexp.MustCompile(regexp.QuoteMeta(base) + `/preferences\?token=[A-Za-z0-9_%-]+`).FindString(welcome.Text)
	if prefs == "" || !strings.Contains(welcome.HTML, prefs) {
		t.Fatalf("no preferences link in both parts of the welcome email:\n%s", welcome.Text)
	}

	// 4. The preferences, opened from the email: weekly, and the second
	// series.
	do("open the preferences", chromedp.Navigate(prefs), chromedp.WaitVisible(chromedp.ID("save")))
	waitHeading(t, ctx, heading, "Your email preferences")
	look("preferences")
	if daily, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("cadence-shanghai-70th-daily").checked`)); err != nil || !daily {
		t.Error("the preference page does not show the daily cadence chosen at sign-up")
	}
	do("switch to weekly and add City lights",
		chromedp.Click(chromedp.ID("cadence-shanghai-70th-weekly")),
		chromedp.Click(chromedp.ID("list-city-lights")),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.CSS(`main p[role="status"]`)))
	look("preferences-saved")
	sub, _ = st.GetSubscriber(t.Context(), addr)
	if p := preferencesOf(t, st, sub.ID); p.Cadences["shanghai-70th"] != subscribers.CadenceWeekly || activeListsOf(sub) != "city-lights,shanghai-70th" {
		t.Errorf("after saving: %+v, lists %s", p, activeListsOf(sub))
	}

	// 5. Pause for two weeks, then resume.
	do("pause", chromedp.Click(chromedp.ID("pause-2")), chromedp.WaitVisible(chromedp.ID("resume")))
	look("preferences-paused")
	if p := preferencesOf(t, st, sub.ID); !p.Paused(time.Now()) || p.Paused(time.Now().Add(15*24*time.Hour)) {
		t.Errorf("after pausing for two weeks: paused until %v", p.PausedUntil)
	}
	do("resume", chromedp.Click(chromedp.ID("resume")), chromedp.WaitVisible(chromedp.ID("pause-2")))
	if p := preferencesOf(t, st, sub.ID); p.Paused(time.Now()) {
		t.Errorf("after resuming: paused until %v", p.PausedUntil)
	}

	// 6. Download the data.
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}
	do("download", chromedp.Click(chromedp.ID("export")))
	var file string
	within(t, 15*time.Second, "the data download", func() bool {
		got, _ := filepath.Glob(filepath.Join(downloads, "*.json"))
		if len(got) == 1 {
			file = got[0]
		}
		return file != ""
	})
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var export subscribers.DataExport
	if err := json.Unmarshal(raw, &export); err != nil {
		t.Fatalf("the download is not JSON: %v\n%s", err, raw)
	}
	var lists []string
	for _, l := range export.Lists {
		if l.Active {
			lists = append(lists, l.List+"="+string(l.Effective))
		}
	}
	slices.Sort(lists)
	if export.Address != addr || export.Name != "Lin Wei" || !slices.Equal(lists, []string{"city-lights=weekly", "shanghai-70th=weekly"}) ||
		export.Consent.Source != "web" || len(export.Events) < 4 {
		t.Errorf("downloaded data:\n%s", raw)
	}

	// 7. Erase.
	do("erase", chromedp.Click(chromedp.ID("erase-confirm")), chromedp.Click(chromedp.ID("erase")))
	waitHeading(t, ctx, heading, "Your data is erased")
	look("erased")
	if _, err := st.GetSubscriber(t.Context(), addr); err == nil {
		t.Error("the subscriber is still stored after erasing")
	}
	do("the link once erased", chromedp.Navigate(prefs))
	waitHeading(t, ctx, heading, "Invalid link")
	look("preferences-invalid")

	// The archive lists the issues of both cadences, each marked; a
	// day's issue has its page.
	do("the archive", chromedp.Navigate(base+"/digests/shanghai-70th"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	tags, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".issues .tag")].map(e => e.textContent)`))
	if err != nil || !slices.Equal(tags, []string{"Weekly", "Daily"}) {
		t.Errorf("archive marks = %v, want the week's then the day's issue (newest until first)", tags)
	}
	look("digest-archive")
	do("a day's issue", chromedp.Navigate(base+"/digests/shanghai-70th/2019-05-27"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	waitHeading(t, ctx, heading, "Monday 27 May 2019")
	look("digest-daily")
	t.Logf("screenshots in %s", shots)
}

// lookAtPage checks the page shown at 320, 390 and 1280 px: nothing
// overflows; at 390 and 1280 no axe-core violation and no tap target
// under 44 px, and a screenshot.
func lookAtPage(t *testing.T, ctx context.Context, axe, shots, name string) {
	t.Helper()
	for _, width := range []int64{320, 390, 1280} {
		if err := browsertest.SetWidth(ctx, width); err != nil {
			t.Fatal(err)
		}
		over, err := browsertest.Overflowing(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range over {
			t.Errorf("%s at %d px: overflows: %s", name, width, o)
		}
		if width == 320 {
			continue
		}
		small, err := browsertest.SmallTargets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range small {
			t.Errorf("%s at %d px: tap target under 44 px: %s", name, width, o)
		}
		vs, err := browsertest.RunAxe(ctx, axe)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, v := range vs {
			t.Errorf("%s at %d px: axe: %s", name, width, v)
		}
		browsertest.Screenshot(t, ctx, shots, fmt.Sprintf("%s-%d", name, width))
	}
}

// waitMail waits for a message to addr whose subject starts with subject
// and returns it in full.
func waitMail(t *testing.T, mp *mailpittest.Server, addr, subject string) mailpittest.Message {
	t.Helper()
	var id string
	within(t, 30*time.Second, "an email "+subject+"… to "+addr, func() bool {
		for _, m := range mp.Messages(t) {
			if !strings.HasPrefix(m.Subject, subject) {
				continue
			}
			for _, to := range m.To {
				if to.Address == addr {
					id = m.ID
					return true
				}
			}
		}
		return false
	})
	var full mailpittest.Message
	if err := mp.GetJSON(t.Context(), "/api/v1/message/"+id, &full); err != nil {
		t.Fatal(err)
	}
	return full
}

func preferencesOf(t *testing.T, st storage.Storage, id int64) subscribers.Preferences {
	t.Helper()
	got, err := st.GetPreferences(t.Context(), []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	return got[id]
}

func activeListsOf(s *subscribers.Subscriber) string {
	var out []string
	for _, l := range s.Lists {
		if l.Active {
			out = append(out, l.List)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// waitHeading waits until the page's heading is want.
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

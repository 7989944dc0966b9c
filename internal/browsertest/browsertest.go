// Package browsertest starts headless Chromium for tests that look at pages
// the way a person does, and keeps their screenshots as artifacts.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/syndicated/syndicated/internal/testkit"
)

// HowTo says how to get the browser tests' real parts.
const HowTo = "install them (apt-get install chromium; go install github.com/axllent/mailpit@v1.33.1) and set MAILPIT_BIN or put mailpit on PATH, or run scripts/test.sh, which does all of it"

// Need finds a program among candidates, or skips the test, or fails it
// when CI is set: under CI the real parts must be there.
func Need(tb testing.TB, what string, candidates ...string) string {
	tb.Helper()
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	testkit.Missing(tb, "%s not found; to run this test, %s", what, HowTo)
	return ""
}

// Chromium starts a headless Chromium with a fresh profile and returns a
// browser context that lives until the test ends.
func Chromium(tb testing.TB) context.Context {
	tb.Helper()
	return ChromiumWith(tb)
}

// ChromiumWith is Chromium with further options, e.g.
// chromedp.Flag("host-resolver-rules", "MAP news.test 127.0.0.1") for a
// daemon whose base_url names a host of its own.
func ChromiumWith(tb testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	tb.Helper()
	bin := Need(tb, "chromium", "chromium", "chromium-browser", "google-chrome")
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(bin),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			// The machine has no network: without these Chromium keeps
			// trying to reach Google's services.
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.UserDataDir(tb.TempDir()),
			chromedp.WindowSize(1000, 900),
		), extra...)...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	// Start the browser on a context without a deadline: a timeout on the
	// first run would end the browser with it.
	if err := chromedp.Do(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		tb.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(browser, 2*time.Minute)
	tb.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// ArtifactsDir is where a test keeps its screenshots: SYNDICATED_ARTIFACTS
// (scripts/test.sh sets it), else testdata/artifacts, plus sub.
func ArtifactsDir(tb testing.TB, sub string) string {
	tb.Helper()
	dir := os.Getenv("SYNDICATED_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	dir = filepath.Join(dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// Screenshot saves a full-page PNG of the current page as dir/name.png.
func Screenshot(tb testing.TB, ctx context.Context, dir, name string) {
	tb.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		tb.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.Fatal(err)
	}
}

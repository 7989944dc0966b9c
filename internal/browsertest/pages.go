package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/syndicated/syndicated/internal/testkit"
)

// Axe returns the source of axe-core (axe.min.js) from AXE_CORE_JS, which
// scripts/test.sh sets after installing it with npm; without it the test
// skips, or fails when CI is set.
func Axe(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv("AXE_CORE_JS")
	if path == "" {
		const how = "install it (npm install --prefix .tools/npm axe-core@4) and set AXE_CORE_JS to node_modules/axe-core/axe.min.js, or run scripts/test.sh"
		testkit.Missing(tb, "AXE_CORE_JS is not set; to run the accessibility test, %s", how)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("AXE_CORE_JS: %v", err)
	}
	return string(b)
}

// AxeViolation is one rule axe-core found broken on a page.
type AxeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	Targets []string
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
}

// RunAxe injects axe (the source Axe returned) into the current page, if
// it is not there yet, and runs every rule of WCAG 2.x A/AA and axe's best
// practices.
func RunAxe(ctx context.Context, axe string) ([]AxeViolation, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === "object" || (function(){`+axe+`
;return true})()`)); err != nil {
		return nil, fmt.Errorf("inject axe-core: %w", err)
	}
	const run = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}})
  .then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" "))}))))`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	var raw []struct {
		AxeViolation
		Targets []string `json:"targets"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		return nil, fmt.Errorf("axe-core result: %w", err)
	}
	vs := make([]AxeViolation, len(raw))
	for i, r := range raw {
		vs[i] = r.AxeViolation
		vs[i].Targets = r.Targets
	}
	return vs, nil
}

// Overflowing lists the elements of the current page wider than the
// viewport or reaching past its right edge (and the page itself, when it
// scrolls sideways), as "tag.class#id (right edge px)".
func Overflowing(ctx context.Context) ([]string, error) {
	const js = `(() => {
  const vw = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > vw) out.push("page scrolls sideways: " + document.documentElement.scrollWidth + " > " + vw);
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right <= 0) continue; // wholly off-screen on purpose (skip link, honeypot)
    if (r.right > vw + 0.5 || r.left < -0.5 || r.width > vw + 0.5)
      out.push(el.tagName.toLowerCase() + (el.className ? "." + String(el.className).trim().replace(/\s+/g, ".") : "") + (el.id ? "#" + el.id : "") + " (" + Math.round(r.left) + ".." + Math.round(r.right) + " of " + vw + ")");
  }
  return out;
})()`
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
}

// SmallTargets lists the visible controls (buttons, inputs, links that
// are not inside running text) smaller than 44×44 CSS px.
func SmallTargets(ctx context.Context) ([]string, error) {
	const js = `(() => {
  const out = [];
  for (const el of document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.right < 0) continue;
    // A link inside a sentence is exempt (WCAG 2.5.8 "inline").
    if (el.tagName === "A" && el.closest("p, li, figcaption, aside") && !el.matches("nav a, .button, .kicker a, .site-footer a, .brand") && el.closest("p, li, figcaption, aside").textContent.trim() !== el.textContent.trim()) continue;
    let w = r.width, h = r.height;
    // A checkbox or radio button counts with its label, which takes the taps.
    const lab = (el.type === "checkbox" || el.type === "radio") && el.closest("label");
    if (lab) { const lr = lab.getBoundingClientRect(); w = lr.width; h = lr.height; }
    if (w < 44 - 0.5 || h < 44 - 0.5)
      out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + JSON.stringify((el.textContent || el.value || "").trim().slice(0, 30)) + " " + Math.round(w) + "x" + Math.round(h));
  }
  return out;
})()`
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
}

// SetWidth emulates a viewport width (and a phone-sized or desktop height).
func SetWidth(ctx context.Context, width int64) error {
	height := int64(900)
	if width < 600 {
		height = 844
	}
	return chromedp.Do(ctx, chromedp.EmulateViewport(width, height))
}

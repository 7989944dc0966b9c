package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func emls(t *testing.T, data string) int {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(data, "mail", "*.eml"))
	return len(ms)
}

func TestDigestCommands(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	if code, _, errs := run(t, ctx, nil, "import", "--data", data, "../../samples"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	for _, e := range []string{"li@example.com", "wang@example.com"} {
		if code, _, errs := run(t, ctx, nil, "subscribers", "add", "--data", data, "--confirmed", e); code != 0 {
			t.Fatalf("add: %s", errs)
		}
	}
	week := []string{"--data", data, "--week", "2019-W22", "--since", "2019-05-01"}
	const headline = "Four decades on the Huangpu ferry"

	code, out, errs := run(t, ctx, nil, append([]string{"digest", "preview", "--format", "text"}, week...)...)
	if code != 0 || !strings.Contains(out, headline) || !strings.Contains(out, "Subject: Shanghai 70th anniversary series: 6–27 May 2019") {
		t.Fatalf("preview text: %d\n%s\n%s", code, out, errs)
	}
	html := filepath.Join(t.TempDir(), "p.html")
	if code, _, errs := run(t, ctx, nil, append([]string{"digest", "preview", "--series", "shanghai-70th", "--out", html}, week...)...); code != 0 {
		t.Fatalf("preview html: %s", errs)
	}
	if b, _ := os.ReadFile(html); !strings.Contains(string(b), "<html") || !strings.Contains(string(b), headline) {
		t.Errorf("preview html file lacks the page or the headline")
	}
	for _, bad := range [][]string{{"--format", "pdf"}, {"--week", "2019-W99"}, {"--series", "nope"}} {
		if code, _, _ := run(t, ctx, nil, append(append([]string{"digest", "preview"}, week...), bad...)...); code != 2 {
			t.Errorf("preview %v: exit %d, want 2", bad, code)
		}
	}
	if n := emls(t, data); n != 0 {
		t.Fatalf("preview sent mail (%d)", n)
	}

	code, out, _ = run(t, ctx, nil, append([]string{"digest", "send", "--dry-run"}, week...)...)
	if code != 0 || !strings.Contains(out, "to       li@example.com") || !strings.Contains(out, "3 articles, 2 recipients") || emls(t, data) != 0 {
		t.Fatalf("dry run: %d\n%s", code, out)
	}
	code, out, errs = run(t, ctx, nil, append([]string{"digest", "send", "--to", "Editor@Example.com"}, week...)...)
	if code != 0 || !strings.Contains(out, "sent one copy to Editor@example.com") || emls(t, data) != 1 {
		t.Fatalf("send --to: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = run(t, ctx, nil, append([]string{"digest", "send"}, week...)...)
	if code != 0 || !strings.Contains(out, "created, 3 articles, 2 recipients") || !strings.Contains(out, "sent 2,") ||
		!strings.Contains(out, "finished") || emls(t, data) != 3 {
		t.Fatalf("send: %d\n%s\n%s", code, out, errs)
	}
	// Again: the issue exists and nobody gets it twice.
	code, out, _ = run(t, ctx, nil, append([]string{"digest", "send"}, week...)...)
	if code != 0 || !strings.Contains(out, "resumed") || !strings.Contains(out, "sent 0,") || emls(t, data) != 3 {
		t.Fatalf("second send: %d\n%s", code, out)
	}
	// A week without new articles sends nothing.
	code, out, _ = run(t, ctx, nil, "digest", "send", "--data", data, "--week", "2019-W23")
	if code != 0 || !strings.Contains(out, "nothing to send") || emls(t, data) != 3 {
		t.Fatalf("empty week: %d\n%s", code, out)
	}
}

func TestServeDigestPagesAndMetric(t *testing.T) {
	base, _ := serving(t, nil)
	resp, _ := get(t, base+"/digests/shanghai-70th/2019-W22")
	if resp.StatusCode != 404 {
		t.Errorf("unknown issue: %d, want 404", resp.StatusCode)
	}
	resp, body := get(t, base+"/metrics")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `syndicated_digest_deliveries_total{result="sent"} 0`) {
		t.Errorf("metrics lack syndicated_digest_deliveries_total")
	}
}

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// digest deliveries is the record of who got which issue, with the
// Message-ID each copy went out under: the real binary on SQLite.
func TestDigestDeliveriesCommand(t *testing.T) {
	dir := t.TempDir()
	samples, err := filepath.Abs("../../samples")
	if err != nil {
		t.Fatal(err)
	}
	must := func(args ...string) result {
		t.Helper()
		r := runBinary(t, dir, nil, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		return r
	}
	must("import", samples)
	must("subscribers", "add", "--confirmed", "wang@example.com")
	must("subscribers", "add", "--confirmed", "li@example.com")
	must("digest", "send", "--week", "2019-W22", "--since", "2019-05-01")

	r := must("digest", "deliveries", "--issue", "shanghai-70th/2019-W22")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a line per recipient:\n%s", r.stdout)
	}
	for i, email := range []string{"wang@example.com", "li@example.com"} { // in the order they subscribed
		f := strings.Split(lines[i], "\t")
		if len(f) != 6 || f[0] != email || f[1] != "sent" || f[2] != "1" || f[5] != "" {
			t.Errorf("line %d: %q, want %s sent once", i, lines[i], email)
			continue
		}
		if _, err := time.Parse(time.RFC3339, f[3]); err != nil {
			t.Errorf("%s: sent_at %q: %v", email, f[3], err)
		}
		// The copy in the spool carries that Message-ID.
		ms, _ := filepath.Glob(filepath.Join(dir, "data", "mail", "*.eml"))
		found := false
		for _, m := range ms {
			b, _ := os.ReadFile(m)
			found = found || strings.Contains(string(b), "Message-ID: <"+f[4]+">") && strings.Contains(string(b), email)
		}
		if !found {
			t.Errorf("%s: no copy in the spool with Message-ID <%s>", email, f[4])
		}
	}
	// Its latest issue by default; a state filters.
	if r := must("digest", "deliveries", "--state", "sent"); r.stdout != strings.Join(lines, "\n")+"\n" {
		t.Errorf("the latest issue's sent deliveries:\n%s\nwant:\n%s", r.stdout, strings.Join(lines, "\n"))
	}
	if r := must("digest", "deliveries", "--state", "failed"); r.stdout != "" {
		t.Errorf("--state failed: %q, want nothing", r.stdout)
	}
	if r := runBinary(t, dir, nil, "digest", "deliveries", "--state", "delivered"); r.code != 2 || !strings.Contains(r.stderr, "--state") {
		t.Errorf("--state delivered: exit %d, %q; want 2 and a word on --state", r.code, r.stderr)
	}
	if r := must("digest", "deliveries", "--issue", "shanghai-70th/2019-W10"); r.stdout != "shanghai-70th/2019-W10: no issue\n" {
		t.Errorf("an issue never made: %q", r.stdout)
	}
}

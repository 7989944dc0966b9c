package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The operator's commands with cadences configured: subscribers list and
// export show each reader's cadence and pause, import takes them, and the
// digest commands work on a day's issue (--day) and any issue (--issue),
// each cadence's issue going to its own readers only.
func TestCadenceCommands(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	env := []string{"SYNDICATED_SERIES_0_CADENCES=weekly,daily,story"}
	if code, _, errs := run(t, ctx, env, "import", "--data", data, "../../samples"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	csv := filepath.Join(t.TempDir(), "readers.csv")
	writeFile(t, csv, "email,name,lists,cadences,paused_until\n"+
		"weekly@example.org,W,shanghai-70th,,\n"+
		"daily@example.org,D,shanghai-70th,daily,\n"+
		"story@example.org,S,shanghai-70th,shanghai-70th:story,2099-01-01\n"+
		"hourly@example.org,H,shanghai-70th,hourly,\n")
	code, out, errs := run(t, ctx, env, "subscribers", "import", "--data", data, csv)
	if code != 1 || !strings.Contains(out, "3 added") || !strings.Contains(errs, "readers.csv:5") || !strings.Contains(errs, "hourly") {
		t.Fatalf("import: %d\n%s\n%s", code, out, errs)
	}
	_, out, _ = run(t, ctx, env, "subscribers", "list", "--data", data)
	for _, want := range []string{"weekly@example.org\tactive\tshanghai-70th:weekly\tW\n", "daily@example.org\tactive\tshanghai-70th:daily\tD\n",
		"story@example.org\tactive\tshanghai-70th:story\tS\tpaused until 2099-01-01T00:00:00Z\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = run(t, ctx, env, "subscribers", "export", "--data", data)
	if !strings.Contains(out, ",cadences,paused_until\n") || !strings.Contains(out, ",shanghai-70th:story,2099-01-01T00:00:00Z\n") {
		t.Errorf("export:\n%s", out)
	}

	day := []string{"--data", data, "--series", "shanghai-70th", "--day", "2019-05-13", "--since", "2019-05-12"}
	code, out, errs = run(t, ctx, env, append([]string{"digest", "send", "--dry-run"}, day...)...)
	if code != 0 || !strings.Contains(out, "shanghai-70th/2019-05-13: articles published") || !strings.Contains(out, "to       daily@example.org") ||
		strings.Contains(out, "weekly@example.org") || !strings.Contains(out, "1 recipients") {
		t.Errorf("dry run of a day: %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs = run(t, ctx, env, append([]string{"digest", "preview", "--format", "text"}, day...)...); code != 0 ||
		!strings.Contains(out, "Four decades on the Huangpu ferry") || !strings.Contains(out, "daily digest") {
		t.Errorf("preview of a day: %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs = run(t, ctx, env, append([]string{"digest", "send", "--week", "2019-W22"}, day...)...); code != 2 || !strings.Contains(errs, "not both") {
		t.Errorf("--week and --day: %d %s", code, errs)
	}
	if code, out, errs = run(t, ctx, env, append([]string{"digest", "send"}, day...)...); code != 0 || !strings.Contains(out, "shanghai-70th/2019-05-13: created, 1 articles, 1 recipients") {
		t.Errorf("send a day: %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs = run(t, ctx, env, "digest", "send", "--data", data, "--series", "shanghai-70th", "--week", "2019-W22", "--since", "2019-05-01"); code != 0 ||
		!strings.Contains(out, "shanghai-70th/2019-W22: created") || !strings.Contains(out, "1 recipients") {
		t.Errorf("send a week: %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs = run(t, ctx, env, "digest", "send", "--data", data, "--issue", "shanghai-70th/2019-05-13,shanghai-70th/2019-W22"); code != 0 ||
		!strings.Contains(out, "shanghai-70th/2019-05-13: resumed, 1 recipients") || !strings.Contains(out, "shanghai-70th/2019-W22: finished") {
		t.Errorf("send --issue of two finished issues: %d\n%s\n%s", code, out, errs)
	}
	for _, args := range [][]string{{"--day", "2019-05-13"}, {"--issue", "shanghai-70th/2019-05-13"}} {
		code, out, errs = run(t, ctx, env, append([]string{"digest", "status", "--data", data, "--series", "shanghai-70th"}, args...)...)
		if code != 0 || !strings.Contains(out, "shanghai-70th/2019-05-13: sent") || !strings.Contains(out, "sent 1, pending 0") {
			t.Errorf("status %v: %d\n%s\n%s", args, code, out, errs)
		}
	}
	if code, out, _ = run(t, ctx, env, "digest", "status", "--data", data, "--issue", "shanghai-70th/story/nope"); code != 0 || !strings.Contains(out, "no issue") {
		t.Errorf("status of an unknown issue: %d %s", code, out)
	}
	// Each reader got what their cadence says: the week's to the weekly
	// one, the day's to the daily one, nothing to the paused one.
	for addr, want := range map[string]string{"weekly@example.org": "2019-W22", "daily@example.org": "2019-05-13"} {
		if n := strings.Count(spoolFor(t, data, addr), "Message-ID: <digest.shanghai-70th."+want); n != 1 {
			t.Errorf("%s got %d copies of %s", addr, n, want)
		}
	}
	if got := spoolFor(t, data, "story@example.org"); got != "" {
		t.Errorf("the paused reader got mail:\n%s", got)
	}
}

// spoolFor is every spooled email to addr, one after another, headers
// as written.
func spoolFor(t *testing.T, data, addr string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(data, "mail", "*.eml"))
	var b strings.Builder
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(raw), "\r\n", "\n")
		head, _, _ := strings.Cut(text, "\n\n")
		if strings.Contains(head, "<"+addr+">") || strings.Contains(head, "To: "+addr) {
			b.WriteString(head + "\n\n")
		}
	}
	return b.String()
}

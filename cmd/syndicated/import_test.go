package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// importFixtures copies three of the layout fixtures into a fresh folder:
// a page copy without breadcrumb, a page filed in a section the default
// configuration lacks, and a copy cut short.
func importFixtures(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"no-crumb.txt", "crumb-angle.txt", "cut-short.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "ingest", "textpage", "testdata", "layouts", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f), string(b))
	}
	return dir
}

// import --dry-run shows what was read of each article and stores
// nothing; --format json gives the same for a CMS team's tests.
func TestImportDryRun(t *testing.T) {
	dir, data := importFixtures(t), t.TempDir()
	env := []string{"SYNDICATED_SAMPLES=false"}
	code, out, errs := run(t, context.Background(), env, "import", "--data", data, "--dry-run", "--section", "society", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1 (one article refused)\n%s", code, errs)
	}
	for _, want := range []string{
		"headline     Orchard town bets on late-ripening pears",
		"authors      Ren Haoyu (in Taoxi)",
		"updated      2022-09-14 16:40 +08:00 (Asia/Shanghai)",
		`section      society (from the default section "society" (--section, content_section))`,
		"pages        1 of 2 (missing: 2)",
		"photo p1     (lead) Growers sort pears by size in a packing shed in Taoxi on Tuesday. [Photo by Guo Lanting/For China Daily]",
		`first        "Growers in the hills`,
		`dropped      ` + filepath.Join(dir, "no-crumb.txt") + `:5 "Share - WeChat" (site chrome)`,
		"WARNING      " + filepath.Join(dir, "cut-short.txt") + ":7: the copy looks cut short",
		"REFUSED " + filepath.Join(dir, "crumb-angle.txt"),
		`breadcrumb "Services / Updates" names no configured section (configured: society)`,
		"2 articles read, 1 refused; nothing stored (dry run)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = run(t, context.Background(), env, "import", "--data", data, "--dry-run", "--format", "json", "--section", "society", dir)
	var arts []struct {
		File, Headline, Updated, Zone, Section, Error string
		Pages                                         []int  `json:"pages"`
		Missing                                       []int  `json:"missing_pages"`
		Truncated                                     bool   `json:"truncated"`
		First                                         string `json:"first_paragraph"`
		Photos                                        []struct{ Caption, Credit string }
		Dropped                                       []struct {
			Line      int
			Text, Why string
		}
	}
	if err := json.Unmarshal([]byte(out), &arts); err != nil || code != 1 || len(arts) != 3 {
		t.Fatalf("json dry run: exit %d, %v, %d articles\n%s", code, err, len(arts), out)
	}
	for _, a := range arts {
		switch filepath.Base(a.File) {
		case "crumb-angle.txt":
			if !strings.Contains(a.Error, "Services / Updates") {
				t.Errorf("json: refusal %q", a.Error)
			}
		case "no-crumb.txt":
			if a.Updated != "2022-09-14T16:40:00+08:00" || a.Zone != "Asia/Shanghai" || a.Section != "society" || len(a.Missing) != 1 ||
				len(a.Photos) != 1 || !strings.HasPrefix(a.First, "Growers in the hills") || len(a.Dropped) != 5 || a.Dropped[0].Line != 4 {
				t.Errorf("json: no-crumb.txt read as %+v", a)
			}
		case "cut-short.txt":
			if !a.Truncated {
				t.Errorf("json: cut-short.txt not flagged: %+v", a)
			}
		}
	}

	// Nothing was stored: the section feed is empty.
	outDir := t.TempDir()
	if code, _, errs := run(t, context.Background(), env, "feeds", "build", "--data", data, "--out", outDir); code != 0 {
		t.Fatalf("feeds build: %s", errs)
	}
	b, err := os.ReadFile(filepath.Join(outDir, "feeds", "society.json"))
	if err != nil {
		t.Fatal(err)
	}
	if f := parseFeed(t, b); len(f.Items) != 0 {
		t.Errorf("a dry run stored %d articles", len(f.Items))
	}
}

// A page that names no section is refused unless --section names one; a
// section the configuration lacks is refused naming the key to add; a
// cut-short copy is imported with a warning.
func TestImportSection(t *testing.T) {
	dir, data := importFixtures(t), t.TempDir()
	env := []string{"SYNDICATED_SAMPLES=false"}
	code, out, errs := run(t, context.Background(), env, "import", "--data", data, dir)
	if code != 1 || !strings.Contains(errs, "no-crumb.txt: section: missing: the file names no section") || !strings.Contains(out, "3 failed") {
		t.Errorf("without --section: exit %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = run(t, context.Background(), env, "import", "--data", data, "--section", "sports", filepath.Join(dir, "no-crumb.txt"))
	if code != 1 || !strings.Contains(errs, `the default section "sports" is not a configured section (configured: society)`) {
		t.Errorf("--section sports: exit %d\n%s", code, errs)
	}
	code, out, errs = run(t, context.Background(), env, "import", "--data", data, "--section", "Society", dir)
	if code != 1 || !strings.Contains(out, "created      no-crumb") || !strings.Contains(errs, `add "Services / Updates" to the aliases of a [[sections]] entry`) {
		t.Errorf("--section Society: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "warning: "+filepath.Join(dir, "cut-short.txt")+":7: the copy looks cut short") {
		t.Errorf("no warning for the cut-short copy:\n%s", errs)
	}
	if !strings.Contains(out, "3 files: 2 created, 0 edited, 0 reclassified, 0 unchanged, 1 failed (1 with warnings)") {
		t.Errorf("report line:\n%s", out)
	}
}

// serve files a page of the content directory that names no section in
// content_section, and refuses one whose section is not configured; the
// API, which has no default, refuses a pushed article without a section.
func TestContentSectionForTheContentDirectory(t *testing.T) {
	const token = "test-token-0123456789"
	content := importFixtures(t)
	base, _ := serving(t, []string{
		"SYNDICATED_CONTENT_DIR=" + content,
		"SYNDICATED_CONTENT_SECTION=Society",
		"SYNDICATED_FEEDS_SCHEDULE=@every 1s",
		"SYNDICATED_SAMPLES=false",
		"SYNDICATED_HTTP_API_TOKEN=" + token,
	})
	waitFor(t, "the page without breadcrumb in the society feed", func() bool {
		_, b := get(t, base+"/feeds/society.json")
		return bytes.Contains(b, []byte("Orchard town bets on late-ripening pears"))
	})
	_, b := get(t, base+"/feeds/society.json")
	if f := parseFeed(t, b); len(f.Items) != 2 {
		t.Errorf("society feed: %d items, want the two pages without breadcrumb (the third names an unconfigured section)", len(f.Items))
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/articles", strings.NewReader(`{"id":"no-section","headline":"H","published":"2019-07-01T09:00:00+08:00","body":["T."]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 400 || m["field"] != "section" {
		t.Errorf("push without section: %d %v, want 400 naming the section", resp.StatusCode, m)
	}
}

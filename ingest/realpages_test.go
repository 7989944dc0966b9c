package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/ingest"
)

// TestRealPages reads real article pages of the publisher, saved outside
// the repository (they are copyrighted, so never committed), and compares
// what the importer reads with what an editor reads on them, written down
// in the same directory's expect.json:
//
//	SYNDICATED_REAL_PAGES=/work/realpages go test ./ingest -run TestRealPages -v
//
// Each page is imported right, imported wrong, or refused; a refusal the
// editor expects too (a copy with no date at all) is right. Skipped when
// the variable is unset. The test uses only what ingest exported before
// section rules and the dry run existed (reaching newer options through
// reflection), so the same file measures an older commit too.
func TestRealPages(t *testing.T) {
	dir := os.Getenv("SYNDICATED_REAL_PAGES")
	if dir == "" {
		t.Skip("SYNDICATED_REAL_PAGES is not set: no real pages to read")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Config struct {
			DefaultSection string `json:"default_section"`
			Sections       []struct {
				Slug    string   `json:"slug"`
				Aliases []string `json:"aliases"`
			} `json:"sections"`
		} `json:"config"`
		Pages map[string]realPage `json:"pages"`
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	opts := ingest.Options{Zone: newsroomZone(), Rules: cfg.SeriesRules(),
		Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }}
	ov := reflect.ValueOf(&opts).Elem()
	if f := ov.FieldByName("DefaultSection"); f.IsValid() {
		f.SetString(exp.Config.DefaultSection)
	}
	if f := ov.FieldByName("Sections"); f.IsValid() {
		rules := reflect.MakeSlice(f.Type(), 0, len(exp.Config.Sections))
		for _, s := range exp.Config.Sections {
			r := reflect.New(f.Type().Elem()).Elem()
			r.FieldByName("Slug").SetString(s.Slug)
			r.FieldByName("Aliases").Set(reflect.ValueOf(s.Aliases))
			rules = reflect.Append(rules, r)
		}
		f.Set(rules)
	}
	im := ingest.New(nil, opts) // Parse and DryRun never touch the store

	names := make([]string, 0, len(exp.Pages))
	for n := range exp.Pages {
		names = append(names, n)
	}
	sort.Strings(names)
	counts := map[string]int{}
	for _, name := range names {
		want := exp.Pages[name]
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		a, perr, truncated := readRealPage(im, path, data)
		verdict, why := want.judge(a, perr, truncated)
		counts[verdict]++
		if strings.HasPrefix(verdict, "right") {
			t.Logf("%-8s %-36s %s", verdict, name, why)
		} else {
			t.Errorf("%-8s %-36s %s", verdict, name, why)
		}
	}
	t.Logf("%d real pages: %d imported right, %d imported wrong, %d refused (%d of them refused as an editor would: no date on the page)",
		len(names), counts["right"], counts["wrong"], counts["refused"]+counts["right-refused"], counts["right-refused"])
}

// realPage is what an editor reads on one real page.
type realPage struct {
	Outcome     string   `json:"outcome"` // import or refuse
	Reason      string   `json:"reason"`  // for refuse: a part of the error
	Headline    string   `json:"headline"`
	Deck        *string  `json:"deck"`
	Authors     []string `json:"authors"`
	Place       string   `json:"place"`
	Publication string   `json:"publication"`
	Updated     string   `json:"updated"` // 2006-01-02 15:04 in the newsroom zone
	Section     string   `json:"section"`
	Pages       []int    `json:"pages"`
	Total       int      `json:"total"`
	Photos      int      `json:"photos"`
	Paragraphs  *int     `json:"paragraphs"`
	First       string   `json:"first"` // the first paragraph starts so
	Last        string   `json:"last"`  // the last paragraph starts so
	Truncated   bool     `json:"truncated"`
}

// judge says "right", "wrong", "refused" or, for a refusal the editor
// expects, "right" counted as "right-refused" too.
func (w realPage) judge(a *article.Article, err error, truncated bool) (string, string) {
	if w.Outcome == "refuse" {
		if err != nil && strings.Contains(err.Error(), w.Reason) {
			return "right-refused", "refused as expected: " + err.Error()
		}
		if err != nil {
			return "refused", "refused for another reason: " + err.Error()
		}
		return "wrong", fmt.Sprintf("imported %q; want it refused (%s)", a.Headline, w.Reason)
	}
	if err != nil {
		return "refused", err.Error()
	}
	var bad []string
	check := func(field string, got, want any) {
		if !reflect.DeepEqual(got, want) {
			bad = append(bad, fmt.Sprintf("%s %#v, want %#v", field, got, want))
		}
	}
	check("headline", a.Headline, w.Headline)
	if w.Deck != nil {
		check("deck", a.Deck, *w.Deck)
	}
	names := a.AuthorNames()
	if len(names) == 0 {
		names = []string{}
	}
	check("authors", names, w.Authors)
	check("dateline", a.Dateline, w.Place)
	check("publication", a.Publication, w.Publication)
	check("updated", a.Updated.In(newsroomZone()).Format("2006-01-02 15:04"), w.Updated)
	check("section", a.Section, w.Section)
	var pages []int
	photos := 0
	if a.Photo != nil {
		photos++
	}
	for _, pg := range a.Body {
		pages = append(pages, pg.Number)
		photos += pagePhotos(pg)
	}
	check("pages", pages, w.Pages)
	check("total pages", a.TotalPages, w.Total)
	check("photos", photos, w.Photos)
	paras := a.Paragraphs()
	if w.Paragraphs != nil {
		check("paragraphs", len(paras), *w.Paragraphs)
	}
	if w.First != "" && (len(paras) == 0 || !strings.HasPrefix(paras[0], w.First)) {
		bad = append(bad, fmt.Sprintf("first paragraph %q, want it to start %q", at(paras, 0), w.First))
	}
	if w.Last != "" && (len(paras) == 0 || !strings.HasPrefix(paras[len(paras)-1], w.Last)) {
		bad = append(bad, fmt.Sprintf("last paragraph %q, want it to start %q", at(paras, len(paras)-1), w.Last))
	}
	check("flagged as cut short", truncated, w.Truncated)
	if len(bad) > 0 {
		return "wrong", strings.Join(bad, "; ")
	}
	return "right", ""
}

func at(s []string, i int) string {
	if i < 0 || i >= len(s) {
		return ""
	}
	return s[i]
}

// pagePhotos counts the photos a page keeps besides the lead photo (the
// field is newer than the test's first commit; 0 without it).
func pagePhotos(pg article.Page) int {
	if f := reflect.ValueOf(pg).FieldByName("Photos"); f.IsValid() {
		return f.Len()
	}
	return 0
}

// readRealPage reads one page as `syndicated import --dry-run` does, the
// default section applying; without a dry run (an older commit), as the
// API reads a file, with Importer.Parse.
func readRealPage(im *ingest.Importer, path string, data []byte) (*article.Article, error, bool) {
	m := reflect.ValueOf(im).MethodByName("DryRun")
	if !m.IsValid() {
		a, err := im.Parse(filepath.Base(path), "", data)
		return a, err, false
	}
	out := m.Call([]reflect.Value{reflect.ValueOf(context.Background()), reflect.ValueOf(path)})
	r := out[0].FieldByName("Articles").Index(0)
	var err error
	if e := r.FieldByName("Err"); !e.IsNil() {
		err = e.Interface().(error)
	}
	a, _ := r.FieldByName("Article").Interface().(*article.Article)
	return a, err, r.FieldByName("Truncated").Bool()
}

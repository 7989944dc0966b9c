package structured

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest/source"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMarkdownYAML(t *testing.T) {
	d, err := ParseMarkdown("full.md", read(t, "full.md"), newsroom)
	if err != nil {
		t.Fatal(err)
	}
	a := d.Article
	zone := newsroom
	want := article.Article{
		ID: "tea-house-reopens", Section: "society", Series: []string{"shanghai-70th"},
		Headline: "Old tea house reopens on the Bund", Deck: "A 1930s landmark serves its first customers in a decade",
		Authors:     []article.Author{{Name: "Lin Hui", Place: "Shanghai"}, {Name: "Qian Wen"}},
		Dateline:    "Shanghai",
		Publication: "China Daily",
		Published:   time.Date(2019, 5, 20, 8, 0, 0, 0, zone),
		Updated:     time.Date(2019, 5, 20, 10, 30, 0, 0, zone),
		EditorsNote: "This year marks the 70th anniversary of the liberation of Shanghai.",
		Photo: &article.Photo{URL: "https://static.example.com/photos/tea-house.jpg", Caption: "Customers wait outside the tea house on Monday.",
			Credit: "LIN HUI / CHINA DAILY", Type: "image/jpeg", Length: 48213},
		Body: []article.Page{
			{Number: 1, Paragraphs: []string{
				"The tea house, closed since 2009 for repairs, opened its carved doors at seven on Monday morning.",
				`"My grandfather brought me here," said Zhou Min, 68, who was first in line. See the menu (https://example.com/menu) & more.`,
			}},
			{Number: 2, Paragraphs: []string{"Upstairs", "Twelve tables on the upper floor", "A view of the river"}, Subheads: []int{0}},
		},
		TotalPages: 2, Language: "en", Tags: []string{"tea", "heritage"},
		CanonicalURL: "https://www.example.com/society/tea-house-reopens.html", Status: article.StatusPublished,
	}
	if !a.Published.Equal(want.Published) || !a.Updated.Equal(want.Updated) {
		t.Errorf("times = %v, %v; want %v, %v", a.Published, a.Updated, want.Published, want.Updated)
	}
	a.Published, a.Updated = want.Published, want.Updated
	if !reflect.DeepEqual(a, want) {
		t.Errorf("got  %+v\nwant %+v", a, want)
	}
}

func TestMarkdownTOML(t *testing.T) {
	d, err := ParseMarkdown("page.toml.md", read(t, "page.toml.md"), newsroom)
	if err != nil {
		t.Fatal(err)
	}
	a := d.Article
	if a.Headline != "Ferry timetable changes" || len(a.Authors) != 1 || a.Authors[0].Name != "Xu Rong" {
		t.Errorf("got %+v", a)
	}
	if want := time.Date(2019, 6, 1, 9, 0, 0, 0, newsroom); !a.Published.Equal(want) {
		t.Errorf("published = %v, want %v (a time without zone is read in Asia/Shanghai)", a.Published, want)
	}
	if got := a.Paragraphs(); len(got) != 1 || got[0] != "Ferries will run every 15 minutes at rush hour." {
		t.Errorf("body = %q", got)
	}
}

func TestJSON(t *testing.T) {
	d, err := ParseJSON("full.json", read(t, "full.json"), newsroom)
	if err != nil {
		t.Fatal(err)
	}
	a := d.Article
	if a.Status != article.StatusWithdrawn || a.ID != "canal-clean-up" || a.Dateline != "Suzhou" {
		t.Errorf("got %+v", a)
	}
	if len(a.Body) != 2 || a.Body[1].Number != 2 || len(a.Body[0].Paragraphs) != 2 || a.TotalPages != 2 {
		t.Errorf("body = %+v, total %d", a.Body, a.TotalPages)
	}
}

func TestJSONBodyShapes(t *testing.T) {
	base := `{"section":"society","headline":"H","published":"2019-01-01T00:00:00Z","body":%s}`
	tests := map[string][]article.Page{
		`["a","b"]`:  {{Number: 1, Paragraphs: []string{"a", "b"}}},
		`"a\n\nb"`:   {{Number: 1, Paragraphs: []string{"a", "b"}}},
		`[["a"],[]]`: {{Number: 1, Paragraphs: []string{"a"}}},
		`[{"number":1,"paragraphs":["a"]},{"number":3,"paragraphs":["c"]}]`: {{Number: 1, Paragraphs: []string{"a"}}, {Number: 3, Paragraphs: []string{"c"}}},
	}
	for body, want := range tests {
		d, err := ParseJSON("b.json", []byte(strings.Replace(base, "%s", body, 1)), newsroom)
		if err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if !reflect.DeepEqual(d.Article.Body, want) {
			t.Errorf("%s: body = %+v, want %+v", body, d.Article.Body, want)
		}
	}
}

func TestChineseMarkdown(t *testing.T) {
	md := "---\nsection: society\nheadline: 社区食堂开张\npublished: 2019-07-01 12:00\n---\n社区食堂今天开张，\n老人们排起了长队。\n"
	d, err := ParseMarkdown("zh.md", []byte("\ufeff"+strings.ReplaceAll(md, "\n", "\r\n")), newsroom)
	if err != nil {
		t.Fatal(err)
	}
	if d.Article.Language != "zh" {
		t.Errorf("language = %q, want zh", d.Article.Language)
	}
	if got := d.Article.Paragraphs(); len(got) != 1 || got[0] != "社区食堂今天开张，老人们排起了长队。" {
		t.Errorf("paragraphs = %q", got)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, text, file string
		json             bool
		line             int
		field, contains  string
	}{
		{file: "unknown.json", json: true, line: 5, field: "subtitle", contains: "unknown field"},
		{file: "unknown.md", line: 5, field: "writer", contains: "unknown field"},
		{file: "badtime.md", line: 4, field: "published", contains: "last tuesday"},
		{name: "nofm.md", text: "# Title\n\nBody\n", line: 1, contains: "no front matter"},
		{name: "open.md", text: "---\nsection: s\n", line: 1, contains: "never closed"},
		{name: "yamlsyntax.md", text: "---\nsection: s\nheadline: a: b\n---\n", line: 3, contains: "YAML"},
		{name: "tomlsyntax.md", text: "+++\nsection = \"s\"\nheadline = \n+++\n", line: 3, contains: "TOML"},
		{name: "syntax.json", text: "{\n\"section\": \"s\",\n\"headline\": ,\n}", json: true, line: 3, contains: "JSON"},
		{name: "type.json", text: "{\n\"section\": \"s\",\n\"tags\": {\"a\": 1}\n}", json: true, line: 3, field: "tags", contains: "want a string"},
		{name: "photo.json", text: "{\n\"photo\": {\n  \"caption\": \"c\"\n}\n}", json: true, line: 2, field: "photo.url", contains: "missing"},
		{name: "photourl.json", text: "{\n\"photo\": {\n  \"url\": \"/x.jpg\"\n}\n}", json: true, line: 3, field: "photo.url", contains: "absolute"},
		{name: "status.json", text: "{\"status\": \"draft\"}", json: true, line: 1, field: "status", contains: "draft"},
		{name: "dup.json", text: "{\"id\": \"a\",\n\"id\": \"b\"}", json: true, line: 2, contains: "twice"},
		{name: "order.json", text: "{\"published\": \"2019-02-01T00:00:00Z\",\n\"updated\": \"2019-01-01T00:00:00Z\"}", json: true, line: 2, field: "updated", contains: "before published"},
		{name: "id.json", text: "{\"id\": \"Not An Id\"}", json: true, line: 1, field: "id", contains: "lower-case"},
		{name: "body.md", text: "---\nbody: x\n---\n", line: 2, field: "body", contains: "unknown field"},
		{name: "array.json", text: "[1]", json: true, line: 1, contains: "want a JSON object"},
		{name: "ctl.json", text: "{\n\"headline\": \"a\u0001\"}", json: true, line: 2, contains: "control character"},
		{name: "trailing.json", text: "{}\n{}", json: true, line: 2, contains: "after the top-level value"},
		{name: "number.json", text: "{\n\"section\": \"society\",\n\"headline\": 123\n}", json: true, line: 3, field: "headline", contains: "want a string, not a number"},
		{name: "numtag.json", text: "{\"tags\": [\"a\",\n 7]}", json: true, line: 2, field: "tags", contains: "not a number"},
		{name: "numtime.json", text: "{\"published\": 1556107920}", json: true, line: 1, field: "published", contains: "not a number"},
		{name: "numid.json", text: "{\"id\": 42}", json: true, line: 1, field: "id", contains: "not a number"},
	}
	for _, tt := range tests {
		name, data := tt.name, []byte(tt.text)
		if tt.file != "" {
			name, data = tt.file, read(t, tt.file)
		}
		t.Run(name, func(t *testing.T) {
			var err error
			if tt.json {
				_, err = ParseJSON(name, data, newsroom)
			} else {
				_, err = ParseMarkdown(name, data, newsroom)
			}
			var se *source.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *source.Error", err)
			}
			if se.File != name || se.Line != tt.line || se.Field != tt.field || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("err = %q (line %d field %q), want line %d field %q containing %q", err, se.Line, se.Field, tt.line, tt.field, tt.contains)
			}
			if tt.field != "" {
				var fe *article.FieldError
				if !errors.As(err, &fe) || fe.Field != tt.field {
					t.Errorf("no *article.FieldError for %q in %v", tt.field, err)
				}
			}
		})
	}
}

func FuzzParseJSON(f *testing.F) {
	f.Add(read(f, "full.json"))
	f.Add([]byte(`{"section":"s","headline":"h","body":[["a"]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseJSON("f.json", data, newsroom)
		if err != nil {
			return
		}
		a := d.Article
		a.ID = "x"
		if a.Headline == "" || a.Section == "" {
			return // Validate rejects these with a field error, which the importer reports
		}
		if e := source.CheckArticle(&a); e != nil {
			t.Fatalf("CheckArticle: %v", e)
		}
		merged, _ := article.Merge(nil, &a, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
		if err := merged.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
	})
}

func FuzzParseMarkdown(f *testing.F) {
	f.Add(read(f, "full.md"))
	f.Add(read(f, "page.toml.md"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseMarkdown("f.md", data, newsroom)
		if err != nil {
			return
		}
		a := d.Article
		if e := source.CheckArticle(&a); e != nil {
			t.Fatalf("CheckArticle: %v", e)
		}
	})
}

// newsroom is the zone the tests pass, as configuration would.
var newsroom = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func TestMarkdownLinks(t *testing.T) {
	src := "---\nid: links\nsection: society\nheadline: Links\npublished: 2019-05-20T08:00:00+08:00\n---\n" +
		"Read [the report](https://example.com/report.pdf) or <https://example.com/a>.\n" +
		"Mail [the desk](mailto:desk@example.com), see [http://example.org/](http://example.org/).\n\n" +
		"A [trap](javascript:alert(1)) and [data](data:text/html;base64,PHNjcmlwdD4=) and [rel](/internal/page).\n\n" +
		"![a chart](https://example.com/chart.png) Chart above.\n"
	d, err := ParseMarkdown("links.md", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Read the report (https://example.com/report.pdf) or https://example.com/a. Mail the desk (mailto:desk@example.com), see http://example.org/.",
		"A trap and data and rel.",
		"Chart above.",
	}
	if got := d.Article.Body[0].Paragraphs; !reflect.DeepEqual(got, want) {
		t.Errorf("paragraphs:\n got %q\nwant %q", got, want)
	}
	var warnings []string
	for _, w := range d.Warnings {
		warnings = append(warnings, w.Error())
	}
	wantW := []string{
		`links.md:10: link "javascript:alert(1)" dropped (its text kept): only http(s) and mailto: links are kept`,
		`links.md:10: link "data:text/html;base64,PHNjcmlwdD4=" dropped (its text kept): only http(s) and mailto: links are kept`,
		`links.md:10: link "/internal/page" dropped (its text kept): only http(s) and mailto: links are kept`,
		`links.md:12: image "https://example.com/chart.png" left out: the body is text; give the article's photo in the photo field`,
	}
	if !reflect.DeepEqual(warnings, wantW) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, wantW)
	}
}

// aliasBomb is front matter whose anchors each repeat the one before,
// wide times, depth deep: wide^depth values from a few hundred bytes. It
// hangs under tags, a known field, so that only the expansion can refuse
// it before the fields are read.
func aliasBomb(wide, depth int) string {
	var b strings.Builder
	b.WriteString("---\nsection: society\nheadline: Bomb\ntags:\n")
	for d := 0; d < depth; d++ {
		fmt.Fprintf(&b, "  - &l%d [", d)
		for w := 0; w < wide; w++ {
			if w > 0 {
				b.WriteString(", ")
			}
			if d == 0 {
				b.WriteString("lol")
			} else {
				fmt.Fprintf(&b, "*l%d", d-1)
			}
		}
		b.WriteString("]\n")
	}
	b.WriteString("---\nBody.\n")
	return b.String()
}

// YAML aliases cannot make front matter expand without bound: the file is
// refused, naming file and line, before the values are built.
func TestYAMLAliasBomb(t *testing.T) {
	src := aliasBomb(9, 6) // 531,441 values from 300 bytes
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ParseMarkdown("bomb.md", []byte(src), newsroom)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	var se *source.Error
	if !errors.As(err, &se) || se.File != "bomb.md" || se.Line < 5 || se.Line > 10 ||
		!strings.Contains(err.Error(), "expands to more than 10000 values") {
		t.Fatalf("alias bomb: err = %v, want bomb.md:LINE: … expands to more than 10000 values", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Errorf("refusing the bomb allocated %d MB", grew>>20)
	}
	// Aliases within the bound are still read.
	ok := "---\nsection: society\nheadline: Aliases\nauthors: &who [Lin Hui]\ntags: *who\n---\nBody.\n"
	d, err := ParseMarkdown("ok.md", []byte(ok), newsroom)
	if err != nil || len(d.Article.Tags) != 1 || d.Article.Tags[0] != "Lin Hui" {
		t.Errorf("a small alias: %v %+v", err, d)
	}
}

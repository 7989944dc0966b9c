package textpage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest/source"
	"github.com/syndicated/syndicated/internal/testkit"
)

// seedPath finds the publisher's real page in ../shared/seeds relative to
// the repository root (it is copyrighted, so it is never copied here).
func seedPath(t *testing.T) string {
	t.Helper()
	return testkit.Shared(t, "seeds/society-2019-04-24-powerhouse-in-the-making.txt")
}

func shanghai(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, newsroom)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func parseFile(t *testing.T, path string) *Document {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse(filepath.Base(path), data, newsroom)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return d
}

func TestSeedPage(t *testing.T) {
	d := parseFile(t, seedPath(t))
	a := d.Article
	check := func(field string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", field, got, want)
		}
	}
	check("breadcrumb", d.Breadcrumb, []string{"China", "Society"})
	check("headline", a.Headline, "Powerhouse in the making")
	check("authors", a.Authors, []article.Author{{Name: "He Wei", Place: "Shanghai"}})
	check("dateline", a.Dateline, "Shanghai")
	check("publication", a.Publication, "China Daily")
	want := shanghai(t, "2019-04-24 20:12")
	if !a.Updated.Equal(want) {
		t.Errorf("updated = %v, want %v", a.Updated, want)
	}
	if _, off := a.Updated.Zone(); off != 8*3600 {
		t.Errorf("updated zone offset = %d, want +08:00", off)
	}
	check("published", a.Published.IsZero(), true)
	check("credit", d.Credit, "PROVIDED TO CHINA DAILY")
	if !strings.HasPrefix(d.Caption, "SenseTime, a Chinese tech unicorn") || strings.Contains(d.Caption, "PROVIDED") {
		t.Errorf("caption = %q", d.Caption)
	}
	// No URL on the page: the photo carries the caption and credit only.
	if a.Photo == nil || a.Photo.URL != "" || a.Photo.Caption != d.Caption || a.Photo.Credit != d.Credit {
		t.Errorf("photo (no URL on the page) = %+v, want the caption and credit without a URL", a.Photo)
	}
	check("deck", a.Deck, "Already known for finance and shipping, Shanghai carves a name for itself as a global tech hub")
	if !strings.HasPrefix(a.EditorsNote, "This year marks the 70th anniversary") {
		t.Errorf("editor's note = %q", a.EditorsNote)
	}
	check("total pages", a.TotalPages, 2)
	check("missing pages", a.MissingPages(), []int{2})
	check("pages", len(a.Body), 1)
	paras := a.Paragraphs()
	if len(paras) != 11 {
		t.Errorf("%d paragraphs, want 11", len(paras))
	}
	if len(paras) > 0 && !strings.HasPrefix(paras[0], "When Shanghai Vice-Mayor Wu Qing") {
		t.Errorf("first paragraph = %q", paras[0])
	}
	if len(paras) > 0 && !strings.HasPrefix(paras[len(paras)-1], "This science and tech ambition") {
		t.Errorf("last paragraph = %q", paras[len(paras)-1])
	}
	for _, p := range append(paras, a.Headline, a.Deck, a.EditorsNote) {
		for _, chrome := range []string{"Global Edition", "Share - WeChat", "Next", "Copyright", "License for publishing", "Registration Number", "Editor's note"} {
			if strings.Contains(p, chrome) {
				t.Errorf("chrome %q left in %q", chrome, p)
			}
		}
	}
	check("language", a.Language, "en")
	check("status", a.Status, article.StatusPublished)
	a.ID, a.Section = "seed", "society"
	merged, _ := article.Merge(nil, &a, time.Now())
	if err := merged.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if !merged.Published.Equal(want) {
		t.Errorf("Merge set published = %v, want the Updated time", merged.Published)
	}
}

func TestVariants(t *testing.T) {
	type want struct {
		crumb, headline, deck, note, caption, credit, publication, dateline, language string
		authors                                                                       []article.Author
		updated                                                                       string
		pages                                                                         []int
		total                                                                         int
		paragraphs                                                                    int
		firstPara                                                                     string
	}
	tests := []struct {
		file string
		want want
	}{
		{"caps-two-authors.txt", want{
			crumb: "China / Society", headline: "Night markets return to riverside districts",
			deck:    "Cities relax rules on street vending as residents seek cheap eats after dark",
			note:    "This is the first of three reports on how evening trade is changing city life.",
			caption: "Stallholders set up under the lights of a riverside street in Wuhan on Saturday.",
			credit:  "Photo by Wang Jing/for China Daily", publication: "China Daily", language: "en",
			authors: []article.Author{{Name: "Li Ming"}, {Name: "Zhou Yan"}},
			updated: "2019-06-03 07:45", pages: []int{1}, total: 1, paragraphs: 3,
			firstPara: "Food stalls, bookstands",
		}},
		{"two-places.txt", want{
			crumb: "China / Society", headline: "Volunteers map the city's oldest lanes",
			publication: "China Daily", dateline: "Beijing", language: "en",
			authors: []article.Author{{Name: "Zhang Lei", Place: "Beijing"}, {Name: "Chen Xiao", Place: "Shanghai"}},
			updated: "2019-05-12 16:05", pages: []int{1}, total: 1, paragraphs: 3,
			firstPara: "Retired teachers in two cities",
		}},
		{"xinhua.txt", want{
			crumb: "China / Society", headline: "Ferry service resumes after river dredging",
			caption: "A ferry leaves the pier on the first day of restored service.", credit: "Photo/Xinhua",
			publication: "Xinhua", dateline: "Nanjing", language: "en", // an agency's byline names no author
			updated: "2019-07-08 11:20", pages: []int{1}, total: 1, paragraphs: 2,
			firstPara: "NANJING -- Passenger ferries",
		}},
		{"editors-note-space.txt", want{
			crumb: "China / Society", headline: "Library opens its doors through the night",
			note:        "This year marks the 70th anniversary of the liberation of Shanghai. This series looks at the cities of the Yangtze River Delta.",
			publication: "China Daily", dateline: "Hangzhou", language: "en",
			authors: []article.Author{{Name: "Sun Qian", Place: "Hangzhou"}},
			updated: "2019-04-30 22:10", pages: []int{1}, total: 1, paragraphs: 2,
			firstPara: "A district library",
		}},
		{"no-deck-no-caption.txt", want{
			crumb: "China / Society", headline: "Bus routes redrawn around new metro line",
			publication: "China Daily", dateline: "Chengdu", language: "en",
			authors: []article.Author{{Name: "Wu Hao", Place: "Chengdu"}},
			updated: "2019-08-19 08:00", pages: []int{1}, total: 1, paragraphs: 2,
			firstPara: "Seventeen bus routes",
		}},
		{"crlf-bom.txt", want{
			crumb: "China / Society", headline: "Bus routes redrawn around new metro line",
			publication: "China Daily", dateline: "Chengdu", language: "en",
			authors: []article.Author{{Name: "Wu Hao", Place: "Chengdu"}},
			updated: "2019-08-19 08:00", pages: []int{1}, total: 1, paragraphs: 2,
			firstPara: "Seventeen bus routes",
		}},
		{"runtogether.txt", want{
			crumb: "China / Society", headline: "Rooftop gardens cool crowded blocks",
			deck:    "Residents turn bare concrete into green space",
			caption: "Residents tend vegetables on the roof of an apartment block in Yuzhong district.", credit: "MA LIN / CHINA DAILY",
			publication: "China Daily", dateline: "Chongqing", language: "en",
			authors: []article.Author{{Name: "Ma Lin", Place: "Chongqing"}},
			updated: "2019-07-22 14:30", pages: []int{1, 2}, total: 2, paragraphs: 4,
			firstPara: "Building managers",
		}},
		{"garden.txt", want{
			crumb: "China / Society", headline: "Community kitchens feed older residents",
			deck:        "A network of canteens serves hot lunches to residents over 70",
			publication: "China Daily", dateline: "Guangzhou", language: "en",
			authors: []article.Author{{Name: "Huang Yi", Place: "Guangzhou"}},
			updated: "2019-09-02 12:00", pages: []int{1}, total: 3, paragraphs: 1,
			firstPara: "Volunteers at a canteen",
		}},
		{"garden.p2.txt", want{
			crumb: "China / Society", headline: "Community kitchens feed older residents",
			publication: "China Daily", dateline: "Guangzhou", language: "en",
			authors: []article.Author{{Name: "Huang Yi", Place: "Guangzhou"}},
			updated: "2019-09-02 12:00", pages: []int{2}, total: 3, paragraphs: 1,
			firstPara: "Meals cost residents",
		}},
		{"garden.p3.txt", want{
			crumb: "China / Society", headline: "Community kitchens feed older residents",
			publication: "China Daily", dateline: "Guangzhou", language: "en",
			authors: []article.Author{{Name: "Huang Yi", Place: "Guangzhou"}},
			updated: "2019-09-02 12:00", pages: []int{3}, total: 3, paragraphs: 1,
			firstPara: "The district plans",
		}},
		{"share-lone.txt", want{
			crumb: "China / Society", headline: "Tea pickers trade baskets for drones",
			deck:    "Growers on the hills west of the city turn to machines as the pickers age",
			caption: "A pilot steers a spraying drone over terraced tea bushes near West Lake on Monday.", credit: "PHOTO BY QIN SHU/CHINA DAILY",
			publication: "China Daily", dateline: "Hangzhou", language: "en",
			authors: []article.Author{{Name: "Qin Shu", Place: "Hangzhou"}},
			updated: "2020-04-14 09:05", pages: []int{1}, total: 1, paragraphs: 5,
			firstPara: "Cooperatives in the hills",
		}},
		{"note-first.txt", want{
			crumb: "Culture / Heritage", headline: "Shadow puppeteers find a new stage online",
			deck:    "Livestreams bring a village troupe audiences it never had in theaters",
			note:    "This series visits craftspeople keeping folk arts alive.",
			caption: "A puppeteer rehearses a scene behind a lit screen in a studio in the city's old quarter.", credit: "Photo provided to CHINA DAILY",
			publication: "China Daily", dateline: "Xi'an", language: "en",
			authors: []article.Author{{Name: "Du Mei", Place: "Xi'an"}},
			updated: "2021-02-08 18:40", pages: []int{1}, total: 1, paragraphs: 2,
			firstPara: "The troupe of seven",
		}},
		{"three-line-byline.txt", want{
			crumb: "China / Society", headline: "Night buses extend service to new suburbs",
			deck:        "Twelve new routes link outlying estates with metro stations after midnight",
			publication: "China Daily", language: "en",
			authors: []article.Author{{Name: "Zhao Lin"}, {Name: "Qian Yu"}, {Name: "Feng Tao"}, {Name: "Hu Jie"}, {Name: "Mo Xin"}},
			updated: "2019-10-01 16:03", pages: []int{1}, total: 1, paragraphs: 2,
			firstPara: "Transport officials said",
		}},
		{"layout-2015.txt", want{
			crumb: "World / America", headline: "Students from two continents build a solar boat",
			publication: "China Daily USA", dateline: "Boston", language: "en",
			authors: []article.Author{{Name: "Wen Jia", Place: "Boston"}},
			updated: "2015-07-03 10:55", pages: []int{1}, total: 1, paragraphs: 3,
			firstPara: "Engineering students from Boston",
		}},
		{"indented.txt", want{
			crumb: "China / Society", headline: "Allotments return to factory land",
			deck:        "A former tractor plant hands its yards to gardeners",
			publication: "China Daily", dateline: "Shenyang", language: "en",
			authors: []article.Author{{Name: "Liang Shan", Place: "Shenyang"}},
			updated: "2018-05-21 07:30", pages: []int{1}, total: 1, paragraphs: 2,
			firstPara: "Two hundred plots",
		}},
		{"chinese.txt", want{
			crumb: "中国 / 社会", headline: "老城区加装电梯进展顺利",
			note:    "今年是上海解放70周年，本报推出系列报道。",
			caption: "居民在新装的电梯前合影。", credit: "图/新华社",
			publication: "中国日报", language: "zh", authors: []article.Author{{Name: "李明"}},
			updated: "2019-05-20 09:30", pages: []int{1}, total: 1, paragraphs: 3,
			firstPara: "今年以来",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d := parseFile(t, filepath.Join("testdata", tt.file))
			a, w := d.Article, tt.want
			got := want{
				crumb: strings.Join(d.Breadcrumb, " / "), headline: a.Headline, deck: a.Deck, note: a.EditorsNote,
				caption: d.Caption, credit: d.Credit, publication: a.Publication, dateline: a.Dateline,
				language: a.Language, authors: a.Authors, updated: a.Updated.In(newsroom).Format("2006-01-02 15:04"),
				pages: d.Pages, total: a.TotalPages, paragraphs: len(a.Paragraphs()),
			}
			if ps := a.Paragraphs(); len(ps) > 0 && strings.HasPrefix(ps[0], w.firstPara) {
				got.firstPara = w.firstPara
			} else if len(ps) > 0 {
				got.firstPara = ps[0]
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
			for _, p := range a.Paragraphs() {
				if strings.Contains(p, "Copyright") || strings.Contains(p, "Next >>") || strings.Contains(p, "Previous") ||
					strings.HasPrefix(p, "Share") || strings.Contains(p, "Global Edition") || strings.HasPrefix(p, "By ") ||
					strings.HasPrefix(p, "Updated") || strings.HasPrefix(p, "|") || strings.Contains(p, d.Credit) && d.Credit != "" {
					t.Errorf("chrome in body: %q", p)
				}
			}
			if a.Deck == "Share" || a.Deck == "Share - WeChat" {
				t.Errorf("deck = %q: chrome", a.Deck)
			}
			a.ID, a.Section = "x", "society"
			merged, _ := article.Merge(nil, &a, time.Now())
			if err := merged.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// TestSixPageArticle parses each page file of a six-page article: every
// page's structure is read the same way (captions and notes are never
// body), and the foot after the last pagination line is not a page.
func TestSixPageArticle(t *testing.T) {
	type page struct {
		pages        []int
		continuation bool
		captions     []Caption
		note         string
		paragraphs   []string
		subheads     []int
	}
	note := "This is the first of a series on winter festivals in the Yangtze River Delta."
	tests := map[string]page{
		"lantern.txt": {pages: []int{1}, note: note,
			captions:   []Caption{{1, "A craftsman bends bamboo strips into the frame of a carp lantern in his workshop on Tuesday.", "Photo by Ye Ling/for China Daily"}},
			paragraphs: []string{"The workshops on Pingjiang Lane have been busy since October.", "Each lantern takes a week to frame, paper and paint."}},
		"lantern.p2.txt": {pages: []int{2},
			captions:   []Caption{{2, "Apprentices paint fish scales onto paper lanterns in a workshop on Pingjiang Lane.", "PHOTO BY YE LING/CHINA DAILY"}},
			paragraphs: []string{"Shen Bo, 58, took over the family workshop from his father in 1989.", "Orders from schools", `"Schools ask for lanterns their pupils can finish themselves," he said.`},
			subheads:   []int{1}},
		"lantern.p3.txt": {pages: []int{3}, continuation: true,
			captions:   []Caption{{3, "A child carries a rabbit lantern across a stone bridge on Saturday night.", "Photos by Ye Ling for China Daily"}},
			paragraphs: []string{"His daughter now runs the workshop's online shop.", "Sales online doubled last year, she said."}},
		"lantern.p4.txt": {pages: []int{4}, note: note,
			paragraphs: []string{"The town expects more visitors than last year for the lantern fair.", "Hotels near the canal are nearly full for the festival weekend."}},
		"lantern.p5.txt": {pages: []int{5},
			captions:   []Caption{{5, "Visitors photograph a dragon lantern at the canal entrance.", "Photo provided to China Daily"}},
			paragraphs: []string{"Local officials have set a limit on crowds at the narrowest bridges."}},
		"lantern.p6.txt": {pages: []int{6},
			paragraphs: []string{"The fair opens on Feb 11 and runs for 15 nights."}},
	}
	for file, want := range tests {
		t.Run(file, func(t *testing.T) {
			d := parseFile(t, filepath.Join("testdata", "lantern", file))
			var subheads []int
			for _, pg := range d.Article.Body {
				subheads = append(subheads, pg.Subheads...)
			}
			got := page{pages: d.Pages, continuation: d.Continuation, captions: d.Captions, note: d.Article.EditorsNote,
				paragraphs: d.Article.Paragraphs(), subheads: subheads}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if d.Article.TotalPages != 6 {
				t.Errorf("total pages = %d, want 6", d.Article.TotalPages)
			}
			if !d.Continuation && d.Article.Headline != "Lantern makers light up an old canal town" {
				t.Errorf("headline = %q", d.Article.Headline)
			}
		})
	}
}

func TestContinuationAlone(t *testing.T) {
	d := parseFile(t, filepath.Join("testdata", "orphan.p2.txt"))
	if !d.Continuation || !reflect.DeepEqual(d.Pages, []int{2}) || d.Article.TotalPages != 3 || d.HeaderLine != 0 {
		t.Errorf("continuation %v pages %v of %d header line %d", d.Continuation, d.Pages, d.Article.TotalPages, d.HeaderLine)
	}
	if got := d.Article.Paragraphs(); !reflect.DeepEqual(got, []string{"The festival runs until the end of February, organizers said."}) {
		t.Errorf("paragraphs = %q (the repeated headline and the caption are not body)", got)
	}
	if d.Caption != "Workers hang the last of the lanterns along the canal on Friday evening." {
		t.Errorf("caption = %q", d.Caption)
	}
	for in, want := range map[string]string{"orphan.p2.txt": "orphan.txt", "dir/a.p3.txt": "dir/a.txt", `c:\x\b.p2.txt`: `c:\x\b.txt`} {
		if got := FirstPageName(in); got != want {
			t.Errorf("FirstPageName(%q) = %q, want %q", in, got, want)
		}
	}
	// The same text named as page 1 (or unnumbered) is no continuation:
	// it needs a byline.
	data, err := os.ReadFile(filepath.Join("testdata", "orphan.p2.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("orphan.txt", data, newsroom); err == nil || !strings.Contains(err.Error(), "no byline") {
		t.Errorf("Parse(orphan.txt) error = %v, want no byline", err)
	}
}

func TestJoinNotes(t *testing.T) {
	for _, tt := range [][3]string{{"", "A.", "A."}, {"A.", "", "A."}, {"A.", "A.", "A."}, {"A. B.", "B.", "A. B."}, {"A.", "C.", "A. C."}} {
		if got := JoinNotes(tt[0], tt[1]); got != tt[2] {
			t.Errorf("JoinNotes(%q, %q) = %q, want %q", tt[0], tt[1], got, tt[2])
		}
	}
}

func TestSubheads(t *testing.T) {
	page := "Home / China / Society\nA headline\nBy A B | China Daily | Updated: 2019-01-02 03:04\n" +
		"First paragraph ends like a sentence.\n" +
		"A changing river\n" + // a sub-head
		"Second paragraph.\n" +
		"- a list line is not a sub-head\n" +
		"Write to news@example.com\n" + // an address is not a sub-head
		"Third paragraph.\n" +
		"Last line without stop\n" // nothing follows it: not a sub-head
	d, err := Parse("sub.txt", []byte(page), newsroom)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Article.Body) != 1 {
		t.Fatalf("body = %+v", d.Article.Body)
	}
	pg := d.Article.Body[0]
	if !reflect.DeepEqual(pg.Subheads, []int{1}) || pg.Paragraphs[1] != "A changing river" || !pg.IsSubhead(1) || pg.IsSubhead(0) {
		t.Errorf("sub-heads %v in %q", pg.Subheads, pg.Paragraphs)
	}
}

func TestImageLineGivesPhoto(t *testing.T) {
	page := "Home / China / Society\n\nA headline\n\nBy A B | China Daily | Updated: 2019-01-02 03:04\n" +
		"Image: https://static.example.com/a.jpg\nA caption. XINHUA NEWS\n\nBody.\n"
	d, err := Parse("img.txt", []byte(page), newsroom)
	if err != nil {
		t.Fatal(err)
	}
	want := &article.Photo{URL: "https://static.example.com/a.jpg", Caption: "A caption.", Credit: "XINHUA NEWS"}
	if !reflect.DeepEqual(d.Article.Photo, want) {
		t.Errorf("photo = %+v, want %+v", d.Article.Photo, want)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		file, name, text string
		line             int
		field, contains  string
	}{
		{file: "no-updated.txt", line: 5, field: "byline", contains: "no 'Updated:' time in"},
		{name: "video.txt", text: "\nA video page\nShare - WeChat\nText of the video.\n", line: 2, field: "byline", contains: "no byline and no 'Updated:' time"},
		{name: "nohead.txt", text: "Home / China / Society\n\nBy X | China Daily | Updated: 2019-01-01 10:00\n", line: 3, field: "headline", contains: "missing"},
		{name: "badtime.txt", text: "Home / China / Society\nH\nBy X | China Daily | Updated: 2019-13-01 10:00\n", line: 3, field: "byline", contains: "bad 'Updated:' time"},
		{name: "nobyline.txt", text: "Home / China / Society\nH\n\nBody one.\nBody two.\nBody three.\nBody four.\n", line: 1, field: "byline", contains: "no byline"},
		{name: "mid.txt", text: "Home / China / Society\nH\nBy X | C | Updated: 2019-01-01 10:00\nBody.\n|<< Previous 1 2 3 Next >>|\n", line: 5, field: "pagination", contains: "STEM.pN.txt"},
		{name: "a.p3.txt", text: "Home / China / Society\nH\nBy X | C | Updated: 2019-01-01 10:00\nBody.\n1 2 Next >>|\n", line: 5, field: "pagination", contains: "file name says page 3"},
		{name: "three.txt", text: "Home / China / Society\nH\nBy A, B and C |\nchinadaily.com.cn |\nUpdated: 2019-10-41 16:03\nBody.\n", line: 3, field: "byline", contains: "bad 'Updated:' time \"2019-10-41 16:03\""},
		{name: "y2015.txt", text: "Home / World\nH\nUpdated: 2015-07-03 10:55\nBy X in Y(China Daily USA)\n|\nBody.\n|<< Previous 1 2 3\nmore\n1 2 3 Next >>|\n", line: 9, field: "pagination", contains: "page 1 follows page 3"},
		{name: "c.p2.txt", text: "Home / China / Society\nH\nBody.\n1 2 3 Next >>|\n", line: 4, field: "pagination", contains: "file name says page 2 but the pagination says page 1"},
		{name: "ctl.txt", text: "Home / China / Society\nH\x01\n", line: 2, contains: "control character"},
		{name: "utf.txt", text: "Home / China / Society\n\xff\n", line: 2, contains: "UTF-8"},
	}
	for _, tt := range tests {
		name, data := tt.name, []byte(tt.text)
		if tt.file != "" {
			name = tt.file
			var err error
			if data, err = os.ReadFile(filepath.Join("testdata", tt.file)); err != nil {
				t.Fatal(err)
			}
		}
		t.Run(name, func(t *testing.T) {
			_, err := Parse(name, data, newsroom)
			var se *source.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *source.Error", err)
			}
			if se.File != name || se.Line != tt.line || se.Field != tt.field || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("err = %q (file %q line %d field %q), want %s:%d field %q containing %q",
					err, se.File, se.Line, se.Field, name, tt.line, tt.field, tt.contains)
			}
			if !errors.Is(err, article.ErrInvalid) {
				t.Errorf("errors.Is(err, article.ErrInvalid) = false")
			}
			want := name + ":"
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err %q does not start with %q", err, want)
			}
		})
	}
}

func TestPageOfName(t *testing.T) {
	for in, want := range map[string]struct {
		stem string
		page int
	}{
		"a.txt": {"a", 0}, "dir/a.p2.txt": {"a", 2}, "a.p1.txt": {"a", 1}, "a.px.txt": {"a.px", 0}, "a.p0.txt": {"a.p0", 0},
	} {
		stem, page := PageOfName(in)
		if stem != want.stem || page != want.page {
			t.Errorf("PageOfName(%q) = %q, %d; want %q, %d", in, stem, page, want.stem, want.page)
		}
	}
}

func FuzzParse(f *testing.F) {
	if p, err := seedFile(); err == nil {
		f.Add(p)
	}
	// Every fixture, those of the six-page article in testdata/lantern too.
	err := filepath.WalkDir("testdata", func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".txt") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			f.Add(b)
		}
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		// As a later page file, the text may be a continuation without
		// header; errors still name the file.
		if d, err := Parse("fuzz.p2.txt", data, newsroom); err != nil {
			var se *source.Error
			if !errors.As(err, &se) || se.File != "fuzz.p2.txt" {
				t.Fatalf("error without file: %v", err)
			}
		} else if len(d.Pages) > 0 && d.Pages[0] != 2 {
			t.Fatalf("fuzz.p2.txt holds pages %v", d.Pages)
		}
		d, err := Parse("fuzz.txt", data, newsroom)
		if err != nil {
			var se *source.Error
			if !errors.As(err, &se) || se.File != "fuzz.txt" {
				t.Fatalf("error without file: %v", err)
			}
			return
		}
		a := d.Article
		a.ID, a.Section = "fuzz", "fuzz" // the importer resolves the section
		if e := source.CheckArticle(&a); e != nil {
			t.Fatalf("parsed text fails CheckArticle: %v", e)
		}
		merged, _ := article.Merge(nil, &a, now)
		if err := merged.Validate(); err != nil {
			t.Fatalf("parsed article fails Validate: %v\n%+v", err, a)
		}
		for i, p := range a.Body {
			if len(p.Paragraphs) == 0 && len(p.Photos) == 0 && p.Number != d.LeadPage {
				t.Fatalf("empty page %d", p.Number)
			}
			if i > 0 && p.Number <= a.Body[i-1].Number {
				t.Fatalf("pages out of order: %d after %d", p.Number, a.Body[i-1].Number)
			}
			for i, s := range p.Subheads {
				if s < 0 || s >= len(p.Paragraphs) || i > 0 && s <= p.Subheads[i-1] {
					t.Fatalf("page %d: sub-heads %v out of order or range (%d paragraphs)", p.Number, p.Subheads, len(p.Paragraphs))
				}
			}
			for i, ph := range p.Photos {
				if ph.At < 0 || ph.At > len(p.Paragraphs) || i > 0 && ph.At < p.Photos[i-1].At || ph.Caption == "" && ph.Credit == "" {
					t.Fatalf("page %d: photo %d at %d of %d paragraphs: %+v", p.Number, i, ph.At, len(p.Paragraphs), p.Photos)
				}
			}
			if len(p.Blocks()) != len(p.Paragraphs)+len(p.Photos) {
				t.Fatalf("page %d: %d blocks for %d paragraphs and %d photos", p.Number, len(p.Blocks()), len(p.Paragraphs), len(p.Photos))
			}
		}
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		for _, dr := range d.Dropped {
			if dr.Line < 1 || dr.Line > lines || dr.Why == "" || strings.TrimSpace(dr.Text) == "" {
				t.Fatalf("dropped line %+v (the file has %d lines)", dr, lines)
			}
		}
		if d.TruncatedLine < 0 || d.TruncatedLine > lines {
			t.Fatalf("truncated at line %d of %d", d.TruncatedLine, lines)
		}
		// The merge of pages keeps them valid too.
		b := a
		b.Body = append([]article.Page(nil), a.Body...)
		Settle(&b)
		for _, p := range b.Body {
			for _, s := range p.Subheads {
				if s < 0 || s >= len(p.Paragraphs) {
					t.Fatalf("after Settle, page %d: sub-heads %v of %d paragraphs", p.Number, p.Subheads, len(p.Paragraphs))
				}
			}
		}
	})
}

func seedFile() ([]byte, error) {
	_, file, _, _ := runtime.Caller(0)
	return os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "seeds", "society-2019-04-24-powerhouse-in-the-making.txt"))
}

// newsroom is the zone the tests pass, as configuration would.
var newsroom = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// TestLayouts reads the fixtures imitating every layout the publisher's
// pages came in from 2007 to today, and the copies other tools make of
// them (testdata/layouts, original text): each is read as an editor reads
// it, and every line left out is listed with its reason.
func TestLayouts(t *testing.T) {
	type want struct {
		crumb, label, headline, deck, dateline, publication, updated string
		authors                                                      []article.Author
		pages                                                        []int
		total                                                        int
		captions                                                     []string // caption, credit, …
		paragraphs                                                   int
		first, last                                                  string
		truncated                                                    int
		dropped                                                      []string // each a part of a dropped line
	}
	tests := map[string]want{
		"no-crumb.txt": {headline: "Orchard town bets on late-ripening pears", dateline: "Taoxi", publication: "China Daily",
			updated: "2022-09-14 16:40", authors: []article.Author{{Name: "Ren Haoyu", Place: "Taoxi"}}, pages: []int{1}, total: 2,
			captions:   []string{"Growers sort pears by size in a packing shed in Taoxi on Tuesday.", "Photo by Guo Lanting/For China Daily"},
			paragraphs: 2, first: "Growers in the hills", last: "The late harvest", dropped: []string{"Share - WeChat", "Copyright 1995", "Registration Number"}},
		"crumb-slashes.txt": {crumb: "Culture / News and Feature", headline: "Paper-cut artists fill a village hall", publication: "China Daily",
			updated: "2021-03-02 09:15", authors: []article.Author{{Name: "Guo Lanting"}}, pages: []int{1}, total: 1, paragraphs: 2, first: "Forty paper-cut", last: "Most of the pieces"},
		"crumb-backslash.txt": {crumb: "Opinion / From the Readers", headline: "Night buses deserve a second look", publication: "China Daily",
			updated: "2018-07-11 08:05", pages: []int{1}, total: 1, paragraphs: 3, first: "Comment on", last: "Meng Xiaodan, a reader in Lanxi",
			dropped: []string{"Readers' comments are welcome", "(China Daily 07/11/2018 page8)", "Spring in the hills", "A look at the orchards"}},
		"crumb-angle.txt": {crumb: "Services / Updates", headline: "Library card now opens the city's bicycle racks", publication: "China Daily",
			updated: "2023-05-30 14:20", pages: []int{1}, total: 1, paragraphs: 2, first: "Holders of a city library card", last: "The first half hour"},
		"crumb-pipe.txt": {crumb: "Society", headline: "Ferry crews train for the flood season", dateline: "Heshan, Guangxi", publication: "China Daily Global",
			updated: "2020-06-08 10:30", authors: []article.Author{{Name: "Pan Yuehan", Place: "Heshan, Guangxi"}}, pages: []int{1}, total: 1,
			captions:   []string{"Crew members practise a rescue drill on the river at Heshan on Friday.", "Photo provided to China Daily"},
			paragraphs: 3, first: "Ready for the rains", last: "The county has added", dropped: []string{"stories from our towns"}},
		"crumb-no-home.txt": {crumb: "CHINA / National", headline: "Premier visits a rebuilt school library", publication: "Xinhua", updated: "2010-05-06 11:42",
			pages: []int{1}, total: 1, captions: []string{"Pupils read in the rebuilt library of a primary school in Meiling, May 5, 2010.", "Xinhua"},
			dropped: []string{"Premier visits a rebuilt school library"}},
		"updated-agency-2014.txt": {headline: "Lantern show opens on the lake shore", publication: "Xinhua", updated: "2014-02-15 11:19", pages: []int{1}, total: 1,
			captions: []string{"Visitors walk under lanterns on the lake shore in Meiling on Friday evening.", "Photo/Xinhua"},
			dropped:  []string{"Comments", "Lantern show opens on the lake shore", "Related Stories", "Most Popular", "..."}},
		"updated-site-2016.txt": {headline: "Dragon boats race on a quiet river", publication: "China Daily", updated: "2016-06-04 08:21", pages: []int{1}, total: 1,
			paragraphs: 2, first: "Twelve crews raced", last: "The winning crew", dropped: []string{"Make me your Homepage", "left corner", "China Daily Website", "Hot Topics", "A teaser for another story"}},
		"updated-month.txt": {crumb: "China / Society", headline: "Reading rooms stay open until midnight", publication: "China Daily", updated: "2019-08-28 00:00",
			authors: []article.Author{{Name: "Deng Hua"}}, pages: []int{1}, total: 1, paragraphs: 2, first: "Twelve reading rooms", last: "Students asked"},
		"bare-updated.p3.txt": {headline: "Morning papers: June 3", updated: "2012-06-03 21:15", pages: []int{3}, total: 3, paragraphs: 1,
			first: "The Meiling Evening Post", last: "The Meiling Evening Post", dropped: []string{"Morning papers: June 3", "Hot Topics", "A teaser for another story"}},
		"date-line-by-site.txt": {crumb: "China", headline: "Snow closes the mountain road to Fengcun", publication: "China Daily", updated: "2016-02-22 16:35",
			pages: []int{1}, total: 1, paragraphs: 2, first: "Heavy snow closed", last: "The county sent two ploughs"},
		"houston-usa.txt": {crumb: "World / America", headline: "Students build a kite that flies in the rain", dateline: "Houston", publication: "China Daily USA",
			updated: "2015-05-19 07:40", authors: []article.Author{{Name: "Lin Qiao", Place: "Houston"}, {Name: "Rosa Mendez", Place: "Houston"}},
			pages: []int{1}, total: 1, paragraphs: 2, first: "High school students", last: "The two schools"},
		"under-updated-2013.txt": {headline: "Orchards reopen to visitors after the frost", dateline: "Taoxi", publication: "China Daily", updated: "2013-04-09 00:52",
			authors: []article.Author{{Name: "Guo Lanting", Place: "Taoxi"}}, pages: []int{1}, total: 1,
			captions:   []string{"Visitors photograph the pear blossom in an orchard in Taoxi on Monday.", "Guo Lanting / China Daily"},
			paragraphs: 2, first: "Orchards in Taoxi opened", last: "Growers had lit fires", dropped: []string{"Comments() Print Mail Large Medium Small 分享按钮 0", "Orchards reopen to visitors after the frost"}},
		"publication-only.txt": {crumb: "China / Society", headline: "River clean-up draws a thousand volunteers", publication: "China Daily Global", updated: "2021-11-20 18:02",
			pages: []int{1}, total: 1, paragraphs: 1, first: "A thousand volunteers", last: "A thousand volunteers"},
		"comma-place.txt": {crumb: "China / Society", headline: "A valley school gets its first library", dateline: "Fugou, Yunnan", publication: "China Daily",
			updated: "2022-04-10 07:34", authors: []article.Author{{Name: "Lin Qiao", Place: "Fugou, Yunnan"}, {Name: "Deng Hua"}},
			pages: []int{1}, total: 1, paragraphs: 2, first: "Pupils in the valley school", last: "The county gave 2,000 books"},
		"side-columns.txt": {crumb: "China / Society", headline: "Market hall gets a new roof before the rains", dateline: "Lanxi", publication: "China Daily",
			updated: "2022-05-16 09:10", authors: []article.Author{{Name: "Meng Xiaodan", Place: "Lanxi"}}, pages: []int{1}, total: 1, paragraphs: 2,
			first: "Builders finished the new roof", last: "The stallholders moved back",
			dropped: []string{"Today's Top News", "- A story in the side column", "- A third story", "Editor's picks", "Market hall gets a new roof before the rains",
				"Most Viewed", "Most Popular", "You are welcome to submit your story", "Comments() Print Mail"}},
		"old-pagination.txt": {crumb: "China / Society", headline: "A century of the town's tea houses", publication: "China Daily", updated: "2017-10-02 10:00",
			authors: []article.Author{{Name: "Pan Yuehan"}}, pages: []int{1}, total: 3, paragraphs: 1, first: "The oldest tea house", last: "The oldest tea house"},
		"numbers-pagination.txt": {crumb: "Latest", headline: "Village clinic adds a dentist's chair", publication: "China Daily", updated: "2020-11-03 00:00",
			pages: []int{1}, total: 4, paragraphs: 1, first: "The clinic in Fengcun", last: "The clinic in Fengcun"},
		"mirror-line.txt": {headline: "Hill farmers switch to mushrooms", dateline: "Taoxi", publication: "China Daily", updated: "2023-09-05 08:15",
			authors: []article.Author{{Name: "Ren Haoyu", Place: "Taoxi"}}, pages: []int{1}, total: 1, paragraphs: 2, first: "Farmers on the upper slopes", last: "The cooperative sells",
			dropped: []string{`<div class="ad"></div>`, "latest-news-mirror.example"}},
		"cut-short.txt": {headline: "Bridge repairs finish a month early", dateline: "Lanxi", publication: "China Daily", updated: "2024-01-18 07:20",
			authors: []article.Author{{Name: "Deng Hua", Place: "Lanxi"}}, pages: []int{1}, total: 1, paragraphs: 2, first: "The old stone bridge", last: "Engineers replaced the worn steps",
			truncated: 7},
		"share-counter.txt": {headline: "Lanterns for the autumn festival", publication: "China Daily USA", updated: "2014-09-07 20:30", pages: []int{1}, total: 1,
			captions: []string{"Children carry paper lanterns along the river in Heshan on Saturday night.", "MENG XIAODAN / China Daily"},
			dropped:  []string{"Print Mail Large Medium", "8.03K", "...", "• Another story in the old side column", "A teaser that belongs to that other story."}},
		"label-above.txt": {label: "From the Readers", headline: "Keep the old ferry running", publication: "China Daily", updated: "2011-03-04 07:50",
			pages: []int{1}, total: 1, paragraphs: 2, first: "The ferry is slower", last: "Zhou Ping, on China Daily website", dropped: []string{"Twitter Facebook", "Photo"}},
		"regional-minisite.p7.txt": {crumb: "News", headline: "Lanxi county opens its river museum", publication: "China Daily", updated: "2015-03-10 00:00",
			pages: []int{7}, total: 7, captions: []string{"Visitors look at old fishing boats in the new river museum of Lanxi.", "Photo by Meng Xiaodan/China Daily"},
			dropped: []string{"Copyright © 2013 - China Daily", "All Rights Reserved", "Sponsored by Lanxi County Government", "Powered by China Daily"}},
		"inline-updated.txt": {crumb: "China / Society", headline: "Students map the county's old wells", dateline: "Lanxi", publication: "China Daily",
			updated: "2014-10-02 08:05", authors: []article.Author{{Name: "Ren Haoyu", Place: "Lanxi"}, {Name: "Deng Hua", Place: "Lanxi"}},
			pages: []int{1}, total: 1, paragraphs: 2, first: "Students from two middle schools", last: "Many of the wells"},
		"table-captions.txt": {headline: "Lantern makers show their work", publication: "China Daily", updated: "2013-11-09 00:00", pages: []int{1}, total: 1,
			captions:   []string{"A craftsman paints a carp lantern in Heshan on Friday.", "Photo by Guo Lanting", "Children try on lantern masks at the show in Heshan on Friday.", "Photo by Guo Lanting"},
			paragraphs: 1, first: "The last lantern of the show", last: "The last lantern of the show", truncated: 11, dropped: []string{"![]() |", "|||||||||"}},
		"old-runtogether.txt": {headline: "Kite makers of the river town", publication: "China Daily", updated: "2014-04-02 10:20", pages: []int{1, 2}, total: 2,
			captions: []string{"Old Ma has made kites in Heshan for forty years.", "Photo by Deng Hua/China Daily", "His grandson sells the kites online.", "Photo by Deng Hua/China Daily"},
			dropped:  []string{"Highlights", "Hot Topics", "A teaser for another story", "Make me your Homepage", "..."}},
		"updated-words-print.txt": {label: "Specials", headline: "Tea terraces of the eastern hills", publication: "Culture.example", updated: "2021-06-03 00:00",
			pages: []int{1}, total: 1, paragraphs: 2, first: "The eastern hills", last: "Visitors can walk",
			dropped: []string{"regional.example.com", "Share - WeChat", "Copyright©2024", "京ICP备", "公网安备"}},
		"repeated-deck.txt": {crumb: "China / Society", headline: "A quiet street becomes a night market", publication: "China Daily", updated: "2022-08-12 21:00",
			authors: []article.Author{{Name: "Deng Hua"}}, pages: []int{1, 2}, total: 2, paragraphs: 4, first: "On Friday nights", last: "The market closes at midnight",
			dropped: []string{"Home / China / Society", "By Deng Hua | China Daily | Updated: 2022-08-12 21:00"}},
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "layouts", "*.txt"))
	if len(files) != len(tests) {
		t.Errorf("%d fixtures in testdata/layouts, %d in the test", len(files), len(tests))
	}
	for file, w := range tests {
		t.Run(file, func(t *testing.T) {
			d := parseFile(t, filepath.Join("testdata", "layouts", file))
			a := d.Article
			var caps []string
			for _, c := range d.Captions {
				caps = append(caps, c.Caption, c.Credit)
			}
			got := want{crumb: strings.Join(d.Breadcrumb, " / "), label: d.Label, headline: a.Headline, deck: a.Deck, dateline: a.Dateline,
				publication: a.Publication, updated: a.Updated.In(newsroom).Format("2006-01-02 15:04"), authors: a.Authors, pages: d.Pages,
				total: a.TotalPages, captions: caps, paragraphs: len(a.Paragraphs()), truncated: d.TruncatedLine, dropped: w.dropped}
			if ps := a.Paragraphs(); len(ps) > 0 {
				got.first, got.last = prefix(ps[0], w.first), prefix(ps[len(ps)-1], w.last)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
			for _, part := range w.dropped {
				found := false
				for _, dr := range d.Dropped {
					found = found || strings.Contains(dr.Text, part) && dr.Why != "" && dr.Line > 0
				}
				if !found {
					t.Errorf("%q is not among the dropped lines %+v", part, d.Dropped)
				}
			}
			for _, p := range append(a.Paragraphs(), a.Deck) {
				for _, dr := range d.Dropped {
					if p == dr.Text {
						t.Errorf("dropped line %q is in the article too", p)
					}
				}
			}
			// Every photo of the file is kept: the lead photo, then each
			// page's in order.
			n := 0
			if a.Photo != nil {
				n++
			}
			for _, pg := range a.Body {
				n += len(pg.Photos)
			}
			if n != len(d.Captions) {
				t.Errorf("%d photos kept of %d captions", n, len(d.Captions))
			}
		})
	}
}

// prefix returns want when s starts with it, else s.
func prefix(s, want string) string {
	if want != "" && strings.HasPrefix(s, want) {
		return want
	}
	return s
}

package feeds

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/syndicated/syndicated/article"
)

// TestContentCarriesCaptionDatelineAndMissingPages: what the page prints
// around the body reaches readers in every format: the photo caption with
// its credit (a figure with a photo, a caption paragraph without one), the
// dateline before the first paragraph (once, also for agency copy that
// opens with it), and a note on missing pages that links only a page that
// exists; sub-heads are <h3>.
func TestContentCarriesCaptionDatelineAndMissingPages(t *testing.T) {
	t0 := time.Date(2019, 5, 20, 12, 30, 0, 0, shanghai)
	base := func(id string) *article.Article {
		return &article.Article{ID: id, GUID: "tag:syndicated.example,2019:" + id, Section: "society",
			Headline: "Headline " + id, Published: t0, Updated: t0, Status: article.StatusPublished}
	}
	staff := base("staff")
	staff.Dateline, staff.TotalPages, staff.CanonicalURL = "Shanghai", 2, "https://news.example/a/staff.html"
	staff.Photo = &article.Photo{URL: "https://img.news.example/canteen.jpg", Caption: "Volunteers serve lunch & tea.", Credit: "PAN RUI / FOR CHINA DAILY"}
	staff.Body = []article.Page{{Number: 1, Paragraphs: []string{"At a quarter to eleven, the queue is out of the door.",
		"Lunch for ten yuan & a chat", "Second."}, Subheads: []int{1}}}

	agency := base("agency")
	agency.Dateline, agency.TotalPages = "Nanjing", 3
	agency.Photo = &article.Photo{Caption: "Ferries wait at the pier.", Credit: "XINHUA"} // the page gave no photo URL
	agency.Body = []article.Page{{Number: 1, Paragraphs: []string{"NANJING -- Passenger ferries resumed on Monday."}},
		{Number: 3, Paragraphs: []string{"The last page."}}}

	undated := base("undated")
	undated.TotalPages, undated.Dateline = 3, "Suzhou"
	undated.Body = []article.Page{{Number: 1, Paragraphs: []string{"A sub-head first", "Only the first page came in."}, Subheads: []int{0}}}

	want := map[string][]string{
		"staff": {
			`<figure><img src="https://img.news.example/canteen.jpg" alt="Volunteers serve lunch &amp; tea."><figcaption>Volunteers serve lunch &amp; tea. <small class="credit">PAN RUI / FOR CHINA DAILY</small></figcaption></figure>`,
			"<p><span class=\"dateline\">SHANGHAI \u2014</span> At a quarter to eleven, the queue is out of the door.</p>\n<h3>Lunch for ten yuan &amp; a chat</h3>\n<p>Second.</p>",
			`<p class="continued">Page 2 of 2 not included here: <a href="https://news.example/a/staff.html">read the whole article at the publisher&#39;s site</a>.</p>`,
		},
		"agency": {
			`<p class="caption">Ferries wait at the pier. <small class="credit">XINHUA</small></p>`,
			"<p>NANJING -- Passenger ferries resumed on Monday.</p>",
			`<p class="continued">Page 2 of 3 has not been imported yet.</p>`,
		},
		"undated": {
			"<h3>A sub-head first</h3>\n<p><span class=\"dateline\">SUZHOU \u2014</span> Only the first page came in.</p>",
			`<p class="continued">Pages 2 and 3 of 3 have not been imported yet.</p>`,
		},
	}
	spec := testSpecs("")[0]
	for _, f := range Formats {
		body, err := Render(spec, []*article.Article{staff, agency, undated}, f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, it := range feed.Items {
			id := strings.TrimPrefix(it.GUID, "tag:syndicated.example,2019:")
			for _, w := range want[id] {
				if !strings.Contains(it.Content, w) {
					t.Errorf("%s %s: content lacks\n%s\nin\n%s", f, id, w, it.Content)
				}
			}
			if id == "undated" && it.Description != "Only the first page came in." {
				t.Errorf("%s: summary %q is not the first paragraph after the sub-head", f, it.Description)
			}
			if strings.Count(it.Content, "NANJING") > 1 || strings.Count(it.Content, "SHANGHAI") > 1 {
				t.Errorf("%s %s: dateline printed twice:\n%s", f, id, it.Content)
			}
			if id != "staff" && (strings.Contains(it.Content, "<a ") || strings.Contains(it.Content, "/articles/")) {
				t.Errorf("%s %s: links a page that does not exist:\n%s", f, id, it.Content)
			}
			if id == "agency" && (len(it.Enclosures) > 0 || it.Image != nil) {
				t.Errorf("%s: a caption without a photo URL became an enclosure or image", f)
			}
		}
	}
}

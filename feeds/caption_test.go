package feeds

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// captionOnlyPage is an original text page whose lead photo caption and
// credit are printed with no image URL.
const captionOnlyPage = `Home / China / Society

Ferries return to the river

By Lin Qiao | China Daily | Updated: 2019-04-20 10:00

Morning passengers board the first ferry of the season at the old pier. [Photo by Zhou Ping/For China Daily]

The river ferries resumed their spring timetable on Saturday, after a winter of repairs.

Passengers said the crossing was quicker than the bridge at rush hour.
`

// TestCaptionWithoutPhotoURL: a text page's caption and credit with no
// image URL go through the importer into the store and come out in all
// three feeds as a caption paragraph, with no enclosure or attachment.
func TestCaptionWithoutPhotoURL(t *testing.T) {
	st := storagetest.SQLite(t)
	ctx := context.Background()
	im := ingest.New(st, ingest.Options{Zone: shanghai})
	res, err := im.ImportBytes(ctx, "ferries-return.txt", "text", []byte(captionOnlyPage))
	if err != nil {
		t.Fatal(err)
	}
	ph := res.Article.Photo
	if ph == nil || ph.URL != "" || !strings.HasPrefix(ph.Caption, "Morning passengers board") || !strings.Contains(ph.Credit, "Zhou Ping") {
		t.Fatalf("stored photo = %+v, want the caption and credit without a URL", ph)
	}
	set := newTestSet(t, st, testSpecs(""), func() time.Time { return time.Date(2019, 4, 21, 0, 0, 0, 0, shanghai) })
	for _, f := range Formats {
		body, _, err := set.Get(ctx, "/feeds/society."+f.Ext())
		if err != nil {
			t.Fatal(err)
		}
		feed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(feed.Items) != 1 {
			t.Fatalf("%s: %d items, want 1", f, len(feed.Items))
		}
		it := feed.Items[0]
		content := it.Content
		if content == "" {
			content = it.Description
		}
		if !strings.Contains(content, `<p class="caption">Morning passengers board`) || !strings.Contains(content, "Zhou Ping") {
			t.Errorf("%s: content lacks the caption paragraph with its credit: %.300s", f, content)
		}
		if len(it.Enclosures) != 0 || it.Image != nil || bytes.Contains(body, []byte("media:content")) {
			t.Errorf("%s: a photo with no URL became an enclosure or image: %+v %+v", f, it.Enclosures, it.Image)
		}
	}
}

package feeds

import (
	"fmt"
	"time"

	"github.com/syndicated/syndicated/article"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

const testBase = "https://news.example"

func testSpecs(hub string) []Spec {
	return []Spec{
		{Slug: "society", Kind: KindSection, Title: "Society", Description: "News from the Society section.",
			BaseURL: testBase, Language: "en", HubURL: hub},
		{Slug: "shanghai-70th", Kind: KindSeries, Title: "Shanghai 70th anniversary series",
			Description: "Stories of the 70th anniversary of the liberation of Shanghai.",
			BaseURL:     testBase, Language: "en", HubURL: hub},
	}
}

// seedArticles are original test articles covering every shape a feed item
// can take: photo with and without size and type, several authors, agency
// byline, Chinese text, markup-like characters, a missing page, no deck.
func seedArticles() []*article.Article {
	t0 := time.Date(2019, 4, 24, 20, 12, 0, 0, shanghai)
	return []*article.Article{
		{
			ID: "powerhouse-in-the-making", GUID: "tag:syndicated.example,2019:powerhouse-in-the-making",
			Section: "society", Series: []string{"shanghai-70th"},
			Headline: "Powerhouse in the making", Deck: "A district on the river plans for the next decade & beyond.",
			Authors: []article.Author{{Name: "He Wei", Place: "Shanghai"}}, Dateline: "Shanghai", Publication: "China Daily",
			Published: t0, Updated: t0.Add(2 * time.Hour),
			EditorsNote: "This year marks the 70th anniversary of the liberation of Shanghai.",
			Photo:       &article.Photo{URL: "https://img.news.example/2019/04/24/river.jpg", Caption: "The riverside at dusk.", Credit: "PROVIDED TO CHINA DAILY"},
			Body:        []article.Page{{Number: 1, Paragraphs: []string{"The first paragraph <b>not bold</b> & more.", "A second paragraph with ]]> in it."}}},
			TotalPages:  2, Language: "en", Tags: []string{"shanghai-70th", "urban planning"},
			CanonicalURL: "https://news.example/a/2019/04/24/powerhouse.html", Status: article.StatusPublished,
		},
		{
			ID: "two-bylines", GUID: "tag:syndicated.example,2019:two-bylines", Section: "society", Series: []string{"shanghai-70th"},
			Headline: "Two reporters, one ferry", Authors: []article.Author{{Name: "Li Ming", Place: "Shanghai"}, {Name: "Zhao Lan", Place: "Suzhou"}},
			Publication: "China Daily", Published: t0.Add(-24 * time.Hour), Updated: t0.Add(-24 * time.Hour),
			Photo: &article.Photo{URL: "https://img.news.example/ferry.png", Type: "image/png", Length: 123456, Caption: "Ferry"},
			Body:  []article.Page{{Number: 1, Paragraphs: []string{"No deck here, so this first paragraph is the summary."}}},
			Tags:  []string{"transport"}, Status: article.StatusPublished,
		},
		{
			ID: "agency-report", GUID: "https://news.example/guid/agency-report", Section: "society",
			Headline: "Agency report", Deck: "Filed by the agency.", Publication: "Xinhua",
			Published: t0.Add(-48 * time.Hour), Updated: t0.Add(-47 * time.Hour),
			Body:   []article.Page{{Number: 1, Paragraphs: []string{"Agency text."}}},
			Status: article.StatusPublished,
		},
		{
			ID: "chinese-text", GUID: "tag:syndicated.example,2019:chinese-text", Section: "society", Series: []string{"shanghai-70th"},
			Headline: "上海解放七十周年", Deck: "浦江两岸的新变化。", Authors: []article.Author{{Name: "王芳"}},
			Published: t0.Add(-72 * time.Hour), Updated: t0.Add(-72 * time.Hour),
			Body:     []article.Page{{Number: 1, Paragraphs: []string{"第一段。", "第二段。"}}},
			Language: "zh-Hans", Tags: []string{"shanghai-70th"}, Status: article.StatusPublished,
		},
	}
}

// manyArticles makes n published articles of the series, one hour apart,
// oldest first.
func manyArticles(n int, start time.Time) []*article.Article {
	out := make([]*article.Article, n)
	for i := range out {
		t := start.Add(time.Duration(i) * time.Hour)
		id := fmt.Sprintf("bulk-%06d", i)
		out[i] = &article.Article{
			ID: id, GUID: "tag:syndicated.example,2019:" + id, Section: "society", Series: []string{"shanghai-70th"},
			Headline: fmt.Sprintf("Bulk story %d", i), Deck: fmt.Sprintf("Deck of story %d.", i),
			Authors:   []article.Author{{Name: "Reporter " + fmt.Sprint(i%7)}},
			Published: t, Updated: t.Add(time.Minute),
			Body: []article.Page{{Number: 1, Paragraphs: []string{
				fmt.Sprintf("Paragraph one of story %d, long enough to look like news copy.", i),
				"Paragraph two, with a quote: \"we will build\".",
			}}},
			Language: "en", Tags: []string{"shanghai-70th"}, Status: article.StatusPublished,
		}
	}
	return out
}

// dailyArticles is manyArticles one a day instead of one an hour.
func dailyArticles(n int, start time.Time) []*article.Article {
	out := manyArticles(n, start)
	for i, a := range out {
		a.Published = start.AddDate(0, 0, i)
		a.Updated = a.Published.Add(time.Minute)
	}
	return out
}

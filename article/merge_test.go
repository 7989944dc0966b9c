package article

import (
	"errors"
	"regexp"
	"testing"
	"time"
)

var shanghai = time.FixedZone("CST", 8*3600)

func sample() *Article {
	pub := time.Date(2019, 4, 24, 20, 12, 0, 0, shanghai)
	return &Article{
		ID: "powerhouse", GUID: "tag:example.org,2019-04-24:powerhouse", Section: "society",
		Headline: "A headline", Deck: "A deck", Published: pub, Updated: pub,
		Body:   []Page{{Number: 1, Paragraphs: []string{"One.", "Two."}}},
		Status: StatusPublished, Language: "en",
		Photo: &Photo{URL: "https://static.example.com/a.jpg", Caption: "A caption"},
	}
}

func TestMerge(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	stored, _ := Merge(nil, sample(), now)
	later := stored.Updated.Add(time.Hour)

	cases := []struct {
		name        string
		edit        func(a *Article)
		want        Outcome
		wantUpdated time.Time
	}{
		{"same content", func(a *Article) {}, Unchanged, stored.Updated},
		{"same content from another path", func(a *Article) { a.Source = "elsewhere.txt" }, Unchanged, stored.Updated},
		{"source without published keeps it", func(a *Article) { a.Published = time.Time{} }, Unchanged, stored.Updated},
		{"edit without a newer stamp moves updated to now", func(a *Article) { a.Headline = "New headline" }, Edited, now},
		{"edit with a newer stamp takes it", func(a *Article) { a.Deck = "New deck"; a.Updated = later }, Edited, later},
		{"newer stamp alone is no edit", func(a *Article) { a.Updated = later }, Unchanged, stored.Updated},
		{"withdrawal is an edit", func(a *Article) { a.Status = StatusWithdrawn }, Edited, now},
		{"series change keeps updated", func(a *Article) { a.Series = []string{"shanghai-70th"} }, Reclassified, stored.Updated},
		{"learned photo size keeps updated", func(a *Article) { a.Photo.Length = 1234; a.Photo.Type = "image/jpeg" }, Reclassified, stored.Updated},
		{"new photo URL is an edit", func(a *Article) { a.Photo.URL = "https://static.example.com/b.jpg" }, Edited, now},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := sample()
			in.GUID = "tag:other.example,2020-01-01:ignored" // a GUID never changes once stored
			tc.edit(in)
			got, outcome := Merge(stored, in, now)
			if outcome != tc.want {
				t.Fatalf("outcome %v, want %v", outcome, tc.want)
			}
			if got.GUID != stored.GUID || got.ID != stored.ID {
				t.Errorf("id/guid changed: %s %s", got.ID, got.GUID)
			}
			if !got.Updated.Equal(tc.wantUpdated) {
				t.Errorf("updated %v, want %v", got.Updated, tc.wantUpdated)
			}
			if !got.Published.Equal(stored.Published) {
				t.Errorf("published moved to %v", got.Published)
			}
		})
	}
}

func TestMergeKeepsLearnedPhotoSize(t *testing.T) {
	now := time.Now()
	withSize := sample()
	withSize.Photo.Length, withSize.Photo.Type = 5000, "image/jpeg"
	stored, _ := Merge(nil, withSize, now)
	// The same file again, which does not know the size: nothing changes.
	got, outcome := Merge(stored, sample(), now)
	if outcome != Unchanged || got.Photo.Length != 5000 {
		t.Errorf("outcome %v, length %d", outcome, got.Photo.Length)
	}
}

func TestMergeNewArticle(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := sample()
	a.Published = time.Time{} // text pages give only Updated
	got, outcome := Merge(nil, a, now)
	if outcome != Created || !got.Published.Equal(a.Updated) {
		t.Errorf("outcome %v, published %v", outcome, got.Published)
	}
	a = sample()
	a.Published, a.Updated = time.Time{}, time.Time{}
	if got, _ := Merge(nil, a, now); !got.Published.Equal(now) || !got.Updated.Equal(now) {
		t.Errorf("no times at all: published %v updated %v", got.Published, got.Updated)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	cases := map[string]func(a *Article){
		"id":        func(a *Article) { a.ID = "Has Spaces" },
		"headline":  func(a *Article) { a.Headline = "  " },
		"section":   func(a *Article) { a.Section = "" },
		"published": func(a *Article) { a.Published = time.Time{} },
		"status":    func(a *Article) { a.Status = "draft" },
		"photo":     func(a *Article) { a.Photo = &Photo{Type: "image/jpeg"} },
		"updated":   func(a *Article) { a.Updated = a.Published.Add(-time.Hour) },
	}
	if err := sample().Validate(); err != nil {
		t.Fatalf("valid sample: %v", err)
	}
	// A caption and credit without a photo URL are kept (feeds print them).
	captioned := sample()
	captioned.Photo = &Photo{Caption: "Ferries at the pier.", Credit: "XINHUA"}
	if err := captioned.Validate(); err != nil {
		t.Errorf("caption without a photo URL: %v", err)
	}
	for field, breakIt := range cases {
		a := sample()
		breakIt(a)
		err := a.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

func TestClassify(t *testing.T) {
	rules := []SeriesRule{{Slug: "shanghai-70th", Tags: []string{"Shanghai-70th"}, NotePattern: regexp.MustCompile(`(?i)70th anniversary.*Shanghai`)}}
	byTag := sample()
	byTag.Tags = []string{"shanghai-70TH"}
	byNote := sample()
	byNote.EditorsNote = "This year marks the 70th anniversary of the liberation of Shanghai."
	neither := sample()
	neither.EditorsNote = "An unrelated note."
	explicit := sample()
	explicit.Series = []string{"other", "other"}
	for name, tc := range map[string]struct {
		a    *Article
		want []string
	}{
		"tag": {byTag, []string{"shanghai-70th"}}, "note": {byNote, []string{"shanghai-70th"}},
		"neither": {neither, nil}, "explicit kept, deduplicated": {explicit, []string{"other"}},
	} {
		Classify(tc.a, rules)
		if !equalStrings(tc.a.Series, tc.want) {
			t.Errorf("%s: series %v, want %v", name, tc.a.Series, tc.want)
		}
	}
}

func TestMissingPages(t *testing.T) {
	a := sample()
	a.TotalPages = 3
	a.Body = []Page{{Number: 1}, {Number: 3}}
	if got := a.MissingPages(); len(got) != 1 || got[0] != 2 {
		t.Errorf("missing %v", got)
	}
}

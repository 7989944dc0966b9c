package conformance

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage"
)

// testAuthorTagFeeds: an author's and a tag's feed select by slug (names
// written differently meet), follow edits that drop an author or a tag,
// leave withdrawn articles out, page and count like a section.
func testAuthorTagFeeds(t *testing.T, s storage.Storage) {
	t0 := time.Date(2019, 4, 24, 8, 0, 0, 0, time.UTC)
	a := newArticle("a", t0)
	a.Authors = []article.Author{{Name: "He Wei"}, {Name: "Émile Zola"}}
	a.Tags = []string{"Urban planning", "shanghai"}
	b := newArticle("b", t0.Add(time.Hour))
	b.Authors = []article.Author{{Name: "he  wei", Place: "Beijing"}}
	b.Tags = []string{"urban-planning"}
	c := newArticle("c", t0.Add(2*time.Hour))
	c.Authors = []article.Author{{Name: "何伟"}}
	c.Tags = nil
	for _, x := range []*article.Article{a, b, c} {
		mustPut(t, s, x, t0, article.Created)
	}
	now := t0.Add(24 * time.Hour)
	q := func(author, tag string) article.Query {
		return article.Query{Author: author, Tag: tag, Status: article.StatusPublished, PublishedBefore: now}
	}
	for _, c := range []struct {
		q    article.Query
		want []string
	}{
		{q("he-wei", ""), []string{"b", "a"}},
		{q("emile-zola", ""), []string{"a"}},
		{q("何伟", ""), []string{"c"}},
		{q("", "urban-planning"), []string{"b", "a"}},
		{q("", "shanghai"), []string{"a"}},
		{q("nobody", ""), nil},
	} {
		if got := list(t, s, c.q); !slices.Equal(got, c.want) {
			t.Errorf("author %q tag %q: %v, want %v", c.q.Author, c.q.Tag, got, c.want)
		}
		n, err := s.CountArticles(ctx(t), c.q)
		if err != nil || n != len(c.want) {
			t.Errorf("count author %q tag %q: %d, %v; want %d", c.q.Author, c.q.Tag, n, err, len(c.want))
		}
	}
	page := q("he-wei", "")
	page.Oldest, page.Limit, page.Offset = true, 1, 1
	if got := list(t, s, page); !slices.Equal(got, []string{"b"}) {
		t.Errorf("oldest first, second page: %v", got)
	}
	// An edit drops Zola and the tag; a withdrawal leaves every feed.
	a2 := *a
	a2.Authors, a2.Tags, a2.Headline = []article.Author{{Name: "He Wei"}}, []string{"shanghai"}, "Edited"
	mustPut(t, s, &a2, now, article.Edited)
	if got := list(t, s, q("emile-zola", "")); len(got) != 0 {
		t.Errorf("after the edit, Zola's feed holds %v", got)
	}
	if got := list(t, s, q("", "urban-planning")); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after the edit, the tag's feed holds %v", got)
	}
	b2 := *b
	b2.Status = article.StatusWithdrawn
	mustPut(t, s, &b2, now, article.Edited)
	if got := list(t, s, q("he-wei", "")); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after the withdrawal, He Wei's feed holds %v", got)
	}
}

// testArticleChanges: every changing write is logged under the revision
// it bumped, with the feeds the article was in before and after and its
// times; unchanged writes log nothing; a batch is one revision.
func testArticleChanges(t *testing.T, s storage.Storage) {
	c := ctx(t)
	rev0, err := s.ArticlesRevision(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.ArticleChanges(c, rev0, 0); err != nil || len(got) != 0 {
		t.Fatalf("changes at the current revision: %v, %v", got, err)
	}
	t0 := time.Date(2019, 4, 24, 8, 0, 0, 0, time.UTC)
	a := newArticle("a", t0)
	a.Series = []string{"shanghai-70th"}
	mustPut(t, s, a, t0, article.Created)
	mustPut(t, s, a, t0, article.Unchanged)
	moved := *a
	moved.Published, moved.Updated = t0.AddDate(-1, 0, 0), t0.AddDate(-1, 0, 0)
	moved.Tags, moved.Authors = []string{"Pudong"}, []article.Author{{Name: "Pan Rui"}}
	mustPut(t, s, &moved, t0, article.Edited)
	b, d := newArticle("b", t0), newArticle("d", t0)
	if _, err := s.PutArticles(c, []*article.Article{b, d}, t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.ArticleChanges(c, rev0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d changes, want 4 (create, edit, a batch of two): %+v", len(got), got)
	}
	if got[0].ID != "a" || got[1].ID != "a" || got[2].Revision != got[3].Revision || got[1].Revision >= got[2].Revision {
		t.Errorf("changes out of order or a batch split: %+v", got)
	}
	if want := []string{"section:society", "series:shanghai-70th", "author:he-wei", "tag:shanghai"}; !slices.Equal(got[0].Keys, want) {
		t.Errorf("creation keys %q, want %q", got[0].Keys, want)
	}
	if len(got[0].Published) != 1 || !got[0].Published[0].Equal(t0) {
		t.Errorf("creation times %v", got[0].Published)
	}
	edit := got[1]
	for _, k := range []string{"author:he-wei", "author:pan-rui", "tag:shanghai", "tag:pudong", "series:shanghai-70th"} {
		if !slices.Contains(edit.Keys, k) {
			t.Errorf("edit keys %q lack %s (before and after)", edit.Keys, k)
		}
	}
	if len(edit.Published) != 2 || !edit.Published[0].Equal(t0) || !edit.Published[1].Equal(moved.Published) {
		t.Errorf("edit times %v, want before and after", edit.Published)
	}
	rev, _ := s.ArticlesRevision(c)
	if rev != got[3].Revision {
		t.Errorf("revision %d, last change %d", rev, got[3].Revision)
	}
	if lim, err := s.ArticleChanges(c, rev0, 1); err != nil || len(lim) != 1 {
		t.Errorf("limit 1: %d, %v", len(lim), err)
	}
	if after, err := s.ArticleChanges(c, got[1].Revision, 0); err != nil || len(after) != 2 {
		t.Errorf("after the edit: %d, %v", len(after), err)
	}
	// Revisions before the log began read as pruned.
	if _, err := s.ArticleChanges(c, rev0-1, 0); rev0 > 0 && !errors.Is(err, article.ErrChangesPruned) {
		t.Errorf("before the log: %v, want ErrChangesPruned", err)
	}
}

package feeds

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
)

// personSpec returns the spec of the author or tag feed whose URL path
// path is, or is under (rest is what follows the feed's Path: ".rss",
// "/archive/2019-04.atom"); its Title is not known yet (see named).
func (b *Builder) personSpec(path string) (s *Spec, rest string, ok bool) {
	if b.people == nil {
		return nil, "", false
	}
	var kind Kind
	var tail string
	if t, found := strings.CutPrefix(path, AuthorsPath); found {
		kind, tail = KindAuthor, t
	} else if t, found := strings.CutPrefix(path, TagsPath); found {
		kind, tail = KindTag, t
	} else {
		return nil, "", false
	}
	i := strings.IndexAny(tail, "./")
	if i <= 0 {
		return nil, "", false
	}
	sp := *b.people
	sp.Slug, sp.Kind, sp.Path = tail[:i], kind, ""
	if strings.ContainsAny(sp.Slug, "?#% ") {
		return nil, "", false
	}
	n, err := sp.Normalize()
	if err != nil {
		return nil, "", false
	}
	return &n, tail[i:], true
}

// named lists the newest visible stories of person feed s (Limit+1 at
// most) and names the feed after the newest: "Stories by He Wei" as its
// byline writes the name, "Stories tagged urban planning". A feed with no
// visible story is not found.
func (b *Builder) named(ctx context.Context, s *Spec, now time.Time, limit int) ([]*article.Article, error) {
	q := s.query(now)
	q.Limit = limit
	arts, err := b.store.ListArticles(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("feeds: %s %s: list articles: %w", s.Kind, s.Slug, err)
	}
	if len(arts) == 0 {
		return nil, fmt.Errorf("%w: no %s feed %q", ErrNotFound, s.Kind, s.Slug)
	}
	name := s.Slug
	a := arts[0]
	if s.Kind == KindAuthor {
		for _, au := range a.Authors {
			if article.Slug(au.Name) == s.Slug {
				name = strings.Join(strings.Fields(au.Name), " ")
				break
			}
		}
		s.Title = "Stories by " + name
		s.Description = "Every story by " + name + ", newest first."
	} else {
		for _, t := range a.Tags {
			if article.Slug(t) == s.Slug {
				name = strings.Join(strings.Fields(t), " ")
				break
			}
		}
		s.Title = "Stories tagged " + name
		s.Description = "Every story tagged " + name + ", newest first."
	}
	return arts, nil
}

// canonical returns a MovedError to the canonical slug's URL when s's
// slug is written otherwise ("He-Wei" for "he-wei"), ErrNotFound when it
// has no canonical form, nil when it is canonical.
func (b *Builder) canonical(s *Spec, path, rest string) error {
	c := article.Slug(s.Slug)
	switch {
	case c == s.Slug:
		return nil
	case c == "":
		return fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	prefix := AuthorsPath
	if s.Kind == KindTag {
		prefix = TagsPath
	}
	return &MovedError{From: path, Path: prefix + c + rest}
}

// BuildPerson builds, in all three formats, the subscription feed of the
// author or tag feed whose URL path is path (/feeds/authors/he-wei.rss). It
// returns an error wrapping ErrNotFound when there is no such feed or it
// has no visible story, and a *MovedError for a slug not written the
// canonical way.
func (b *Builder) BuildPerson(ctx context.Context, path string) ([]Doc, error) {
	s, rest, ok := b.personSpec(path)
	if !ok || strings.Contains(rest, "/") {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if err := b.canonical(s, path, rest); err != nil {
		return nil, err
	}
	now := b.now()
	arts, err := b.named(ctx, s, now, s.Limit+1)
	if err != nil {
		return nil, err
	}
	return b.buildCurrent(ctx, s, now, arts)
}

// ArticleFeed is one feed an article is in.
type ArticleFeed struct {
	Title string
	Path  string // URL path without the format's extension (Spec.Path)
}

// ArticleFeeds lists the feeds article a is in: its section's and series'
// (those configured), then, when author and tag feeds are on, one per
// author and one per tag.
func (b *Builder) ArticleFeeds(a *article.Article) []ArticleFeed {
	var out []ArticleFeed
	for i := range b.specs {
		s := &b.specs[i]
		if s.Kind == KindSection && s.Slug == a.Section || s.Kind == KindSeries && a.InSeries(s.Slug) {
			out = append(out, ArticleFeed{Title: s.Title, Path: s.Path})
		}
	}
	if b.people == nil {
		return out
	}
	seen := map[string]bool{}
	for _, au := range a.Authors {
		if slug := article.Slug(au.Name); slug != "" && !seen[slug] {
			seen[slug] = true
			out = append(out, ArticleFeed{Title: "Stories by " + strings.Join(strings.Fields(au.Name), " "), Path: AuthorsPath + slug})
		}
	}
	clear(seen)
	for _, t := range a.Tags {
		if slug := article.Slug(t); slug != "" && !seen[slug] {
			seen[slug] = true
			out = append(out, ArticleFeed{Title: "Stories tagged " + strings.Join(strings.Fields(t), " "), Path: TagsPath + slug})
		}
	}
	return out
}

// ArticleFeeds is the Builder's ArticleFeeds (see Builder.ArticleFeeds).
func (s *Set) ArticleFeeds(a *article.Article) []ArticleFeed { return s.b.ArticleFeeds(a) }

// FeedOf names the feed whose subscription document path is: its path
// without extension (/feeds/society, /feeds/authors/he-wei) and format.
// Archive documents and anything else are not a feed (ok false).
func (s *Set) FeedOf(path string) (feed string, f Format, ok bool) {
	if sp, ok := s.subscription[path]; ok {
		return sp.path, sp.format, true
	}
	if s.b.people == nil || !(strings.HasPrefix(path, AuthorsPath) || strings.HasPrefix(path, TagsPath)) {
		return "", 0, false
	}
	i := strings.LastIndexByte(path, '.')
	if i < 0 || strings.Count(path[len("/feeds/"):i], "/") != 1 { // not an archive document
		return "", 0, false
	}
	for _, f := range Formats {
		if path[i+1:] == f.Ext() {
			return path[:i], f, true
		}
	}
	return "", 0, false
}

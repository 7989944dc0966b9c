package article

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Slug is the URL path segment of an author's or a tag's feed:
// "He Wei" → "he-wei", "Urban planning" → "urban-planning", "Émile Zola" →
// "emile-zola". Letters and digits of every script are kept, lower-cased
// ("何伟" stays "何伟", written percent-encoded in a URL), accents are
// dropped, and every run of anything else becomes one "-". Empty when s
// has no letter or digit.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		default:
			dash = true
		}
	}
	out := norm.NFC.String(b.String())
	if len(out) > maxSlug {
		cut := 0
		for i := range out { // rune boundaries
			if i > maxSlug {
				break
			}
			cut = i
		}
		out = strings.TrimRight(out[:cut], "-")
	}
	return out
}

// maxSlug bounds a slug's length in bytes.
const maxSlug = 200

// AuthorSlugs are the slugs of the article's author feeds, in byline order,
// without repeats.
func (a *Article) AuthorSlugs() []string {
	out := make([]string, 0, len(a.Authors))
	for _, au := range a.Authors {
		out = appendSlug(out, au.Name)
	}
	return out
}

// TagSlugs are the slugs of the article's tag feeds, without repeats.
func (a *Article) TagSlugs() []string {
	out := make([]string, 0, len(a.Tags))
	for _, t := range a.Tags {
		out = appendSlug(out, t)
	}
	return out
}

func appendSlug(out []string, name string) []string {
	s := Slug(name)
	if s == "" {
		return out
	}
	for _, o := range out {
		if o == s {
			return out
		}
	}
	return append(out, s)
}

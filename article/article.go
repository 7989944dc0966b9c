// Package article holds the newsroom's article model, the rules that keep
// ingest idempotent (same content → no change, edit → only Updated moves,
// GUID frozen), and the storage interface every backend implements.
package article

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Status says whether an article may appear in feeds.
type Status string

const (
	StatusPublished Status = "published"
	StatusWithdrawn Status = "withdrawn"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == StatusPublished || s == StatusWithdrawn }

// Photo is an article's lead photo. A source may give its caption and
// credit without a URL (a text page printed them but named no image):
// feeds then carry the caption as a paragraph, with no enclosure.
type Photo struct {
	URL     string `json:"url"`
	Caption string `json:"caption,omitempty"`
	Credit  string `json:"credit,omitempty"`
	// Type is the media type (image/jpeg); empty when unknown.
	Type string `json:"type,omitempty"`
	// Length is the size in bytes; 0 when unknown.
	Length int64 `json:"length,omitempty"`
}

// Author is one person or agency credited in the byline.
type Author struct {
	Name string `json:"name"`
	// Place is where this author filed from ("By A in X and B in Y").
	Place string `json:"place,omitempty"`
}

// Page is one page of the body, as the publisher paginates it.
type Page struct {
	Number     int      `json:"number"`
	Paragraphs []string `json:"paragraphs"`
	// Subheads lists, ascending, the indexes in Paragraphs that are
	// sub-heads (short headings inside the body, rendered as <h3>); the
	// others are ordinary paragraphs.
	Subheads []int `json:"subheads,omitempty"`
	// Photos are the page's photos other than the article's lead photo
	// (Article.Photo), in the order the page prints them. A page may hold
	// photos and no paragraph (a photo page of a gallery).
	Photos []PagePhoto `json:"photos,omitempty"`
}

// PagePhoto is a photo inside the body: it stands before paragraph At of
// its page (At = len(Paragraphs): after the last).
type PagePhoto struct {
	Photo
	At int `json:"at"`
}

// IsSubhead reports whether Paragraphs[i] is a sub-head.
func (p Page) IsSubhead(i int) bool {
	for _, s := range p.Subheads {
		if s == i {
			return true
		}
	}
	return false
}

// Block is one element of a page in reading order: a paragraph, a
// sub-head, or a photo of the page (Photo set).
type Block struct {
	Text    string
	Subhead bool
	Photo   *Photo
}

// Blocks returns the page's paragraphs, sub-heads and photos in reading
// order, each photo before the paragraph it stands at.
func (p Page) Blocks() []Block {
	out := make([]Block, 0, len(p.Paragraphs)+len(p.Photos))
	ph := 0
	for i, t := range p.Paragraphs {
		for ; ph < len(p.Photos) && p.Photos[ph].At <= i; ph++ {
			out = append(out, Block{Photo: &p.Photos[ph].Photo})
		}
		out = append(out, Block{Text: t, Subhead: p.IsSubhead(i)})
	}
	for ; ph < len(p.Photos); ph++ {
		out = append(out, Block{Photo: &p.Photos[ph].Photo})
	}
	return out
}

// Article is one story. ID and GUID never change once stored.
type Article struct {
	ID          string    `json:"id"`
	GUID        string    `json:"guid,omitempty"`
	Section     string    `json:"section"` // section slug, e.g. "society"
	Series      []string  `json:"series,omitempty"`
	Headline    string    `json:"headline"`
	Deck        string    `json:"deck,omitempty"`
	Authors     []Author  `json:"authors,omitempty"`
	Dateline    string    `json:"dateline,omitempty"`
	Publication string    `json:"publication,omitempty"`
	Published   time.Time `json:"published"`
	Updated     time.Time `json:"updated"`
	EditorsNote string    `json:"editors_note,omitempty"`
	Photo       *Photo    `json:"photo,omitempty"`
	Body        []Page    `json:"body"`
	// TotalPages is how many pages the publisher says the article has; more
	// than len(Body) means some pages were not supplied (see MissingPages).
	TotalPages   int      `json:"total_pages,omitempty"`
	Language     string   `json:"language,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	CanonicalURL string   `json:"canonical_url,omitempty"`
	Status       Status   `json:"status"`
	// Source says where the article came from (a file path, "api", …), for
	// operators; it is not part of the content.
	Source string `json:"source,omitempty"`
}

// Sentinel errors shared by every store.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid article")
)

// FieldError names the field of an article that is wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Is lets errors.Is(err, ErrInvalid) match any FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,199}$`)

// Validate checks what every stored article must have.
func (a *Article) Validate() error {
	switch {
	case !idPattern.MatchString(a.ID):
		return &FieldError{"id", fmt.Sprintf("%q must be 1-200 chars of a-z, 0-9, '.', '_' or '-'", a.ID)}
	case strings.TrimSpace(a.Headline) == "":
		return &FieldError{"headline", "is empty"}
	case strings.TrimSpace(a.Section) == "":
		return &FieldError{"section", "is empty"}
	case a.Published.IsZero():
		return &FieldError{"published", "is missing"}
	case !a.Status.Valid():
		return &FieldError{"status", fmt.Sprintf("%q is not published or withdrawn", a.Status)}
	case a.Photo != nil && a.Photo.URL == "" && a.Photo.Caption == "" && a.Photo.Credit == "":
		return &FieldError{"photo", "has no URL, caption or credit"}
	}
	if a.Updated.Before(a.Published) {
		return &FieldError{"updated", "is before published"}
	}
	return nil
}

// Paragraphs returns every body paragraph, page after page.
func (a *Article) Paragraphs() []string {
	var out []string
	for _, p := range a.Body {
		out = append(out, p.Paragraphs...)
	}
	return out
}

// MissingPages lists page numbers the publisher announced but the source lacked.
func (a *Article) MissingPages() []int {
	have := map[int]bool{}
	for _, p := range a.Body {
		have[p.Number] = true
	}
	var missing []int
	for n := 1; n <= a.TotalPages; n++ {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	return missing
}

// AuthorNames returns the byline names in order.
func (a *Article) AuthorNames() []string {
	names := make([]string, len(a.Authors))
	for i, au := range a.Authors {
		names[i] = au.Name
	}
	return names
}

// InSeries reports whether the article belongs to the series slug.
func (a *Article) InSeries(slug string) bool {
	for _, s := range a.Series {
		if s == slug {
			return true
		}
	}
	return false
}

// Visible reports whether the article belongs in feeds at time now.
func (a *Article) Visible(now time.Time) bool {
	return a.Status == StatusPublished && !a.Published.After(now)
}

// ContentHash fingerprints what the newsroom wrote. ID, GUID, Updated and
// Source are left out so that re-importing identical content, or the same
// content from another path, is recognised as no change; so are series
// membership and the photo's size and type, which syndicated derives
// (see Merge).
func (a *Article) ContentHash() string {
	c := *a
	c.ID, c.GUID, c.Source = "", "", ""
	c.Series = nil
	c.Updated = time.Time{}
	if c.Photo != nil {
		ph := *c.Photo
		ph.Length, ph.Type = 0, ""
		c.Photo = &ph
	}
	c.Published = c.Published.UTC()
	b, _ := json.Marshal(c) // a struct of plain fields cannot fail to marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Byline is the credit line of authors: "By Huang Yi and Pan Rui in
// Shanghai" when they share a place (named once, at the end), "By A in X
// and B in Y" when they do not, "By A, B and C" without places. Empty for
// no authors.
func Byline(authors []Author) string {
	var names []string
	for _, au := range authors {
		if n := strings.TrimSpace(au.Name); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	shared, same, first := "", true, true
	for _, au := range authors {
		if strings.TrimSpace(au.Name) == "" {
			continue
		}
		if p := strings.TrimSpace(au.Place); first {
			shared, first = p, false
		} else if p != shared {
			same = false
		}
	}
	if same {
		s := "By " + joinAnd(names)
		if shared != "" {
			s += " in " + shared
		}
		return s
	}
	parts := make([]string, 0, len(authors))
	for _, au := range authors {
		if strings.TrimSpace(au.Name) == "" {
			continue
		}
		p := strings.TrimSpace(au.Name)
		if pl := strings.TrimSpace(au.Place); pl != "" {
			p += " in " + pl
		}
		parts = append(parts, p)
	}
	return "By " + joinAnd(parts)
}

// joinAnd joins "A", "A and B", "A, B and C".
func joinAnd(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

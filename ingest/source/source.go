// Package source holds what every article parser shares: the error type
// that names a file, line and field; time layouts (a time without a zone is
// read in the zone the caller passes: the newsroom's, from configuration);
// slugs, language detection and text hygiene.
package source

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/syndicated/syndicated/article"
)

// Error is a rejected input: which file, which line (0 when unknown),
// which field (empty when not about one field) and why. When Field is set,
// Err is an *article.FieldError, so errors.As finds the field; every Error
// matches errors.Is(err, article.ErrInvalid).
type Error struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	var fe *article.FieldError
	if e.Field != "" && !errors.As(e.Err, &fe) {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes every Error an article.ErrInvalid.
func (e *Error) Is(target error) bool { return target == article.ErrInvalid }

// Errorf builds an *Error; with a field, its Err is an *article.FieldError.
func Errorf(file string, line int, field, format string, args ...any) *Error {
	reason := fmt.Sprintf(format, args...)
	if field != "" {
		return &Error{File: file, Line: line, Field: field, Err: &article.FieldError{Field: field, Reason: reason}}
	}
	return &Error{File: file, Line: line, Err: errors.New(reason)}
}

var zonelessLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseTime reads an RFC 3339 time, or a time without a zone, read in zone
// (the newsroom's, from configuration; UTC when nil): "2006-01-02T15:04:05",
// "2006-01-02 15:04", "2006-01-02"…
func ParseTime(s string, zone *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// "2019-04-24 20:12:00+08:00" and "…Z" with a space instead of T.
	if len(s) > 10 && s[10] == ' ' {
		if t, err := time.Parse(time.RFC3339Nano, s[:10]+"T"+s[11:]); err == nil {
			return t, nil
		}
	}
	if zone == nil {
		zone = time.UTC
	}
	for _, layout := range zonelessLayouts {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (2019-04-24T20:12:00+08:00) nor a time without zone (2019-04-24 20:12, read in %s)", s, zone)
}

// Slugify turns s into an article id: lower-case ASCII letters and digits,
// '.', '_' and '-', starting with a letter or digit, at most 200 bytes.
// Accents are dropped (é → e); anything else becomes a single '-'. It
// returns "" when nothing usable is left.
func Slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_':
		default:
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteRune(r)
	}
	out := strings.TrimLeft(b.String(), "._-")
	if len(out) > 200 {
		out = strings.TrimRight(out[:200], "._-")
	}
	return out
}

// DetectLanguage returns "zh" when most letters of text are Han (or other
// CJK scripts used in Chinese text), "en" otherwise.
func DetectLanguage(text ...string) string {
	han, other := 0, 0
	for _, s := range text {
		for _, r := range s {
			switch {
			case unicode.Is(unicode.Han, r):
				han++
			case unicode.IsLetter(r):
				other++
			}
		}
	}
	// A Chinese character carries about a word; weigh Latin letters by an
	// average word length so "mostly Han" means mostly in words, too.
	if han > 0 && han*5 > other {
		return "zh"
	}
	return "en"
}

// CheckText reports the first character of s that has no place in an
// article (invalid UTF-8, or a control character other than tab and
// newline, which XML feeds cannot carry).
func CheckText(s string) error {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return fmt.Errorf("invalid UTF-8 at byte %d", i)
		}
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
			r == 0xfffe || r == 0xffff || (r >= 0xd800 && r <= 0xdfff) {
			return fmt.Errorf("control character %U", r)
		}
		i += size
	}
	return nil
}

// CheckArticle runs CheckText on every text field of a and names the field
// at fault.
func CheckArticle(a *article.Article) *Error {
	check := func(field, s string) *Error {
		if err := CheckText(s); err != nil {
			return Errorf("", 0, field, "%v", err)
		}
		return nil
	}
	fields := []struct{ name, val string }{
		{"id", a.ID}, {"section", a.Section}, {"headline", a.Headline}, {"deck", a.Deck},
		{"dateline", a.Dateline}, {"publication", a.Publication}, {"editors_note", a.EditorsNote},
		{"language", a.Language}, {"canonical_url", a.CanonicalURL},
	}
	for _, f := range fields {
		if e := check(f.name, f.val); e != nil {
			return e
		}
	}
	for _, s := range a.Series {
		if e := check("series", s); e != nil {
			return e
		}
	}
	for _, s := range a.Tags {
		if e := check("tags", s); e != nil {
			return e
		}
	}
	for _, au := range a.Authors {
		if e := check("authors", au.Name+au.Place); e != nil {
			return e
		}
	}
	if a.Photo != nil {
		if e := check("photo", a.Photo.URL+a.Photo.Caption+a.Photo.Credit+a.Photo.Type); e != nil {
			return e
		}
	}
	for _, p := range a.Body {
		for _, para := range p.Paragraphs {
			if e := check("body", para); e != nil {
				return e
			}
		}
	}
	return nil
}

// CheckDates refuses a published or updated time before earliest or after
// latest, naming the field.
func CheckDates(a *article.Article, earliest, latest time.Time) *Error {
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"published", a.Published}, {"updated", a.Updated}} {
		switch {
		case f.t.IsZero():
		case f.t.Before(earliest):
			return Errorf("", 0, f.name, "%s is before %s, the earliest date accepted", f.t.Format(time.RFC3339), earliest.Format(time.DateOnly))
		case f.t.After(latest):
			return Errorf("", 0, f.name, "%s is after %s, the latest date accepted", f.t.Format(time.RFC3339), latest.Format(time.DateOnly))
		}
	}
	return nil
}

// CleanSpace trims s and folds every run of white space (including
// no-break and ideographic spaces) into one ASCII space.
func CleanSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// TitleCase turns an all-capitals name ("HE WEI", "HSIAO-WUEN HON") into
// "He Wei", "Hsiao-Wuen Hon"; a name with any lower-case letter is kept.
func TitleCase(s string) string {
	for _, r := range s {
		if unicode.IsLower(r) {
			return s
		}
	}
	var b strings.Builder
	start := true
	for _, r := range s {
		if unicode.IsLetter(r) {
			if start {
				b.WriteRune(unicode.ToUpper(r))
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
			start = false
			continue
		}
		b.WriteRune(r)
		start = r == ' ' || r == '-' || r == '\'' || r == '’' || r == '.' || r == '/' || r == '('
	}
	return b.String()
}

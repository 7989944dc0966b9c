package article

import (
	"strings"
	"unicode"
)

// SectionRule is a configured section: its slug, and the other names a
// source may give it (its title, breadcrumb paths such as "China / Society",
// "社会").
type SectionRule struct {
	Slug    string
	Title   string
	Aliases []string
}

// ResolveSection returns the configured section that name names: a slug,
// a title or an alias, compared without regard to case, spacing or the
// separator of a path ("China/Society", "China > Society" and
// "China / Society" are one name). ok is false when no rule names it.
func ResolveSection(rules []SectionRule, name string) (slug string, ok bool) {
	key := SectionKey(name)
	if key == "" {
		return "", false
	}
	for _, r := range rules {
		if SectionKey(r.Slug) == key || SectionKey(r.Title) == key {
			return r.Slug, true
		}
		for _, a := range r.Aliases {
			if SectionKey(a) == key {
				return r.Slug, true
			}
		}
	}
	return "", false
}

// ResolveBreadcrumb returns the configured section a breadcrumb's parts
// (without "Home") name: the whole path first ("China / Society"), then
// each part from the last to the first, so that a configured "society"
// takes "Home / China / Society" and a configured "opinion" takes
// "Opinion / Web Comments". ok is false when no rule names any of them.
func ResolveBreadcrumb(rules []SectionRule, parts []string) (slug string, ok bool) {
	if len(parts) > 1 {
		if s, ok := ResolveSection(rules, strings.Join(parts, " / ")); ok {
			return s, true
		}
	}
	for i := len(parts) - 1; i >= 0; i-- {
		if s, ok := ResolveSection(rules, parts[i]); ok {
			return s, true
		}
	}
	return "", false
}

// SectionKey is the form in which section names are compared: lower case,
// each run of spaces one space, and path separators (/ \ > › » |) written
// " / ".
func SectionKey(name string) string {
	var parts []string
	for _, p := range strings.FieldsFunc(name, func(r rune) bool { return strings.ContainsRune(`/\>›»|`, r) }) {
		if p = strings.Join(strings.FieldsFunc(p, unicode.IsSpace), " "); p != "" {
			parts = append(parts, strings.ToLower(p))
		}
	}
	return strings.Join(parts, " / ")
}

package article

import (
	"regexp"
	"sort"
	"strings"
)

// SeriesRule says which articles belong to a series: any article carrying
// one of Tags (case-insensitive), or whose editor's note matches NotePattern.
type SeriesRule struct {
	Slug        string
	Tags        []string
	NotePattern *regexp.Regexp
}

// Matches reports whether a belongs to the series the rule describes.
func (r SeriesRule) Matches(a *Article) bool {
	for _, want := range r.Tags {
		for _, have := range a.Tags {
			if strings.EqualFold(want, have) {
				return true
			}
		}
	}
	return r.NotePattern != nil && a.EditorsNote != "" && r.NotePattern.MatchString(a.EditorsNote)
}

// Classify sets a.Series from the rules, keeping series the source named
// explicitly, sorted and without duplicates.
func Classify(a *Article, rules []SeriesRule) {
	set := map[string]bool{}
	for _, s := range a.Series {
		set[s] = true
	}
	for _, r := range rules {
		if r.Matches(a) {
			set[r.Slug] = true
		}
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = nil
	}
	a.Series = out
}

package digest

import (
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/syndicated/syndicated/article"
)

// DefaultSubject is the subject of a series without its own: the series'
// title and the dates of the issue's stories in words
// ("Shanghai 70th anniversary series: 22–28 April 2019").
const DefaultSubject = "{{.Series}}: {{.Range}}"

// SubjectData is what a subject template (config series.N.subject, Go
// text/template) is given.
type SubjectData struct {
	Series  string    // the series' title
	Slug    string    // the series' slug
	Week    string    // the issue's ISO week, "2019-W17"
	From    time.Time // the oldest story's publication, in the newsroom's zone
	To      time.Time // the newest story's publication, in the newsroom's zone
	Range   string    // From to To in words: "22–28 April 2019", "29 April – 5 May 2019"
	Stories int       // how many stories the issue holds
}

// ParseSubject parses a subject template ("" gives DefaultSubject) and
// tries it on sample data, so that a template naming a field that does not
// exist fails at start-up rather than at the first issue.
func ParseSubject(text string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		text = DefaultSubject
	}
	t, err := template.New("subject").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	d := time.Date(2019, 4, 22, 9, 0, 0, 0, time.UTC)
	if err := t.Execute(new(strings.Builder), SubjectData{Series: "S", Slug: "s", Week: "2019-W17", From: d, To: d, Range: "22 April 2019", Stories: 1}); err != nil {
		return nil, err
	}
	return t, nil
}

// subject is the issue's subject line, from the series' template.
func (s *Service) subject(p *Plan, se Series) (string, error) {
	t, err := ParseSubject(se.Subject)
	if err != nil {
		return "", fmt.Errorf("series %s: subject: %w", se.Slug, err)
	}
	d := SubjectData{Series: se.Title, Slug: se.Slug, Week: p.Issue.Week.String(), Stories: len(p.Articles)}
	for i, a := range p.Articles {
		at := a.Published.In(s.cfg.Zone)
		if i == 0 || at.Before(d.From) {
			d.From = at
		}
		if i == 0 || at.After(d.To) {
			d.To = at
		}
	}
	if len(p.Articles) == 0 { // a preview of an empty week: the plan's span
		d.From, d.To = p.Issue.Since.In(s.cfg.Zone), p.Issue.Until.In(s.cfg.Zone)
	}
	d.Range = DateRange(d.From, d.To)
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("series %s: subject: %w", se.Slug, err)
	}
	// A subject is one line.
	return strings.Join(strings.Fields(b.String()), " "), nil
}

// DateRange names the days from a to b (in a's zone) in words, the shared
// parts once: "22 April 2019", "22–28 April 2019", "29 April – 5 May 2019",
// "30 December 2019 – 3 January 2020".
func DateRange(a, b time.Time) string {
	b = b.In(a.Location())
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	switch {
	case ay == by && am == bm && ad == bd:
		return a.Format("2 January 2006")
	case ay == by && am == bm:
		return fmt.Sprintf("%d–%s", ad, b.Format("2 January 2006"))
	case ay == by:
		return a.Format("2 January") + " – " + b.Format("2 January 2006")
	}
	return a.Format("2 January 2006") + " – " + b.Format("2 January 2006")
}

// email lays the issue out for no reader in particular: the series'
// description and a summary as intro, then the stories as the issue holds
// them (newest first), each with its byline and its date in the one format
// pages use, in the newsroom's zone with the offset shown.
func (s *Service) email(p *Plan, se Series) *Email {
	e := &Email{Title: se.Title, Intros: []string{se.Description, fmt.Sprintf("%s since %s.",
		stories(len(p.Articles)), p.Issue.Since.In(s.cfg.Zone).Format("Monday 2 January 2006"))}}
	if se.Description == "" {
		e.Intros = e.Intros[1:]
	}
	for _, a := range p.Articles {
		v := ArticleView{URL: s.ArticleURL(a), Headline: a.Headline, Deck: a.Deck, Byline: article.Byline(a.Authors),
			Date: article.Date(a.Published, s.cfg.Zone), DateTime: a.Published.In(s.cfg.Zone).Format(time.RFC3339)}
		if a.Photo != nil && strings.HasPrefix(a.Photo.URL, "http") {
			v.Photo = a.Photo
		}
		e.Articles = append(e.Articles, v)
	}
	return e
}

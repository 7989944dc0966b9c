package digest

import (
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/subscribers"
)

// DefaultSubject is the subject of a series without its own: the series'
// title and the dates of the issue's stories in words
// ("Shanghai 70th anniversary series: 22–28 April 2019").
const DefaultSubject = "{{.Series}}: {{.Range}}"

// StorySubject is the subject of a story issue: the newest story's
// headline, and how many others came with it.
const StorySubject = "{{.Headline}}{{if .More}} (and {{.More}} more){{end}}"

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
	// Headline is the newest story's; More how many others there are.
	Headline string
	More     int
	Cadence  string // weekly, daily or story
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
	if err := t.Execute(new(strings.Builder), SubjectData{Series: "S", Slug: "s", Week: "2019-W17", From: d, To: d, Range: "22 April 2019", Stories: 1,
		Headline: "H", Cadence: "weekly"}); err != nil {
		return nil, err
	}
	return t, nil
}

// subject is the issue's subject line, from the series' template.
func (s *Service) subject(p *Plan, se Series) (string, error) {
	text := se.Subject
	if p.Issue.Cadence() == subscribers.CadenceStory {
		text = StorySubject
	}
	t, err := ParseSubject(text)
	if err != nil {
		return "", fmt.Errorf("series %s: subject: %w", se.Slug, err)
	}
	d := SubjectData{Series: se.Title, Slug: se.Slug, Week: p.Issue.Week.String(), Stories: len(p.Articles),
		Cadence: string(p.Issue.Cadence())}
	if len(p.Articles) > 0 {
		d.Headline, d.More = p.Articles[0].Headline, len(p.Articles)-1
	}
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
// pages use, in the newsroom's zone with the offset shown. extra are older
// stories that only readers catching up see (see Email.Since).
func (s *Service) email(p *Plan, se Series, extra []*article.Article) *Email {
	c := p.Issue.Cadence()
	e := &Email{Title: se.Title, Since: p.Issue.Since, Cadence: string(c)}
	if se.Description != "" && c != subscribers.CadenceStory {
		e.Intros = append(e.Intros, se.Description)
	}
	e.Intros = append(e.Intros, s.summary(c, len(p.Articles), p.Issue.Since, false))
	for _, a := range slices.Concat(p.Articles, extra) {
		v := ArticleView{URL: s.ArticleURL(a), Headline: a.Headline, Deck: a.Deck, Byline: article.Byline(a.Authors),
			Date: article.Date(a.Published, s.cfg.Zone), DateTime: a.Published.In(s.cfg.Zone).Format(time.RFC3339),
			Published: a.Published.UTC(), Section: a.Section, Lang: a.Language}
		if a.Photo != nil && strings.HasPrefix(a.Photo.URL, "http") {
			v.Photo = a.Photo
		}
		e.Articles = append(e.Articles, v)
	}
	return e
}

// summary is the intro line that counts an issue's n stories published
// after since; caughtUp: in a copy that starts elsewhere than the issue.
func (s *Service) summary(c Cadence, n int, since time.Time, caughtUp bool) string {
	at := since.In(s.cfg.Zone)
	switch {
	case c == subscribers.CadenceStory && !caughtUp && n == 1:
		return "A new story in the series."
	case c == subscribers.CadenceStory && !caughtUp:
		return fmt.Sprintf("%d new stories in the series.", n)
	case c == subscribers.CadenceWeekly && !caughtUp:
		return fmt.Sprintf("%s since %s.", stories(n), at.Format("Monday 2 January 2006"))
	}
	return fmt.Sprintf("%s since %s.", stories(n), at.Format("Monday 2 January 2006, 15:04"))
}

// forReader is e as a reader whose copy starts at after sees it: the
// stories published after it (the issue's own readers: after its Since),
// and, for a copy that starts elsewhere, the summary counting them.
// Content laid out before Email.Since was kept is everyone's as it is.
func (s *Service) forReader(e Email, after time.Time) Email {
	if e.Since.IsZero() {
		return e
	}
	var keep []ArticleView
	for _, a := range e.Articles {
		if a.Published.IsZero() || a.Published.After(after) {
			keep = append(keep, a)
		}
	}
	e.Articles = keep
	if n := len(e.Intros); n > 0 && !after.Equal(e.Since) {
		e.Intros = append(slices.Clone(e.Intros[:n-1]), s.summary(Cadence(e.Cadence), len(keep), after, true))
	}
	return e
}

// Frozen is the issue's content as its readers of the issue's own span
// got it (without the older stories only readers catching up got), for
// the browser copy; nil for an issue stored before content was kept.
func (s *Service) Frozen(iss *Issue) *Email {
	if iss.Content == nil {
		return nil
	}
	e := s.forReader(iss.Content.Email, iss.Content.Email.Since)
	return &e
}

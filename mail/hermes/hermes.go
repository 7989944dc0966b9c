// Package hermes renders the emails with github.com/matcornic/hermes/v2:
// the digest (digest.Renderer) and the double opt-in confirmation
// (subscribers.ConfirmationRenderer), both branded alike.
package hermes

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"

	hm "github.com/matcornic/hermes/v2"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/subscribers"
)

// Brand is how emails are branded (config: product name, link, logo,
// copyright). The digest and the confirmation email share it.
type Brand struct {
	Name      string // product name, e.g. "Syndicated"
	Link      string // product home page
	Logo      string // URL of a logo image (optional)
	Copyright string // footer line (optional)
	// Color is the accent of links and buttons, "#rrggbb" (config
	// brand.color); empty or not a colour: DefaultColor.
	Color string
	// Language is the emails' language tag (config language); default "en".
	Language string
}

// DefaultColor is the accent when Brand.Color is not set.
const DefaultColor = "#0b5394"

var (
	//go:embed articles.html
	articlesHTML string
	//go:embed theme.html
	themeHTML string
	//go:embed theme.txt.html
	themeText string
	//go:embed welcome.html
	welcomeHTML string

	colorRE = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$|^#[0-9A-Fa-f]{3}$`)
	langRE  = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)
)

// theme is a hermes.Theme made for what mail clients support: a table
// layout with every style inline (no <style> block for a client to drop,
// no CSS inlining pass), alignment by attributes, links coloured in the
// brand's accent and underlined as browsers show them. It renders the
// parts of a hermes body these emails use: title, greeting and name,
// intros, free markdown, actions, outros and signature. Without a name
// there is no "Hello ," — the greeting stands alone ("Hello,") or, under a
// title, is left out.
type theme struct{ html, text string }

func (t *theme) Name() string              { return "syndicated" }
func (t *theme) HTMLTemplate() string      { return t.html }
func (t *theme) PlainTextTemplate() string { return t.text }

// Renderer renders emails with the brand's hermes theme. It is safe for
// concurrent use.
type Renderer struct {
	h       hm.Hermes
	tmpl    *template.Template
	welcome *template.Template
}

// generator returns a copy of the configured hermes value: hermes fills in
// its defaults on the value it renders with (setDefaultHermesValues), which
// would race between the workers that render at once.
func (r *Renderer) generator() *hm.Hermes {
	h := r.h
	return &h
}

var (
	_ digest.Renderer                  = (*Renderer)(nil)
	_ subscribers.ConfirmationRenderer = (*Renderer)(nil)
	_ subscribers.WelcomeRenderer      = (*Renderer)(nil)
)

// New returns a Renderer for brand b.
func New(b Brand) *Renderer {
	name := b.Name
	if name == "" {
		name = "Syndicated"
	}
	copyright := b.Copyright
	if copyright == "" {
		copyright = "© " + name
	}
	// The accent and the language are checked before they go into the
	// templates' text.
	color, lang := b.Color, b.Language
	if !colorRE.MatchString(color) {
		color = DefaultColor
	}
	if !langRE.MatchString(lang) {
		lang = "en"
	}
	brand := strings.NewReplacer("[[accent]]", color, "[[lang]]", lang)
	return &Renderer{
		h: hm.Hermes{
			Theme: &theme{html: brand.Replace(themeHTML), text: themeText},
			Product: hm.Product{
				Name:        name,
				Link:        b.Link,
				Logo:        b.Logo,
				Copyright:   copyright,
				TroubleText: "If the button does not work, copy this address into your browser:",
			},
			// Every style is inline already.
			DisableCSSInlining: true,
		},
		tmpl:    template.Must(template.New("articles").Parse(brand.Replace(articlesHTML))),
		welcome: template.Must(template.New("welcome").Parse(brand.Replace(welcomeHTML))),
	}
}

// RenderDigest renders an issue as HTML and plain text.
func (r *Renderer) RenderDigest(e *digest.Email) (html, text string, err error) {
	what, why := whyDigest(e)
	data := struct {
		ViewURL, UnsubscribeURL, PreferencesURL, SeriesTitle, What, Why string
		Articles                                                        []digest.ArticleView
	}{ViewURL: e.ViewURL, UnsubscribeURL: e.UnsubscribeURL, PreferencesURL: e.PreferencesURL, SeriesTitle: e.Title,
		What: what, Why: why, Articles: e.Articles}
	var b bytes.Buffer
	if err := r.tmpl.Execute(&b, data); err != nil {
		return "", "", err
	}
	body := hm.Body{
		Title:    e.Title,
		Name:     strings.TrimSpace(e.Name),
		Greeting: "Hello",
		Intros:   e.Intros,
		// An HTML block passes through the markdown renderer untouched; the
		// template above escaped everything in it.
		FreeMarkdown: hm.Markdown("\n" + strings.ReplaceAll(b.String(), "\n\n", "\n") + "\n"),
		Signature:    "The editors",
	}
	email := hm.Email{Body: body}
	if html, err = r.generator().GenerateHTML(email); err != nil {
		return "", "", err
	}
	// The plain text comes from the same body with the articles as
	// markdown: an HTML table would turn into ASCII boxes.
	var md strings.Builder
	if e.ViewURL != "" {
		fmt.Fprintf(&md, "View %s in your browser: %s\n\n", what, e.ViewURL)
	}
	for _, v := range e.Articles {
		fmt.Fprintf(&md, "### %s\n\n", mdEscape(v.Headline))
		if v.Deck != "" {
			fmt.Fprintf(&md, "%s\n\n", mdEscape(v.Deck))
		}
		meta := v.Date
		if v.Byline != "" {
			meta = v.Byline + " · " + meta
		}
		fmt.Fprintf(&md, "%s\n\nRead it: %s\n\n", mdEscape(meta), v.URL)
	}
	if e.UnsubscribeURL != "" {
		fmt.Fprintf(&md, "%s Unsubscribe with one click: %s\n", mdEscape(why), e.UnsubscribeURL)
	}
	if e.PreferencesURL != "" {
		fmt.Fprintf(&md, "\nYour preferences (how often, pause, more series): %s\n", e.PreferencesURL)
	}
	email.Body.FreeMarkdown = hm.Markdown(md.String())
	if text, err = r.generator().GeneratePlainText(email); err != nil {
		return "", "", err
	}
	return html, text, nil
}

// whyDigest names what kind of email e is ("this digest", "these
// emails") and says why the reader gets it.
func whyDigest(e *digest.Email) (what, why string) {
	switch subscribers.Cadence(e.Cadence) {
	case subscribers.CadenceStory:
		return "this email", fmt.Sprintf("You receive an email for each new story of %s because you subscribed to it.", e.Title)
	case subscribers.CadenceDaily:
		return "this digest", fmt.Sprintf("You receive this daily digest because you subscribed to %s.", e.Title)
	}
	return "this digest", fmt.Sprintf("You receive this digest because you subscribed to %s.", e.Title)
}

// mdEscape makes s literal text in markdown (blackfriday honours a
// backslash before each of these).
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_{}[]()#+-.!:|&<>~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// RenderConfirmation renders the double opt-in email (HTML and plain
// text). The caller sets To.
func (r *Renderer) RenderConfirmation(d subscribers.ConfirmationData) (*mail.Message, error) {
	what := strings.Join(d.Lists, ", ")
	hours := int(d.TTL.Round(time.Hour) / time.Hour)
	email := hm.Email{Body: hm.Body{
		Name:     strings.TrimSpace(d.Name),
		Greeting: "Hello",
		Intros: []string{
			fmt.Sprintf("Someone, hopefully you, asked to receive %s by email from %s.", what, r.h.Product.Name),
		},
		Actions: []hm.Action{{
			Instructions: "To confirm your subscription, please click here:",
			Button:       hm.Button{Text: "Confirm my subscription", Link: d.Link}, // in the brand's accent
		}},
		Outros: []string{
			fmt.Sprintf("This link works for %d hours. If you did not ask for this, ignore this email: you will not be subscribed and we will not write again.", hours),
		},
		Signature: "Thank you",
	}}
	html, err := r.generator().GenerateHTML(email)
	if err != nil {
		return nil, fmt.Errorf("confirmation email: %w", err)
	}
	text, err := r.generator().GeneratePlainText(email)
	if err != nil {
		return nil, fmt.Errorf("confirmation email: %w", err)
	}
	return &mail.Message{
		Subject: "Please confirm your subscription to " + r.h.Product.Name,
		HTML:    html,
		Text:    text,
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}, nil
}

// RenderWelcome renders the email a reader gets once their sign-up is
// confirmed: the series they chose, how often each arrives, a link to the
// latest issue of each and to their preferences. The caller sets To and
// List-Unsubscribe.
func (r *Renderer) RenderWelcome(d subscribers.WelcomeData) (*mail.Message, error) {
	var b bytes.Buffer
	if err := r.welcome.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("welcome email: %w", err)
	}
	body := hm.Body{
		Name:     strings.TrimSpace(d.Name),
		Greeting: "Welcome",
		Intros:   []string{fmt.Sprintf("You are now subscribed to %s by email. Here is what arrives, and when:", listWords(d.Lists))},
		// The block passes through markdown untouched; the template
		// escaped everything in it.
		FreeMarkdown: hm.Markdown("\n" + strings.ReplaceAll(b.String(), "\n\n", "\n") + "\n"),
		Actions: []hm.Action{{
			Instructions: "Choose how often each series arrives (weekly, daily or each story), add or leave series, pause for a while or change your name:",
			Button:       hm.Button{Text: "Your preferences", Link: d.PreferencesURL},
		}},
		Outros:    []string{"Every email has this link, and one to unsubscribe with one click."},
		Signature: "The editors",
	}
	email := hm.Email{Body: body}
	html, err := r.generator().GenerateHTML(email)
	if err != nil {
		return nil, fmt.Errorf("welcome email: %w", err)
	}
	var md strings.Builder
	for _, l := range d.Lists {
		fmt.Fprintf(&md, "### %s\n\n%s: %s.\n\n", mdEscape(l.Title), l.Cadence.Label(), mdEscape(l.Cadence.Describe()))
		if l.Latest != nil {
			fmt.Fprintf(&md, "Read the latest issue, %s: %s\n\n", mdEscape(l.Latest.Title), l.Latest.URL)
		}
	}
	fmt.Fprintf(&md, "Unsubscribe with one click: %s\n", d.UnsubscribeURL)
	email.Body.FreeMarkdown = hm.Markdown(md.String())
	text, err := r.generator().GeneratePlainText(email)
	if err != nil {
		return nil, fmt.Errorf("welcome email: %w", err)
	}
	return &mail.Message{
		Subject: "Welcome to " + r.h.Product.Name + ": " + listWords(d.Lists),
		HTML:    html,
		Text:    text,
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}, nil
}

// listWords names lists in a sentence: "A", "A and B", "A, B and C".
func listWords(ls []subscribers.WelcomeList) string {
	var names []string
	for _, l := range ls {
		names = append(names, l.Title)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

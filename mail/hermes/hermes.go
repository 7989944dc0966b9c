// Package hermes renders the emails with github.com/matcornic/hermes/v2:
// the digest (digest.Renderer) and the double opt-in confirmation
// (subscribers.ConfirmationRenderer), both branded alike.
package hermes

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
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
}

//go:embed articles.html
var articlesHTML string

// Renderer renders emails with the default hermes theme and a brand. It is
// safe for concurrent use.
type Renderer struct {
	h    hm.Hermes
	tmpl *template.Template
}

var (
	_ digest.Renderer                  = (*Renderer)(nil)
	_ subscribers.ConfirmationRenderer = (*Renderer)(nil)
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
	return &Renderer{
		h: hm.Hermes{
			Theme: new(hm.Default),
			Product: hm.Product{
				Name:      name,
				Link:      b.Link,
				Logo:      b.Logo,
				Copyright: copyright,
			},
		},
		tmpl: template.Must(template.New("articles").Parse(articlesHTML)),
	}
}

// RenderDigest renders an issue as HTML and plain text.
func (r *Renderer) RenderDigest(e *digest.Email) (html, text string, err error) {
	data := struct {
		ViewURL, UnsubscribeURL, SeriesTitle string
		Articles                             []digest.ArticleView
	}{ViewURL: e.ViewURL, UnsubscribeURL: e.UnsubscribeURL, SeriesTitle: e.Title, Articles: e.Articles}
	var b bytes.Buffer
	if err := r.tmpl.Execute(&b, data); err != nil {
		return "", "", err
	}
	body := hm.Body{
		Title:  e.Title,
		Name:   e.Name,
		Intros: e.Intros,
		// An HTML block passes through the markdown renderer untouched; the
		// template above escaped everything in it.
		FreeMarkdown: hm.Markdown("\n" + strings.ReplaceAll(b.String(), "\n\n", "\n") + "\n"),
		Signature:    "The editors",
	}
	email := hm.Email{Body: body}
	if html, err = r.h.GenerateHTML(email); err != nil {
		return "", "", err
	}
	// The plain text comes from the same body with the articles as
	// markdown: an HTML table would turn into ASCII boxes.
	var md strings.Builder
	if e.ViewURL != "" {
		fmt.Fprintf(&md, "View this digest in your browser: %s\n\n", e.ViewURL)
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
		fmt.Fprintf(&md, "You receive this digest because you subscribed to %s. Unsubscribe with one click: %s\n",
			mdEscape(e.Title), e.UnsubscribeURL)
	}
	email.Body.FreeMarkdown = hm.Markdown(md.String())
	if text, err = r.h.GeneratePlainText(email); err != nil {
		return "", "", err
	}
	return html, text, nil
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
		Name:     d.Name,
		Greeting: "Hello",
		Intros: []string{
			fmt.Sprintf("Someone, hopefully you, asked to receive %s by email from %s.", what, r.h.Product.Name),
		},
		Actions: []hm.Action{{
			Instructions: "To confirm your subscription, please click here:",
			Button:       hm.Button{Color: "#0b5394", Text: "Confirm my subscription", Link: d.Link},
		}},
		Outros: []string{
			fmt.Sprintf("This link works for %d hours. If you did not ask for this, ignore this email: you will not be subscribed and we will not write again.", hours),
		},
		Signature: "Thank you",
	}}
	html, err := r.h.GenerateHTML(email)
	if err != nil {
		return nil, fmt.Errorf("confirmation email: %w", err)
	}
	text, err := r.h.GeneratePlainText(email)
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

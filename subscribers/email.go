package subscribers

import (
	"fmt"
	"strings"
	"time"

	"github.com/matcornic/hermes/v2"

	"github.com/syndicated/syndicated/mail"
)

// ConfirmationData fills the confirmation email.
type ConfirmationData struct {
	Name  string   // subscriber's name, may be empty; escaped in HTML
	Lists []string // list titles
	Link  string   // signed confirm URL
	TTL   time.Duration
}

// RenderConfirmation renders the double opt-in email with hermes (HTML and
// plain text). The caller sets To.
func RenderConfirmation(b mail.Brand, d ConfirmationData) (*mail.Message, error) {
	h := b.Hermes()
	what := strings.Join(d.Lists, ", ")
	hours := int(d.TTL.Round(time.Hour) / time.Hour)
	email := hermes.Email{Body: hermes.Body{
		Name:     d.Name,
		Greeting: "Hello",
		Intros: []string{
			fmt.Sprintf("Someone, hopefully you, asked to receive %s by email from %s.", what, h.Product.Name),
		},
		Actions: []hermes.Action{{
			Instructions: "To confirm your subscription, please click here:",
			Button:       hermes.Button{Color: "#0b5394", Text: "Confirm my subscription", Link: d.Link},
		}},
		Outros: []string{
			fmt.Sprintf("This link works for %d hours. If you did not ask for this, ignore this email: you will not be subscribed and we will not write again.", hours),
		},
		Signature: "Thank you",
	}}
	html, err := h.GenerateHTML(email)
	if err != nil {
		return nil, fmt.Errorf("confirmation email: %w", err)
	}
	text, err := h.GeneratePlainText(email)
	if err != nil {
		return nil, fmt.Errorf("confirmation email: %w", err)
	}
	return &mail.Message{
		Subject: "Please confirm your subscription to " + h.Product.Name,
		HTML:    html,
		Text:    text,
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}, nil
}

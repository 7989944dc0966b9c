package subscribers

import (
	"time"

	"github.com/syndicated/syndicated/mail"
)

// ConfirmationData fills the confirmation email.
type ConfirmationData struct {
	Name  string   // never set by Service: no visitor-supplied text is mailed before consent
	Lists []string // list titles
	Link  string   // signed confirm URL
	TTL   time.Duration
}

// ConfirmationRenderer renders the double opt-in email: subject, HTML and
// plain text, and headers. The service sets To. mail/hermes implements it.
type ConfirmationRenderer interface {
	RenderConfirmation(d ConfirmationData) (*mail.Message, error)
}

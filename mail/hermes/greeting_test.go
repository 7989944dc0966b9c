package hermes_test

import (
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/subscribers"
)

// Without a name neither email says "Hello ,": the confirmation greets
// with "Hello," and the digest, under its title, greets no one; with a
// name both greet by it, in HTML and in plain text.
func TestGreetingWithAndWithoutName(t *testing.T) {
	r := hermes.New(hermes.Brand{Name: "Shanghai Daily"})
	for _, name := range []string{"", "  ", "Li Wei"} {
		e := sampleDigest("https://img.example.com/tram.jpg")
		e.Name = name
		html, text, err := r.RenderDigest(e)
		if err != nil {
			t.Fatal(err)
		}
		conf, err := r.RenderConfirmation(subscribers.ConfirmationData{Name: name, Lists: []string{"Shanghai 70th anniversary series"},
			Link: "https://www.example.com/confirm?token=abc", TTL: 72 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		for what, body := range map[string]string{"digest HTML": html, "digest text": text, "confirmation HTML": conf.HTML, "confirmation text": conf.Text} {
			if strings.Contains(body, "Hello ,") || strings.Contains(body, "Hi ,") || strings.Contains(body, "Hello  ") {
				t.Errorf("%s with name %q has an empty greeting:\n%s", what, name, body)
			}
			named := strings.Contains(body, "Hello Li Wei,")
			if named != (name == "Li Wei") {
				t.Errorf("%s with name %q: greets by name = %v", what, name, named)
			}
		}
		if name == "" && !strings.Contains(conf.HTML, "Hello,") {
			t.Errorf("confirmation without a name does not say Hello,:\n%s", conf.HTML)
		}
		if name == "" && strings.Contains(html, "Hello") {
			t.Errorf("digest without a name has a greeting:\n%s", html)
		}
	}
}

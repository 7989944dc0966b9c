package digest

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/syndicated/syndicated/mail"
)

// Render once, personalise cheaply. An issue is rendered with placeholders
// for the reader's name and unsubscribe URL; each copy splices its
// reader's values, escaped as the HTML needs, into the rendering encoded
// once (mail.Template). Before trusting the splice, prepare renders the
// issue a second time with other placeholders, of other lengths: when the
// layout shows a value other than verbatim (it changes with the value's
// length, say), every copy is rendered in full instead.

var (
	slots1 = [2]string{"Zq7ReaderNameSlotA", "https://unsubscribe.invalid/u/Zq7UnsubscribeSlotA"}
	slots2 = [2]string{"Zq7ReaderNameSlotBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"https://unsubscribe.invalid/u/Zq7UnsubscribeSlotBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}
)

// issueMail is an issue's content rendered once for sending.
type issueMail struct {
	content *Content
	tmpl    *mail.Template // nil: every copy is rendered in full
}

// prepare renders c for the placeholders and checks that splicing holds.
func (s *Service) prepare(issueID string, c *Content) (*issueMail, error) {
	r1, err := s.render(issueID, c, &Recipient{Name: slots1[0], UnsubscribeURL: slots1[1]})
	if err != nil {
		return nil, err
	}
	r2, err := s.render(issueID, c, &Recipient{Name: slots2[0], UnsubscribeURL: slots2[1]})
	if err != nil {
		return nil, err
	}
	swap := strings.NewReplacer(slots1[0], slots2[0], slots1[1], slots2[1])
	if swap.Replace(r1.HTML) != r2.HTML || swap.Replace(r1.Text) != r2.Text {
		s.cfg.Log.Warn("digest: the layout does not show the reader's values verbatim; every copy is rendered in full", "issue", issueID)
		return &issueMail{content: c}, nil
	}
	t, err := mail.NewTemplate(r1.Text, r1.HTML, slots1[:]...)
	if err != nil {
		return nil, err
	}
	return &issueMail{content: c, tmpl: t}, nil
}

// fill is the body of one copy, or nil when a value is one the splice
// cannot reproduce (the caller then renders the copy in full).
func (im *issueMail) fill(name, unsub string) mail.Body {
	if im.tmpl == nil || !spliceableName(name) || !spliceableURL(unsub) {
		return nil
	}
	// The HTML passes through an HTML parser and printer (CSS inlining),
	// which escape text and attribute values as html.EscapeString does; the
	// plain text is the HTML's text, entities decoded.
	b, err := im.tmpl.Fill([]string{name, unsub}, []string{html.EscapeString(name), html.EscapeString(unsub)})
	if err != nil {
		return nil
	}
	return b
}

// spliceableName: printable text whose whitespace no layout step folds
// (single inner spaces only).
func spliceableName(s string) bool {
	if !utf8.ValidString(s) || strings.TrimSpace(s) != s || strings.Contains(s, "  ") {
		return false
	}
	for _, r := range s {
		if r != ' ' && (!unicode.IsGraphic(r) || unicode.IsSpace(r)) {
			return false
		}
	}
	return true
}

// spliceableURL: characters an HTML template leaves as they are in a URL
// attribute, ending in a letter, digit or one of "-_=/" (markdown's
// autolinks drop other trailing punctuation).
func spliceableURL(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~!#$&*+,/:;=?@%", c) >= 0 {
			continue
		}
		return false
	}
	last := s[len(s)-1]
	return last >= 'a' && last <= 'z' || last >= 'A' && last <= 'Z' || last >= '0' && last <= '9' || strings.IndexByte("-_=/", last) >= 0
}

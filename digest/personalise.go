package digest

import (
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/syndicated/syndicated/mail"
)

// Render once, personalise cheaply. An issue is rendered with placeholders
// for the reader's name and unsubscribe URL; each copy splices its
// reader's values, escaped as the HTML needs, into the rendering encoded
// once (mail.Template). Before trusting the splice, prepare renders the
// issue a second time with other placeholders, of other lengths and (the
// name) with characters HTML escapes: when the layout shows a value other
// than verbatim, or escapes it otherwise than htmlText does, every copy is
// rendered in full instead.
//
// A reader without a name gets a layout of its own (hermes greets no one
// rather than "Hello ,"), so the issue is also rendered once without a
// name, with only the unsubscribe URL to splice.
//
// Only the tokens of the unsubscribe and preferences URLs are slots: the
// rest (base_url, path, "token=") is the same for every reader and
// rendered as the layout renders it, so a base_url that markdown's
// typography rewrites in the plain text (an IDN host's "xn--") is no
// reason to render every copy.

var (
	slots1 = [3]string{"Zq7ReaderNameSlotA", "Zq7UnsubscribeSlotA", "Zq7PreferencesSlotA"}
	slots2 = [3]string{`Zq7ReaderNameSlotB & O'Brien "+" <Co> bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb`,
		"Zq7UnsubscribeSlotBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"Zq7PreferencesSlotBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}
)

// unsubscribePrefix is the part of an unsubscribe URL before its token
// (the value of its last query parameter): every reader's is the same.
func unsubscribePrefix(unsub string) string {
	return unsub[:strings.LastIndexByte(unsub, '=')+1]
}

// htmlText escapes s as html/template escapes text (the hermes layout puts
// the name in with html/template, and no later pass rewrites it).
var htmlText = strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;", `+`, "&#43;").Replace

// issueMail is an issue's content rendered once for sending.
type issueMail struct {
	content *Content       // as the issue's own readers get it
	full    *Content       // with the older stories readers catching up get
	prefix  string         // what every unsubscribe URL has before its token
	prefs   string         // what every preferences URL has before its token
	named   *mail.Template // slots: name, unsubscribe and preferences tokens; nil: rendered in full
	anon    *mail.Template // for readers without a name; slots: the tokens

	// cutoffs are the recipients whose copy starts elsewhere than the
	// issue's Since (readers catching up, see CadenceStore); each such
	// start is rendered once too, as a variant.
	cutoffs  map[int64]time.Time
	mu       sync.Mutex
	variants map[time.Time]*issueMail
}

// prepare renders c (as its readers get it) for the placeholders and
// checks that splicing holds; prefix and prefs are every reader's
// unsubscribe and preferences URLs up to their tokens.
func (s *Service) prepare(issueID string, c *Content, prefix, prefs string) (*issueMail, error) {
	im := &issueMail{content: c, full: c, prefix: prefix, prefs: prefs}
	if prefix == "" || prefs == "" { // not URLs that end in a token: every copy is rendered
		return im, nil
	}
	var err error
	if im.named, err = s.template(issueID, im.content, prefix, prefs, slots1[0], slots2[0]); err != nil {
		return nil, err
	}
	if im.anon, err = s.template(issueID, im.content, prefix, prefs, "", ""); err != nil {
		return nil, err
	}
	return im, nil
}

// variant is im for a reader whose copy starts at after.
func (s *Service) variant(im *issueMail, issueID string, after time.Time) (*issueMail, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if v := im.variants[after]; v != nil {
		return v, nil
	}
	c := *im.full
	c.Email = s.forReader(c.Email, after)
	v, err := s.prepare(issueID, &c, im.prefix, im.prefs)
	if err != nil {
		return nil, err
	}
	if im.variants == nil {
		im.variants = map[time.Time]*issueMail{}
	}
	im.variants[after] = v
	return v, nil
}

// template renders c twice, for the names name1 and name2 and the two
// unsubscribe placeholders, and returns the Template of the first when the
// second is the first with the values swapped, escaped in the HTML as fill
// escapes them (nil otherwise: every copy is rendered in full). Empty
// names: the name is no slot.
func (s *Service) template(issueID string, c *Content, prefix, prefs, name1, name2 string) (*mail.Template, error) {
	r1, err := s.render(issueID, c, &Recipient{Name: name1, UnsubscribeURL: prefix + slots1[1], PreferencesURL: prefs + slots1[2]})
	if err != nil {
		return nil, err
	}
	r2, err := s.render(issueID, c, &Recipient{Name: name2, UnsubscribeURL: prefix + slots2[1], PreferencesURL: prefs + slots2[2]})
	if err != nil {
		return nil, err
	}
	slots := []string{slots1[1], slots1[2]}
	text := []string{slots1[1], slots2[1], slots1[2], slots2[2]}
	html := []string{slots1[1], htmlText(slots2[1]), slots1[2], htmlText(slots2[2])}
	if name1 != "" {
		slots = []string{name1, slots1[1], slots1[2]}
		text = append(text, name1, name2)
		html = append(html, name1, htmlText(name2))
	}
	if strings.NewReplacer(html...).Replace(r1.HTML) != r2.HTML || strings.NewReplacer(text...).Replace(r1.Text) != r2.Text {
		s.cfg.Log.Warn("digest: the layout does not show the reader's values verbatim; every copy is rendered in full",
			"issue", issueID, "named", name1 != "")
		return nil, nil
	}
	return mail.NewTemplate(r1.Text, r1.HTML, slots...)
}

// fill is the body of one copy, or nil when a value is one the splice
// cannot reproduce (the caller then renders the copy in full).
func (im *issueMail) fill(name, unsub, prefs string) mail.Body {
	token, ok := strings.CutPrefix(unsub, im.prefix)
	if !ok || !spliceableURL(token) {
		return nil
	}
	ptoken, ok := strings.CutPrefix(prefs, im.prefs)
	if !ok || !spliceableURL(ptoken) {
		return nil
	}
	unsub, prefs = token, ptoken
	// The plain text is the HTML's text, entities decoded.
	var (
		b   mail.Body
		err error
	)
	switch {
	case name == "" && im.anon != nil:
		b, err = im.anon.Fill([]string{unsub, prefs}, []string{htmlText(unsub), htmlText(prefs)})
	case spliceableName(name) && im.named != nil:
		b, err = im.named.Fill([]string{name, unsub, prefs}, []string{htmlText(name), htmlText(unsub), htmlText(prefs)})
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return b
}

// spliceableName: non-empty printable text whose whitespace no layout step
// folds (single inner spaces only). An empty name is not: the layout
// without a name differs (no greeting), see issueMail.anon.
func spliceableName(s string) bool {
	if s == "" || !utf8.ValidString(s) || strings.TrimSpace(s) != s || strings.Contains(s, "  ") {
		return false
	}
	for _, r := range s {
		if r != ' ' && (!unicode.IsGraphic(r) || unicode.IsSpace(r)) {
			return false
		}
	}
	return true
}

// spliceableURL (the unsubscribe token, which ends its URL): characters
// an HTML template leaves as they are in a URL attribute, ending in a
// letter, digit or one of "-_=/" (markdown's autolinks drop other
// trailing punctuation), and none of the sequences markdown's typography
// rewrites in the plain text's link ("--" and "---" become dashes, ".."
// may become an ellipsis, "1/2" a fraction). Tokens never hold "--"
// (subscribers writes it "-%2D"); any other value is rendered in full.
func spliceableURL(s string) bool {
	if s == "" || strings.Contains(s, "--") || strings.Contains(s, "..") {
		return false
	}
	for i := 1; i+1 < len(s); i++ {
		if s[i] == '/' && isDigit(s[i-1]) && isDigit(s[i+1]) {
			return false
		}
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

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

package browsertest

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// CheckHTML reports what the Nu HTML checker would reject in page, for
// the rules that can be encoded here: an HTML5 doctype; every non-void
// element closed explicitly and in order (no stray or implied end tags, no
// self-closed non-void elements, no duplicate attributes); a lang on
// <html>, a charset, a viewport and a non-empty title; exactly one h1 and
// headings that skip no level; alt on every img; unique ids; every label's
// for naming a form control; a label for every form control; only li in
// ul and ol; text in every button and link.
func CheckHTML(page []byte) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if !bytes.HasPrefix(bytes.ToLower(bytes.TrimLeft(page, " \n")), []byte("<!doctype html>")) {
		fail("does not start with <!doctype html>")
	}
	errs = append(errs, checkTags(page)...)
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return append(errs, "parse: "+err.Error())
	}
	var (
		h1s, lastLevel int
		ids            = map[string]int{}
		labelFor       = map[string]bool{}
		controls       = map[string]*html.Node{}
		title          string
		charset, vp    bool
		root           *html.Node
	)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if id := attr(n, "id"); id != "" {
				ids[id]++
			}
			switch n.DataAtom {
			case atom.Html:
				root = n
			case atom.Title:
				title = strings.TrimSpace(text(n))
			case atom.Meta:
				charset = charset || strings.EqualFold(attr(n, "charset"), "utf-8")
				vp = vp || attr(n, "name") == "viewport"
			case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
				level := int(n.Data[1] - '0')
				if level == 1 {
					h1s++
				}
				if level > lastLevel+1 {
					fail("<%s> %q follows h%d: a heading level is skipped", n.Data, strings.TrimSpace(text(n)), lastLevel)
				}
				lastLevel = level
			case atom.Img:
				if !hasAttr(n, "alt") {
					fail("<img src=%q> without alt", attr(n, "src"))
				}
			case atom.Label:
				if f := attr(n, "for"); f != "" {
					labelFor[f] = true
				}
			case atom.Input, atom.Select, atom.Textarea:
				if t := attr(n, "type"); t != "hidden" && t != "submit" && t != "button" {
					if !hasAttr(n, "aria-label") && !hasAttr(n, "aria-labelledby") && !inside(n, atom.Label) {
						controls[attr(n, "id")] = n
					}
				}
			case atom.Ul, atom.Ol:
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && c.DataAtom != atom.Li && c.DataAtom != atom.Script && c.DataAtom != atom.Template {
						fail("<%s> inside <%s>: only li may be", c.Data, n.Data)
					}
					if c.Type == html.TextNode && strings.TrimSpace(c.Data) != "" {
						fail("text %q directly inside <%s>", strings.TrimSpace(c.Data), n.Data)
					}
				}
			case atom.Button, atom.A:
				if strings.TrimSpace(text(n)) == "" && !hasAttr(n, "aria-label") && !hasImgAlt(n) {
					fail("<%s> without text", n.Data)
				}
				if n.DataAtom == atom.A && !hasAttr(n, "href") {
					fail("<a> without href: %q", text(n))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if root == nil || strings.TrimSpace(attr(root, "lang")) == "" {
		fail("<html> without lang")
	}
	if !charset {
		fail("no <meta charset=utf-8>")
	}
	if !vp {
		fail("no viewport <meta>")
	}
	if title == "" {
		fail("empty or missing <title>")
	}
	if h1s != 1 {
		fail("%d h1 elements, want exactly one", h1s)
	}
	for id, n := range ids {
		if n > 1 {
			fail("id %q used %d times", id, n)
		}
	}
	for id, n := range controls {
		if id == "" || !labelFor[id] {
			fail("<%s name=%q> without a label", n.Data, attr(n, "name"))
		}
	}
	for f := range labelFor {
		if ids[f] == 0 {
			fail("<label for=%q> names no element", f)
		}
	}
	return errs
}

var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

var rawAttr = regexp.MustCompile(`\s([^\s"'>/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>` + "`" + `]+))?`)

// checkTags walks the tokens: every non-void element closed, in order.
func checkTags(page []byte) []string {
	var errs []string
	var stack []string
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				errs = append(errs, "tokenize: "+z.Err().Error())
			}
			for i := len(stack) - 1; i >= 0; i-- {
				errs = append(errs, "<"+stack[i]+"> never closed")
			}
			return errs
		case html.StartTagToken, html.SelfClosingTagToken:
			// From the raw tag: the tokenizer drops repeated attributes.
			raw := string(z.Raw())
			name, _ := z.TagName()
			tag := string(name)
			seen := map[string]bool{}
			for _, m := range rawAttr.FindAllStringSubmatch(raw[1+len(tag):], -1) {
				k := strings.ToLower(m[1])
				if seen[k] {
					errs = append(errs, fmt.Sprintf("<%s> has attribute %s twice", tag, k))
				}
				seen[k] = true
			}
			if voidElements[tag] {
				continue
			}
			if tt == html.SelfClosingTagToken {
				errs = append(errs, fmt.Sprintf("<%s/>: self-closing syntax on a non-void element", tag))
				continue
			}
			stack = append(stack, tag)
		case html.EndTagToken:
			t := z.Token()
			if voidElements[t.Data] {
				errs = append(errs, fmt.Sprintf("</%s>: end tag of a void element", t.Data))
				continue
			}
			if len(stack) == 0 || stack[len(stack)-1] != t.Data {
				open := "nothing"
				if len(stack) > 0 {
					open = "<" + stack[len(stack)-1] + ">"
				}
				errs = append(errs, fmt.Sprintf("</%s> while %s is open", t.Data, open))
				continue
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func inside(n *html.Node, a atom.Atom) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.DataAtom == a {
			return true
		}
	}
	return false
}

func hasImgAlt(n *html.Node) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.DataAtom == atom.Img && strings.TrimSpace(attr(c, "alt")) != "" {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

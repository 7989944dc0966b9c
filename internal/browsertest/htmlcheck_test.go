package browsertest

import (
	"strings"
	"testing"
)

const goodPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>T</title></head>
<body><h1>One</h1><h2>Two</h2><img src="a.png" alt="">
<form><label for="e">Email</label><input id="e" type="email" name="email"><label><input type="checkbox" name="c"> C</label>
<input type="hidden" name="t"><button type="submit">Go</button></form><ul><li><a href="/">Home</a></li></ul></body></html>`

func TestCheckHTMLAcceptsAValidPage(t *testing.T) {
	if errs := CheckHTML([]byte(goodPage)); len(errs) != 0 {
		t.Fatalf("valid page rejected: %v", errs)
	}
}

// Each fault, put into the good page, is reported.
func TestCheckHTMLFindsEachFault(t *testing.T) {
	for _, c := range []struct{ old, new, want string }{
		{"<!doctype html>", "", "doctype"},
		{`<html lang="en">`, "<html>", "without lang"},
		{`<meta charset="utf-8">`, "", "charset"},
		{`<title>T</title>`, "<title> </title>", "title"},
		{"<h2>Two</h2>", "<h1>Two</h1>", "2 h1"},
		{"<h2>Two</h2>", "<h3>Two</h3>", "skipped"},
		{`alt=""`, "", "without alt"},
		{`<label for="e">Email</label>`, "", "without a label"},
		{`<label for="e">`, `<label for="x">`, "names no element"},
		{`<button type="submit">Go</button>`, `<button type="submit" id="e">Go</button>`, `id "e" used 2 times`},
		{"<li><a href=\"/\">Home</a></li>", "<p>x</p>", "only li"},
		{"<h2>Two</h2>", "<h2>Two</h3>", "</h3> while <h2>"},
		{"<h2>Two</h2>", "<h2>Two", "never closed"},
		{"<h2>Two</h2>", "<h2/>", "self-closing"},
		{`<a href="/">Home</a>`, `<a href="/"></a>`, "without text"},
		{`<img src="a.png" alt="">`, `<img src="a.png" alt="" alt="">`, "twice"},
	} {
		page := strings.Replace(goodPage, c.old, c.new, 1)
		errs := CheckHTML([]byte(page))
		if !strings.Contains(strings.Join(errs, "\n"), c.want) {
			t.Errorf("%q → %q: got %v, want an error with %q", c.old, c.new, errs, c.want)
		}
	}
}

package mail_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"strings"
	"testing"

	"github.com/syndicated/syndicated/mail"
)

// A filled template decodes to the text with the values put in place of
// the placeholders, whatever falls at the splices: trailing spaces, long
// lines, non-ASCII, "=" and dots at the start of a line.
func TestTemplateFill(t *testing.T) {
	text := "Hello NAME, \nyour link: URL\n" + strings.Repeat("long line ", 20) + "NAME\n.\nend =\t"
	html := "<p>Hello NAME,</p>\n<a href=\"URL\">URL</a> " + strings.Repeat("é", 60) + "NAME"
	tmpl, err := mail.NewTemplate(text, html, "NAME", "URL")
	if err != nil {
		t.Fatal(err)
	}
	for _, vals := range [][2]string{
		{"Zoë", "https://x.example/u?t=a&b=c"},
		{strings.Repeat("Ünterwëgs ", 12) + "end", "https://x.example/" + strings.Repeat("t", 120)},
		{"", "=?utf-8?q?x?= =3D"},
		{"王小明 ", " 🦆\t"},
	} {
		body, err := tmpl.Fill(vals[:], []string{"<" + vals[0] + ">", vals[1]})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := body.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(b.String(), "\r\n") {
			if len(line) > 76 || strings.IndexFunc(line, func(r rune) bool { return r > 126 }) >= 0 {
				t.Fatalf("line %d is not a short 7-bit line: %q", i+1, line)
			}
		}
		_, params, err := mime.ParseMediaType(body.ContentType())
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(&b, params["boundary"])
		want := map[string]string{
			"text/plain": strings.NewReplacer("NAME", vals[0], "URL", vals[1]).Replace(text),
			"text/html":  strings.NewReplacer("NAME", "<"+vals[0]+">", "URL", vals[1]).Replace(html),
		}
		for range 2 {
			p, err := mr.NextRawPart()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(quotedprintable.NewReader(p))
			if err != nil {
				t.Fatal(err)
			}
			ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			// Quoted-printable text has CRLF line ends.
			if w := strings.ReplaceAll(want[ct], "\n", "\r\n"); string(got) != w {
				t.Errorf("%s with %q:\n got %q\nwant %q", ct, vals, got, w)
			}
		}
		if _, err := mr.NextRawPart(); err != io.EOF {
			t.Errorf("after two parts: %v, want EOF", err)
		}
	}
	if _, err := mail.NewTemplate("a", "b", "X", "X"); err == nil {
		t.Error("a repeated placeholder was accepted")
	}
}

package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime/quotedprintable"
	"slices"
	"strings"
)

// Body is a MIME body built ahead of the message: when a Message has one,
// its Text and HTML are not used and the transport writes Body's bytes as
// they are after the message's headers.
type Body interface {
	// ContentType is the body's Content-Type, e.g.
	// `multipart/alternative; boundary="…"`.
	ContentType() string
	// WriteTo writes the body: 7-bit lines of at most 76 characters.
	WriteTo(w io.Writer) (int64, error)
}

// Template is a text and HTML email laid out once with placeholders where
// each copy's own values go (a name, an unsubscribe URL). Both parts are
// quoted-printable encoded when the template is made, so a copy costs the
// encoding of its values only: Fill splices them in between soft line
// breaks. A Template is safe for concurrent use.
type Template struct {
	contentType string
	boundary    string
	text, html  []piece
	nslots      int
}

// piece is an encoded run of a part, or a slot (index ≥ 0).
type piece struct {
	enc  []byte
	slot int
}

// NewTemplate splits text and html at each placeholder and encodes the
// rest.
func NewTemplate(text, html string, placeholders ...string) (*Template, error) {
	for i, p := range placeholders {
		if p == "" || slices.Contains(placeholders[:i], p) {
			return nil, fmt.Errorf("mail template: placeholder %d is empty or repeated", i)
		}
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	// "=_" never occurs in quoted-printable text ("=" is always "=3D" or
	// a soft line break), so the boundary cannot occur in the parts.
	t := &Template{boundary: "=_" + hex.EncodeToString(b[:]), nslots: len(placeholders)}
	t.contentType = `multipart/alternative; boundary="` + t.boundary + `"`
	t.text = split(text, placeholders)
	t.html = split(html, placeholders)
	return t, nil
}

// split cuts s at every placeholder and encodes the runs between them.
func split(s string, placeholders []string) []piece {
	var out []piece
	for s != "" {
		at, slot := len(s), -1
		for i, p := range placeholders {
			if k := strings.Index(s, p); k >= 0 && k < at {
				at, slot = k, i
			}
		}
		if at > 0 {
			out = append(out, piece{enc: qp(nil, s[:at]), slot: -1})
		}
		if slot < 0 {
			break
		}
		out = append(out, piece{slot: slot})
		s = s[at+len(placeholders[slot]):]
	}
	return out
}

// qp appends the quoted-printable encoding of s to dst.
func qp(dst []byte, s string) []byte {
	b := bytes.NewBuffer(dst)
	w := quotedprintable.NewWriter(b)
	_, _ = io.WriteString(w, s) // a bytes.Buffer does not fail
	_ = w.Close()
	return b.Bytes()
}

// Fill returns the body for one copy: text[i] replaces placeholder i in
// the text part and html[i] in the HTML part (escaped as the HTML needs).
func (t *Template) Fill(text, html []string) (Body, error) {
	if len(text) != t.nslots || len(html) != t.nslots {
		return nil, fmt.Errorf("mail template: %d and %d values for %d placeholders", len(text), len(html), t.nslots)
	}
	f := &filled{t: t, text: make([][]byte, t.nslots), html: make([][]byte, t.nslots)}
	for i := range t.nslots {
		f.text[i] = qp(nil, text[i])
		f.html[i] = qp(nil, html[i])
	}
	return f, nil
}

type filled struct {
	t          *Template
	text, html [][]byte
}

func (f *filled) ContentType() string { return f.t.contentType }

const softBreak = "=\r\n"

func (f *filled) WriteTo(w io.Writer) (int64, error) {
	// Each piece was encoded on its own: a soft line break between two
	// keeps every line within 76 characters and decodes to nothing.
	var n int64
	write := func(b []byte) error {
		k, err := w.Write(b)
		n += int64(k)
		return err
	}
	part := func(header string, pieces []piece, vals [][]byte) error {
		if err := write([]byte("--" + f.t.boundary + "\r\n" + header +
			"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")); err != nil {
			return err
		}
		first := true
		for _, p := range pieces {
			b := p.enc
			if p.slot >= 0 {
				b = vals[p.slot]
			}
			if len(b) == 0 {
				continue
			}
			if !first {
				if err := write([]byte(softBreak)); err != nil {
					return err
				}
			}
			first = false
			if err := write(b); err != nil {
				return err
			}
		}
		return write([]byte("\r\n"))
	}
	if err := part("Content-Type: text/plain; charset=UTF-8", f.t.text, f.text); err != nil {
		return n, err
	}
	if err := part("Content-Type: text/html; charset=UTF-8", f.t.html, f.html); err != nil {
		return n, err
	}
	err := write([]byte("--" + f.t.boundary + "--\r\n"))
	return n, err
}

package compose

import (
	"bytes"
	"encoding/base64"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	smail "github.com/syndicated/syndicated/mail"
)

// Envelope is the SMTP envelope of a written message.
type Envelope struct {
	From string // MAIL FROM: the envelope sender, else the From address
	To   string // RCPT TO
}

// Write appends m to dst as it goes over the wire: the headers, then the
// body, CRLF line endings, 7-bit lines. It checks m as Build does. m must
// have a Body (its parts are encoded already, see mail.Template), so a
// copy costs the formatting of a dozen header lines and a copy of the
// body's bytes, where a go-mail message would be built and encoded part by
// part. headerLen is where the body starts (after the blank line).
func Write(dst []byte, m *smail.Message, defFrom, defReplyTo string, now time.Time) (out []byte, env Envelope, headerLen int, err error) {
	if m != nil && m.Body == nil {
		return dst, env, 0, smail.BadMessage("no prepared body")
	}
	e, err := check(m, defFrom, defReplyTo, now)
	if err != nil {
		return dst, env, 0, err
	}
	start := len(dst)
	dst = appendHeader(dst, "Date", e.date.Format(time.RFC1123Z))
	dst = appendHeader(dst, "From", e.from.String())
	if e.replyTo != "" {
		rt, _ := mail.ParseAddress(e.replyTo) // checked
		dst = appendHeader(dst, "Reply-To", rt.String())
	}
	dst = appendHeader(dst, "To", e.to.String())
	dst = appendHeader(dst, "Subject", encodeText(m.Subject))
	dst = appendHeader(dst, "Message-ID", "<"+strings.Trim(m.MessageID, "<>")+">")
	dst = appendHeader(dst, "MIME-Version", "1.0")
	for _, k := range e.headers {
		dst = appendHeader(dst, k, m.Headers[k])
	}
	dst = appendHeader(dst, "Content-Type", m.Body.ContentType())
	dst = append(dst, "\r\n"...)
	headerLen = len(dst) - start
	b := bytes.NewBuffer(dst)
	if _, err := m.Body.WriteTo(b); err != nil {
		return dst, env, 0, smail.BadMessage("body: %v", err)
	}
	return b.Bytes(), Envelope{From: e.mailFrom, To: e.to.Address}, headerLen, nil
}

// encodeText is an unstructured header value (Subject) as RFC 2047 words
// when it is not plain printable ASCII, or when it holds text that a
// reader would take for an encoded word ("=?…?="), which the standard
// library's encoder leaves alone.
func encodeText(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= utf8.RuneSelf {
			return mime.QEncoding.Encode("UTF-8", s)
		}
	}
	if !strings.Contains(s, "=?") {
		return s
	}
	// Base64 words of at most 45 bytes (60 characters encoded), cut
	// between runes.
	var words []string
	for len(s) > 0 {
		n := min(len(s), 45)
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		words = append(words, "=?UTF-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

// maxLine is where header lines are folded when a space allows it (RFC
// 5322 §2.1.1 asks for 78 characters; 998 is the hard limit).
const maxLine = 78

// appendHeader appends "Name: value" CRLF, folded at spaces so that lines
// stay within maxLine where the value's words allow. Unfolding (removing
// each CRLF before a space) gives the value back. A quoted string (a
// display name or local part such as "john doe") is never folded.
func appendHeader(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':')
	line := len(name) + 1
	for first := true; value != ""; first = false {
		word, rest := nextWord(value)
		if !first && line+1+len(word) > maxLine {
			dst = append(dst, "\r\n"...)
			line = 0
		}
		dst = append(dst, ' ')
		dst = append(dst, word...)
		line += 1 + len(word)
		value = rest
	}
	return append(dst, "\r\n"...)
}

// nextWord cuts s at its first space outside a quoted string.
func nextWord(s string) (word, rest string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == ' ' && !quoted:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

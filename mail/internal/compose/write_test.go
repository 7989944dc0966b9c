package compose

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	smail "github.com/syndicated/syndicated/mail"
)

// TestWriteMatchesBuild: a message with a prepared body, written by Write,
// reads back (net/mail, RFC 2047 decoding) with the same headers and the
// same body as go-mail's message from Build, for names and subjects that
// need quoting, encoding and folding.
func TestWriteMatchesBuild(t *testing.T) {
	tpl, err := smail.NewTemplate("Hello {name},\nthe week's stories.\n", "<p>Hello {name}</p>", "{name}")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 4, 27, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	cases := map[string]*smail.Message{
		"plain": {To: "a@example.org", Subject: "Weekly digest"},
		"quoted name, CJK subject": {To: "b@example.org", ToName: `Zhang "Wei", <b>`,
			Subject: "上海七十年 · Shanghai 70th: the week in review, with a subject long enough to need folding twice over"},
		"encoded-word lookalike": {To: "c@example.org", ToName: "Zoë", Subject: "=?UTF-8?q?not_an_encoded_word?= said the reader"},
		"long header":            {To: "d@example.org", Subject: "x", ReplyTo: "Desk <desk@example.com>"},
		"quoted local part": {To: `"john q doe"@example.org`, ToName: `Dr. "Zoë" O'Brien, 上海 <x> and a name long enough to fold`,
			Subject: "上海七十年 =?utf-8?q?x?= " + strings.Repeat("and so on ", 12)},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			m.Headers = map[string]string{
				"List-Id":               "Shanghai 70th <shanghai-70th.news.example.com>",
				"List-Unsubscribe":      "<https://news.example.com/unsubscribe?token=" + strings.Repeat("k", 60) + ">, <mailto:unsubscribe@news.example.com>",
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			}
			if m.Body, err = tpl.Fill([]string{m.ToName}, []string{m.ToName}); err != nil {
				t.Fatal(err)
			}
			written, env, headerLen, err := Write([]byte("left alone"), m, "Syndicated News <news@example.com>", "", now)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(written, []byte("left alone")) || env.From != "news@example.com" || env.To != must(mail.ParseAddress(m.To)).Address {
				t.Fatalf("appended to dst: %v; envelope %+v", bytes.HasPrefix(written, []byte("left alone")), env)
			}
			written = written[len("left alone"):]
			if !bytes.HasSuffix(written[:headerLen], []byte("\r\n\r\n")) {
				t.Errorf("headerLen %d does not end at the blank line", headerLen)
			}
			if strings.Contains(string(written[:headerLen]), "\"john\r\n") {
				t.Errorf("folded inside a quoted local part:\n%s", written[:headerLen])
			}
			for _, line := range strings.Split(string(written[:headerLen]), "\r\n") {
				if len(line) > maxLine && strings.Contains(strings.TrimSpace(line[maxLine:]), " ") {
					t.Errorf("line of %d characters could have been folded: %q", len(line), line)
				}
			}
			msg, _, err := Build(m, "Syndicated News <news@example.com>", "", now) // same Message-ID, now set
			if err != nil {
				t.Fatal(err)
			}
			var built bytes.Buffer
			if _, err := msg.WriteTo(&built); err != nil {
				t.Fatal(err)
			}
			w, b := parse(t, written), parse(t, built.Bytes())
			dec := new(mime.WordDecoder)
			// Subject is checked against m below: go-mail leaves an
			// encoded-word lookalike unencoded, so readers decode it.
			for _, h := range []string{"Date", "From", "To", "Reply-To", "Message-Id", "Mime-Version",
				"List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"} {
				wv, _ := dec.DecodeHeader(w.Header.Get(h))
				bv, _ := dec.DecodeHeader(b.Header.Get(h))
				if h == "From" || h == "To" || h == "Reply-To" {
					wv, bv = addresses(t, w.Header, h), addresses(t, b.Header, h)
				}
				if wv != bv {
					t.Errorf("%s: written %q, go-mail %q", h, wv, bv)
				}
			}
			if got := addresses(t, w.Header, "To"); got != (&mail.Address{Name: m.ToName, Address: must(mail.ParseAddress(m.To)).Address}).String() {
				t.Errorf("To = %s", got)
			}
			if subj, _ := dec.DecodeHeader(w.Header.Get("Subject")); subj != m.Subject {
				t.Errorf("Subject reads back as %q", subj)
			}
			wct, wp, _ := mime.ParseMediaType(w.Header.Get("Content-Type"))
			bct, bp, _ := mime.ParseMediaType(b.Header.Get("Content-Type"))
			if wct != bct || wp["boundary"] != bp["boundary"] {
				t.Errorf("Content-Type: written %q, go-mail %q", w.Header.Get("Content-Type"), b.Header.Get("Content-Type"))
			}
			wb, _ := io.ReadAll(w.Body)
			bb, _ := io.ReadAll(b.Body)
			if !bytes.Equal(wb, bb) {
				t.Errorf("bodies differ:\n%s\n---\n%s", wb, bb)
			}
		})
	}
	if _, _, _, err := Write(nil, &smail.Message{To: "a@example.org", Text: "no prepared body"}, "news@example.com", "", now); err == nil {
		t.Error("Write accepted a message without a prepared body")
	}
	if _, _, _, err := Write(nil, &smail.Message{To: "a@example.org", Subject: "a\r\nBcc: x@example.org", Body: cases["plain"].Body}, "news@example.com", "", now); err == nil {
		t.Error("Write accepted a line break in the subject")
	}
}

func parse(t *testing.T, raw []byte) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%v:\n%s", err, raw)
	}
	return m
}

func addresses(t *testing.T, h mail.Header, name string) string {
	t.Helper()
	if h.Get(name) == "" {
		return ""
	}
	list, err := h.AddressList(name)
	if err != nil || len(list) != 1 {
		t.Fatalf("%s: %q: %v", name, h.Get(name), err)
	}
	return list[0].String()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

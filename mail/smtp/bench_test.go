package smtp

import (
	"bytes"
	"context"
	"strings"
	"testing"

	gomail "github.com/wneessen/go-mail"

	"github.com/syndicated/syndicated/internal/smtptest"
	"github.com/syndicated/syndicated/mail"
)

// BenchmarkTransaction sends one message of digest size per op over one
// reused connection to an in-process go-smtp server (its CPU counts
// too), side by side: this transport with a prepared body, and go-mail's
// own Send of the same bytes on a connection it dialled.
//
//	go test ./mail/smtp -run '^$' -bench Transaction -benchmem
func BenchmarkTransaction(b *testing.B) {
	srv := smtptest.Start(b, smtptest.Script{Discard: true})
	html := "<p>" + strings.Repeat("A digest line of text, with a link to a story. ", 400) + "</p>"
	text := strings.Repeat("A digest line of text, with a link to a story.\n", 100)
	tpl, err := mail.NewTemplate(text, html)
	if err != nil {
		b.Fatal(err)
	}
	body, err := tpl.Fill(nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("syndicated", func(b *testing.B) {
		s, err := New(Config{URL: srv.URL() + "&conns=1", From: "Syndicated <news@example.com>"})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		b.ReportAllocs()
		for b.Loop() {
			m := &mail.Message{To: "reader@example.org", Subject: "Weekly digest", Body: body}
			if err := s.Send(context.Background(), m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-mail", func(b *testing.B) {
		host, port, _ := strings.Cut(srv.Addr, ":")
		var p int
		for _, c := range port {
			p = p*10 + int(c-'0')
		}
		client, err := gomail.NewClient(host, gomail.WithPort(p), gomail.WithTLSPolicy(gomail.NoTLS))
		if err != nil {
			b.Fatal(err)
		}
		sc, err := client.DialToSMTPClientWithContext(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		defer sc.Close()
		b.ReportAllocs()
		for b.Loop() {
			m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
			_ = m.From("Syndicated <news@example.com>")
			_ = m.To("reader@example.org")
			m.Subject("Weekly digest")
			m.SetBodyWriter(gomail.ContentType(body.ContentType()), body.WriteTo, gomail.WithPartEncoding(gomail.NoEncoding))
			if err := client.SendWithSMTPClient(sc, m); err != nil {
				b.Fatal(err)
			}
		}
	})
	var buf bytes.Buffer
	_, _ = body.WriteTo(&buf)
	b.Logf("body of %d bytes", buf.Len())
}

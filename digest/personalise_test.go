package digest_test

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/mail/spool"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// readers need escaping in HTML, fold across quoted-printable lines and
// are not ASCII.
var readers = []string{
	"",
	`O'Brien & "Sons" <Ltd>`,
	"Zoë Ærøskøbing-Ünal",
	"王小明",
	"Tom+Jerry =?utf-8?q?x?= 100%",
	strings.Repeat("Ünterwëgs ", 9) + "Wanderer", // 90 characters: folds
	"🦆 Duck & Co",
}

// eml sends m through the .eml spool (go-mail builds the message) and
// parses it: the headers and each part's decoded bytes by content type.
func eml(t *testing.T, sp *spool.Spool, send func(*spool.Spool) error) (netmail.Header, map[string]string, []byte) {
	t.Helper()
	before, _ := filepath.Glob(filepath.Join(sp.Dir(), "*.eml"))
	if err := send(sp); err != nil {
		t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(sp.Dir(), "*.eml"))
	after = slices.DeleteFunc(after, func(f string) bool { return slices.Contains(before, f) })
	if len(after) != 1 {
		t.Fatalf("spool got %d files, want 1", len(after))
	}
	raw, err := os.ReadFile(after[0])
	if err != nil {
		t.Fatal(err)
	}
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if enc := p.Header.Get("Content-Transfer-Encoding"); enc != "quoted-printable" {
			t.Fatalf("part encoding %q", enc)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(b)
	}
	return m.Header, parts, raw
}

// TestPersonaliseEqualsRender: a copy spliced from the issue rendered once
// is, part by part and header by header, the email a full render for that
// reader gives.
func TestPersonaliseEqualsRender(t *testing.T) {
	// An IDN host's "xn--" is rewritten by markdown's typography in the
	// plain text's links: still every copy is spliced.
	for _, base := range []string{"https://news.example.com", "https://xn--fiq228c.example"} {
		t.Run(base, func(t *testing.T) {
			personaliseEqualsRender(t, base)
		})
	}
}

func personaliseEqualsRender(t *testing.T, base string) {
	st := storagetest.SQLite(t)
	f := newFixture(t, st, base)
	f.seedArticles(t)
	var subs []*subscribers.Subscriber
	for i, name := range readers {
		sub, err := f.subs.Add(t.Context(), fmt.Sprintf("%s-reader@example.com", strings.Repeat("x", i+1)), name, []string{series}, true)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	// About one token in a hundred has "--", which the link writes "-%2D"
	// (markdown would turn "--" into a dash in the plain text's link):
	// such a reader is spliced too.
	for k := 0; ; k++ {
		if k == 3000 {
			t.Fatal("no token with -- in 3000 readers")
		}
		sub, err := f.subs.Add(t.Context(), fmt.Sprintf("dash%d@example.com", k), "Dash", []string{series}, true)
		if err != nil {
			t.Fatal(err)
		}
		if unsub, _ := f.subs.UnsubscribeURL(sub, series); strings.Contains(unsub, "-%2D") {
			subs = append(subs, sub)
			break
		}
	}
	spliced := map[string]bool{}
	iss := f.createIssue(t)
	stored, err := f.dg.Stored(t.Context(), series, iss.Week)
	if err != nil {
		t.Fatal(err)
	}
	fixed := func() time.Time { return now0 }
	fast, _ := spool.New(t.TempDir(), "Shanghai Daily <news@example.com>", "", fixed)
	full, _ := spool.New(t.TempDir(), "Shanghai Daily <news@example.com>", "", fixed)
	for _, sub := range subs {
		msg, err := f.dg.Compose(t.Context(), iss, sub)
		if err != nil {
			t.Fatal(err)
		}
		unsub, _ := f.subs.UnsubscribeURL(sub, series)
		if msg.Body == nil {
			t.Fatalf("%q (%s): copy rendered in full, not spliced", sub.Name, unsub)
		}
		spliced[sub.Name] = true
		want, err := f.dg.Message(stored, sub)
		if err != nil {
			t.Fatal(err)
		}
		if want.Body != nil || want.HTML == "" {
			t.Fatal("Message should render in full")
		}
		gh, gp, raw := eml(t, fast, func(sp *spool.Spool) error { return sp.Send(t.Context(), msg) })
		wh, wp, _ := eml(t, full, func(sp *spool.Spool) error { return sp.Send(t.Context(), want) })
		for _, k := range []string{"From", "To", "Subject", "Message-Id", "Date", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "Precedence", "Mime-Version"} {
			if gh.Get(k) != wh.Get(k) {
				t.Errorf("%q: header %s = %q, full render %q", sub.Name, k, gh.Get(k), wh.Get(k))
			}
		}
		for _, ct := range []string{"text/plain", "text/html"} {
			if gp[ct] == "" || gp[ct] != wp[ct] {
				t.Errorf("%q: %s part differs from the full render (%d and %d bytes)", sub.Name, ct, len(gp[ct]), len(wp[ct]))
			}
		}
		// A reader without a name is greeted by no one (never "Hello ,"),
		// one with a name by it.
		for _, ct := range []string{"text/plain", "text/html"} {
			if sub.Name == "" && strings.Contains(gp[ct], "Hello") {
				t.Errorf("reader without a name: %s part has a greeting", ct)
			}
			if sub.Name == "王小明" && !strings.Contains(gp[ct], "Hello 王小明,") {
				t.Errorf("%q: %s part does not greet by name", sub.Name, ct)
			}
		}
		if !strings.Contains(gp["text/plain"], unsub) || !strings.Contains(gp["text/html"], strings.ReplaceAll(unsub, "&", "&amp;")) {
			t.Errorf("%q: the reader's unsubscribe URL is not in both parts", sub.Name)
		}
		prefs, _ := f.subs.PreferencesURL(sub)
		if !strings.Contains(gp["text/plain"], prefs) || !strings.Contains(gp["text/html"], prefs) {
			t.Errorf("%q: the reader's preferences URL is not in both parts", sub.Name)
		}
		_, body, _ := strings.Cut(string(raw), "\r\n\r\n")
		for i, line := range strings.Split(body, "\r\n") {
			if len(line) > 78 || strings.IndexFunc(line, func(r rune) bool { return r > 126 }) >= 0 {
				t.Errorf("%q: line %d is not a short 7-bit line: %q", sub.Name, i+1, line)
				break
			}
		}
	}
	for _, name := range append(readers, "Dash") {
		if !spliced[name] {
			t.Errorf("no copy to %q was spliced", name)
		}
	}
}

// BenchmarkPersonalise is the cost of one copy: the envelope, the
// unsubscribe link and the spliced body, written out as go-mail would.
func BenchmarkPersonalise(b *testing.B) {
	st := storagetest.SQLite(b)
	f := newFixture(b, st, "https://news.example.com")
	f.seedArticles(b)
	sub, err := f.subs.Add(b.Context(), "reader@example.com", `O'Brien & Sons`, []string{series}, true)
	if err != nil {
		b.Fatal(err)
	}
	iss := f.createIssue(b)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		msg, err := f.dg.Compose(b.Context(), iss, sub)
		if err != nil || msg.Body == nil {
			b.Fatal(err, msg.Body == nil)
		}
		buf.Reset()
		if _, err := msg.Body.WriteTo(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

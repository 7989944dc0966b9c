// Command digestbench is the digest benchmark's helper (see
// scripts/digest-bench.sh): a go-smtp sink that discards what it receives,
// a raw go-mail sender for the baseline, a bare pipelining client for the
// floor under one that sends as syndicated does, and a bulk seeder of
// subscribers.
//
//	digestbench sink -listen 127.0.0.1:2525 [-record FILE]
//	digestbench raw -smtp 127.0.0.1:2525 -n 20000 -conns 4 -body FILE.html
//	digestbench floor -smtp 127.0.0.1:2525 -n 20000 -conns 4 -body FILE.html
//	digestbench seed -db URL -data DIR -n 20000 -list shanghai-70th
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/textproto"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
	gomail "github.com/wneessen/go-mail"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: digestbench sink|raw|floor|seed [flags]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "sink":
		err = sink(ctx, os.Args[2:])
	case "raw":
		err = raw(ctx, os.Args[2:])
	case "floor":
		err = floor(ctx, os.Args[2:])
	case "seed":
		err = seed(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

// sink accepts every message and throws it away, counting them; with
// -record it appends each accepted message's recipients to FILE, one a
// line, so that a check can count the copies each recipient got.
func sink(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sink", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:2525", "address")
	record := fs.String("record", "", "append the recipients of every accepted message to this file")
	_ = fs.Parse(args)
	b := backend{n: new(atomic.Int64)}
	if *record != "" {
		f, err := os.OpenFile(*record, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		b.rec = &recorder{f: f}
	}
	s := smtp.NewServer(b)
	s.Addr = *listen
	s.Domain = "sink.local"
	s.AllowInsecureAuth = true
	s.MaxMessageBytes = 10 << 20
	s.MaxRecipients = 10
	go func() { <-ctx.Done(); s.Close() }()
	fmt.Println("sink listening on", *listen)
	err := s.ListenAndServe()
	fmt.Println("sink received", b.n.Load())
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type backend struct {
	n   *atomic.Int64
	rec *recorder // nil without -record
}

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{backend: b}, nil }

type session struct {
	backend
	rcpts []string
}

func (*session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.rec != nil {
		s.rcpts = append(s.rcpts, to)
	}
	return nil
}
func (s *session) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.n.Add(1)
	// A message is accepted (250) only once it is recorded.
	return s.rec.record(s.rcpts)
}
func (s *session) Reset()      { s.rcpts = s.rcpts[:0] }
func (*session) Logout() error { return nil }

// recorder appends recipients to a file, one a line, a whole message's
// recipients in one write.
type recorder struct {
	mu sync.Mutex
	f  *os.File
}

func (r *recorder) record(rcpts []string) error {
	if r == nil {
		return nil
	}
	var b strings.Builder
	for _, to := range rcpts {
		b.WriteString(to)
		b.WriteByte('\n')
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.f.WriteString(b.String())
	return err
}

// raw sends n messages with go-mail over conns connections, each built from
// the same HTML and text (as a sender that renders nothing would), and
// prints the rate.
func raw(ctx context.Context, args []string) error {
	o, html, err := parseSend("raw", args)
	if err != nil {
		return err
	}
	host, port, _ := strings.Cut(*o.addr, ":")
	var p int
	fmt.Sscan(port, &p)
	client, err := gomail.NewClient(host, gomail.WithPort(p), gomail.WithTLSPolicy(gomail.NoTLS))
	if err != nil {
		return err
	}
	return o.run(ctx, "raw", func(next func() (int64, bool)) error {
		sc, err := client.DialToSMTPClientWithContext(ctx)
		if err != nil {
			return err
		}
		defer sc.Close()
		for i, ok := next(); ok; i, ok = next() {
			if err := client.SendWithSMTPClient(sc, message(i, html)); err != nil {
				return err
			}
		}
		return nil
	})
}

// message is the raw sender's message i: built with go-mail from the same
// text and HTML for everyone, as a sender that renders nothing would.
func message(i int64, html string) *gomail.Msg {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	_ = m.From("Bench <bench@example.com>")
	_ = m.AddToFormat(fmt.Sprintf("Reader %d", i), fmt.Sprintf("r%d@example.com", i))
	m.Subject("Shanghai 70th anniversary series: 3 new stories (2019-W17)")
	m.SetMessageIDWithValue(fmt.Sprintf("raw.%d@example.com", i))
	m.SetDate()
	m.SetGenHeaderPreformatted("List-Unsubscribe", fmt.Sprintf("<https://example.com/unsubscribe?token=%d>", i))
	m.SetBodyString(gomail.TypeTextPlain, strings.Repeat("A digest line of text.\n", 50))
	m.AddAlternativeString(gomail.TypeTextHTML, html)
	return m
}

// floor sends n copies of the raw sender's first message, built and
// dot-stuffed once, over bare TCP the way syndicated's transport does
// with a server that offers PIPELINING: MAIL FROM, RCPT TO and DATA in
// one write, their three replies, the message with its final "." in a
// second write, its reply. It does nothing else, so its CPU per message
// is about the least an SMTP client spends on this machine that way.
func floor(ctx context.Context, args []string) error {
	o, html, err := parseSend("floor", args)
	if err != nil {
		return err
	}
	// The DATA content, dot-stuffed and with its final ".", once.
	var data bytes.Buffer
	bw := bufio.NewWriter(&data)
	dw := textproto.NewWriter(bw).DotWriter()
	if _, err := message(0, html).WriteTo(dw); err != nil {
		return err
	}
	if err := dw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return o.run(ctx, "floor", func(next func() (int64, bool)) error {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", *o.addr)
		if err != nil {
			return err
		}
		defer c.Close()
		t := textproto.NewConn(c)
		if _, _, err := t.ReadResponse(220); err != nil {
			return err
		}
		if err := t.PrintfLine("EHLO bench.example.com"); err != nil {
			return err
		}
		if _, _, err := t.ReadResponse(250); err != nil {
			return err
		}
		var buf []byte
		for i, ok := next(); ok; i, ok = next() {
			buf = fmt.Appendf(buf[:0], "MAIL FROM:<bench@example.com>\r\nRCPT TO:<r%d@example.com>\r\nDATA\r\n", i)
			if _, err := c.Write(buf); err != nil {
				return err
			}
			for _, code := range []int{250, 250, 354} {
				if _, _, err := t.ReadResponse(code); err != nil {
					return err
				}
			}
			if _, err := c.Write(data.Bytes()); err != nil {
				return err
			}
			if _, _, err := t.ReadResponse(250); err != nil {
				return err
			}
		}
		return t.PrintfLine("QUIT")
	})
}

// sendOptions are the flags of raw and floor.
type sendOptions struct {
	addr, bodyFile *string
	n, conns       *int
}

// parseSend parses the flags of raw or floor and reads the HTML body.
func parseSend(name string, args []string) (sendOptions, string, error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	o := sendOptions{
		addr:     fs.String("smtp", "127.0.0.1:2525", "sink address"),
		n:        fs.Int("n", 20000, "messages"),
		conns:    fs.Int("conns", 4, "connections"),
		bodyFile: fs.String("body", "", "HTML body (a rendered digest)"),
	}
	_ = fs.Parse(args)
	if *o.bodyFile == "" {
		return o, "<p>" + strings.Repeat("A digest line of text. ", 300) + "</p>", nil
	}
	b, err := os.ReadFile(*o.bodyFile)
	return o, string(b), err
}

// run runs send on each of the connections, handing out message numbers
// 1…n, and prints the rate.
func (o sendOptions) run(ctx context.Context, name string, send func(next func() (int64, bool)) error) error {
	var last atomic.Int64
	next := func() (int64, bool) {
		i := last.Add(1)
		return i, i <= int64(*o.n) && ctx.Err() == nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, *o.conns)
	start := time.Now()
	for range *o.conns {
		wg.Go(func() {
			if err := send(next); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	close(errs)
	for err := range errs {
		return err
	}
	fmt.Printf("%s: %d messages in %.2fs: %.0f msg/s\n", name, *o.n, el.Seconds(), float64(*o.n)/el.Seconds())
	return nil
}

// seed adds n active subscribers of list through the storage's bulk insert.
func seed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	db := fs.String("db", "", "database URL (empty: SQLite under -data)")
	data := fs.String("data", "", "data directory")
	n := fs.Int("n", 20000, "subscribers")
	list := fs.String("list", "shanghai-70th", "list")
	_ = fs.Parse(args)
	st, err := storage.Open(ctx, *db, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	now := time.Now().UTC()
	const chunk = 20000
	for i := 0; i < *n; i += chunk {
		batch := make([]*subscribers.Subscriber, 0, chunk)
		for j := i; j < min(i+chunk, *n); j++ {
			batch = append(batch, &subscribers.Subscriber{Email: fmt.Sprintf("reader%07d@example.com", j),
				Name: fmt.Sprintf("Reader %d", j), Status: subscribers.StatusActive, CreatedAt: now, ConfirmedAt: now,
				Lists: []subscribers.Subscription{{List: *list, Active: true, ChangedAt: now}}})
		}
		if _, _, err := st.InsertSubscribers(ctx, batch); err != nil {
			return err
		}
	}
	fmt.Printf("seeded %d subscribers in %.1fs\n", *n, time.Since(start).Seconds())
	return nil
}

// Command digestbench is the digest benchmark's helper (see
// scripts/digest-bench.sh): a go-smtp sink that discards what it receives,
// a raw go-mail sender for the baseline, and a bulk seeder of subscribers.
//
//	digestbench sink -listen 127.0.0.1:2525
//	digestbench raw -smtp 127.0.0.1:2525 -n 20000 -conns 4 -body FILE.html
//	digestbench seed -db URL -data DIR -n 20000 -list shanghai-70th
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
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
		log.Fatal("usage: digestbench sink|raw|seed [flags]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "sink":
		err = sink(ctx, os.Args[2:])
	case "raw":
		err = raw(ctx, os.Args[2:])
	case "seed":
		err = seed(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

// sink accepts every message and throws it away, counting them.
func sink(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sink", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:2525", "address")
	_ = fs.Parse(args)
	var n atomic.Int64
	s := smtp.NewServer(backend{&n})
	s.Addr = *listen
	s.Domain = "sink.local"
	s.AllowInsecureAuth = true
	s.MaxMessageBytes = 10 << 20
	s.MaxRecipients = 10
	go func() { <-ctx.Done(); s.Close() }()
	fmt.Println("sink listening on", *listen)
	err := s.ListenAndServe()
	fmt.Println("sink received", n.Load())
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type backend struct{ n *atomic.Int64 }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return session(b), nil }

type session struct{ n *atomic.Int64 }

func (session) Mail(string, *smtp.MailOptions) error { return nil }
func (session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s session) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	s.n.Add(1)
	return err
}
func (session) Reset()        {}
func (session) Logout() error { return nil }

// raw sends n messages with go-mail over conns connections, each built from
// the same HTML and text (as a sender that renders nothing would), and
// prints the rate.
func raw(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("raw", flag.ExitOnError)
	addr := fs.String("smtp", "127.0.0.1:2525", "sink address")
	n := fs.Int("n", 20000, "messages")
	conns := fs.Int("conns", 4, "connections")
	bodyFile := fs.String("body", "", "HTML body (a rendered digest)")
	_ = fs.Parse(args)
	html := "<p>" + strings.Repeat("A digest line of text. ", 300) + "</p>"
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return err
		}
		html = string(b)
	}
	text := strings.Repeat("A digest line of text.\n", 50)
	host, port, _ := strings.Cut(*addr, ":")
	var p int
	fmt.Sscan(port, &p)
	client, err := gomail.NewClient(host, gomail.WithPort(p), gomail.WithTLSPolicy(gomail.NoTLS))
	if err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, *conns)
	start := time.Now()
	for range *conns {
		wg.Go(func() {
			sc, err := client.DialToSMTPClientWithContext(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer sc.Close()
			for {
				i := next.Add(1)
				if i > int64(*n) || ctx.Err() != nil {
					return
				}
				m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
				_ = m.From("Bench <bench@example.com>")
				_ = m.AddToFormat(fmt.Sprintf("Reader %d", i), fmt.Sprintf("r%d@example.com", i))
				m.Subject("Shanghai 70th anniversary series: 3 new stories (2019-W17)")
				m.SetMessageIDWithValue(fmt.Sprintf("raw.%d@example.com", i))
				m.SetDate()
				m.SetGenHeaderPreformatted("List-Unsubscribe", fmt.Sprintf("<https://example.com/unsubscribe?token=%d>", i))
				m.SetBodyString(gomail.TypeTextPlain, text)
				m.AddAlternativeString(gomail.TypeTextHTML, html)
				if err := client.SendWithSMTPClient(sc, m); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	close(errs)
	for err := range errs {
		return err
	}
	fmt.Printf("raw: %d messages in %.2fs: %.0f msg/s\n", *n, el.Seconds(), float64(*n)/el.Seconds())
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

package smtp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/mailtest"
	"github.com/syndicated/syndicated/internal/smtptest"
	"github.com/syndicated/syndicated/mail"
)

// proxy sits between the transport and a test server: it can hide
// extensions (PIPELINING) from the EHLO reply, as servers without them
// do, and cut every open connection, as a server does to idle clients.
type proxy struct {
	t    *testing.T
	addr string
	to   string
	hide []string

	mu    sync.Mutex
	conns []net.Conn
	dials int
}

func startProxy(t *testing.T, to string, hide ...string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, addr: ln.Addr().String(), to: to, hide: hide}
	t.Cleanup(func() { _ = ln.Close(); p.cut("") })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *proxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.to)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, client)
	p.dials++
	p.mu.Unlock()
	defer client.Close()
	defer server.Close()
	go func() { _, _ = io.Copy(server, client); _ = server.Close() }()
	r := bufio.NewReader(server)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		for _, ext := range p.hide {
			if strings.Contains(line, ext) {
				line = line[:4] + "X-NOTHING\r\n" // keep the 250- or 250 continuation mark
			}
		}
		if _, err := io.WriteString(client, line); err != nil {
			return
		}
	}
}

// cut closes every open connection, first sending reply when it is not
// empty (Postfix says "421 4.4.2 … Error: timeout exceeded").
func (p *proxy) cut(reply string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		if reply != "" {
			_, _ = io.WriteString(c, reply+"\r\n")
		}
		_ = c.Close()
	}
	p.conns = nil
}

func (p *proxy) connections() int { p.mu.Lock(); defer p.mu.Unlock(); return p.dials }

// preparedMessage is mailtest.Message with its parts laid out ahead as a
// mail.Body (as digests are), with lines that start with a dot.
func preparedMessage(t *testing.T, to string) *mail.Message {
	t.Helper()
	m := mailtest.Message(to)
	m.Text = "Hello,\n.hidden line\n.\n..two dots\nend\n"
	tpl, err := mail.NewTemplate(m.Text, m.HTML)
	if err != nil {
		t.Fatal(err)
	}
	if m.Body, err = tpl.Fill(nil, nil); err != nil {
		t.Fatal(err)
	}
	return m
}

// modes are the ways a transaction goes, by what the server offers: DATA
// pipelined, and one command at a time.
var modes = []struct {
	name string
	hide []string
}{
	{"pipelining", nil},
	{"one command at a time", []string{"PIPELINING"}},
}

// bareLFBody is a body whose lines end in LF alone, the last with none.
type bareLFBody struct{}

func (bareLFBody) ContentType() string { return "text/plain; charset=us-ascii" }
func (bareLFBody) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, "first\nsecond\r\n.third")
	return int64(n), err
}

// TestTransactions sends through servers with and without PIPELINING:
// prepared and built messages arrive intact (dot-stuffing undone by the
// server), a refused recipient leaves the connection usable, and a
// connection the server dropped while idle is replaced without failing
// the next message.
func TestTransactions(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Script{Rcpt: func(to string) error {
		if strings.HasPrefix(to, "unknown@") {
			return smtptest.Reply(550, 5, 1, 1, "User unknown")
		}
		return nil
	}})
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			p := startProxy(t, srv.Addr, mode.hide...)
			s := newSMTP(t, "smtp://"+p.addr+"?tls=none")
			before := len(srv.Received())
			send := func(m *mail.Message) error { return s.Send(context.Background(), m) }

			prepared := preparedMessage(t, "reader@example.org")
			if err := send(prepared); err != nil {
				t.Fatal(err)
			}
			if err := send(mailtest.Message("other@example.org")); err != nil {
				t.Fatal(err)
			}
			err := send(preparedMessage(t, "unknown@example.org"))
			if mail.ClassOf(err) != mail.ClassBounce {
				t.Errorf("unknown mailbox: %v (class %q)", err, mail.ClassOf(err))
			}
			if err := send(preparedMessage(t, "after@example.org")); err != nil {
				t.Fatalf("after a refused recipient: %v", err)
			}
			// Held, and refused at RCPT: the message is never written.
			held := preparedMessage(t, "unknown@example.org")
			hold := make(chan struct{})
			held.Hold = hold
			time.AfterFunc(20*time.Millisecond, func() { close(hold) })
			if err := send(held); mail.ClassOf(err) != mail.ClassBounce {
				t.Errorf("unknown mailbox, held: %v (class %q)", err, mail.ClassOf(err))
			}
			bare := mailtest.Message("bare@example.org")
			bare.Body = bareLFBody{}
			if err := send(bare); err != nil {
				t.Fatalf("a body with bare line feeds: %v", err)
			}
			if n := p.connections(); n != 1 {
				t.Errorf("%d connections for 6 messages in a row", n)
			}
			got := srv.Received()[before:]
			if len(got) != 4 {
				t.Fatalf("received %d, want 4", len(got))
			}
			if !bytes.HasSuffix(got[3].Raw, []byte("\r\n\r\nfirst\r\nsecond\r\n.third\r\n")) {
				t.Errorf("bare line feeds did not arrive as CRLF:\n%q", got[3].Raw)
			}
			mailtest.CheckParsed(t, got[0].Raw, prepared)
			if !bytes.Contains(got[0].Raw, []byte("\r\n.hidden line")) || !bytes.Contains(got[0].Raw, []byte("\r\n..two dots")) {
				t.Errorf("lines starting with a dot did not arrive as written:\n%s", got[0].Raw)
			}

			// The server drops the idle connection, silently or saying 421.
			for i, reply := range []string{"", "421 4.4.2 mail.example.org Error: timeout exceeded"} {
				p.cut(reply)
				if err := send(preparedMessage(t, "later@example.org")); err != nil {
					t.Errorf("after the server dropped an idle connection (%q): %v", reply, err)
				}
				if n := p.connections(); n != 2+i {
					t.Errorf("%d connections, want %d", n, 2+i)
				}
			}
		})
	}
}

// TestHold: a held message is written but not ended, so the server has
// nothing until Hold closes; a send whose context ends while it is held,
// or whose HoldErr says no, delivers nothing and is not "maybe delivered".
func TestHold(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Script{})
	for _, mode := range modes {
		p := startProxy(t, srv.Addr, mode.hide...)
		s := newSMTP(t, "smtp://"+p.addr+"?tls=none")
		before := len(srv.Received())
		hold := make(chan struct{})
		m := preparedMessage(t, "held@example.org")
		m.Hold = hold
		done := make(chan error, 1)
		go func() { done <- s.Send(context.Background(), m) }()
		time.Sleep(200 * time.Millisecond)
		if n := len(srv.Received()) - before; n != 0 {
			t.Fatalf("%s: %d received while held", mode.name, n)
		}
		select {
		case err := <-done:
			t.Fatalf("%s: Send returned while held: %v", mode.name, err)
		default:
		}
		close(hold)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Received()) - before; n != 1 {
			t.Fatalf("%s: %d received after the hold", mode.name, n)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		m = preparedMessage(t, "never@example.org")
		m.Hold = make(chan struct{})
		err := s.Send(ctx, m)
		cancel()
		if mail.ClassOf(err) != mail.ClassTemporary || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: held past the context: %v (class %q)", mode.name, err, mail.ClassOf(err))
		}
		if err := s.Send(context.Background(), preparedMessage(t, "next@example.org")); err != nil {
			t.Fatal(err)
		}
		// The hold ends, but HoldErr says the message must not be ended
		// (the previous outcome could not be recorded): it is abandoned.
		m = preparedMessage(t, "abandoned@example.org")
		released := make(chan struct{})
		m.Hold, m.HoldErr = released, func() error { return errors.New("outcome not recorded") }
		time.AfterFunc(20*time.Millisecond, func() { close(released) })
		if err := s.Send(context.Background(), m); mail.ClassOf(err) != mail.ClassTemporary || !strings.Contains(err.Error(), "outcome not recorded") {
			t.Errorf("%s: abandoned by HoldErr: %v (class %q)", mode.name, err, mail.ClassOf(err))
		}
		if err := s.Send(context.Background(), preparedMessage(t, "after-abandoned@example.org")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		for _, got := range srv.Received()[before:] {
			if got.To[0] == "never@example.org" || got.To[0] == "abandoned@example.org" {
				t.Errorf("%s: %s was delivered", mode.name, got.To[0])
			}
		}
	}
}

package smtpd_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/bounce/internal/bouncetest"
	"github.com/syndicated/syndicated/bounce/smtpd"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

const testdata = "../parse/testdata/"

// start runs the inbound server for f on loopback until the test ends.
func start(t *testing.T, f *bouncetest.Fixture, max int64, tlsConf *tls.Config) string {
	t.Helper()
	srv, err := smtpd.New(smtpd.Config{VERP: f.VERP, Handler: f.Proc, MaxMessageBytes: max, TLS: tlsConf, Observer: f.Count,
		Log: slog.New(slog.NewTextHandler(f.Log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// deliver sends raw from the null sender (as DSNs come) to rcpt.
func deliver(addr, rcpt string, raw []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail("", []string{rcpt}, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// The whole loop without a real MTA: the digest goes out through a relay
// that accepts everyone, each copy with its VERP envelope sender; the
// relay's DSNs come back to bounce.listen; the unknown mailbox is bounced,
// the full one counted, the complainer unsubscribed and suppressed, the
// reader who unsubscribed by mail off the list. (scripts/bounce-check.sh
// does the same through a real Postfix.)
func TestDigestBouncesComeBack(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		gone := f.Subscriber(t, "gone@mail.example.net")
		full := f.Subscriber(t, "full@mail.example.net")
		annoyed := f.Subscriber(t, "annoyed@mail.example.net")
		leaving := f.Subscriber(t, "leaving@mail.example.net")
		fine := f.Subscriber(t, "fine@mail.example.net")
		relay := bouncetest.StartRelay(t)
		iss, copies := f.SendDigest(t, relay, "shanghai-70th", 22)
		if len(copies) != 5 {
			t.Fatalf("relay got %d copies", len(copies))
		}
		froms := map[string]bool{}
		for to, c := range copies {
			if !strings.HasPrefix(c.From, "bounces+") || !strings.HasSuffix(c.From, "@bounce.example.org") || froms[c.From] {
				t.Errorf("copy to %s: envelope sender %q", to, c.From)
			}
			froms[c.From] = true
			if lu := headerLine(c.Raw, "List-Unsubscribe"); !strings.Contains(lu, "<mailto:bounces+unsubscribe-") {
				t.Errorf("List-Unsubscribe %q has no mailto: VERP address", lu)
			}
		}
		addr := start(t, f, 0, nil)
		for _, m := range []struct{ file, to string }{
			{"postfix-dsn-hard.eml", "gone@mail.example.net"},
			{"postfix-dsn-full.eml", "full@mail.example.net"},
			{"arf-abuse.eml", "annoyed@mail.example.net"},
		} {
			c := copies[m.to]
			if err := deliver(addr, c.From, bouncetest.DSN(t, testdata+m.file, c)); err != nil {
				t.Fatalf("%s: %v", m.file, err)
			}
		}
		mailto := unsubscribeAddress(headerLine(copies["leaving@mail.example.net"].Raw, "List-Unsubscribe"))
		unsub := "From: leaving@mail.example.net\r\nTo: " + mailto + "\r\nSubject: unsubscribe\r\nMessage-ID: <u1@mail.example.net>\r\n\r\nunsubscribe\r\n"
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendMail("leaving@mail.example.net", []string{mailto}, strings.NewReader(unsub)); err != nil {
			t.Fatal(err)
		}
		c.Close()

		if s := f.Get(t, gone.ID).Status; s != subscribers.StatusBounced {
			t.Errorf("unknown mailbox: %s", s)
		}
		if s := f.Get(t, full.ID); s.Status != subscribers.StatusActive || len(f.Events(t, full.ID)) != 1 {
			t.Errorf("full mailbox: %s, %d events", s.Status, len(f.Events(t, full.ID)))
		}
		if s := f.Get(t, annoyed.ID); s.Status != subscribers.StatusUnsubscribed {
			t.Errorf("complainer: %s", s.Status)
		}
		if _, err := f.Subs.Add(context.Background(), "annoyed@mail.example.net", "", nil, true); !errors.Is(err, subscribers.ErrSuppressed) {
			t.Errorf("complainer not suppressed: %v", err)
		}
		l := f.Get(t, leaving.ID)
		for _, sl := range l.Lists {
			if sl.List == "shanghai-70th" && sl.Active {
				t.Error("unsubscribe by mail: still on the list")
			}
		}
		if s := f.Get(t, fine.ID).Status; s != subscribers.StatusActive || len(f.Events(t, fine.ID)) != 0 {
			t.Errorf("a reader nothing happened to: %s", s)
		}
		counts, _ := st.IssueEventCounts(context.Background(), iss.ID)
		if counts[bounce.KindHard] != 1 || counts[bounce.KindSoft] != 1 || counts[bounce.KindComplaint] != 1 || counts[bounce.KindUnsubscribe] != 1 {
			t.Errorf("issue events %v", counts)
		}
		// The relay sends the hard bounce's DSN again: nothing more.
		if err := deliver(addr, copies["gone@mail.example.net"].From, bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", copies["gone@mail.example.net"])); err != nil {
			t.Fatal(err)
		}
		if s := f.Get(t, gone.ID); s.BounceCount != 1 || len(f.Events(t, gone.ID)) != 1 {
			t.Errorf("a redelivered DSN counted again: %d bounces", s.BounceCount)
		}
	})
}

func headerLine(raw []byte, name string) string {
	var out strings.Builder
	in := false
	for _, line := range strings.Split(string(raw), "\r\n") {
		if line == "" {
			break
		}
		if in && (line[0] == ' ' || line[0] == '\t') {
			out.WriteString(line)
			continue
		}
		in = false
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			out.WriteString(v)
			in = true
		}
	}
	return strings.TrimSpace(out.String())
}

func unsubscribeAddress(listUnsubscribe string) string {
	_, rest, _ := strings.Cut(listUnsubscribe, "<mailto:")
	addr, _, _ := strings.Cut(rest, "?")
	addr, _, _ = strings.Cut(addr, ">")
	return addr
}

// Only the bounce domain: no relay, no other mailbox of the domain.
func TestNoRelay(t *testing.T) {
	f := bouncetest.New(t, storagetest.SQLite(t))
	addr := start(t, f, 0, nil)
	msg := []byte("Subject: hi\r\n\r\nhello\r\n")
	if err := deliver(addr, "someone@elsewhere.example", msg); code(err) != 554 {
		t.Errorf("relay: %v, want 554", err)
	}
	if err := deliver(addr, "sales@bounce.example.org", msg); code(err) != 550 {
		t.Errorf("another mailbox of the domain: %v, want 550", err)
	}
	for _, rcpt := range []string{"postmaster@bounce.example.org", "bounces@bounce.example.org", "BOUNCES@Bounce.Example.org"} {
		if err := deliver(addr, rcpt, msg); err != nil {
			t.Errorf("%s: %v", rcpt, err)
		}
	}
	if !strings.Contains(f.Log.String(), "relaying refused") || strings.Contains(f.Log.String(), "someone@elsewhere") {
		t.Errorf("log:\n%s", f.Log)
	}
}

// Bad input: malformed MIME and a forged token are accepted and ignored
// (with a log line), and the next message is still read.
func TestBadInput(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		gone := f.Subscriber(t, "gone@mail.example.net")
		relay := bouncetest.StartRelay(t)
		_, copies := f.SendDigest(t, relay, "shanghai-70th", 22)
		c := copies["gone@mail.example.net"]
		addr := start(t, f, 0, nil)
		for _, file := range []string{"malformed-header.eml", "malformed-multipart.eml"} {
			if err := deliver(addr, c.From, bouncetest.DSN(t, testdata+file, c)); err != nil {
				t.Errorf("%s: %v", file, err)
			}
		}
		forged := strings.Replace(c.From, "bounces+", "bounces+a", 1)
		if err := deliver(addr, forged, bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", bouncetest.Sent{From: forged})); err != nil {
			t.Errorf("forged: %v", err)
		}
		if s := f.Get(t, gone.ID).Status; s != subscribers.StatusActive {
			t.Errorf("malformed or forged mail was acted on: %s", s)
		}
		if n := strings.Count(f.Log.String(), "bounce: notification ignored"); n != 3 {
			t.Errorf("%d ignored lines, want 3:\n%s", n, f.Log)
		}
		if !strings.Contains(f.Log.String(), "malformed message") {
			t.Errorf("no reason for the malformed message:\n%s", f.Log)
		}
		// The good DSN still goes through.
		if err := deliver(addr, c.From, bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", c)); err != nil {
			t.Fatal(err)
		}
		if s := f.Get(t, gone.ID).Status; s != subscribers.StatusBounced {
			t.Errorf("after the good DSN: %s", s)
		}
	})
}

// A 50 MB message is refused with 552 and a log line; the connection's
// next message is read.
func TestLargeMessage(t *testing.T) {
	f := bouncetest.New(t, storagetest.SQLite(t))
	gone := f.Subscriber(t, "gone@mail.example.net")
	relay := bouncetest.StartRelay(t)
	_, copies := f.SendDigest(t, relay, "shanghai-70th", 22)
	c := copies["gone@mail.example.net"]
	addr := start(t, f, 10<<20, nil)
	dsn := bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", c)
	big := append(append([]byte(nil), dsn...), bytes.Repeat([]byte(strings.Repeat("x", 76)+"\r\n"), 50<<20/78)...)
	cl, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.SendMail("", []string{c.From}, bytes.NewReader(big)); code(err) != 552 {
		t.Errorf("50 MB: %v, want 552", err)
	}
	if !strings.Contains(f.Log.String(), "bounce: message refused") || f.Count.Get("smtp/refused/") != 1 {
		t.Errorf("no log line or count for the large message:\n%s", f.Log)
	}
	if s := f.Get(t, gone.ID).Status; s != subscribers.StatusActive {
		t.Errorf("the refused message was acted on: %s", s)
	}
	if err := cl.SendMail("", []string{c.From}, bytes.NewReader(dsn)); err != nil {
		t.Fatalf("the next message on the connection: %v", err)
	}
	if s := f.Get(t, gone.ID).Status; s != subscribers.StatusBounced {
		t.Errorf("after the good DSN: %s", s)
	}
}

func TestTemporaryFailureIs451(t *testing.T) {
	f := bouncetest.New(t, storagetest.SQLite(t))
	f.Subscriber(t, "gone@mail.example.net")
	relay := bouncetest.StartRelay(t)
	_, copies := f.SendDigest(t, relay, "shanghai-70th", 22)
	c := copies["gone@mail.example.net"]
	addr := start(t, f, 0, nil)
	f.Store.Close()
	if err := deliver(addr, c.From, bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", c)); code(err) != 451 {
		t.Errorf("with the store down: %v, want 451", err)
	}
}

func TestSTARTTLS(t *testing.T) {
	f := bouncetest.New(t, storagetest.SQLite(t))
	gone := f.Subscriber(t, "gone@mail.example.net")
	relay := bouncetest.StartRelay(t)
	_, copies := f.SendDigest(t, relay, "shanghai-70th", 22)
	c := copies["gone@mail.example.net"]
	cert, pool := selfSigned(t, "bounce.example.org")
	addr := start(t, f, 0, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	cl, err := smtp.DialStartTLS(addr, &tls.Config{ServerName: "bounce.example.org", RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cl.TLSConnectionState(); !ok {
		t.Fatal("no TLS")
	}
	if err := cl.SendMail("", []string{c.From}, bytes.NewReader(bouncetest.DSN(t, testdata+"postfix-dsn-hard.eml", c))); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if s := f.Get(t, gone.ID).Status; s != subscribers.StatusBounced {
		t.Errorf("over STARTTLS: %s", s)
	}
}

func selfSigned(t *testing.T, host string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/syndicated/syndicated/internal/smtptest"
	"github.com/syndicated/syndicated/internal/testkit"
)

// digestFixture is a data directory with the sample articles and n active
// subscribers (reader00@example.org …), and the environment that sends
// through srv with a public base_url.
func digestFixture(t *testing.T, srv *smtptest.Server, n int) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	samples, err := filepath.Abs("../../samples")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"SYNDICATED_BASE_URL=https://news.example.com", "SYNDICATED_SMTP_URL=" + srv.URL()}
	if r := runBinary(t, dir, env, "import", samples); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	var csv strings.Builder
	csv.WriteString("email,status,lists\n")
	for i := range n {
		fmt.Fprintf(&csv, "reader%02d@example.org,active,shanghai-70th\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "subs.csv"), []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runBinary(t, dir, env, "subscribers", "import", "subs.csv"); r.code != 0 {
		t.Fatalf("subscribers import: %s%s", r.stdout, r.stderr)
	}
	return dir, env
}

var week22 = []string{"--week", "2019-W22", "--since", "2019-05-01"}

// TestBinaryRelayRefusal: a relay that refuses every recipient with 554
// 5.7.1 bounces nobody; digest send stops after the first few, exits 1,
// prints the reply, and logs a warning. status shows it; the relay fixed,
// retry-failed and a second send deliver everyone once.
func TestBinaryRelayRefusal(t *testing.T) {
	relay := smtptest.NewSwitch(smtptest.Reply(554, 5, 7, 1, "Relay access denied"))
	srv := smtptest.Start(t, smtptest.Script{Rcpt: relay.Rcpt})
	dir, env := digestFixture(t, srv, 20)
	testkit.Step(t, "send to a refusing relay", func(t *testing.T) {
		r := runBinary(t, dir, env, append([]string{"digest", "send"}, week22...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "554 5.7.1 Relay access denied") || !strings.Contains(r.stderr, "sending stopped") ||
			!strings.Contains(r.stderr, "level=WARN") || strings.Contains(r.stdout, "finished") {
			t.Fatalf("send: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stderr, "reader0") {
			t.Errorf("an address reached stderr:\n%s", r.stderr)
		}
	})
	testkit.Step(t, "nobody bounced", func(t *testing.T) {
		r := runBinary(t, dir, env, "subscribers", "list", "--status", "bounced")
		if r.code != 0 || r.stdout != "" {
			t.Errorf("bounced after a relay refusal: %q", r.stdout)
		}
	})
	testkit.Step(t, "status shows the reply", func(t *testing.T) {
		r := runBinary(t, dir, env, "digest", "status", "--week", "2019-W22")
		if r.code != 0 || !strings.Contains(r.stdout, "shanghai-70th/2019-W22: sending") || !strings.Contains(r.stdout, "failed: mail: rcpt failed (permanent, 554 5.7.1): 554 5.7.1 Relay access denied") ||
			!strings.Contains(r.stdout, "not tried yet") {
			t.Fatalf("status: %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
	testkit.Step(t, "retry-failed once the relay is fixed", func(t *testing.T) {
		relay.Set(false)
		r := runBinary(t, dir, env, "digest", "retry-failed", "--week", "2019-W22")
		if r.code != 0 || !strings.Contains(r.stdout, "failed deliveries are pending again") {
			t.Fatalf("retry-failed: %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
	testkit.Step(t, "send again", func(t *testing.T) {
		r := runBinary(t, dir, env, append([]string{"digest", "send"}, week22...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "sent 20,") || !strings.Contains(r.stdout, "finished") || len(srv.Received()) != 20 {
			t.Fatalf("send after the fix: %d (%d received)\n%s\n%s", r.code, len(srv.Received()), r.stdout, r.stderr)
		}
	})
	testkit.Step(t, "status after", func(t *testing.T) {
		r := runBinary(t, dir, env, "digest", "status")
		if r.code != 0 || !strings.Contains(r.stdout, "sent 20, pending 0, sending 0, failed 0") {
			t.Errorf("status after: %s", r.stdout)
		}
	})
}

// TestBinaryServerDown: nothing listening, or 421/450/451 to everyone:
// exit 1 with the reason on stderr, deliveries left to retry later.
func TestBinaryServerDown(t *testing.T) {
	for _, c := range []struct {
		name, want string
		reply      error
	}{
		{"421", "421 4.3.2 Service shutting down", smtptest.Reply(421, 4, 3, 2, "Service shutting down")},
		{"450", "450 4.2.0 Mailbox busy", smtptest.Reply(450, 4, 2, 0, "Mailbox busy")},
		{"451", "451 4.3.0 Local error in processing", smtptest.Reply(451, 4, 3, 0, "Local error in processing")},
		{"refused", "connect: connection refused", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Script{Rcpt: func(string) error { return c.reply }})
			dir, env := digestFixture(t, srv, 3)
			if c.reply == nil {
				env = append(env, "SYNDICATED_SMTP_URL=smtp://127.0.0.1:1?tls=none")
			}
			r := runBinary(t, dir, env, append([]string{"digest", "send"}, week22...)...)
			if r.code != 1 || !strings.Contains(r.stderr, "nothing could be sent") || !strings.Contains(r.stderr, "level=WARN") ||
				!strings.Contains(r.stdout, "retry later 3") || !strings.Contains(r.stdout, "3 wait for a retry") {
				t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, "3 to retry: mail: ") || !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, r.stderr)
			}
			if len(srv.Received()) != 0 {
				t.Errorf("%d received", len(srv.Received()))
			}
		})
	}
}

// TestBinaryUnbounce: a 550 5.1.1 bounces its subscriber only; unbounce
// by address and --all-since undo bounces.
func TestBinaryUnbounce(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Script{Rcpt: func(to string) error {
		if to == "reader01@example.org" || to == "reader02@example.org" {
			return smtptest.Reply(550, 5, 1, 1, "User unknown")
		}
		return nil
	}})
	dir, env := digestFixture(t, srv, 4)
	r := runBinary(t, dir, env, append([]string{"digest", "send"}, week22...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "sent 2, retry later 0, failed 0, bounced 2") || !strings.Contains(r.stderr, "digest: subscriber bounced") ||
		!strings.Contains(r.stderr, "2 failed: mail: rcpt failed (permanent, 550 5.1.1): 550 5.1.1 User unknown") {
		t.Fatalf("send: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runBinary(t, dir, env, "subscribers", "list", "--status", "bounced")
	if strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("bounced: %q", r.stdout)
	}
	r = runBinary(t, dir, env, "subscribers", "unbounce", "reader01@Example.ORG", "reader00@example.org")
	if r.code != 1 || !strings.Contains(r.stdout, "reader01@example.org active") || !strings.Contains(r.stderr, "1 of 2 addresses were not bounced") ||
		!strings.Contains(r.stderr, "reader00@example.org: not bounced") {
		t.Fatalf("unbounce: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runBinary(t, dir, env, "subscribers", "unbounce", "--all-since", "2000-01-01")
	if r.code != 0 || !strings.Contains(r.stdout, "reader02@example.org active") || !strings.Contains(r.stdout, "1 unbounced") {
		t.Fatalf("unbounce --all-since: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runBinary(t, dir, env, "subscribers", "unbounce"); r.code != 2 {
		t.Errorf("unbounce without arguments: exit %d", r.code)
	}
	r = runBinary(t, dir, env, "subscribers", "list", "--status", "bounced")
	if r.stdout != "" {
		t.Errorf("still bounced: %q", r.stdout)
	}
}

// TestBinaryLoopbackRefused: with smtp.url set and base_url at its
// loopback default, digest send refuses and names the key; config check
// warns, also about an http base_url.
func TestBinaryLoopbackRefused(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Script{})
	dir, env := digestFixture(t, srv, 2)
	env = append(env, "SYNDICATED_BASE_URL=http://127.0.0.1:8080")
	r := runBinary(t, dir, env, append([]string{"digest", "send"}, week22...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "set base_url") || len(srv.Received()) != 0 {
		t.Fatalf("send with a loopback base_url: %d\n%s", r.code, r.stderr)
	}
	r = runBinary(t, dir, env, "config", "check")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: base_url: http://127.0.0.1:8080 is loopback while smtp.url is set") ||
		!strings.Contains(r.stderr, "List-Unsubscribe is not https") {
		t.Fatalf("config check: %d\n%s", r.code, r.stderr)
	}
	r = runBinary(t, dir, []string{"SYNDICATED_BASE_URL=https://news.example.com"}, "config", "check")
	if r.code != 0 || strings.Contains(r.stderr, "warning") {
		t.Errorf("config check with https base_url: %d\n%s", r.code, r.stderr)
	}
}

// TestBinaryDataTimeout: a server that answers the final "." after
// smtp.data_timeout keeps the message; digest send counts it "maybe
// delivered", exits 1, and a second send at once sends no second copy.
func TestBinaryDataTimeout(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Script{Data: func([]string, []byte) error {
		time.Sleep(1500 * time.Millisecond)
		return nil
	}})
	dir, env := digestFixture(t, srv, 1)
	env = append(env, "SYNDICATED_SMTP_DATA_TIMEOUT=500ms")
	r := runBinary(t, dir, env, append([]string{"digest", "send"}, week22...)...)
	if r.code != 1 || !strings.Contains(r.stdout, "retry later 1") || !strings.Contains(r.stderr, "maybe delivered") {
		t.Fatalf("send: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runBinary(t, dir, env, append([]string{"digest", "send"}, week22...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "sent 0, retry later 0") || !strings.Contains(r.stdout, "1 wait for a retry") {
		t.Fatalf("second send: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(srv.Received()); n != 1 {
		t.Errorf("server has %d copies, want 1", n)
	}
}

// TestBinaryDKIM: with smtp.dkim_* set, the digest goes out signed; the
// signature verifies (go-msgauth) against the public key.
func TestBinaryDKIM(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t, smtptest.Script{})
	dir, env := digestFixture(t, srv, 2)
	keyFile := filepath.Join(dir, "dkim.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(env, "SYNDICATED_SMTP_DKIM_DOMAIN=syndicated.example", "SYNDICATED_SMTP_DKIM_SELECTOR=mail2026",
		"SYNDICATED_SMTP_DKIM_KEY_FILE="+keyFile)
	if r := runBinary(t, dir, env, append([]string{"digest", "send"}, week22...)...); r.code != 0 {
		t.Fatalf("send: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	lookup := func(name string) ([]string, error) {
		if name != "mail2026._domainkey.syndicated.example" {
			return nil, fmt.Errorf("no TXT record at %s", name)
		}
		return []string{"v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)}, nil
	}
	got := srv.Received()
	if len(got) != 2 {
		t.Fatalf("received %d", len(got))
	}
	for _, m := range got {
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Raw), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "syndicated.example" {
			t.Errorf("DKIM verification: %v %+v", err, vs)
		}
	}
	// Half a DKIM configuration is a config error that names the keys.
	r := runBinary(t, dir, []string{"SYNDICATED_SMTP_DKIM_DOMAIN=syndicated.example"}, "config", "check")
	if r.code != 1 || !strings.Contains(r.stderr, "smtp.dkim_selector and smtp.dkim_key_file") {
		t.Errorf("half a DKIM config: %d\n%s", r.code, r.stderr)
	}
}

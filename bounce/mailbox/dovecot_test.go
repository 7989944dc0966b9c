package mailbox_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"
)

// dovecot is a real IMAP server (Debian's dovecot-imapd) on a loopback
// port with TLS only, in a directory of its own, for one test.
type dovecot struct {
	addr     string
	user     string
	password string
	roots    *x509.CertPool
	log      string
}

// startDovecot runs Dovecot until the test ends. It skips when Dovecot
// is not installed, and fails instead under CI, where scripts/test.sh
// installs it.
func startDovecot(t *testing.T) *dovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		for _, p := range []string{"/usr/sbin/dovecot", "/usr/local/sbin/dovecot"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("dovecot is not installed (apt-get install dovecot-imapd)")
		}
		t.Skip("dovecot is not installed (apt-get install dovecot-imapd)")
	}
	// As root, Dovecot's processes run as its own users and the mail as
	// nobody; otherwise everything runs as the current user.
	users, loginChroot := "first_valid_uid = 1\n", ""
	uid, gid := 65534, 65534
	if os.Geteuid() != 0 {
		me, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		grp, err := user.LookupGroupId(me.Gid)
		if err != nil {
			t.Fatal(err)
		}
		uid, gid = os.Geteuid(), os.Getegid()
		users = fmt.Sprintf("first_valid_uid = %d\nfirst_valid_gid = %d\ndefault_internal_user = %s\ndefault_internal_group = %s\ndefault_login_user = %s\nservice anvil {\n  chroot =\n}\n",
			min(uid, 1), min(gid, 1), me.Username, grp.Name, me.Username)
		loginChroot = "  chroot =\n" // chroot needs root
	}
	dir, err := os.MkdirTemp("", "syndicated-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"run", "state", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "home"), uid, gid); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, roots := certificate(t)
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cert.pem", certPEM)
	write("key.pem", keyPEM)
	d := &dovecot{user: "bounces", password: "imap-test-password", roots: roots, log: filepath.Join(dir, "dovecot.log")}
	write("passwd", d.user+":{PLAIN}"+d.password+"\n")
	port := freePort(t)
	d.addr = fmt.Sprintf("127.0.0.1:%d", port)
	write("dovecot.conf", fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
auth_mechanisms = plain
%[3]spassdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[4]d gid=%[5]d home=%[1]s/home/%%u
}
mail_location = maildir:~/Maildir
service imap-login {
%[6]s  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = %[2]d
    ssl = yes
  }
}
`, dir, port, users, uid, gid, loginChroot))
	cmd := exec.Command(bin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			if b, err := os.ReadFile(d.log); err == nil {
				t.Logf("dovecot log:\n%s", b)
			}
		}
	})
	// Ready once a login works (the auth process starts after the
	// listener).
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := d.client()
		if err == nil {
			_ = c.Logout()
			return d
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(d.log)
			t.Fatalf("dovecot did not come up: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// url is the bounce.mailbox URL of mailbox.
func (d *dovecot) url(mailbox string) string {
	return "imaps://" + d.user + ":" + d.password + "@" + d.addr + "/" + mailbox
}

func (d *dovecot) tls() *tls.Config {
	return &tls.Config{RootCAs: d.roots, MinVersion: tls.VersionTLS12}
}

// client logs in as the mailbox's owner.
func (d *dovecot) client() (*client.Client, error) {
	conf := d.tls()
	conf.ServerName = "127.0.0.1"
	c, err := client.DialWithDialerTLS(&net.Dialer{Timeout: 5 * time.Second}, d.addr, conf)
	if err != nil {
		return nil, err
	}
	c.Timeout = 10 * time.Second
	if err := c.Login(d.user, d.password); err != nil {
		_ = c.Logout()
		return nil, err
	}
	return c, nil
}

// deliver appends raw to mailbox as a delivery agent would, with the
// Delivered-To line Dovecot's LDA writes for the envelope recipient.
func (d *dovecot) deliver(t *testing.T, mailbox, rcpt string, raw []byte) {
	t.Helper()
	c, err := d.client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout()
	if rcpt != "" {
		raw = append([]byte("Delivered-To: "+rcpt+"\r\n"), raw...)
	}
	msg := strings.ReplaceAll(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n", "\r\n")
	if err := c.Append(mailbox, nil, time.Now(), bytes.NewBufferString(msg)); err != nil {
		t.Fatal(err)
	}
}

// count is how many messages mailbox holds, and how many carry flag.
func (d *dovecot) count(t *testing.T, mailbox, flag string) (all, flagged int) {
	t.Helper()
	c, err := d.client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout()
	st, err := c.Select(mailbox, true)
	if err != nil {
		return 0, 0
	}
	all = int(st.Messages)
	if all == 0 || flag == "" {
		return all, 0
	}
	set := new(goimap.SeqSet)
	set.AddRange(1, 0)
	ch := make(chan *goimap.Message, all)
	if err := c.Fetch(set, []goimap.FetchItem{goimap.FetchFlags}, ch); err != nil {
		t.Fatal(err)
	}
	for m := range ch {
		for _, f := range m.Flags {
			if strings.EqualFold(f, flag) { // go-imap lower-cases keywords
				flagged++
			}
		}
	}
	return all, flagged
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// certificate is a self-signed certificate for 127.0.0.1, PEM-encoded,
// and the pool that trusts it.
func certificate(t *testing.T) (certPEM, keyPEM string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "imap.test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(c)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), roots
}

package main

// Hostile input through the real binary: files that would take the daemon
// down (issue 19).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syndicated/syndicated/storage"
)

// memoryLimitKB bounds the address space of the binary in these tests, so
// that a regression (an alias bomb expanded, /dev/zero read to the end)
// fails the test instead of the machine.
const memoryLimitKB = 3 << 20

// limitedCommand runs the binary through sh with ulimit -v, in dir.
func limitedCommand(ctx context.Context, t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", fmt.Sprintf(`ulimit -v %d && exec "$0" "$@"`, memoryLimitKB), binary(t)}, args...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	return cmd
}

// hostileContent fills dir with one good article and the files of issue
// 19: a 9×9 YAML alias bomb, a FIFO and a link to /dev/zero.
func hostileContent(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "canal.json"), `{"id":"canal-clean-up","section":"society","headline":"Volunteers clear a city canal",
"published":"2019-06-10T09:00:00+08:00","body":["First paragraph.","Second paragraph."]}`)
	bomb := "---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += fmt.Sprintf("%s: &%s [*%[3]s,*%[3]s,*%[3]s,*%[3]s,*%[3]s,*%[3]s,*%[3]s,*%[3]s,*%[3]s]\n", name, name, prev)
		prev = name
	}
	bomb += "---\nBody.\n"
	writeFile(t, filepath.Join(dir, "bomb.md"), bomb)
	if err := syscall.Mkfifo(filepath.Join(dir, "stuck.md"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "z.json")); err != nil {
		t.Fatal(err)
	}
}

// hostileReasons is what each bad file is reported with.
var hostileReasons = map[string]string{
	"bomb.md":  "expands to more than 10000 values",
	"stuck.md": "not a regular file but a named pipe",
	"z.json":   "not a regular file but a character device",
}

// syndicated import of a directory holding an alias bomb, a FIFO and a
// link to /dev/zero beside a good file: the good one is imported, each bad
// one named with its reason, and the command ends at once with exit 1.
// Named one by one on the command line, they are refused the same way.
func TestImportHostileFiles(t *testing.T) {
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	hostileContent(t, content)
	for _, args := range [][]string{
		{content},
		{filepath.Join(content, "canal.json"), filepath.Join(content, "bomb.md"), filepath.Join(content, "stuck.md"), filepath.Join(content, "z.json")},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := limitedCommand(ctx, t, dir, []string{"SYNDICATED_SAMPLES=false"}, append([]string{"import", "--data", filepath.Join(dir, "data")}, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		late := ctx.Err()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || late != nil {
			t.Fatalf("import %v: %v (want exit 1 at once)\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), firstLines(errb.String(), 20))
		}
		if !strings.Contains(out.String(), "canal-clean-up") || !strings.Contains(out.String(), "3 failed") {
			t.Errorf("import %v: stdout:\n%s", args, out.String())
		}
		for name, why := range hostileReasons {
			line := ""
			if name == "bomb.md" {
				line = ":6" // the key whose aliases go past the bound
			}
			re := regexp.MustCompile(`(?m)^error: \S*` + regexp.QuoteMeta(name+line) + `: .*` + regexp.QuoteMeta(why))
			if !re.MatchString(errb.String()) {
				t.Errorf("import %v: no line naming %s with %q:\n%s", args, name, why, errb.String())
			}
		}
	}
}

// serve with those files in content_dir starts, serves the good article,
// counts the three rejected files, logs each with its reason, and stops
// at once on SIGTERM; and again after a restart.
func TestServeWithHostileContentDir(t *testing.T) {
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	hostileContent(t, content)
	env := []string{"SYNDICATED_SAMPLES=false", "SYNDICATED_CONTENT_DIR=" + content}
	for round := 1; round <= 2; round++ {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		cmd := limitedCommand(ctx, t, dir, env, "serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		addr := make(chan string, 1)
		var logs syncBuffer
		go func() {
			sc := bufio.NewScanner(stderr)
			re := regexp.MustCompile(`msg=serving addr=(http://\S+?)/? `)
			for sc.Scan() {
				logs.Write(append(sc.Bytes(), '\n'))
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					addr <- m[1]
				}
			}
			io.Copy(io.Discard, stderr)
		}()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var base string
		select {
		case base = <-addr:
		case err := <-done:
			cancel()
			t.Fatalf("round %d: serve exited (%v) before listening:\n%s", round, err, logs.String())
		case <-time.After(60 * time.Second):
			cancel()
			t.Fatalf("round %d: serve did not start within 60 s:\n%s", round, logs.String())
		}
		if resp, _ := get(t, base+"/articles/canal-clean-up"); resp.StatusCode != 200 {
			t.Errorf("round %d: the good article: %d", round, resp.StatusCode)
		}
		m := scrape(t, base)
		if got := m[`syndicated_ingest_articles_total{outcome="rejected",source="content-dir"}`]; got < 3 {
			t.Errorf("round %d: rejected files counted %v, want 3", round, got)
		}
		for name, why := range hostileReasons {
			if !regexp.MustCompile(regexp.QuoteMeta(name) + `(:\d+)?: [^\n]*` + regexp.QuoteMeta(why)).MatchString(logs.String()) {
				t.Errorf("round %d: the log does not name %s with %q", round, name, why)
			}
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("round %d: serve exited with %v after SIGTERM:\n%s", round, err, logs.String())
			}
		case <-time.After(25 * time.Second):
			t.Errorf("round %d: serve did not stop within 25 s of SIGTERM", round)
		}
		cancel()
	}
}

// loopbackPort is a free port on a loopback address other than 127.0.0.1.
func loopbackPort(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("listen on %s: %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// clientFrom is an HTTP client whose connections come from ip.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

// Behind the shipped nginx site, with http.trusted_proxies set to nginx's
// address, a client that writes Forwarded (and X-Forwarded-For, and
// X-Real-IP) headers of its own still gets the per-client limit: 5
// sign-ups, then 429; another client has its own bucket; and the consent
// record holds the client's real address.
func TestNginxClientCannotChooseItsAddress(t *testing.T) {
	nginx := need(t, "nginx")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := []string{"SYNDICATED_SAMPLES=false", "SYNDICATED_HTTP_TRUSTED_PROXIES=127.0.0.1"}
	upstream := strings.TrimPrefix(startServe(t, dir, env, "--data", data), "http://")
	public := filepath.Join(dir, "public")
	if err := os.MkdirAll(public, 0o755); err != nil {
		t.Fatal(err)
	}
	// nginx on 127.0.0.2, the visitor on 127.0.0.3: nginx reaches serve
	// from 127.0.0.1, the only trusted proxy.
	addr := loopbackPort(t, "127.0.0.2")
	ngx := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(ngx, 0o755); err != nil {
		t.Fatal(err)
	}
	startNginx(t, nginx, ngx, addr, public, upstream)
	site := "http://" + addr
	signUp := func(client *http.Client, email string, i int) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, site+"/subscribe", strings.NewReader(`{"email":"`+email+`","lists":["shanghai-70th"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Forwarded", fmt.Sprintf("for=198.51.100.%d", i))
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		req.Header.Set("X-Real-IP", fmt.Sprintf("192.0.2.%d", i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	visitor := clientFrom("127.0.0.3")
	var codes []int
	for i := range 7 {
		codes = append(codes, signUp(visitor, fmt.Sprintf("visitor%d@example.org", i), i+1))
	}
	want := []int{202, 202, 202, 202, 202, 429, 429}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Errorf("7 sign-ups from one client with forged headers: %v, want %v", codes, want)
	}
	if code := signUp(clientFrom("127.0.0.4"), "neighbour@example.org", 9); code != http.StatusAccepted {
		t.Errorf("another client: %d, want 202 (its own bucket)", code)
	}
	db, err := storage.OpenSQLiteFile(filepath.Join(data, "syndicated.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	waitFor(t, "the sign-ups stored", func() bool {
		var n int
		return db.QueryRow(`SELECT count(*) FROM subscribers`).Scan(&n) == nil && n == 6
	})
	rows, err := db.Query(`SELECT email, consent_ip FROM subscribers ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var email, ip string
		if err := rows.Scan(&email, &ip); err != nil {
			t.Fatal(err)
		}
		wantIP := "127.0.0.3"
		if email == "neighbour@example.org" {
			wantIP = "127.0.0.4"
		}
		if ip != wantIP {
			t.Errorf("%s: consent address %q, want %s", email, ip, wantIP)
		}
	}
}

// outsideAddr is an address of this machine that is not loopback, for a
// client that is no loopback client; "" when it has none (a container
// without a network).
func outsideAddr() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && n.IP.IsGlobalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}

// With the default config, /metrics answers a scraper on this machine and
// is a 404 page for anyone else (a client on another address, or one
// relayed by a proxy that is not trusted); subscriber counts there are
// coarse (multiples of 10, one sign-up invisible); public_metrics = true
// serves it to everyone.
func TestMetricsNotPublicByDefault(t *testing.T) {
	outside := outsideAddr()
	if outside == "" {
		t.Log("no non-loopback address here: a client on another address is not tried (a relayed one is)")
	}
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("email\n")
	for i := range 12 {
		fmt.Fprintf(&csv, "reader%d@example.org\n", i)
	}
	writeFile(t, filepath.Join(dir, "readers.csv"), csv.String())
	env := []string{"SYNDICATED_SAMPLES=false"}
	if r := runBinary(t, dir, env, "subscribers", "import", "--data", "data", "readers.csv"); r.code != 0 {
		t.Fatalf("import: %s", r.stderr)
	}
	base := startServe(t, dir, env, "--data", "data", "--listen", "0.0.0.0:0")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	metricsFrom := func(host string, hdr ...string) (int, string) {
		t.Helper()
		resp, body := get(t, "http://"+net.JoinHostPort(host, port)+"/metrics", hdr...)
		return resp.StatusCode, string(body)
	}
	code, body := metricsFrom("127.0.0.1")
	if code != 200 || !strings.Contains(body, "\nsyndicated_subscribers{status=\"active\"} 10\n") {
		t.Errorf("from loopback: %d, active subscribers not 12 rounded down to 10:\n%s", code, firstLines(body, 5))
	}
	if outside != "" {
		if code, body := metricsFrom(outside); code != 404 || strings.Contains(body, "syndicated_") {
			t.Errorf("from %s: %d", outside, code)
		}
	}
	if code, _ := metricsFrom("127.0.0.1", "X-Forwarded-For", "203.0.113.9"); code != 404 {
		t.Errorf("relayed by a local proxy that is not trusted: %d", code)
	}
	// One sign-up of a new address: nothing to see.
	if code := signUp(t, "http://127.0.0.1:"+port, "newcomer@example.org"); code != http.StatusAccepted {
		t.Fatalf("sign-up: %d", code)
	}
	if code, body := metricsFrom("127.0.0.1"); code != 200 || !strings.Contains(body, "\nsyndicated_subscribers{status=\"pending\"} 0\n") {
		t.Errorf("after a sign-up: %d\n%s", code, body)
	}

	pub := startServe(t, t.TempDir(), []string{"SYNDICATED_SAMPLES=false", "SYNDICATED_HTTP_PUBLIC_METRICS=true"}, "--data", "data", "--listen", "0.0.0.0:0")
	_, pport, _ := net.SplitHostPort(strings.TrimPrefix(pub, "http://"))
	if resp, _ := get(t, "http://127.0.0.1:"+pport+"/metrics", "X-Forwarded-For", "203.0.113.9"); resp.StatusCode != 200 {
		t.Errorf("public_metrics = true, relayed: %d", resp.StatusCode)
	}
	if outside != "" {
		if resp, _ := get(t, "http://"+net.JoinHostPort(outside, pport)+"/metrics"); resp.StatusCode != 200 {
			t.Errorf("public_metrics = true, from %s: %d", outside, resp.StatusCode)
		}
	}
}

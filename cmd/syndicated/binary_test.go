package main

// Tests through the real binary, as an operator meets it: built once,
// run as a subprocess with its own working and data directory.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

var built struct {
	once sync.Once
	path string
	err  error
}

// binary builds the command once per test run and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "syndicated-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "syndicated")
		out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

type result struct {
	code           int
	stdout, stderr string
}

// runBinary runs the binary in dir with env added to a minimal environment.
func runBinary(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{code, out.String(), errb.String()}
}

// readmeSession returns the command lines of the README block that
// follows "A session from a fresh directory".
func readmeSession(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "A session from a fresh directory")
	if !ok {
		t.Fatal("README has no session block")
	}
	var lines []string
	started := false
	for _, l := range strings.Split(after, "\n") {
		if cmd, ok := strings.CutPrefix(l, "    syndicated "); ok {
			started = true
			lines = append(lines, "syndicated "+cmd)
		} else if started {
			break
		}
	}
	if len(lines) < 10 {
		t.Fatalf("README session block has %d lines", len(lines))
	}
	return lines
}

// shellWords splits a README line the way a shell would for the forms it
// uses: words, "double-quoted words" and "> FILE".
func shellWords(line string) (args []string, redirect string) {
	re := regexp.MustCompile(`"[^"]*"|\S+`)
	words := re.FindAllString(line, -1)
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == ">" && i+1 < len(words) {
			redirect = words[i+1]
			i++
			continue
		}
		args = append(args, strings.Trim(w, `"`))
	}
	return args[1:], redirect // without "syndicated"
}

// Every line of the README's session runs as written, in order, in a fresh
// directory, and exits 0.
func TestREADMESessionRunsAsWritten(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../samples", filepath.Join(dir, "samples"))
	for _, line := range readmeSession(t) {
		args, redirect := shellWords(line)
		r := runBinary(t, dir, nil, args...)
		if r.code != 0 {
			t.Fatalf("%s\nexit %d\nstdout:\n%s\nstderr:\n%s", line, r.code, r.stdout, r.stderr)
		}
		if redirect != "" {
			writeFile(t, filepath.Join(dir, redirect), r.stdout)
		}
		t.Logf("%s\n%s", line, firstLines(r.stdout, 3))
		switch {
		case strings.HasPrefix(line, "syndicated subscribers list"):
			if !strings.Contains(r.stdout, "reader@example.org\tactive\t") || strings.Contains(r.stdout, "pending@") {
				t.Errorf("list --status active: %q", r.stdout)
			}
		case strings.HasPrefix(line, "syndicated subscribers add reader"):
			if !strings.Contains(r.stdout, "reader@example.org active") {
				t.Errorf("add --confirmed after the address: %q", r.stdout)
			}
		case strings.HasPrefix(line, "syndicated import"):
			if !strings.Contains(r.stdout, "samples/") || strings.Contains(r.stderr, "error") {
				t.Errorf("import did not import the directory: %s %s", r.stdout, r.stderr)
			}
		case strings.HasPrefix(line, "syndicated digest preview"):
			if !strings.Contains(r.stdout, "2019-W22") {
				t.Errorf("preview of the asked week: %s", firstLines(r.stdout, 5))
			}
		}
		// Only commands that send mail say where mail goes.
		sends := strings.HasPrefix(line, "syndicated subscribers add pending")
		if says := strings.Contains(r.stderr, ".eml"); says != sends {
			t.Errorf("%s: mentions the mail spool: %v, want %v\n%s", line, says, sends, r.stderr)
		}
	}
	for _, f := range []string{"syndicated.toml", "subscribers.csv", "syndicated-backup.db", "public/feeds/society.rss", "data/syndicated.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the session did not leave %s: %v", f, err)
		}
	}
}

func firstLines(s string, n int) string {
	l := strings.SplitN(s, "\n", n+1)
	return strings.Join(l[:min(n, len(l))], "\n")
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := os.CopyFS(to, os.DirFS(from))
	if err != nil {
		t.Fatal(err)
	}
}

// The README's synopses name only flags the commands take.
func TestREADMESynopsesMatchFlags(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	syn := regexp.MustCompile(`(?m)^    syndicated ([a-z]+(?: [a-z]+)?)((?: [^ #]+)*)`)
	flagRe := regexp.MustCompile(`--[a-z-]+`)
	n := 0
	for _, m := range syn.FindAllStringSubmatch(string(b), -1) {
		name := m[1]
		if strings.Contains(name, "|") || !strings.Contains(m[2], "[") && !strings.Contains(m[2], "--") {
			continue
		}
		if _, _, ok := (&cli{}).program().Find(strings.Fields(name)); !ok {
			continue
		}
		r := runBinary(t, dir, nil, append(strings.Fields(name), "--help")...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%s --help: exit %d, stderr %q", name, r.code, r.stderr)
			continue
		}
		for _, f := range flagRe.FindAllString(m[2], -1) {
			if !strings.Contains(r.stdout, "  -"+strings.TrimPrefix(f, "--")+" ") && !strings.Contains(r.stdout, "  -"+strings.TrimPrefix(f, "--")+"\n") {
				t.Errorf("README shows %s %s, which its help does not list:\n%s", name, f, r.stdout)
			}
		}
		n++
	}
	if n < 6 {
		t.Errorf("checked only %d synopses", n)
	}
}

func TestHelpVersionAndMisuse(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args     []string
		code     int
		onStdout string // "" = stdout must be empty
		onStderr string // "" = stderr must be empty
	}{
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"-h"}, 0, "Commands:", ""},
		{[]string{"help"}, 0, "Commands:", ""},
		{[]string{"help", "subscribers", "add"}, 0, "-confirmed", ""},
		{[]string{"subscribers", "add", "--help"}, 0, "-confirmed", ""},
		{[]string{"digest", "send", "-h"}, 0, "-dry-run", ""},
		{[]string{"--version"}, 0, "syndicated ", ""},
		{[]string{"version"}, 0, "syndicated ", ""},
		{[]string{"subscribers", "--help"}, 0, "subscribers export", ""},
		{nil, 2, "", "Commands:"},
		{[]string{"subscribers"}, 2, "", "subscribers remove EMAIL"},
		{[]string{"digest"}, 2, "", "digest preview"},
		{[]string{"digest", "publish"}, 2, "", `unknown command "digest publish"`},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"subscribers", "add"}, 2, "", "give exactly one EMAIL"},
		{[]string{"subscribers", "add", "a@example.org", "--nmae", "x"}, 2, "", "flag provided but not defined: -nmae"},
		{[]string{"feeds", "build", "extra"}, 2, "", "takes no arguments"},
		{[]string{"backup"}, 2, "", "--out FILE is required"},
	}
	for _, tc := range cases {
		r := runBinary(t, dir, nil, tc.args...)
		if r.code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s%s", tc.args, r.code, tc.code, r.stdout, r.stderr)
		}
		for _, x := range []struct{ got, want, name string }{{r.stdout, tc.onStdout, "stdout"}, {r.stderr, tc.onStderr, "stderr"}} {
			if x.want == "" && x.got != "" || !strings.Contains(x.got, x.want) {
				t.Errorf("%v: %s = %q, want it to contain %q", tc.args, x.name, x.got, x.want)
			}
		}
	}
	// Nothing was created by help or misuse.
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("help or misuse created ./data")
	}
}

func TestFlagsAnywhereAndDoubleDash(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "d")
	// Flags before, between and after the argument.
	r := runBinary(t, dir, nil, "subscribers", "add", "--data", data, "one@example.org", "--name", "One", "--confirmed")
	if r.code != 0 || !strings.Contains(r.stdout, "one@example.org active") {
		t.Fatalf("interleaved: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// After --, a word that looks like a flag is an argument.
	r = runBinary(t, dir, nil, "subscribers", "add", "--data", data, "--confirmed", "--", "--two@example.org")
	if r.code != 0 || r.stdout != "--two@example.org active\n" {
		t.Errorf("after --: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// "--" as a flag's value is a value, not the end of the flags.
	r = runBinary(t, dir, nil, "subscribers", "add", "three@example.org", "--name", "--", "--data", data, "--confirmed")
	if r.code != 0 {
		t.Fatalf("-- as a value: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = runBinary(t, dir, nil, "subscribers", "list", "--data", data)
	if !strings.Contains(r.stdout, "three@example.org\tactive\tshanghai-70th\t--\n") || !strings.Contains(r.stdout, "one@example.org\tactive\tshanghai-70th\tOne\n") {
		t.Errorf("list: %q", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("--data after the argument was ignored: ./data exists")
	}
	// import takes its paths wherever the flags are, and no flag as a path.
	writeFile(t, filepath.Join(dir, "c.toml"), "samples = false\n")
	r = runBinary(t, dir, nil, "import", "--data", data, filepath.Join("..", "..", "missing-dir"), "--config", "c.toml")
	if r.code != 1 || strings.Contains(r.stderr, "--config") || !strings.Contains(r.stderr, "missing-dir") {
		t.Errorf("import PATH --config F: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// A bad cron spec anywhere is a config error naming the key, for config
// check and for serve alike: never a panic.
func TestBadConfigEveryProblemNoPanic(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.toml"), `secret = "too-short"
unknown_top = 1
[feeds]
schedule = "CRON_TZ=Asia/Shanghai"
[http]
read_timeout = "sometimes"
[smtp]
from = "nobody"
[[series]]
slug = "s"
digest_schedule = "TZ=0"
`)
	r := runBinary(t, dir, []string{"SYNDICATED_HTTP_LISTEN=localhost"}, "config", "check", "--config", "bad.toml")
	if r.code != 1 {
		t.Errorf("config check: exit %d", r.code)
	}
	want := []string{`unknown key "unknown_top"`, "secret:", "feeds.schedule:", "http.read_timeout:", "smtp.from:", "series.0.digest_schedule:", "http.listen:"}
	for _, w := range want {
		if n := strings.Count(r.stderr, "\n"+w); n != 1 && !strings.HasPrefix(r.stderr, w) {
			t.Errorf("config check: %q on %d lines:\n%s", w, n, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
		t.Errorf("config check panicked:\n%s", r.stderr)
	}
	r = runBinary(t, dir, nil, "serve", "--config", "bad.toml", "--data", filepath.Join(dir, "d"))
	if r.code != 1 || strings.Contains(r.stderr, "goroutine") || !strings.Contains(r.stderr, "feeds.schedule") {
		t.Errorf("serve with a bad schedule: exit %d\n%s", r.code, r.stderr)
	}
}

func TestJSONLogs(t *testing.T) {
	dir := t.TempDir()
	r := runBinary(t, dir, []string{"SYNDICATED_LOG_FORMAT=json"}, "subscribers", "add", "x@example.org", "--data", "d")
	line := firstLines(r.stderr, 1)
	if r.code != 0 || !strings.HasPrefix(line, `{"time":`) || !strings.Contains(line, `"level":"INFO"`) {
		t.Errorf("json log: %d %q", r.code, r.stderr)
	}
	r = runBinary(t, dir, []string{"SYNDICATED_LOG_FORMAT=xml"}, "config", "check")
	if r.code != 1 || !strings.Contains(r.stderr, "log.format") {
		t.Errorf("bad log format: %d %q", r.code, r.stderr)
	}
}

// startServe runs serve as a subprocess and returns its base URL; it is
// stopped with SIGTERM at cleanup and must exit 0.
func startServe(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
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
				addr <- strings.TrimSuffix(m[1], "/")
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve exited with %v:\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("serve did not stop within 30 s of SIGINT")
		}
	})
	select {
	case a := <-addr:
		return a
	case err := <-done:
		t.Fatalf("serve exited (%v) before listening:\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs.String())
	}
	return ""
}

// backup copies the database while serve writes to it; every copy
// restores into a working data directory holding at least every article
// acknowledged before the copy began.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	const token = "backup-test-token-0123456789"
	env := []string{"SYNDICATED_HTTP_API_TOKEN=" + token, "SYNDICATED_SAMPLES=false", "SYNDICATED_FEEDS_POLL_INTERVAL=0s"}
	base := startServe(t, dir, env, "--data", "live")

	ctx, stop := context.WithCancel(context.Background())
	var mu sync.Mutex
	acked := 0
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			body := fmt.Sprintf(`{"id":"backup-story-%d","section":"society","headline":"Story %d","published":"2019-07-01T09:00:00+08:00","body":["Paragraph %d."]}`, i, i, i)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/articles", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				writerDone <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				writerDone <- fmt.Errorf("push %d: %s", i, resp.Status)
				return
			}
			mu.Lock()
			acked++
			mu.Unlock()
		}
		writerDone <- nil
	}()
	ackedNow := func() int { mu.Lock(); defer mu.Unlock(); return acked }
	waitFor(t, "some pushes", func() bool { return ackedNow() >= 5 })

	for round := 0; round < 3; round++ {
		before := ackedNow()
		out := filepath.Join(dir, fmt.Sprintf("copy-%d.db", round))
		r := runBinary(t, dir, env, "backup", "--data", "live", "--out", out)
		after := ackedNow()
		if r.code != 0 || !strings.Contains(r.stdout, "integrity ok") {
			t.Fatalf("backup: %d %s %s", r.code, r.stdout, r.stderr)
		}
		// Restore: the copy becomes a data directory's database.
		restored := filepath.Join(dir, fmt.Sprintf("restored-%d", round))
		if err := os.MkdirAll(restored, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(out, filepath.Join(restored, "syndicated.db")); err != nil {
			t.Fatal(err)
		}
		r = runBinary(t, dir, env, "migrate", "--data", restored)
		if r.code != 0 || !strings.Contains(r.stdout, "up to date") {
			t.Fatalf("migrate on the restored copy: %d %s %s", r.code, r.stdout, r.stderr)
		}
		r = runBinary(t, dir, env, "feeds", "build", "--data", restored, "--out", filepath.Join(restored, "public"))
		if r.code != 0 {
			t.Fatalf("feeds build on the restored copy: %d %s", r.code, r.stderr)
		}
		db, err := storage.OpenSQLiteFile(filepath.Join(restored, "syndicated.db"))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = db.QueryRow(`SELECT count(*) FROM articles`).Scan(&n)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n < before || n > after+1 {
			t.Errorf("round %d: copy holds %d articles; %d were acknowledged before the backup, %d after", round, n, before, after)
		}
		t.Logf("round %d: %d articles in the copy (acknowledged: %d before, %d after)", round, n, before, after)
	}
	stop()
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
}

func TestBackupOfPostgresSaysPgDump(t *testing.T) {
	r := runBinary(t, t.TempDir(), []string{"SYNDICATED_DATABASE_URL=postgres://u:secretpw@db.invalid/x"}, "backup", "--out", "x.db")
	if r.code != 1 || !strings.Contains(r.stderr, "pg_dump") || strings.Contains(r.stderr, "secretpw") {
		t.Errorf("backup on PostgreSQL: %d %s", r.code, r.stderr)
	}
}

// migrate applies the migrations once and reports the version, on SQLite
// and on PostgreSQL.
func TestMigrateReportsVersion(t *testing.T) {
	dir := t.TempDir()
	for _, backend := range []struct {
		name string
		env  func() []string
	}{
		{"sqlite", func() []string { return nil }},
		{"postgres", func() []string { return []string{"SYNDICATED_DATABASE_URL=" + storagetest.PostgresURL(t)} }},
	} {
		t.Run(backend.name, func(t *testing.T) {
			env := backend.env()
			data := filepath.Join(dir, backend.name)
			first := runBinary(t, dir, env, "migrate", "--data", data)
			m := regexp.MustCompile(`migrated from schema version 0 to (\d+)\n$`).FindStringSubmatch(first.stdout)
			if first.code != 0 || m == nil {
				t.Fatalf("first migrate: %d %q %s", first.code, first.stdout, first.stderr)
			}
			again := runBinary(t, dir, env, "migrate", "--data", data)
			if again.code != 0 || !strings.HasSuffix(again.stdout, "schema version "+m[1]+", up to date\n") {
				t.Errorf("second migrate: %d %q %s", again.code, again.stdout, again.stderr)
			}
			if strings.Contains(first.stdout+again.stdout, "password") {
				t.Errorf("migrate printed a password: %s", first.stdout)
			}
		})
	}
}

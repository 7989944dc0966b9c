package main

// Checks of deploy/ and the Dockerfile with the real tools where they are
// installed: systemd-analyze, nginx, the Go toolchain.

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/testkit"
)

// need returns the path of tool, skipping the test when it is missing,
// or failing it under CI, where every part must be there.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		// Debian keeps nginx in /usr/sbin, outside a user's PATH.
		if _, serr := os.Stat("/usr/sbin/" + tool); serr == nil {
			return "/usr/sbin/" + tool
		}
		testkit.Missing(t, "%s is not installed (scripts/test.sh installs it)", tool)
	}
	return p
}

func TestSystemdUnitVerifies(t *testing.T) {
	analyze := need(t, "systemd-analyze")
	unit, err := os.ReadFile("../../deploy/syndicated.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart names an executable: point it at the
	// binary just built.
	dir := t.TempDir()
	path := filepath.Join(dir, "syndicated.service")
	writeFile(t, path, strings.ReplaceAll(string(unit), "/usr/local/bin/syndicated", binary(t)))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The hardening is scored offline: 1.2 when written; fail above 2.0.
	out, err = exec.Command(analyze, "security", "--offline=true", "--threshold=20", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`Overall exposure level for \S+: (\S+)`).FindSubmatch(out); m != nil {
		t.Logf("exposure level %s", m[1])
	} else {
		t.Errorf("no exposure level in:\n%s", out)
	}
	for _, key := range []string{"DynamicUser=yes", "StateDirectory=", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=\n", "RestrictAddressFamilies=", "SystemCallFilter=@system-service"} {
		if !strings.Contains(string(unit), key) {
			t.Errorf("the unit lacks %q", key)
		}
	}
}

// The Dockerfile's build command, run here, gives a static binary.
func TestDockerfileBuildIsStatic(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 .*go build .*-o )(/out/syndicated)( .*)$`).FindSubmatch(df)
	if m == nil {
		t.Fatal("no CGO_ENABLED=0 go build … -o /out/syndicated line in the Dockerfile")
	}
	out := filepath.Join(t.TempDir(), "syndicated")
	line := string(m[1]) + out + string(m[3])
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %v program header: not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
	b, err := exec.Command("go", "version", "-m", out).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "CGO_ENABLED=0") {
		t.Errorf("go version -m: %v\n%s", err, b)
	}
	if r := runBinary(t, t.TempDir(), nil, "--version"); r.code != 0 {
		t.Errorf("--version: %d", r.code)
	}
	// The base images are build arguments whose defaults are the registry's
	// (scripts/image-check.sh builds against local stand-ins).
	for _, want := range []string{"USER 65532", "ARG BUILD_IMAGE=golang:", "ARG RUNTIME_IMAGE=gcr.io/distroless/static", "FROM ${BUILD_IMAGE} AS build", "FROM ${RUNTIME_IMAGE}\n"} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
}

// The image's own configuration file (deploy/container.toml, read by the
// Dockerfile's CMD) loads cleanly and says what the image promises.
func TestContainerConfigChecks(t *testing.T) {
	path, err := filepath.Abs("../../deploy/container.toml")
	if err != nil {
		t.Fatal(err)
	}
	r := runBinary(t, t.TempDir(), nil, "config", "check", "--config", path)
	if r.code != 0 {
		t.Fatalf("config check: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !regexp.MustCompile(`(?m)^listen +0\.0\.0\.0:8080$`).MatchString(r.stdout) {
		t.Errorf("the image's configuration does not listen on 0.0.0.0:8080:\n%s", r.stdout)
	}
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"COPY deploy/container.toml /etc/syndicated/syndicated.toml",
		`CMD ["serve", "--config", "/etc/syndicated/syndicated.toml", "--data", "/data"]`} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	// An ENV SYNDICATED_* line in the image would override the keys of a
	// file an operator mounts over the image's.
	if regexp.MustCompile(`(?m)^ENV .*SYNDICATED_`).Match(df) {
		t.Error("the Dockerfile sets SYNDICATED_* variables: they would override a mounted configuration file")
	}
}

// startNginx runs the real nginx on deploy/nginx.conf, in dir, listening
// on addr, with root public and, when upstream is set, proxying to it
// instead of 127.0.0.1:8080. It is stopped at cleanup.
func startNginx(t *testing.T, nginx, dir, addr, public, upstream string) {
	t.Helper()
	site, err := os.ReadFile("../../deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`(?m)^(\s*)listen [^;]+;`).ReplaceAllString(string(site), "${1}listen "+addr+";")
	s = regexp.MustCompile(`(?m)^(\s*)root [^;]+;`).ReplaceAllString(s, "${1}root "+public+";")
	if upstream != "" {
		s = strings.ReplaceAll(s, "proxy_pass http://127.0.0.1:8080;", "proxy_pass http://"+upstream+";")
	}
	writeFile(t, filepath.Join(dir, "site.conf"), s)
	// The main config a distribution provides, reduced to what a test
	// needs: one process as the current user, everything under dir.
	main := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp-body;
    proxy_temp_path %[1]s/tmp-proxy;
    fastcgi_temp_path %[1]s/tmp-fastcgi;
    uwsgi_temp_path %[1]s/tmp-uwsgi;
    scgi_temp_path %[1]s/tmp-scgi;
    include %[1]s/site.conf;
}
`, dir)
	writeFile(t, filepath.Join(dir, "nginx.conf"), main)
	if b, err := exec.Command(nginx, "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, b)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	waitFor(t, "nginx listening", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// deploy/nginx.conf serves feeds.output_dir with the headers serve sends.
func TestNginxServesOutputDir(t *testing.T) {
	nginx := need(t, "nginx")
	dir := t.TempDir()
	public := filepath.Join(dir, "public")
	r := runBinary(t, dir, nil, "feeds", "build", "--data", filepath.Join(dir, "data"), "--out", public)
	if r.code != 0 {
		t.Fatalf("feeds build: %s", r.stderr)
	}
	addr := freePort(t)
	base := "http://" + addr
	startNginx(t, nginx, dir, addr, public, "")

	types := map[string]string{".rss": "application/rss+xml; charset=utf-8", ".atom": "application/atom+xml; charset=utf-8", ".json": "application/feed+json; charset=utf-8", ".png": "image/png"}
	n := 0
	err := filepath.WalkDir(public, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(path, ".gz") {
			return nil // served for FILE below (gzip_static)
		}
		rel, _ := filepath.Rel(public, path)
		url := base + "/" + filepath.ToSlash(rel)
		want, _ := os.ReadFile(path)
		resp, body := get(t, url)
		h := resp.Header
		if resp.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Errorf("%s: %d, %d bytes, want the file's %d", url, resp.StatusCode, len(body), len(want))
		}
		if got := h.Get("Content-Type"); got != types[filepath.Ext(path)] {
			t.Errorf("%s: Content-Type %q, want %q", url, got, types[filepath.Ext(path)])
		}
		if got := h.Get("Cache-Control"); got != "public, max-age=300" {
			t.Errorf("%s: Cache-Control %q", url, got)
		}
		etag := h.Get("ETag")
		if etag == "" || h.Get("Last-Modified") == "" {
			t.Errorf("%s: ETag %q, Last-Modified %q", url, etag, h.Get("Last-Modified"))
		}
		if resp, _ := get(t, url, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s: If-None-Match: %d, want 304", url, resp.StatusCode)
		}
		if filepath.Ext(path) == ".png" {
			n++ // the feed icon: compressed already, served as is
			return nil
		}
		resp, zbody := get(t, url, "Accept-Encoding", "gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: gzip: Content-Encoding %q, Vary %q", url, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
		} else if zr, err := gzip.NewReader(bytes.NewReader(zbody)); err != nil {
			t.Errorf("%s: gzip body: %v", url, err)
		} else if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, want) {
			t.Errorf("%s: gunzipped body differs from the file", url)
		}
		// feeds build wrote FILE.gz beside FILE, and nginx serves it as is.
		if gz, err := os.ReadFile(path + ".gz"); err != nil || !bytes.Equal(zbody, gz) {
			t.Errorf("%s: gzip body is not the %s.gz feeds build wrote (%v)", url, rel, err)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Errorf("checked %d feeds, want every one of at least 6", n)
	}
	// A precompressed file beside a feed is served as is (gzip_static),
	// whatever its compression level.
	feed := filepath.Join(public, "feeds", "society.rss")
	plain, _ := os.ReadFile(feed)
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(plain)
	zw.Close()
	if err := os.WriteFile(feed+".gz", z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, base+"/feeds/society.rss", "Accept-Encoding", "gzip"); !bytes.Equal(body, z.Bytes()) || resp.Header.Get("Content-Type") != types[".rss"] {
		t.Errorf("gzip_static: the .gz file was not served as is (%d bytes, want %d; %q)", len(body), z.Len(), resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, base+"/feeds/none.rss"); resp.StatusCode != 404 {
		t.Errorf("missing feed: %d", resp.StatusCode)
	}
}

// The Grafana dashboard is JSON and queries only metrics the code defines.
func TestGrafanaDashboardQueriesRealMetrics(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	defined := map[string]bool{}
	def := regexp.MustCompile(`"((?:syndicated|go|process)_[a-z_]+)"`)
	_ = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, _ := os.ReadFile(path)
		for _, m := range def.FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
		return nil
	})
	metric := regexp.MustCompile(`\b(syndicated_[a-z_]+?)(_bucket|_count|_sum)?\b`)
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			for _, m := range metric.FindAllStringSubmatch(tg.Expr, -1) {
				if !defined[m[1]] {
					t.Errorf("panel %q queries %s, which no code defines", p.Title, m[1])
				}
			}
		}
	}
	if len(dash.Panels) < 5 || queries < 5 {
		t.Errorf("%d panels, %d queries", len(dash.Panels), queries)
	}
}

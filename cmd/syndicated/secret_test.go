package main

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/app"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// openIn opens the app as a command would, with data as its data directory.
func openIn(t *testing.T, environ []string, data string) *app.App {
	t.Helper()
	var errb bytes.Buffer
	c := &cli{stdout: io.Discard, stderr: &errb, environ: append(environ[:len(environ):len(environ)], "SYNDICATED_LOG_LEVEL=debug")}
	c.dataDir = data
	a, err := c.openApp(context.Background())
	if err != nil {
		t.Fatalf("openApp: %v\n%s", err, errb.String())
	}
	t.Cleanup(func() { a.Close() })
	if len(a.Secret) < 32 {
		t.Fatalf("secret of %d bytes, want at least 32", len(a.Secret))
	}
	if bytes.Contains(errb.Bytes(), a.Secret) {
		t.Errorf("the secret was logged:\n%s", errb.String())
	}
	return a
}

// Replicas on one database with their own, empty data directories share
// the generated secret, so a confirmation link sent through replica A
// confirms on replica B.
func TestReplicasShareGeneratedSecret(t *testing.T) {
	env := []string{"SYNDICATED_SAMPLES=false"}
	t.Run("sqlite", func(t *testing.T) {
		db := "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
		checkSharedSecret(t, append(env[:len(env):len(env)], "SYNDICATED_DATABASE_URL="+db))
	})
	t.Run("postgres", func(t *testing.T) {
		// Registered first, so the schema is dropped after both daemons stop.
		db := storagetest.PostgresURL(t)
		checkSharedSecret(t, append(env[:len(env):len(env)], "SYNDICATED_DATABASE_URL="+db))
	})
}

var confirmLink = regexp.MustCompile(`/confirm\?token=[A-Za-z0-9_.~%-]+`)

func checkSharedSecret(t *testing.T, env []string) {
	t.Helper()
	dataA, dataB := t.TempDir(), t.TempDir()
	if a, b := openIn(t, env, dataA), openIn(t, env, dataB); !bytes.Equal(a.Secret, b.Secret) {
		t.Fatal("two apps on one store resolved different secrets")
	}
	a := servingIn(t, env, dataA)
	b := servingIn(t, env, dataB)

	const email = "replica-reader@example.org"
	resp, err := http.Post(a+"/subscribe", "application/json", strings.NewReader(`{"email":"`+email+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /subscribe on A: %d", resp.StatusCode)
	}
	// The confirmation is sent in the background: wait for A's spool.
	var ms []string
	within(t, 10*time.Second, "confirmation in A's mail spool", func() bool {
		ms, _ = filepath.Glob(filepath.Join(dataA, "mail", "[^.]*.eml")) // not the spool's temporary dot-files
		return len(ms) > 0
	})
	if len(ms) != 1 {
		t.Fatalf("A's mail spool holds %v, want one confirmation", ms)
	}
	raw, err := os.ReadFile(ms[0])
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("decode %s: %v", ms[0], err)
	}
	link := confirmLink.Find(decoded)
	if link == nil {
		t.Fatalf("no confirmation link in %s:\n%s", ms[0], decoded)
	}

	if code, out, errs := run(t, context.Background(), env, "subscribers", "list", "--data", dataB, "--status", "active"); code != 0 || strings.Contains(out, email) {
		t.Fatalf("before confirming, active list on B: %d %q %s", code, out, errs)
	}
	if resp, body := get(t, b+string(link)); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s on B: %d\n%s", link, resp.StatusCode, body)
	}
	confirmPost(t, b, string(link))
	if code, out, errs := run(t, context.Background(), env, "subscribers", "list", "--data", dataB, "--status", "active"); code != 0 || !strings.Contains(out, email) {
		t.Errorf("after confirming on B, active list: %d %q %s", code, out, errs)
	}
	for _, d := range []string{dataA, dataB} {
		if _, err := os.Stat(filepath.Join(d, "secret")); err == nil {
			t.Errorf("a secret was written to %s", d)
		}
	}
}

package subscribers_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/internal/testkit"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// The operator's subscriber commands, as "syndicated subscribers …" runs
// them: each step checks what the operator reads, line for line.
func TestConsole(t *testing.T) {
	st := storagetest.SQLite(t)
	e := newEnv(t, st, nil)
	type result struct {
		out, errs string
		err       error
	}
	run := func(terminal bool, fn func(ctx context.Context, c *subscribers.Console) error) result {
		var out, errs bytes.Buffer
		err := fn(t.Context(), &subscribers.Console{Service: e.svc, Stdout: &out, Stderr: &errs, Terminal: terminal})
		return result{out.String(), errs.String(), err}
	}

	testkit.Step(t, "add", func(t *testing.T) {
		r := run(false, func(ctx context.Context, c *subscribers.Console) error {
			return c.Add(ctx, "Li@Example.com", "Li", []string{"society"}, true)
		})
		if r.err != nil || r.out != "Li@example.com active\n" {
			t.Errorf("add --confirmed: %v, %q", r.err, r.out)
		}
		r = run(false, func(ctx context.Context, c *subscribers.Console) error {
			return c.Add(ctx, "wang@example.com", "", nil, false)
		})
		want := "wang@example.com pending\na confirmation email was sent; the address becomes active when its link is followed\n"
		if r.err != nil || r.out != want {
			t.Errorf("add: %v, %q, want %q", r.err, r.out, want)
		}
		if n := len(e.out.Take()); n != 1 {
			t.Errorf("%d confirmation emails, want 1", n)
		}
	})
	testkit.Step(t, "import", func(t *testing.T) {
		in := "email,name,lists,status\n" +
			"zhao@example.com,Zhao,shanghai-70th,\n" + // line 2
			"not-an-address,,,\n" + // 3
			"Li@example.com,,,\n" + // 4: present already
			"qian@example.com,,,bounced\n" // 5
		r := run(false, func(ctx context.Context, c *subscribers.Console) error {
			return c.Import(ctx, "readers.csv", strings.NewReader(in))
		})
		if r.out != "4 rows: 2 added, 1 already present, 0 suppressed, 1 bad\n" {
			t.Errorf("stdout %q", r.out)
		}
		if !strings.HasPrefix(r.errs, "readers.csv:3: ") || strings.Count(r.errs, "\n") != 1 {
			t.Errorf("stderr %q, want the bad row as FILE:LINE", r.errs)
		}
		if r.err == nil || r.err.Error() != "1 bad rows: see the errors above" || !errors.Is(r.err, cmdline.ErrReported) {
			t.Errorf("error %v", r.err)
		}
		r = run(false, func(ctx context.Context, c *subscribers.Console) error {
			return c.Import(ctx, "empty.csv", strings.NewReader("no,header\n"))
		})
		if r.err == nil || !strings.HasPrefix(r.err.Error(), "empty.csv: ") {
			t.Errorf("a file without a header: %v", r.err)
		}
	})
	testkit.Step(t, "list", func(t *testing.T) {
		r := run(false, func(ctx context.Context, c *subscribers.Console) error { return c.List(ctx, subscribers.Filter{}) })
		want := "Li@example.com\tactive\tsociety\tLi\n" +
			"wang@example.com\tpending\t\t\n" +
			"zhao@example.com\tactive\tshanghai-70th\tZhao\n" +
			"qian@example.com\tbounced\t\t\n"
		if r.err != nil || r.out != want || r.errs != "" {
			t.Errorf("list: %v, stderr %q, stdout:\n%s\nwant:\n%s", r.err, r.errs, r.out, want)
		}
		r = run(true, func(ctx context.Context, c *subscribers.Console) error {
			return c.List(ctx, subscribers.Filter{Status: subscribers.StatusActive, List: "society"})
		})
		if r.out != "Li@example.com\tactive\tsociety\tLi\n" || r.errs != "1 subscribers\n" {
			t.Errorf("list active on society, on a terminal: %q, stderr %q", r.out, r.errs)
		}
		r = run(false, func(ctx context.Context, c *subscribers.Console) error {
			return c.List(ctx, subscribers.Filter{Status: "gone"})
		})
		if !errors.Is(r.err, cmdline.ErrUsage) || !strings.Contains(r.err.Error(), `--status "gone"`) {
			t.Errorf("an unknown status: %v", r.err)
		}
	})
	testkit.Step(t, "unbounce", func(t *testing.T) {
		r := run(false, func(ctx context.Context, c *subscribers.Console) error {
			return c.Unbounce(ctx, []string{"qian@EXAMPLE.com", "zhao@example.com"}, time.Time{})
		})
		if r.out != "qian@example.com active\n1 unbounced\n" || r.errs != "zhao@example.com: not bounced (or no such subscriber): unchanged\n" {
			t.Errorf("unbounce: stdout %q, stderr %q", r.out, r.errs)
		}
		if r.err == nil || r.err.Error() != "1 of 2 addresses were not bounced: see the errors above" {
			t.Errorf("error %v", r.err)
		}
	})
	testkit.Step(t, "remove", func(t *testing.T) {
		r := run(false, func(ctx context.Context, c *subscribers.Console) error { return c.Remove(ctx, "wang@example.com") })
		if r.err != nil || r.out != "removed; the address is suppressed and will not be re-imported\n" {
			t.Errorf("remove: %v, %q", r.err, r.out)
		}
	})
	testkit.Step(t, "export", func(t *testing.T) {
		var want bytes.Buffer
		if err := e.svc.ExportCSV(t.Context(), &want); err != nil {
			t.Fatal(err)
		}
		r := run(false, func(ctx context.Context, c *subscribers.Console) error { return c.Export(ctx, "") })
		if r.err != nil || r.out != want.String() {
			t.Errorf("export to stdout: %v\n%s", r.err, r.out)
		}
		path := filepath.Join(t.TempDir(), "readers.csv")
		if err := os.WriteFile(path, []byte("an older export\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r = run(false, func(ctx context.Context, c *subscribers.Console) error { return c.Export(ctx, path) })
		got, err := os.ReadFile(path)
		if r.err != nil || err != nil || string(got) != want.String() || r.out != "" {
			t.Errorf("export to a file: %v, %v, stdout %q:\n%s", r.err, err, r.out, got)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("the export's mode: %v, %v; want 0600 (readers' addresses)", fi.Mode(), err)
		}
		if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the temporary file was left: %v", err)
		}
	})
}

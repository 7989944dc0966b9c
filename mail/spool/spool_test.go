package spool_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/mailtest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/spool"
)

func TestFileTransport(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	m, err := spool.New(filepath.Join(dir, "mail"), "Syndicated <news@example.com>", "desk@example.com", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.String() != "files under "+filepath.Join(dir, "mail") {
		t.Errorf("String = %q", m.String())
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := m.Send(context.Background(), mailtest.Message("reader@example.org")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	files, _ := filepath.Glob(filepath.Join(dir, "mail", "*"))
	if len(files) != 20 {
		t.Fatalf("%d files: %v", len(files), files)
	}
	msg := mailtest.Message("reader@example.org")
	_ = m.Send(context.Background(), msg)
	files, _ = filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
	var raw []byte
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), msg.MessageID) {
			raw = b
		}
		if !strings.HasPrefix(filepath.Base(f), "20260501T090000") {
			t.Errorf("name %s", f)
		}
	}
	if raw == nil {
		t.Fatal("message not found")
	}
	mailtest.CheckParsed(t, raw, msg)

	if err := m.Send(context.Background(), &mail.Message{To: "a@example.org\r\nBcc: b@example.org", Text: "x"}); !errors.Is(err, mail.ErrBadMessage) {
		t.Errorf("bad message: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Send(ctx, mailtest.Message("a@example.org")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestHold: a held message is not in the spool (no *.eml) until Hold
// closes; one whose context ends first never appears.
func TestHold(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail")
	s, err := spool.New(dir, "Syndicated <news@example.com>", "", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	emls := func() int {
		got, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		return len(got)
	}
	hold := make(chan struct{})
	m := mailtest.Message("held@example.org")
	m.Hold = hold
	done := make(chan error, 1)
	go func() { done <- s.Send(context.Background(), m) }()
	time.Sleep(100 * time.Millisecond)
	if n := emls(); n != 0 {
		t.Fatalf("%d messages in the spool while held", n)
	}
	close(hold)
	if err := <-done; err != nil || emls() != 1 {
		t.Fatalf("after the hold: %v, %d messages", err, emls())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	m = mailtest.Message("never@example.org")
	m.Hold = make(chan struct{})
	if err := s.Send(ctx, m); !errors.Is(err, context.DeadlineExceeded) || emls() != 1 {
		t.Fatalf("held past its context: %v, %d messages", err, emls())
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("%d files in the spool, want the one message (no partial file left)", len(left))
	}
}

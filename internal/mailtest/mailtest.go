// Package mailtest holds what tests of mail-sending services share: a
// settable clock and an outbox that records each message after the real
// file transport has built it (so MIME and header rules still apply).
package mailtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/mail"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Outbox is a mail.Transport that builds each message with the .eml file
// transport and keeps it for the test.
type Outbox struct {
	mu   sync.Mutex
	file *mail.FileTransport
	msgs []*mail.Message
	fail error
	// Wait, when set, is called by Take first (a service's Wait, so that
	// background sends have finished).
	Wait func()
}

// NewOutbox writes .eml files under a temporary directory of tb.
func NewOutbox(tb testing.TB, from string, now func() time.Time) *Outbox {
	tb.Helper()
	ft, err := mail.NewFileTransport(tb.TempDir(), from, "", now)
	if err != nil {
		tb.Fatal(err)
	}
	return &Outbox{file: ft}
}

// Send builds and records m, or returns the failure set by Fail.
func (o *Outbox) Send(ctx context.Context, m *mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	if err := o.file.Send(ctx, m); err != nil {
		return err
	}
	o.msgs = append(o.msgs, m)
	return nil
}

// Fail makes every later Send return err (nil: succeed again).
func (o *Outbox) Fail(err error) {
	o.mu.Lock()
	o.fail = err
	o.mu.Unlock()
}

// Take returns the messages sent since the last Take.
func (o *Outbox) Take() []*mail.Message {
	if o.Wait != nil {
		o.Wait()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.msgs
	o.msgs = nil
	return m
}

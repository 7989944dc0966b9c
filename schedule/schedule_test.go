package schedule

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestRunDoesNotOverlap(t *testing.T) {
	s := New(nil, quiet())
	started, release := make(chan struct{}), make(chan struct{})
	go s.Run(context.Background(), "build", func(context.Context) error {
		close(started)
		<-release
		return nil
	})
	<-started
	if s.Run(context.Background(), "build", func(context.Context) error { return nil }) {
		t.Error("second run of the same job ran while the first was going")
	}
	if !s.Run(context.Background(), "other", func(context.Context) error { return nil }) {
		t.Error("a different job was blocked")
	}
	close(release)
}

func TestPanicIsRecoveredAndReported(t *testing.T) {
	s := New(nil, quiet())
	var got error
	s.OnRun = func(_ string, _ time.Duration, err error) { got = err }
	if !s.Run(context.Background(), "boom", func(context.Context) error { panic("kaboom") }) {
		t.Fatal("did not run")
	}
	if got == nil || !strings.Contains(got.Error(), "kaboom") {
		t.Fatalf("err = %v", got)
	}
	// The scheduler is still usable after the panic.
	if !s.Run(context.Background(), "boom", func(context.Context) error { return nil }) {
		t.Error("job could not run again after a panic")
	}
}

type oneHolder struct {
	mu   sync.Mutex
	held map[string]bool
}

func (o *oneHolder) TryLock(_ context.Context, name string) (func(), bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.held[name] {
		return nil, false, nil
	}
	o.held[name] = true
	return func() { o.mu.Lock(); delete(o.held, name); o.mu.Unlock() }, true, nil
}

// Two schedulers sharing a lock stand for two replicas: only one runs.
func TestLockMakesOneReplicaRun(t *testing.T) {
	lock := &oneHolder{held: map[string]bool{}}
	a, b := New(lock, quiet()), New(lock, quiet())
	var runs atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	go a.Run(context.Background(), "digest", func(context.Context) error {
		runs.Add(1)
		close(started)
		<-release
		return nil
	})
	<-started
	if b.Run(context.Background(), "digest", func(context.Context) error { runs.Add(1); return nil }) {
		t.Error("second replica ran while the first held the lock")
	}
	close(release)
	if runs.Load() != 1 {
		t.Errorf("runs = %d", runs.Load())
	}
}

func TestScheduleFiresAndStopCancels(t *testing.T) {
	s := New(nil, quiet())
	fired := make(chan struct{}, 1)
	// Every second (cron with seconds is not enabled, so use @every).
	if err := s.Add("tick", "@every 1s", func(ctx context.Context) error {
		select {
		case fired <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("bad", "not a spec", nil); err == nil {
		t.Error("bad spec accepted")
	}
	s.Start()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("job never fired")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	} else if err != nil {
		t.Fatal("stop did not cancel the running job")
	}
}

func TestRunLocalTakesNoSharedLock(t *testing.T) {
	lock := &oneHolder{held: map[string]bool{"job:build": true}} // another replica holds it
	s := New(lock, quiet())
	if s.Run(context.Background(), "build", func(context.Context) error { return nil }) {
		t.Error("Run ignored the lock held elsewhere")
	}
	if !s.RunLocal(context.Background(), "build", func(context.Context) error { return nil }) {
		t.Error("RunLocal waited on a shared lock")
	}
}

// Runs asked for while Stop waits (the daemon's build loop keeps kicking
// during shutdown) neither start nor upset the wait; none runs after Stop.
func TestRunsDuringStop(t *testing.T) {
	for range 200 {
		s := New(nil, quiet())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for s.RunLocal(context.Background(), "feeds-build", func(context.Context) error { return nil }) {
			}
		}()
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-done
		if s.RunLocal(context.Background(), "feeds-build", func(context.Context) error { return nil }) {
			t.Fatal("a run started after Stop")
		}
	}
}

// Once Stop has begun, Run and RunLocal (called by loops of their own,
// outside cron) start nothing, so Stop's wait is never added to.
func TestNoRunAfterStop(t *testing.T) {
	s := New(nil, quiet())
	started, release := make(chan struct{}), make(chan struct{})
	go s.Run(context.Background(), "long", func(ctx context.Context) error {
		close(started)
		<-release
		return nil
	})
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(context.Background()) }()
	// Run until Stop has marked the scheduler stopped (it is waiting for
	// "long"); from then on nothing runs.
	for s.RunLocal(context.Background(), "late", func(context.Context) error { return nil }) {
		time.Sleep(time.Millisecond)
	}
	if s.Run(context.Background(), "late", func(context.Context) error { return nil }) {
		t.Error("Run started a job after Stop")
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

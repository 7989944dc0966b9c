package daemon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// events records what happened, in order.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) { e.mu.Lock(); e.list = append(e.list, s); e.mu.Unlock() }

func (e *events) all() []string { e.mu.Lock(); defer e.mu.Unlock(); return slices.Clone(e.list) }

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func fetch(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// On shutdown the runners stop first while HTTP still answers (a reader
// is served while the digest workers hand back their sends), then the
// stops before HTTP, then HTTP finishes the request in flight, then the
// stops after it.
func TestShutdownOrder(t *testing.T) {
	ev := &events{}
	draining := make(chan struct{})   // the runner is putting its work away
	answered := make(chan struct{})   // a request was served meanwhile
	inFlight := make(chan struct{})   // the slow request has started
	finishSlow := make(chan struct{}) // lets the slow request end
	var d Daemon
	d.Go(RunFunc(func(ctx context.Context) error {
		ev.add("runner started")
		<-ctx.Done()
		close(draining)
		<-answered
		ev.add("runner stopped")
		return nil
	}))
	d.StopBeforeHTTP("schedule stop", func(context.Context) error { ev.add("before HTTP"); close(finishSlow); return nil })
	d.StopAfterHTTP("shutdown", func(context.Context) error { ev.add("after HTTP"); return nil })
	mux := http.NewServeMux()
	mux.HandleFunc("/fast", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "fast") })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
		close(inFlight)
		<-finishSlow
		ev.add("slow request done")
		io.WriteString(w, "slow")
	})
	ln := listen(t)
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	serving := make(chan struct{})
	go func() {
		done <- d.Serve(ctx, []Server{{HTTP: &http.Server{Handler: mux}, Listener: ln}}, func() { close(serving) })
	}()
	<-serving
	slow := make(chan string, 1)
	go func() { body, _ := fetch(base + "/slow"); slow <- body }()
	<-inFlight
	cancel()
	<-draining
	if body, err := fetch(base + "/fast"); err != nil || body != "fast" {
		t.Errorf("a request while the runners stop: %q, %v", body, err)
	}
	close(answered)
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if body := <-slow; body != "slow" {
		t.Errorf("the request in flight at shutdown got %q", body)
	}
	want := []string{"runner started", "runner stopped", "before HTTP", "slow request done", "after HTTP"}
	if got := ev.all(); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// A server that fails ends Serve with its error, after the same orderly
// shutdown; a failing stop is logged under its name and the rest still
// run.
func TestServerFailure(t *testing.T) {
	var logs bytes.Buffer
	d := Daemon{Log: slog.New(slog.NewTextHandler(&logs, nil)), Grace: time.Second}
	stopped := make(chan struct{})
	d.Go(RunFunc(func(ctx context.Context) error { <-ctx.Done(); close(stopped); return errors.New("lost a lease") }))
	d.StopBeforeHTTP("schedule stop", func(context.Context) error { return errors.New("timed out") })
	after := false
	d.StopAfterHTTP("shutdown", func(context.Context) error { after = true; return nil })
	ln := listen(t)
	ln.Close() // Serve fails at once
	err := d.Serve(context.Background(), []Server{{HTTP: &http.Server{}, Listener: ln}}, nil)
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve on a closed listener: %v", err)
	}
	select {
	case <-stopped:
	default:
		t.Error("the runner was not stopped")
	}
	if !after {
		t.Error("the stop after HTTP did not run")
	}
	for _, line := range []string{`level=ERROR msg=stopped err="lost a lease"`, `level=WARN msg="schedule stop" err="timed out"`} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %s:\n%s", line, logs.String())
		}
	}
}

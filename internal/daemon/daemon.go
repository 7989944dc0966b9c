// Package daemon runs the parts of a long-running process from start to a
// graceful stop, in order: background runners, then HTTP servers; on
// shutdown the runners stop first while HTTP still answers, then what
// must follow them, then HTTP finishes its requests, then what waits for
// HTTP.
package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Runner works in the background from start to shutdown: it returns once
// its context ends and its work is put away.
type Runner interface {
	Run(ctx context.Context) error
}

// RunFunc makes a function a Runner.
type RunFunc func(ctx context.Context) error

// Run calls f.
func (f RunFunc) Run(ctx context.Context) error { return f(ctx) }

// Server is an HTTP server and the listener it answers on.
type Server struct {
	HTTP     *http.Server
	Listener net.Listener
}

type stop struct {
	name string // the log message of its failure
	fn   func(ctx context.Context) error
}

// Daemon is the parts of a process. The zero value has none; Log and
// Grace have defaults.
type Daemon struct {
	Log *slog.Logger
	// Grace bounds how long shutdown waits for the stops and the
	// requests in flight, in all (default 20 s).
	Grace time.Duration

	runners         []Runner
	before, atClose []stop
}

// Go adds a runner, started by Serve.
func (d *Daemon) Go(r Runner) { d.runners = append(d.runners, r) }

// StopBeforeHTTP adds work done on shutdown once every runner returned and
// before the HTTP servers stop (stopping a schedule the runners use). A
// failure is logged at warning level with name as the message.
func (d *Daemon) StopBeforeHTTP(name string, fn func(ctx context.Context) error) {
	d.before = append(d.before, stop{name, fn})
}

// StopAfterHTTP adds work done on shutdown once the HTTP servers finished
// their requests (an outbox the handlers fill). A failure is logged at
// warning level with name as the message.
func (d *Daemon) StopAfterHTTP(name string, fn func(ctx context.Context) error) {
	d.atClose = append(d.atClose, stop{name, fn})
}

// Serve starts the runners and the servers, calls onServing (when not nil)
// once they answer, and serves until ctx ends or a server fails. Then it
// shuts down in order: the runners (Serve waits for them), the stops
// before HTTP, the servers, the stops after HTTP. It returns the error of
// a server that failed.
func (d *Daemon) Serve(ctx context.Context, servers []Server, onServing func()) error {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	runCtx, stopRunners := context.WithCancel(context.Background())
	defer stopRunners()
	var running sync.WaitGroup
	for _, r := range d.runners {
		running.Go(func() {
			if err := r.Run(runCtx); err != nil {
				log.Error("stopped", "err", err)
			}
		})
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() { errc <- s.HTTP.Serve(s.Listener) }()
	}
	if onServing != nil {
		onServing()
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
	}
	grace := d.Grace
	if grace <= 0 {
		grace = 20 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	stopRunners()
	running.Wait()
	for _, s := range d.before {
		if err := s.fn(sctx); err != nil {
			log.Warn(s.name, "err", err)
		}
	}
	for _, s := range servers {
		if err := s.HTTP.Shutdown(sctx); err != nil {
			log.Warn("http shutdown", "addr", s.HTTP.Addr, "err", err)
		}
	}
	for _, s := range d.atClose {
		if err := s.fn(sctx); err != nil {
			log.Warn(s.name, "err", err)
		}
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

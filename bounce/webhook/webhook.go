// Package webhook is the way in of mail providers' event webhooks: POST
// /webhooks/bounce/PROVIDER, one small adapter per provider behind
// Provider (Amazon SES through SNS, Mailgun, SendGrid, Postmark), each
// authenticating the call its provider's way before anything is read.
// A call that does not authenticate is refused (401) and changes nothing;
// one the pipeline could not record gets a 503, so that the provider
// retries; a replayed call records nothing new (events are idempotent).
package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/server/response"
)

// Provider reads one provider's webhook calls.
type Provider interface {
	// Source names the provider: the URL's last segment and the events'
	// source.
	Source() bounce.Source
	// Notifications authenticates the call (its headers and body) and
	// returns what it reports, each Authenticated. Errors wrap
	// bounce.ErrUnauthenticated or bounce.ErrMalformed.
	Notifications(ctx context.Context, r *http.Request, body []byte) ([]bounce.Notification, error)
}

// Handler runs a notification through the pipeline (*bounce.Processor).
type Handler interface {
	Handle(ctx context.Context, n bounce.Notification) ([]bounce.Outcome, error)
}

// MaxBody bounds a webhook call's body (SendGrid posts events in batches).
const MaxBody = 5 << 20

// Path is where provider p's calls go.
func Path(p bounce.Source) string { return "/webhooks/bounce/" + string(p) }

// Webhooks serves the configured providers' webhooks.
type Webhooks struct {
	providers map[string]Provider
	handler   Handler
	observer  bounce.Observer
	log       *slog.Logger
}

// New serves providers (at least one) into h.
func New(h Handler, observer bounce.Observer, log *slog.Logger, providers ...Provider) (*Webhooks, error) {
	if h == nil || len(providers) == 0 {
		return nil, errors.New("webhook: no pipeline or no provider")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Webhooks{providers: map[string]Provider{}, handler: h, observer: observer, log: log}
	for _, p := range providers {
		w.providers[string(p.Source())] = p
	}
	return w, nil
}

// Register adds the providers' routes to mux.
func (w *Webhooks) Register(mux *http.ServeMux) {
	for name := range w.providers {
		mux.Handle("POST "+Path(bounce.Source(name)), w)
	}
}

// Paths lists the served URL paths, for the start-up log.
func (w *Webhooks) Paths() []string {
	var out []string
	for name := range w.providers {
		out = append(out, Path(bounce.Source(name)))
	}
	return out
}

func (w *Webhooks) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	name := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	p, ok := w.providers[name]
	if !ok || r.Method != http.MethodPost {
		http.NotFound(rw, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxBody))
	if err != nil {
		w.refuse(rw, r, p, err)
		return
	}
	ns, err := p.Notifications(r.Context(), r, body)
	if err != nil {
		w.refuse(rw, r, p, err)
		return
	}
	handled := 0
	for _, n := range ns {
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		out, err := w.handler.Handle(ctx, n)
		cancel()
		if err != nil {
			w.log.Warn("bounce: webhook not recorded, the provider will retry", "source", p.Source(), "err", err)
			response.Error(rw, r, w.log, err)
			return
		}
		handled += len(out)
	}
	response.JSON(rw, http.StatusOK, map[string]int{"handled": handled})
}

// refuse answers a call that was not read: too large, unauthenticated or
// malformed, with a log line and a count.
func (w *Webhooks) refuse(rw http.ResponseWriter, r *http.Request, p Provider, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
	case errors.Is(err, bounce.ErrUnauthenticated), errors.Is(err, bounce.ErrMalformed):
	default:
		err = fmt.Errorf("%w: %v", bounce.ErrMalformed, err)
	}
	w.log.Info("bounce: webhook refused", "source", p.Source(), "err", err)
	if w.observer != nil {
		w.observer.Observe(p.Source(), bounce.ResultRefused, "")
	}
	response.Error(rw, r, w.log, err)
}

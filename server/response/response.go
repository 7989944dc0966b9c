// Package response is where errors become HTTP statuses: one table maps the
// domain's sentinel and typed errors (and the few the HTTP edge itself
// raises) to a status and to the JSON error shape {"error": …, "field": …}.
// Every handler of server/, subscribers/web and digest/web answers through
// it.
package response

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/subscribers"
)

// Errors the HTTP edge raises itself; wrap them to add detail, e.g.
// fmt.Errorf("%w: Content-Type must be application/json", ErrUnsupportedMediaType).
var (
	ErrBadRequest           = errors.New("bad request")
	ErrUnauthorized         = errors.New("missing or wrong bearer token")
	ErrForbidden            = errors.New("forbidden")
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	ErrNotReady             = errors.New("not ready") // a readiness check failed
)

// codes is the table: the first entry err matches (errors.Is) decides.
// Message, when set, replaces the error's own text in the answer; Field
// names the request field at fault. Anything not listed is a 500 whose text
// is logged, never shown.
var codes = []struct {
	err     error
	status  int
	message string
	field   string
}{
	{ErrBadRequest, http.StatusBadRequest, "", ""},
	{ErrUnauthorized, http.StatusUnauthorized, "", ""},
	{ErrForbidden, http.StatusForbidden, "", ""},
	{ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, "", ""},
	{ErrNotReady, http.StatusServiceUnavailable, "not ready", ""},
	{article.ErrNotFound, http.StatusNotFound, "no such article", ""},
	{article.ErrInvalid, http.StatusBadRequest, "", ""},
	{digest.ErrNotFound, http.StatusNotFound, "no such digest", ""},
	{digest.ErrUnknownSeries, http.StatusNotFound, "no such digest", ""},
	{subscribers.ErrRateLimited, http.StatusTooManyRequests, "", ""},
	{subscribers.ErrInvalidEmail, http.StatusBadRequest, "", "email"},
	{subscribers.ErrInvalidName, http.StatusBadRequest, "", "name"},
	{subscribers.ErrUnknownList, http.StatusBadRequest, "", "lists"},
	{subscribers.ErrUnknownCadence, http.StatusBadRequest, "", "cadences"},
	{subscribers.ErrInvalidPause, http.StatusBadRequest, "", "weeks"},
	{subscribers.ErrInvalidToken, http.StatusBadRequest, "", "token"}, // ErrTokenExpired too
	{subscribers.ErrNotFound, http.StatusNotFound, "no such subscriber", ""},
	{bounce.ErrUnauthenticated, http.StatusUnauthorized, "", ""},
	{bounce.ErrMalformed, http.StatusBadRequest, "", ""},
	{bounce.ErrTemporary, http.StatusServiceUnavailable, "temporary failure, retry later", ""},
}

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// Status is the HTTP status for err (200 for nil).
func Status(err error) int {
	status, _ := describe(err)
	return status
}

// Body is the status and JSON body for err. A server error's body says
// only "internal error".
func Body(err error) (int, ErrorBody) { return describe(err) }

func describe(err error) (int, ErrorBody) {
	if err == nil {
		return http.StatusOK, ErrorBody{}
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, ErrorBody{Error: fmt.Sprintf("body is larger than %d bytes", tooBig.Limit)}
	}
	var fe *article.FieldError
	if errors.As(err, &fe) {
		return http.StatusBadRequest, ErrorBody{Error: fe.Error(), Field: fe.Field}
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			msg := c.message
			if msg == "" {
				msg = err.Error()
			}
			return c.status, ErrorBody{Error: msg, Field: c.field}
		}
	}
	return http.StatusInternalServerError, ErrorBody{Error: "internal error"}
}

// JSON answers v as JSON with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// Error answers err as JSON with its status from the table; a server error
// is logged (with the request's method and path) and not shown.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, body := describe(err)
	LogServerError(r, log, status, err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="syndicated"`)
	}
	JSON(w, status, body)
}

// Text answers err as plain text with its status from the table, for
// pages; a server error is logged and not shown.
func Text(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, body := describe(err)
	LogServerError(r, log, status, err)
	http.Error(w, body.Error, status)
}

// ErrorPager renders an HTML error page with a status (templates.Renderer).
type ErrorPager interface {
	ErrorPage(w http.ResponseWriter, status int, heading, message string)
}

// Page answers err as an HTML error page with its status from the table;
// a server error is logged and its text not shown.
func Page(w http.ResponseWriter, r *http.Request, log *slog.Logger, pages ErrorPager, err error) {
	status, _ := describe(err)
	LogServerError(r, log, status, err)
	pages.ErrorPage(w, status, "", "")
}

// LogServerError logs err at error level when status is a server error,
// for handlers that render their own error pages. A request the client
// gave up on (its context cancelled, the error one of the context's) is no
// server fault: it is logged at debug level only.
func LogServerError(r *http.Request, log *slog.Logger, status int, err error) {
	if status < 500 || log == nil {
		return
	}
	if cancelled(r, err) {
		log.Debug("request cancelled by the client", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
}

// cancelled reports whether err comes from r's client going away: r's
// context has ended and err is (or wraps) a context error.
func cancelled(r *http.Request, err error) bool {
	return r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// Recorder is an http.ResponseWriter that remembers the status the client
// gets: the first final status written, as net/http sends only that one
// (200 when the handler writes a body without one, or writes nothing);
// 1xx informational answers go through without counting. Reset readies a
// Recorder for reuse (a sync.Pool).
type Recorder struct {
	http.ResponseWriter
	status int
}

// Reset makes r record an answer on w.
func (r *Recorder) Reset(w http.ResponseWriter) { r.ResponseWriter, r.status = w, 0 }

// Status is the status sent, or 200 when none was written yet.
func (r *Recorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

func (r *Recorder) WriteHeader(code int) {
	if r.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *Recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

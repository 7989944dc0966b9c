package response_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/server/response"
	"github.com/syndicated/syndicated/subscribers"
	"github.com/syndicated/syndicated/templates"
)

func TestErrorTable(t *testing.T) {
	cases := []struct {
		err    error
		status int
		body   response.ErrorBody
	}{
		{fmt.Errorf("push: %w", &article.FieldError{Field: "headline", Reason: "is empty"}), 400, response.ErrorBody{Error: "headline: is empty", Field: "headline"}},
		{fmt.Errorf("withdraw x: %w", article.ErrNotFound), 404, response.ErrorBody{Error: "no such article"}},
		{fmt.Errorf("%w: 2019-W99", digest.ErrNotFound), 404, response.ErrorBody{Error: "no such digest"}},
		{subscribers.ErrTokenExpired, 400, response.ErrorBody{Error: subscribers.ErrTokenExpired.Error(), Field: "token"}},
		{fmt.Errorf("%w: no @", subscribers.ErrInvalidEmail), 400, response.ErrorBody{Error: "invalid email address: no @", Field: "email"}},
		{subscribers.ErrRateLimited, 429, response.ErrorBody{Error: subscribers.ErrRateLimited.Error()}},
		{&http.MaxBytesError{Limit: 2048}, 413, response.ErrorBody{Error: "body is larger than 2048 bytes"}},
		{fmt.Errorf("%w: Content-Type must be application/json", response.ErrUnsupportedMediaType), 415, response.ErrorBody{Error: "unsupported media type: Content-Type must be application/json"}},
		{errors.New("pq: connection refused to db.internal"), 500, response.ErrorBody{Error: "internal error"}},
	}
	for _, c := range cases {
		status, body := response.Body(c.err)
		if status != c.status || body != c.body {
			t.Errorf("%v: %d %+v, want %d %+v", c.err, status, body, c.status, c.body)
		}
	}
	if response.Status(nil) != http.StatusOK {
		t.Errorf("nil: %d", response.Status(nil))
	}
}

func TestErrorAnswers(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	r := httptest.NewRequest("POST", "/api/articles", nil)

	w := httptest.NewRecorder()
	response.Error(w, r, log, response.ErrUnauthorized)
	var body response.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 401 || body.Error != "missing or wrong bearer token" ||
		w.Header().Get("WWW-Authenticate") == "" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("401: %d %q %v %v", w.Code, w.Body, w.Header(), err)
	}
	if logs.Len() != 0 {
		t.Errorf("a client error was logged: %s", logs.String())
	}

	w = httptest.NewRecorder()
	response.Text(w, r, log, errors.New("disk on fire"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "disk") || !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("500: %d %q, log %q", w.Code, w.Body, logs.String())
	}
}

// The recorded status is the one the client gets: net/http sends the
// first final WriteHeader (later ones are ignored), 200 when the handler
// only writes or writes nothing, and 1xx answers are not final.
func TestRecorderKeepsTheStatusSent(t *testing.T) {
	for _, c := range []struct {
		name    string
		handler func(w http.ResponseWriter)
	}{
		{"first of two", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusNotModified)
			w.WriteHeader(http.StatusInternalServerError)
		}},
		{"write, then a header", func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")); w.WriteHeader(http.StatusNotFound) }},
		{"nothing", func(http.ResponseWriter) {}},
		{"informational first", func(w http.ResponseWriter) { w.WriteHeader(http.StatusEarlyHints); w.WriteHeader(http.StatusTeapot) }},
		{"error after a header", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusCreated)
			http.Error(w, "late", http.StatusBadGateway)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rec response.Recorder
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				rec.Reset(w)
				c.handler(&rec)
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if rec.Status() != resp.StatusCode {
				t.Errorf("recorded %d, the client got %d", rec.Status(), resp.StatusCode)
			}
		})
	}
}

// Page answers an error as the HTML error page, with the table's status;
// only a server error is logged.
func TestPage(t *testing.T) {
	pages, err := templates.New(templates.Site{Brand: templates.Brand{Name: "Daily"}, Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for _, c := range []struct {
		err    error
		status int
		logged bool
	}{
		{fmt.Errorf("story x: %w", article.ErrNotFound), http.StatusNotFound, false},
		{errors.New("disk on fire"), http.StatusInternalServerError, true},
	} {
		logs.Reset()
		w := httptest.NewRecorder()
		response.Page(w, httptest.NewRequest(http.MethodGet, "/x", nil), log, pages, c.err)
		if w.Code != c.status || !strings.Contains(w.Header().Get("Content-Type"), "text/html") || strings.Contains(w.Body.String(), "disk on fire") {
			t.Errorf("%v: %d %q\n%s", c.err, w.Code, w.Header().Get("Content-Type"), w.Body.String())
		}
		if logged := strings.Contains(logs.String(), "disk on fire"); logged != c.logged {
			t.Errorf("%v: logged %v, want %v", c.err, logged, c.logged)
		}
	}
}

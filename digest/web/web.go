// Package web serves the digest's HTTP pages: GET /digests/{series}/{week},
// the "view in browser" copy of a stored issue.
package web

import (
	"log/slog"
	"net/http"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/server/response"
)

// Handler serves the digest pages.
type Handler struct {
	svc *digest.Service
	log *slog.Logger
}

// New returns the handler; log may be nil.
func New(svc *digest.Service, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: svc, log: log}
}

// Register adds GET /digests/{series}/{week}, the "view in browser" copy
// of a stored issue (without any recipient's unsubscribe link); unknown
// issues are 404. Use as a server.Options.Register entry.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /digests/{series}/{week}", h.serveIssue)
}

func (h *Handler) serveIssue(w http.ResponseWriter, r *http.Request) {
	series, week := r.PathValue("series"), r.PathValue("week")
	wk, err := digest.ParseWeek(week)
	if err != nil || wk.String() != week {
		response.Text(w, r, h.log, digest.ErrNotFound)
		return
	}
	p, err := h.svc.Stored(r.Context(), series, wk)
	var out *digest.Rendered
	if err == nil {
		out, err = h.svc.Render(p, nil)
	}
	if err != nil {
		response.Text(w, r, h.log, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write([]byte(out.HTML))
}

package digest

import (
	"errors"
	"net/http"
)

// Register adds GET /digests/{series}/{week}, the "view in browser" copy
// of a stored issue (without any recipient's unsubscribe link); unknown
// issues are 404. Use as a server.Options.Register entry.
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /digests/{series}/{week}", s.serveIssue)
}

func (s *Service) serveIssue(w http.ResponseWriter, r *http.Request) {
	series, week := r.PathValue("series"), r.PathValue("week")
	wk, err := ParseWeek(week)
	if err != nil || wk.String() != week {
		http.NotFound(w, r)
		return
	}
	iss, err := s.cfg.Store.GetIssue(r.Context(), IssueID(series, wk))
	if errors.Is(err, ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.cfg.Log.Error("digest page", "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	arts, err := s.Articles(r.Context(), iss)
	if err == nil {
		var out *Rendered
		if out, err = s.Render(&Plan{Issue: *iss, Articles: arts, Stored: true}, nil); err == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "public, max-age=300")
			_, _ = w.Write([]byte(out.HTML))
			return
		}
	}
	s.cfg.Log.Error("digest page", "issue", iss.ID, "err", err)
	http.Error(w, "Internal Server Error", http.StatusInternalServerError)
}

package feeds

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

var (
	hdrVary      = []string{"Accept-Encoding"}
	hdrGzip      = []string{"gzip"}
	hdrAllow     = []string{"GET, HEAD"}
	hdrNoSniff   = []string{"nosniff"}
	hdrPlainText = []string{"text/plain; charset=utf-8"}
)

// ServeHTTP serves the subscription feeds and archive pages under their URL
// paths: GET and HEAD, conditional requests (If-None-Match with weak
// comparison, lists and "*"; else If-Modified-Since), precompressed gzip
// when Accept-Encoding allows it, Cache-Control from SetOptions.MaxAge,
// and, when the spec has a WebSub hub, Link headers naming the hub and the
// document's self URL (WebSub §4: the publisher MUST send both).
// An archive URL that names no document (a numbered page of old, a month
// now paged by day, an empty period) is redirected (301) to the document
// holding its oldest story, or the next one. Unknown paths get 404; other
// methods 405 with Allow.
func (s *Set) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res := s.snap.Load().byPath[r.URL.Path]
	if res == nil && s.icon != nil && r.URL.Path == IconPath {
		res = s.icon
	}
	if res == nil {
		var err error
		if res, err = s.onRequest(r.Context(), r.URL.Path); err != nil {
			var moved *MovedError
			if errors.As(err, &moved) {
				http.Redirect(w, r, moved.Path, http.StatusMovedPermanently)
				return
			}
			if IsNotFound(err) {
				http.NotFound(w, r)
				return
			}
			if r.Context().Err() != nil {
				return // client gone
			}
			http.Error(w, "feed temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	s.serve(w, r, res)
}

// Favicon serves the site's /favicon.ico: the brand icon (by redirect)
// when one is configured, else the embedded default icon, with the same
// validators and methods as the feeds.
func (s *Set) Favicon() http.Handler {
	if icon := s.b.brand.Icon; icon != "" {
		return http.RedirectHandler(icon, http.StatusFound)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, s.favicon) })
}

// serve writes res: GET and HEAD, conditional requests, gzip when res has
// a gzip variant and the client takes it.
func (s *Set) serve(w http.ResponseWriter, r *http.Request, res *resource) {
	h := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h["Allow"] = hdrAllow
		h["Content-Type"] = hdrPlainText
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte("method not allowed\n"))
		return
	}
	rep := &res.plain
	gz := res.gz.body != nil && acceptsGzip(r.Header["Accept-Encoding"])
	if gz {
		rep = &res.gz
	}
	h["Vary"] = hdrVary
	h["Etag"] = rep.hdrETag
	h["Last-Modified"] = res.hdrLM
	h["Cache-Control"] = s.maxAge
	if res.hdrLink != nil {
		h["Link"] = res.hdrLink
	}
	if notModified(r, rep.etag, res.lastMod) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = res.hdrType
	h["X-Content-Type-Options"] = hdrNoSniff
	h["Content-Length"] = rep.hdrLen
	if gz {
		h["Content-Encoding"] = hdrGzip
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(rep.body)
	}
}

// notModified evaluates If-None-Match (weak comparison) or, when that is
// absent, If-Modified-Since, as RFC 9110 §13.2.2 orders them.
func notModified(r *http.Request, etag string, lastMod time.Time) bool {
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		for _, v := range inm {
			if etagListMatches(v, etag) {
				return true
			}
		}
		return false
	}
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" {
		return false
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	return !lastMod.After(t)
}

// etagListMatches reports whether the If-None-Match field value list
// matches etag by weak comparison ("W/" ignored on both sides).
func etagListMatches(list, etag string) bool {
	etag = strings.TrimPrefix(etag, "W/")
	for list != "" {
		var tok string
		tok, list, _ = strings.Cut(list, ",")
		tok = strings.TrimSpace(tok)
		if tok == "*" {
			return true
		}
		if strings.TrimPrefix(tok, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether the Accept-Encoding field values accept gzip
// with a non-zero quality (explicitly, as x-gzip, or through "*").
func acceptsGzip(values []string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, v := range values {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			coding, params, _ := strings.Cut(tok, ";")
			coding = strings.TrimSpace(coding)
			q := qvalue(params)
			switch {
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				if q > gzipQ {
					gzipQ = q
				}
			case coding == "*":
				starQ = q
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// qvalue parses the q parameter of an Accept-Encoding element (1 when
// absent or malformed upwards; 0 for "q=0", "q=0.0", …).
func qvalue(params string) float64 {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" {
			return 0
		}
		if v[0] == '1' {
			return 1
		}
		if v[0] != '0' {
			return 0
		}
		for _, c := range v[1:] {
			if c >= '1' && c <= '9' {
				return 0.5 // some non-zero weight; only zero versus non-zero matters here
			}
		}
		return 0
	}
	return 1
}

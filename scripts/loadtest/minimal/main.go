// Command minimal is the yardstick of scripts/load.sh: the least a Go
// net/http server can do to serve one feed from memory: the same body and
// response headers as syndicated sends (so both put the same bytes on the
// wire), gzip when asked, 304 on a matching If-None-Match. It has no
// routing, metrics or conditional-request parsing of its own; with
// -timeouts it has syndicated's server limits.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18182", "address")
	plainPath := flag.String("plain", "", "file with the feed bytes")
	gzipPath := flag.String("gzip", "", "file with the gzip-compressed feed bytes")
	etag := flag.String("etag", `"x"`, "ETag of the plain bytes")
	gzipETag := flag.String("gzip-etag", `"x-gzip"`, "ETag of the gzip bytes")
	ctype := flag.String("type", "application/rss+xml; charset=utf-8", "Content-Type")
	lastMod := flag.String("last-modified", "", "Last-Modified header")
	cacheControl := flag.String("cache-control", "", "Cache-Control header")
	timeouts := flag.Bool("timeouts", false, "set the same server limits as syndicated: timeouts and header size (scripts/load.sh does)")
	flag.Parse()
	plain, err := os.ReadFile(*plainPath)
	if err != nil {
		log.Fatal(err)
	}
	gz, err := os.ReadFile(*gzipPath)
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/feed", func(w http.ResponseWriter, r *http.Request) {
		body, tag := plain, *etag
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			body, tag = gz, *gzipETag
			w.Header().Set("Content-Encoding", "gzip")
		}
		h := w.Header()
		h.Set("Vary", "Accept-Encoding")
		h.Set("ETag", tag)
		h.Set("Last-Modified", *lastMod)
		h.Set("Cache-Control", *cacheControl)
		if r.Header.Get("If-None-Match") == tag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", *ctype)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	srv := &http.Server{Addr: *listen}
	if *timeouts {
		// server.HTTPServer's, with config's default http.*_timeout.
		srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = 5*time.Second, 10*time.Second, 30*time.Second, 2*time.Minute
		srv.MaxHeaderBytes = 64 << 10
	}
	log.Fatal(srv.ListenAndServe())
}

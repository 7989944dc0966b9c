// Command minimal is the yardstick of scripts/load.sh: the least a Go
// net/http server can do to serve one feed from memory (the same bytes,
// gzip when asked, 304 on a matching If-None-Match). syndicated's feed
// handler is measured against it side by side.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strings"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18182", "address")
	plainPath := flag.String("plain", "", "file with the feed bytes")
	gzipPath := flag.String("gzip", "", "file with the gzip-compressed feed bytes")
	etag := flag.String("etag", `"x"`, "ETag of the plain bytes")
	gzipETag := flag.String("gzip-etag", `"x-gzip"`, "ETag of the gzip bytes")
	ctype := flag.String("type", "application/rss+xml; charset=utf-8", "Content-Type")
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
		w.Header().Set("Content-Type", *ctype)
		w.Header().Set("ETag", tag)
		if r.Header.Get("If-None-Match") == tag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}

package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkOverhead measures what the HTTP edge (routing, status recording,
// metrics) adds to a feed request, against calling the feed handler alone.
func BenchmarkOverhead(b *testing.B) {
	feed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotModified) })
	s, err := New(Options{Feeds: feed, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/feeds/society.rss", nil)
	w := discardWriter{h: http.Header{}}
	b.Run("handler-alone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			feed.ServeHTTP(w, req)
		}
	})
	b.Run("through-server", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.ServeHTTP(w, req)
		}
	})
}

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

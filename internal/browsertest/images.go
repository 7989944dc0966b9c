package browsertest

import (
	"bytes"
	"context"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// StandInImages answers the browser's requests for URLs matching pattern
// (e.g. "https://static.example.com/*", where fixture photos live: the
// test machine has no network) with a generated 600×400 PNG, so that
// screenshots show pictures where a publisher's pages have them.
func StandInImages(tb testing.TB, ctx context.Context, pattern string) {
	tb.Helper()
	paused := chromedp.Events(ctx, fetch.RequestPaused) // subscribe before enabling
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		tb.Fatalf("intercept %s: %v", pattern, err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID: ev.RequestID, ResponseCode: 200,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "image/png"}},
				Body:            standIn(ev.Request.URL),
			})
		}
	}()
}

// standIn is a soft two-tone picture whose colours depend on url, so that
// different photos look different.
func standIn(url string) []byte {
	h := fnv.New32a()
	h.Write([]byte(url))
	s := h.Sum32()
	top := color.RGBA{uint8(90 + s%80), uint8(110 + s>>8%70), uint8(120 + s>>16%80), 255}
	bottom := color.RGBA{top.R / 2, top.G / 2, top.B / 2, 255}
	const w, ht = 600, 400
	img := image.NewRGBA(image.Rect(0, 0, w, ht))
	for y := range ht {
		for x := range w {
			c := top
			if y > ht*2/3-(x/12) {
				c = bottom
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // an in-memory RGBA image always encodes
	return buf.Bytes()
}

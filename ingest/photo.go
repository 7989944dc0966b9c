package ingest

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/internal/netguard"
)

// PhotoProbe learns a lead photo's size in bytes and media type, so that
// RSS enclosures carry a real length (validators reject length="0").
type PhotoProbe func(ctx context.Context, url string) (length int64, mediaType string, err error)

// HTTPPhotoProbe asks the image's server with a HEAD request, through
// client (nil: PhotoProbeClient(nil), public addresses only).
func HTTPPhotoProbe(client *http.Client) PhotoProbe {
	if client == nil {
		client = PhotoProbeClient(nil)
	}
	return func(ctx context.Context, url string) (int64, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
		if err != nil {
			return 0, "", fmt.Errorf("probe photo: %w", err)
		}
		req.Header.Set("User-Agent", "syndicated-photo-probe")
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", fmt.Errorf("probe photo: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, "", fmt.Errorf("probe photo %s: %s", url, resp.Status)
		}
		if resp.ContentLength <= 0 {
			return 0, "", fmt.Errorf("probe photo %s: no Content-Length", url)
		}
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if !strings.HasPrefix(mt, "image/") {
			mt = ""
		}
		return resp.ContentLength, mt, nil
	}
}

// PhotoProbeClient is the photo probe's HTTP client: a photo URL comes
// with an article, so it never reaches a loopback, private or link-local
// address (checked when connecting: after DNS and after each redirect),
// except those in allow (an internal image server).
func PhotoProbeClient(allow []netip.Prefix) *http.Client {
	return netguard.Policy{Allow: allow}.Client(10 * time.Second)
}

// learnPhotoSize fills a lead photo's unknown size: from what the store
// learned before for the same URL, else from the probe. A failed probe
// leaves the size unknown; the article is stored all the same.
func (im *Importer) learnPhotoSize(ctx context.Context, a *article.Article) {
	if a.Photo == nil || a.Photo.URL == "" || a.Photo.Length > 0 || im.opts.PhotoProbe == nil {
		return
	}
	if old, err := im.store.GetArticle(ctx, a.ID); err == nil && old.Photo != nil && old.Photo.URL == a.Photo.URL && old.Photo.Length > 0 {
		return // Merge carries the stored size over
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, mt, err := im.opts.PhotoProbe(pctx, a.Photo.URL)
	if err != nil {
		im.opts.Logger.Warn("photo size unknown; its RSS enclosure gets length 0", "article", a.ID, "err", err)
		return
	}
	ph := *a.Photo
	ph.Length = n
	if ph.Type == "" {
		ph.Type = mt
	}
	a.Photo = &ph
}

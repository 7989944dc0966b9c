package ingest

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
)

// PhotoProbe learns a lead photo's size in bytes and media type, so that
// RSS enclosures carry a real length (validators reject length="0").
type PhotoProbe func(ctx context.Context, url string) (length int64, mediaType string, err error)

// HTTPPhotoProbe asks the image's server with a HEAD request.
func HTTPPhotoProbe(client *http.Client) PhotoProbe {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
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

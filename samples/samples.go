// Package samples holds the sample articles shipped with syndicated: a few
// original, invented Society-section stories (never copies of real
// articles) in every import format, so that a fresh `syndicated serve`
// shows real-looking feeds at once. ingest.Importer.ImportFS reads them.
//
// The set: plain-text article pages in the current template (one of them
// two pages long, as STEM.txt + STEM.p2.txt, its page 2 a copy without
// byline; one in Chinese, one with an agency byline), a
// Markdown article with a lead photo, and two JSON articles, one of them
// withdrawn. Three belong to the Shanghai 70th anniversary series (two by
// their editor's note, one by its tag). All are dated in 2019, none in the
// future.
package samples

import (
	"context"
	"embed"
	"fmt"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest"
)

// FS holds the sample files at its root.
//
//go:embed *.txt *.md *.json
var FS embed.FS

// Seed imports the samples with im when store holds no article yet, so
// that a fresh install shows real-looking feeds at once. It returns the
// files it imported and those refused (nothing when the store had
// articles). A sample is refused only when this configuration lacks its
// section: the caller says so, and the others are imported anyway.
func Seed(ctx context.Context, store article.Store, im *ingest.Importer) (imported int, refused []ingest.FileResult, err error) {
	n, err := store.CountArticles(ctx, article.Query{})
	if err != nil {
		return 0, nil, fmt.Errorf("count articles: %w", err)
	}
	if n > 0 {
		return 0, nil, nil
	}
	rep, err := im.ImportFS(ctx, FS, ".")
	if err != nil {
		return 0, nil, fmt.Errorf("import samples: %w", err)
	}
	refused = rep.Failed()
	return len(rep.Files) - len(refused), refused, nil
}

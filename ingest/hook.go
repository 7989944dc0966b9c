package ingest

import (
	"context"
	"fmt"

	"github.com/syndicated/syndicated/article"
)

// Source says which way into the importer an Event came.
type Source string

const (
	// SourceFiles is ImportPaths and ImportFS: files of a directory (the
	// content directory, when the daemon scans it) or named ones.
	SourceFiles Source = "files"
	// SourceAPI is PushArticle and Withdraw: the HTTP API.
	SourceAPI Source = "api"
)

// Event is what one call of the importer did: every article it stored,
// left unchanged or refused (Report.Files; for the API, one, named
// "request body" or "withdraw"). Hooks get it once the store was written.
type Event struct {
	Source Source
	Report
}

// Hook is told of every Event; it must not block (the daemon's feeds ask
// for a rebuild, its metrics count the outcomes).
type Hook func(ctx context.Context, e Event)

// notify tells every hook of Options.Hooks.
func (im *Importer) notify(ctx context.Context, src Source, rep Report) {
	for _, h := range im.opts.Hooks {
		h(ctx, Event{Source: src, Report: rep})
	}
}

// notifyAPI is notify for the one article of an API call.
func (im *Importer) notifyAPI(ctx context.Context, file string, pr article.PutResult, err error) {
	if len(im.opts.Hooks) == 0 {
		return
	}
	res := FileResult{File: file, Files: []string{file}, Outcome: pr.Outcome, Err: err}
	if a := pr.Article; a != nil {
		res.ID, res.GUID = a.ID, a.GUID
	}
	im.notify(ctx, SourceAPI, Report{Files: []FileResult{res}})
}

// Scan imports dir, as the daemon does on its feed schedule: each
// rejected file is logged at warning level, and the error is not nil only
// when the scan as a whole failed (ctx ended).
func (im *Importer) Scan(ctx context.Context, dir string) error {
	rep, err := im.ImportPaths(ctx, dir)
	if err != nil {
		return fmt.Errorf("scan %s: %w", dir, err)
	}
	for _, f := range rep.Failed() {
		im.opts.Logger.Warn("article rejected", "err", f.Err)
	}
	return nil
}

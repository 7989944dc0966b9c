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

import "embed"

// FS holds the sample files at its root.
//
//go:embed *.txt *.md *.json
var FS embed.FS

package main

import (
	"time"

	"github.com/syndicated/syndicated/article"

	_ "time/tzdata" // the newsroom zone must resolve even without system zoneinfo
)

// newsroomZone is the newsroom's zone the importer reads zoneless times
// in and dates GUIDs in. It is the one place cmd decides it: point it at
// the configuration's zone key once config has one.
func newsroomZone() *time.Location {
	if loc, err := time.LoadLocation(article.NewsroomZone); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

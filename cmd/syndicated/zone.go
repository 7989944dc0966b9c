package main

import "time"

// zone is newsroom.zone, the zone the importer reads zoneless times in and
// dates GUIDs in. The config was validated when it was loaded, so the zone
// resolves; UTC is only a guard against a config built without Validate.
func (a *app) zone() *time.Location {
	if loc, err := a.cfg.Location(); err == nil {
		return loc
	}
	return time.UTC
}

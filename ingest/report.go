package ingest

import (
	"fmt"
	"io"
)

// Write writes what "syndicated import" shows of r: a line per file with
// its outcome, article id and file on w (each failure instead on errw,
// with what is wrong and where), then the counts (String).
func (r Report) Write(w, errw io.Writer) {
	for _, f := range r.Files {
		if f.Err != nil {
			fmt.Fprintf(errw, "error: %v\n", f.Err)
			continue
		}
		fmt.Fprintf(w, "%-12s %s (%s)\n", f.Outcome, f.ID, f.File)
	}
	fmt.Fprintln(w, r.String())
}

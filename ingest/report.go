package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// Write writes what "syndicated import" shows of r: a line per file with
// its outcome, article id and file on w (each failure instead on errw,
// with what is wrong and where, and each warning about a file kept, such
// as a copy cut short), then the counts (String).
func (r Report) Write(w, errw io.Writer) {
	for _, f := range r.Files {
		if f.Err != nil {
			fmt.Fprintf(errw, "error: %v\n", f.Err)
			continue
		}
		fmt.Fprintf(w, "%-12s %s (%s)\n", f.Outcome, f.ID, f.File)
		for _, warn := range f.Warnings {
			fmt.Fprintf(errw, "warning: %s\n", warn)
		}
	}
	fmt.Fprintln(w, r.String())
}

// OnlyParseWarnings passes on to h only the ParseWarning records: for a
// caller that reports each file itself (Write), and wants to hear only
// what the importer changed in a file it kept.
func OnlyParseWarnings(h slog.Handler) slog.Handler { return parseWarnings{h} }

type parseWarnings struct{ slog.Handler }

func (h parseWarnings) Handle(ctx context.Context, r slog.Record) error {
	if r.Message != ParseWarning {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h parseWarnings) WithAttrs(as []slog.Attr) slog.Handler {
	return parseWarnings{h.Handler.WithAttrs(as)}
}

func (h parseWarnings) WithGroup(name string) slog.Handler {
	return parseWarnings{h.Handler.WithGroup(name)}
}

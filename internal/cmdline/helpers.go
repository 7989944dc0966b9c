package cmdline

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrReported ends the error of a command that printed what went wrong in
// detail already (bad rows, failed series): Main adds it after a count.
var ErrReported = errors.New("see the errors above")

// NoArgs is the error of a command given arguments it does not take.
func NoArgs(name string, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: %s takes no arguments", ErrUsage, name)
	}
	return nil
}

// ParseTime reads a flag's YYYY-MM-DD (in loc) or RFC 3339 time; a bad
// value is a usage error naming the flag.
func ParseTime(flag, v string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", v, loc)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, v); err != nil {
			return t, fmt.Errorf("%w: --%s %q: want YYYY-MM-DD (newsroom.zone) or RFC 3339", ErrUsage, flag, v)
		}
	}
	return t, nil
}

// List splits a comma-separated flag value; nil for none.
func List(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// Progress draws "label n/total" on a terminal and nothing otherwise, so
// that long work is visible interactively and quiet in logs.
type Progress struct {
	w        io.Writer
	terminal bool
	label    string
	total    int // 0: unknown
	last     time.Time
}

// NewProgress draws on w when terminal is true (a total of 0 is unknown).
func NewProgress(w io.Writer, terminal bool, label string, total int) *Progress {
	return &Progress{w: w, terminal: terminal, label: label, total: total}
}

// SetTotal says how much there is to do, once known.
func (p *Progress) SetTotal(total int) { p.total = total }

// Set shows done, at most every 100 ms, and always when all is done.
func (p *Progress) Set(done int) {
	if !p.terminal {
		return
	}
	if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond || done == p.total {
		p.last = now
		if p.total > 0 {
			fmt.Fprintf(p.w, "\r%s %d/%d", p.label, done, p.total)
		} else {
			fmt.Fprintf(p.w, "\r%s %d", p.label, done)
		}
	}
}

// Done ends the progress line.
func (p *Progress) Done() {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}

package cmdline

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// A progress line is drawn on a terminal only, and ended there.
func TestProgress(t *testing.T) {
	var term, log bytes.Buffer
	for _, c := range []struct {
		w        *bytes.Buffer
		terminal bool
	}{{&term, true}, {&log, false}} {
		p := NewProgress(c.w, c.terminal, "importing rows", 0)
		p.Set(1) // unknown total
		p.SetTotal(3)
		p.Set(3) // all done: drawn however soon after the last
		p.Done()
	}
	if got, want := term.String(), "\rimporting rows 1\rimporting rows 3/3\n"; got != want {
		t.Errorf("on a terminal: %q, want %q", got, want)
	}
	if log.Len() != 0 {
		t.Errorf("not on a terminal: %q, want nothing", log.String())
	}
}

// A flag's time is a date in the given zone or an RFC 3339 time; anything
// else is a usage error naming the flag.
func TestParseTime(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	for v, want := range map[string]time.Time{
		"2019-05-01":                time.Date(2019, 5, 1, 0, 0, 0, 0, shanghai),
		"2019-05-01T10:00:00+02:00": time.Date(2019, 5, 1, 8, 0, 0, 0, time.UTC),
	} {
		if got, err := ParseTime("since", v, shanghai); err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", v, got, err, want)
		}
	}
	_, err := ParseTime("since", "1 May", shanghai)
	if !errors.Is(err, ErrUsage) || err.Error() != `usage: --since "1 May": want YYYY-MM-DD (newsroom.zone) or RFC 3339` {
		t.Errorf("a bad time: %v", err)
	}
}

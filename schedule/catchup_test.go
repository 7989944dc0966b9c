package schedule

import (
	"context"
	"testing"
	"time"
)

const weekly = "CRON_TZ=Asia/Shanghai 0 9 * * MON"

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// The daemon was down at Monday 09:00 Shanghai: started at 10:30 it
// catches that run up; started 25 hours after it, with a 24-hour grace, it
// does not; a run that is not due yet is not "missed".
func TestMissed(t *testing.T) {
	sh := shanghai(t)
	due := time.Date(2019, 4, 29, 9, 0, 0, 0, sh)
	for _, c := range []struct {
		name  string
		now   time.Time
		grace time.Duration
		ok    bool
	}{
		{"started at 10:30", time.Date(2019, 4, 29, 10, 30, 0, 0, sh), 24 * time.Hour, true},
		{"started at 09:00 sharp", due, 24 * time.Hour, true},
		{"started 23 h late", due.Add(23 * time.Hour), 24 * time.Hour, true},
		{"started 25 h late", due.Add(25 * time.Hour), 24 * time.Hour, false},
		{"started at 08:59", due.Add(-time.Minute), 24 * time.Hour, false},
		{"grace 0: never", time.Date(2019, 4, 29, 10, 30, 0, 0, sh), 0, false},
		// The instant in another zone is the same instant.
		{"started at 02:30 UTC", time.Date(2019, 4, 29, 2, 30, 0, 0, time.UTC), 24 * time.Hour, true},
	} {
		at, ok, err := Missed(weekly, c.now, c.grace)
		if err != nil {
			t.Fatal(err)
		}
		if ok != c.ok || (ok && !at.Equal(due)) {
			t.Errorf("%s: Missed = %v, %v; want %v at %v", c.name, at, ok, c.ok, due)
		}
	}
	// Of several runs in the window, the latest.
	at, ok, _ := Missed("0 * * * *", time.Date(2019, 4, 29, 10, 30, 0, 0, sh), 24*time.Hour)
	if !ok || !at.Equal(time.Date(2019, 4, 29, 10, 0, 0, 0, sh)) {
		t.Errorf("hourly: Missed = %v, %v", at, ok)
	}
	if _, _, err := Missed("not a spec", time.Now(), time.Hour); err == nil {
		t.Error("bad spec accepted")
	}
}

// CatchUp gives the job the time the run was due, takes the shared lock
// (another replica holding it: no run here) and runs nothing when no run
// was missed.
func TestCatchUp(t *testing.T) {
	sh := shanghai(t)
	now := time.Date(2019, 4, 29, 10, 30, 0, 0, sh)
	lock := &oneHolder{held: map[string]bool{}}
	s := New(lock, quiet())
	var got []time.Time
	job := func(_ context.Context, due time.Time) error { got = append(got, due); return nil }
	if ran, err := s.CatchUp(t.Context(), "digest-x", weekly, now, 24*time.Hour, job); err != nil || !ran {
		t.Fatalf("CatchUp = %v, %v", ran, err)
	}
	if len(got) != 1 || !got[0].Equal(time.Date(2019, 4, 29, 9, 0, 0, 0, sh)) {
		t.Errorf("job given %v", got)
	}
	if ran, _ := s.CatchUp(t.Context(), "digest-x", weekly, now.Add(25*time.Hour), 24*time.Hour, job); ran {
		t.Error("ran with nothing missed in the window")
	}
	lock.held["job:digest-x"] = true // another replica is at it
	if ran, _ := s.CatchUp(t.Context(), "digest-x", weekly, now, 24*time.Hour, job); ran {
		t.Error("ran while another replica held the lock")
	}
	if len(got) != 1 {
		t.Errorf("job ran %d times, want 1", len(got))
	}
}

package feeds

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PeriodKind is the unit an archive is paged by: a calendar month, an ISO
// week or a day of publication in the newsroom's zone.
type PeriodKind uint8

const (
	ByMonth PeriodKind = iota // the default
	ByWeek
	ByDay
)

// ParsePeriodKind reads "month", "week" or "day" ("" is month).
func ParsePeriodKind(s string) (PeriodKind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "month":
		return ByMonth, nil
	case "week":
		return ByWeek, nil
	case "day":
		return ByDay, nil
	}
	return ByMonth, fmt.Errorf("feeds: archive period %q is not month, week or day", s)
}

func (k PeriodKind) String() string {
	switch k {
	case ByWeek:
		return "week"
	case ByDay:
		return "day"
	}
	return "month"
}

// Period is one calendar month, ISO week or day, named by its first day.
// The zero Period is no period.
type Period struct {
	Kind  PeriodKind
	Year  int
	Month time.Month
	Day   int // the first day: 1 for a month, the Monday of a week
}

// PeriodOf is the period of kind k that t falls in, in loc.
func PeriodOf(k PeriodKind, t time.Time, loc *time.Location) Period {
	y, m, d := t.In(loc).Date()
	switch k {
	case ByMonth:
		return Period{ByMonth, y, m, 1}
	case ByWeek:
		c := civil(y, m, d)
		c = c.AddDate(0, 0, -((int(c.Weekday()) + 6) % 7))
		return Period{ByWeek, c.Year(), c.Month(), c.Day()}
	}
	return Period{ByDay, y, m, d}
}

// civil is the calendar date y-m-d at noon UTC, for date arithmetic that no
// zone's transitions disturb.
func civil(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

// IsZero reports whether p is the zero Period.
func (p Period) IsZero() bool { return p.Year == 0 }

// Start is the first instant of p in loc.
func (p Period) Start(loc *time.Location) time.Time {
	return time.Date(p.Year, p.Month, p.Day, 0, 0, 0, 0, loc)
}

// End is the first instant after p in loc.
func (p Period) End(loc *time.Location) time.Time {
	switch p.Kind {
	case ByMonth:
		return time.Date(p.Year, p.Month+1, 1, 0, 0, 0, 0, loc)
	case ByWeek:
		return time.Date(p.Year, p.Month, p.Day+7, 0, 0, 0, 0, loc)
	}
	return time.Date(p.Year, p.Month, p.Day+1, 0, 0, 0, 0, loc)
}

// Within is the period of kind k that p's first day falls in.
func (p Period) Within(k PeriodKind) Period { return PeriodOf(k, p.Start(time.UTC), time.UTC) }

// String names p in an archive URL: "2019-04", "2019-W17", "2019-04-24".
func (p Period) String() string {
	switch p.Kind {
	case ByMonth:
		return fmt.Sprintf("%04d-%02d", p.Year, int(p.Month))
	case ByWeek:
		y, w := civil(p.Year, p.Month, p.Day).ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	}
	return fmt.Sprintf("%04d-%02d-%02d", p.Year, int(p.Month), p.Day)
}

// ParsePeriod reads a period as String writes it.
func ParsePeriod(s string) (Period, error) {
	bad := fmt.Errorf("feeds: %q is not a period (YYYY-MM, YYYY-Www or YYYY-MM-DD)", s)
	switch {
	case len(s) == len("2006-01") && s[4] == '-':
		t, err := time.Parse("2006-01", s)
		if err != nil || t.Year() < 1 {
			return Period{}, bad
		}
		return Period{ByMonth, t.Year(), t.Month(), 1}, nil
	case len(s) == len("2006-W01") && s[4] == '-' && s[5] == 'W':
		y, err1 := strconv.Atoi(s[:4])
		w, err2 := strconv.Atoi(s[6:])
		if err1 != nil || err2 != nil || y < 1 || w < 1 || w > 53 {
			return Period{}, bad
		}
		// ISO week 1 holds 4 January; its Monday starts the week-year.
		jan4 := civil(y, time.January, 4)
		mon := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+7*(w-1))
		if gy, gw := mon.ISOWeek(); gy != y || gw != w {
			return Period{}, bad // week 53 of a year that has 52
		}
		return Period{ByWeek, mon.Year(), mon.Month(), mon.Day()}, nil
	case len(s) == len("2006-01-02"):
		t, err := time.Parse("2006-01-02", s)
		if err != nil || t.Year() < 1 {
			return Period{}, bad
		}
		return Period{ByDay, t.Year(), t.Month(), t.Day()}, nil
	}
	return Period{}, bad
}

// pageRef names an archive document: a whole period, or (part ≥ 1) the
// part-th run of PageItems stories of a day that holds more.
type pageRef struct {
	period Period
	part   int
}

func (r pageRef) IsZero() bool { return r.period.IsZero() }

// String is the document's name in its URL: "2019-04", "2019-W17",
// "2019-04-24", "2019-04-24-2" (the second part of a busy day).
func (r pageRef) String() string {
	if r.part > 0 {
		return r.period.String() + "-" + strconv.Itoa(r.part)
	}
	return r.period.String()
}

// parsePageRef reads a pageRef as String writes it.
func parsePageRef(s string) (pageRef, error) {
	if len(s) > len("2006-01-02-") && s[10] == '-' {
		n, err := strconv.Atoi(s[11:])
		if err != nil || n < 1 || s[11] == '0' || len(s) > 11+6 {
			return pageRef{}, fmt.Errorf("feeds: %q is not a part of a day (YYYY-MM-DD-N)", s)
		}
		p, err := ParsePeriod(s[:10])
		if err != nil || p.Kind != ByDay {
			return pageRef{}, fmt.Errorf("feeds: %q is not a part of a day (YYYY-MM-DD-N)", s)
		}
		return pageRef{p, n}, nil
	}
	p, err := ParsePeriod(s)
	return pageRef{period: p}, err
}

package article

import (
	"fmt"
	"strconv"
	"time"
)

// Date formats t the one way pages and emails show a date: in loc (the
// newsroom's zone), with the zone's offset ("22 April 2019, 09:00 UTC+8").
func Date(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return t.Format("2 January 2006, 15:04") + " " + UTCOffset(t)
}

// UTCOffset is t's zone offset as "UTC", "UTC+8", "UTC-3:30".
func UTCOffset(t time.Time) string {
	_, off := t.Zone()
	if off == 0 {
		return "UTC"
	}
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	s := "UTC" + sign + strconv.Itoa(off/3600)
	if m := off % 3600 / 60; m != 0 {
		s += fmt.Sprintf(":%02d", m)
	}
	return s
}

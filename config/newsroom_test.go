package config

import (
	"strings"
	"testing"
	"time"
)

func TestNewsroomZone(t *testing.T) {
	c, err := Load("", []string{"SYNDICATED_NEWSROOM_ZONE=Europe/Lisbon"})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := c.Location()
	if err != nil || loc.String() != "Europe/Lisbon" {
		t.Fatalf("Location = %v, %v", loc, err)
	}
	if got := c.DigestSchedule(c.Series[0]); got != "CRON_TZ=Europe/Lisbon 0 9 * * MON" {
		t.Errorf("default digest schedule = %q", got)
	}
	s := c.Series[0]
	s.DigestSchedule = "CRON_TZ=UTC 0 6 * * FRI"
	if got := c.DigestSchedule(s); got != s.DigestSchedule {
		t.Errorf("explicit digest schedule = %q", got)
	}
	if d := Default(); d.Newsroom.Zone != "Asia/Shanghai" {
		t.Errorf("default zone %q", d.Newsroom.Zone)
	} else if loc, err := d.Location(); err != nil || time.Date(2019, 5, 1, 0, 0, 0, 0, loc).UTC().Hour() != 16 {
		t.Errorf("Asia/Shanghai: %v %v", loc, err)
	}
	for _, bad := range []string{"Mars/Olympus_Mons", ""} {
		_, err := Load("", []string{"SYNDICATED_NEWSROOM_ZONE=" + bad})
		if err == nil || !strings.Contains(err.Error(), "newsroom.zone") {
			t.Errorf("zone %q: %v", bad, err)
		}
	}
}

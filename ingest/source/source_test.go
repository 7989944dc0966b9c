package source

import (
	"testing"
	"time"
)

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Society": "society", "Powerhouse in the Making!": "powerhouse-in-the-making", "Café_2019.v2": "cafe_2019.v2",
		"--x--": "x", "上海": "", "A/B": "a-b",
	} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDetectLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"A story about Shanghai": "en", "今年以来，本市多个老旧小区完成加装电梯工程": "zh",
		"上海 Shanghai is a city of twenty-four million people and many lanes": "en", "": "en",
	} {
		if got := DetectLanguage(in); got != want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]time.Time{
		"2019-04-24T20:12:00+08:00": time.Date(2019, 4, 24, 20, 12, 0, 0, sh),
		"2019-04-24T12:12:00Z":      time.Date(2019, 4, 24, 20, 12, 0, 0, sh),
		"2019-04-24 20:12":          time.Date(2019, 4, 24, 20, 12, 0, 0, sh),
		"2019-04-24T20:12:05":       time.Date(2019, 4, 24, 20, 12, 5, 0, sh),
		"2019-04-24":                time.Date(2019, 4, 24, 0, 0, 0, 0, sh),
	} {
		got, err := ParseTime(in, sh)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseTime("yesterday", sh); err == nil {
		t.Error("ParseTime(yesterday) succeeded")
	}
}

func TestTitleCase(t *testing.T) {
	for in, want := range map[string]string{"HE WEI": "He Wei", "HSIAO-WUEN HON": "Hsiao-Wuen Hon", "He Wei": "He Wei", "李明": "李明"} {
		if got := TitleCase(in); got != want {
			t.Errorf("TitleCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	e := Errorf("seed.txt", 4, "byline", "no 'Updated:' time in %q", "By X")
	if got, want := e.Error(), `seed.txt:4: byline: no 'Updated:' time in "By X"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
)

// The shipped example must say exactly what the defaults are, so that an
// operator copying it changes nothing by accident.
func TestExampleMatchesDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "example.toml")
	if err := os.WriteFile(path, []byte(Example), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path, nil)
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	want := Default()
	want.Brand.Link = want.BaseURL + "/" // an empty brand.link is base_url
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example.toml differs from Default():\n got %+v\nwant %+v", got, want)
	}
}

func TestNoFileGivesDefaults(t *testing.T) {
	got, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.HTTP.Listen != "127.0.0.1:8080" || got.Series[0].Slug != "shanghai-70th" || got.Sections[0].Slug != "society" {
		t.Errorf("defaults: %+v", got)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := []string{
		"SYNDICATED_BASE_URL=https://news.example.org",
		"SYNDICATED_DATABASE_URL=postgres://db/x",
		"SYNDICATED_HTTP_LISTEN=0.0.0.0:9000",
		"SYNDICATED_HTTP_CACHE_MAX_AGE=90s",
		"SYNDICATED_SMTP_URL=smtp://mail.example.org:587",
		"SYNDICATED_FEEDS_ITEMS=20",
		"SYNDICATED_FEEDS_POLL_INTERVAL=250ms",
		"SYNDICATED_SAMPLES=false",
		"SYNDICATED_SERIES_0_TITLE=Renamed",
		"SYNDICATED_SERIES_0_TAGS=a, b",
		"PATH=/bin",
	}
	c, err := Load("", env)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]any{
		"base_url":             {c.BaseURL, "https://news.example.org"},
		"database.url":         {c.Database.URL, "postgres://db/x"},
		"http.listen":          {c.HTTP.Listen, "0.0.0.0:9000"},
		"http.cache_max_age":   {c.HTTP.CacheMaxAge.Duration, 90 * time.Second},
		"smtp.url":             {c.SMTP.URL, "smtp://mail.example.org:587"},
		"feeds.items":          {c.Feeds.Items, 20},
		"feeds.poll_interval":  {c.Feeds.PollInterval.Duration, 250 * time.Millisecond},
		"samples":              {c.Samples, false},
		"series.0.title":       {c.Series[0].Title, "Renamed"},
		"series.0.tags (list)": {strings.Join(c.Series[0].Tags, "|"), "a|b"},
	}
	for key, c := range checks {
		if !reflect.DeepEqual(c[0], c[1]) {
			t.Errorf("%s = %v, want %v", key, c[0], c[1])
		}
	}
}

func TestBadInputNamesTheKey(t *testing.T) {
	cases := []struct {
		name, file string
		env        []string
		want       string
	}{
		{"unknown key", "[http]\nlisten = \"x:1\"\nlisen = 1\n", nil, `unknown key "http.lisen"`},
		{"syntax", "base_url = \n", nil, "line 1"},
		{"bad base url", "base_url = \"ftp://x\"\n", nil, "base_url"},
		{"bad schedule", "[feeds]\nschedule = \"every day\"\n", nil, "feeds.schedule"},
		{"negative poll interval", "[feeds]\npoll_interval = \"-1s\"\n", nil, "feeds.poll_interval"},
		{"bad env poll interval", "", []string{"SYNDICATED_FEEDS_POLL_INTERVAL=often"}, "SYNDICATED_FEEDS_POLL_INTERVAL"},
		{"bad series pattern", "[[series]]\nslug = \"s\"\nnote_pattern = \"(\"\n", nil, "series.0.note_pattern"},
		{"bad slug", "[[sections]]\nslug = \"Bad Slug\"\n", nil, "sections.0.slug"},
		{"bad env int", "", []string{"SYNDICATED_FEEDS_ITEMS=many"}, "SYNDICATED_FEEDS_ITEMS"},
		{"bad smtp scheme", "", []string{"SYNDICATED_SMTP_URL=http://x"}, "smtp.url"},
		// robfig/cron panics on these; they must be errors naming the key.
		{"zone without fields", "[feeds]\nschedule = \"CRON_TZ=Asia/Shanghai\"\n", nil, "feeds.schedule"},
		{"bad zone", "[[series]]\nslug = \"s\"\ndigest_schedule = \"TZ=0\"\n", nil, "series.0.digest_schedule"},
		{"unknown zone", "", []string{"SYNDICATED_SERIES_0_DIGEST_SCHEDULE=CRON_TZ=Mars/Olympus 0 9 * * MON"}, "series.0.digest_schedule"},
		{"bad duration in file", "[http]\nread_timeout = \"soon\"\n", nil, `http.read_timeout: "soon" is not a duration`},
		{"short secret", "secret = \"short\"\n", nil, "secret: is 5 character(s)"},
		{"bad from", "[smtp]\nfrom = \"not an address\"\n", nil, "smtp.from"},
		{"bad listen", "[http]\nlisten = \"8080\"\n", nil, "http.listen"},
		{"bad hub url", "[feeds]\nhub_url = \"hub.example\"\n", nil, "feeds.hub_url"},
		{"content dir missing", "content_dir = \"/nonexistent/syndicated\"\n", nil, "content_dir"},
		{"output dir is a file", "[feeds]\noutput_dir = \"/etc/hostname\"\n", nil, "feeds.output_dir"},
		{"database scheme", "[database]\nurl = \"mysql://x\"\n", nil, "database.url"},
		{"unknown cadence", "[[series]]\nslug = \"s\"\ncadences = [\"weekly\", \"hourly\"]\n", nil, `series.0.cadences.1: "hourly" is not a cadence`},
		{"cadence twice", "[[series]]\nslug = \"s\"\ncadences = [\"daily\", \"daily\"]\n", nil, `series.0.cadences.1: "daily" is listed twice`},
		{"default not offered", "[[series]]\nslug = \"s\"\ncadences = [\"weekly\", \"daily\"]\ndefault_cadence = \"story\"\n", nil, "series.0.default_cadence"},
		{"default without cadences", "", []string{"SYNDICATED_SERIES_0_DEFAULT_CADENCE=daily"}, "series.0.default_cadence"},
		{"bad daily schedule", "[[series]]\nslug = \"s\"\ncadences = [\"daily\"]\ndaily_schedule = \"at six\"\n", nil, "series.0.daily_schedule"},
		{"bad story schedule", "", []string{"SYNDICATED_SERIES_0_STORY_SCHEDULE=CRON_TZ=Mars/Olympus * * * * *"}, "series.0.story_schedule"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = filepath.Join(t.TempDir(), "c.toml")
				if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(path, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestSeriesRulesCatchTheSeriesNote(t *testing.T) {
	c := Default()
	rules := c.SeriesRules()
	if len(rules) != 1 || rules[0].NotePattern == nil {
		t.Fatalf("rules: %+v", rules)
	}
	note := "This year marks the 70th anniversary of the founding of the republic and of the liberation of Shanghai."
	if !rules[0].NotePattern.MatchString(note) {
		t.Errorf("default pattern misses %q", note)
	}
}

// Every problem in a config is reported at once, one per key.
func TestEveryProblemReportedAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	file := `secret = "short"
bogus = 1
[http]
listen = "nowhere"
read_timeout = "soon"
nope = 2
[feeds]
schedule = "CRON_TZ=Asia/Shanghai"
hub_url = "ftp://hub"
[smtp]
from = "nobody"
`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, []string{"SYNDICATED_FEEDS_ITEMS=many", "SYNDICATED_SUBSCRIBE_CONFIRM_TTL=forever"})
	if err == nil {
		t.Fatal("no error")
	}
	keys := []string{`"bogus"`, `"http.nope"`, "secret:", "http.listen:", "http.read_timeout:", "feeds.schedule:",
		"feeds.hub_url:", "smtp.from:", "SYNDICATED_FEEDS_ITEMS", "SYNDICATED_SUBSCRIBE_CONFIRM_TTL"}
	problems := Problems(err)
	if len(problems) != len(keys) {
		t.Errorf("%d problems, want %d:\n%v", len(problems), len(keys), err)
	}
	for _, k := range keys {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("no problem names %s:\n%v", k, err)
		}
	}
}

// Cadences come from the file or the environment; with none configured a
// series offers the weekly digest only, on its digest_schedule, and daily
// and story issues have schedules in newsroom.zone.
func TestSeriesCadences(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	offered, def := c.SeriesCadences(c.Series[0])
	if !slices.Equal(offered, []string{"weekly"}) || def != "weekly" {
		t.Errorf("default offer = %v, %q; want weekly only", offered, def)
	}
	if got := c.CadenceSchedule(c.Series[0], "weekly"); got != "CRON_TZ=Asia/Shanghai 0 9 * * MON" {
		t.Errorf("weekly schedule = %q", got)
	}
	c, err = Load("", []string{"SYNDICATED_SERIES_0_CADENCES=daily,weekly,story", "SYNDICATED_NEWSROOM_ZONE=Europe/Paris",
		"SYNDICATED_SERIES_0_STORY_SCHEDULE=*/2 * * * *"})
	if err != nil {
		t.Fatal(err)
	}
	offered, def = c.SeriesCadences(c.Series[0])
	if !slices.Equal(offered, []string{"daily", "weekly", "story"}) || def != "daily" {
		t.Errorf("offer = %v, %q; want the three, daily by default (the first)", offered, def)
	}
	for cadence, want := range map[string]string{"daily": "CRON_TZ=Europe/Paris 0 18 * * *", "story": "*/2 * * * *"} {
		if got := c.CadenceSchedule(c.Series[0], cadence); got != want {
			t.Errorf("%s schedule = %q, want %q", cadence, got, want)
		}
	}
}

// Section aliases: one name names one section, and content_section must
// be one of the configured names.
func TestSectionAliases(t *testing.T) {
	write := func(t *testing.T, text string) string {
		path := filepath.Join(t.TempDir(), "c.toml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := `content_section = "社会"
[[sections]]
slug = "society"
title = "Society"
aliases = ["China / Society", "社会"]
[[sections]]
slug = "world"
title = "World"
aliases = ["World / Americas"]
`
	c, err := Load(write(t, good), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"society": "society", "SOCIETY": "society", "china/society": "society", "社会": "society", "World > Americas": "world"} {
		if got, ok := article.ResolveSection(c.SectionRules(), name); !ok || got != want {
			t.Errorf("%q names %q (%v), want %q", name, got, ok, want)
		}
	}
	if c2, err := Load("", []string{"SYNDICATED_CONTENT_SECTION=Society"}); err != nil || c2.ContentSection != "Society" {
		t.Errorf("content_section from the environment: %v %q", err, c2.ContentSection)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"alias of two sections", good + "[[sections]]\nslug = \"people\"\naliases = [\"China/Society\"]\n", `sections.2.aliases: "China/Society" also names section "society"`},
		{"empty alias", "[[sections]]\nslug = \"society\"\naliases = [\"  \"]\n", "sections.0.aliases: alias 0 is empty"},
		{"unknown content_section", "content_section = \"sports\"\n", `content_section: "sports" is not a configured section`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(write(t, tc.text), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

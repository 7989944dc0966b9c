// Package config loads syndicated's one TOML file, applies SYNDICATED_…
// environment overrides named from each key's path, and fills defaults so
// that no config at all still gives a working daemon.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // newsroom.zone must resolve even without system zoneinfo

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"
	"github.com/syndicated/syndicated/article"
)

// Example is the annotated example config shipped with the binary.
//
//go:embed example.toml
var Example string

// Duration is a time.Duration written as "5m", "72h" in TOML and env.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is the whole configuration. Field tags name the TOML keys; the
// environment variable for a key is SYNDICATED_ + its path in upper case
// with dots as underscores (http.listen → SYNDICATED_HTTP_LISTEN; an entry
// of a list of tables by index: series.0.title → SYNDICATED_SERIES_0_TITLE).
type Config struct {
	BaseURL string `toml:"base_url"`
	// GUIDAuthority is the tag: URI authority used for new articles' GUIDs;
	// GUIDs already given out never change, even if this does.
	GUIDAuthority string `toml:"guid_authority"`
	// ContentDir is scanned for article files on the feed schedule.
	ContentDir string `toml:"content_dir"`
	// Samples imports the shipped sample articles when the store is empty.
	Samples bool `toml:"samples"`
	// ProbePhotos asks image servers (HEAD) for the size of lead photos
	// given without one, so RSS enclosures carry a real length.
	ProbePhotos bool `toml:"probe_photos"`
	// Secret keys HMAC tokens; when empty one is generated and kept in DATA/secret.
	Secret    string    `toml:"secret"`
	Language  string    `toml:"language"`
	Newsroom  Newsroom  `toml:"newsroom"`
	HTTP      HTTP      `toml:"http"`
	Database  Database  `toml:"database"`
	Feeds     Feeds     `toml:"feeds"`
	SMTP      SMTP      `toml:"smtp"`
	Brand     Brand     `toml:"brand"`
	Subscribe Subscribe `toml:"subscribe"`
	Sections  []Section `toml:"sections"`
	Series    []Series  `toml:"series"`
}

// Newsroom holds the newsroom's own facts.
type Newsroom struct {
	// Zone is the IANA time zone the newsroom works in: digest weeks run
	// from Monday 00:00 there, emails show dates in it, and the default
	// digest schedule is in it.
	Zone string `toml:"zone"`
}

// DefaultDigestTime is when a series without digest_schedule gets its
// digest: Monday 09:00 in newsroom.zone.
const DefaultDigestTime = "0 9 * * MON"

// Location is newsroom.zone, loaded.
func (c *Config) Location() (*time.Location, error) {
	loc, err := time.LoadLocation(c.Newsroom.Zone)
	if err != nil || c.Newsroom.Zone == "" {
		return nil, fmt.Errorf("newsroom.zone: %q is not an IANA time zone such as Asia/Shanghai", c.Newsroom.Zone)
	}
	return loc, nil
}

// DigestSchedule is the cron spec of the series' digest: its
// digest_schedule, or DefaultDigestTime in newsroom.zone.
func (c *Config) DigestSchedule(s Series) string {
	if s.DigestSchedule != "" {
		return s.DigestSchedule
	}
	return "CRON_TZ=" + c.Newsroom.Zone + " " + DefaultDigestTime
}

type HTTP struct {
	Listen       string   `toml:"listen"`
	CacheMaxAge  Duration `toml:"cache_max_age"`
	ReadTimeout  Duration `toml:"read_timeout"`
	WriteTimeout Duration `toml:"write_timeout"`
	IdleTimeout  Duration `toml:"idle_timeout"`
	// APIToken is the bearer token for POST /api/articles; empty disables the API.
	APIToken string `toml:"api_token"`
	// MaxBodyBytes bounds request bodies of the API.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
}

type Database struct {
	// URL is sqlite:PATH (relative to the data dir) or postgres://…
	URL string `toml:"url"`
}

type Feeds struct {
	Schedule  string `toml:"schedule"`
	Items     int    `toml:"items"`
	OutputDir string `toml:"output_dir"`
	HubURL    string `toml:"hub_url"`
	// PollInterval is how often serve reads the store's articles revision
	// and rebuilds when another replica changed an article; 0 disables.
	PollInterval Duration `toml:"poll_interval"`
}

type SMTP struct {
	// URL is smtp://user:pass@host:port?tls=opportunistic|mandatory|none or
	// smtps://…; empty writes every message to DATA/mail/ as .eml files.
	URL         string   `toml:"url"`
	From        string   `toml:"from"`
	ReplyTo     string   `toml:"reply_to"`
	Timeout     Duration `toml:"timeout"`
	Connections int      `toml:"connections"`
	RatePerSec  float64  `toml:"rate_per_second"`
}

type Brand struct {
	Name string `toml:"name"`
	Link string `toml:"link"`
	Logo string `toml:"logo"`
	// Color is the pages' masthead and accent colour, "#rrggbb".
	Color     string `toml:"color"`
	Copyright string `toml:"copyright"`
}

type Subscribe struct {
	ConfirmTTL         Duration `toml:"confirm_ttl"`
	PerAddressInterval Duration `toml:"per_address_interval"`
	// Per client IP: PerClientBurst sign-ups at once, then one more every PerClientEvery.
	PerClientBurst int      `toml:"per_client_burst"`
	PerClientEvery Duration `toml:"per_client_every"`
}

type Section struct {
	Slug        string `toml:"slug"`
	Title       string `toml:"title"`
	Description string `toml:"description"`
}

type Series struct {
	Slug           string   `toml:"slug"`
	Title          string   `toml:"title"`
	Description    string   `toml:"description"`
	Tags           []string `toml:"tags"`
	NotePattern    string   `toml:"note_pattern"`
	DigestSchedule string   `toml:"digest_schedule"`
}

// DefaultNotePattern catches the series' editor's note ("…70th anniversary
// of the founding of New China and the liberation of Shanghai…").
const DefaultNotePattern = `(?i)70th anniversary.*(liberation of )?Shanghai`

// Default returns the configuration used when no file is given.
func Default() Config {
	return Config{
		BaseURL:       "http://127.0.0.1:8080",
		GUIDAuthority: "syndicated.example",
		Samples:       true,
		ProbePhotos:   true,
		Language:      "en",
		Newsroom:      Newsroom{Zone: "Asia/Shanghai"},
		HTTP: HTTP{
			Listen:       "127.0.0.1:8080",
			CacheMaxAge:  Duration{5 * time.Minute},
			ReadTimeout:  Duration{10 * time.Second},
			WriteTimeout: Duration{30 * time.Second},
			IdleTimeout:  Duration{120 * time.Second},
			MaxBodyBytes: 1 << 20,
		},
		Feeds: Feeds{Schedule: "*/5 * * * *", Items: 50, PollInterval: Duration{10 * time.Second}},
		SMTP: SMTP{
			From:        "Syndicated <digest@syndicated.example>",
			Timeout:     Duration{30 * time.Second},
			Connections: 4,
			RatePerSec:  10,
		},
		Brand: Brand{
			Name:      "Syndicated",
			Link:      "http://127.0.0.1:8080/",
			Color:     "#8c1515",
			Copyright: "© Syndicated",
		},
		Subscribe: Subscribe{
			ConfirmTTL:         Duration{72 * time.Hour},
			PerAddressInterval: Duration{10 * time.Minute},
			PerClientBurst:     5,
			PerClientEvery:     Duration{2 * time.Minute},
		},
		Sections: []Section{{
			Slug:        "society",
			Title:       "Society",
			Description: "News from the Society section.",
		}},
		Series: []Series{{
			Slug:        "shanghai-70th",
			Title:       "Shanghai 70th anniversary series",
			Description: "Stories commemorating the 70th anniversary of the liberation of Shanghai, and the feats the city has accomplished since.",
			Tags:        []string{"shanghai-70th"},
			NotePattern: DefaultNotePattern,
		}},
	}
}

// Load reads path (none when empty) over the defaults, then applies
// environment overrides from environ (os.Environ() form), then validates.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		// Lists of tables replace the defaults rather than merge into them.
		cfg.Sections, cfg.Series = nil, nil
		md, err := toml.Decode(string(b), &cfg)
		if err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return cfg, fmt.Errorf("config %s: unknown key %q", path, und[0].String())
		}
		def := Default()
		if !md.IsDefined("sections") {
			cfg.Sections = def.Sections
		}
		if !md.IsDefined("series") {
			cfg.Series = def.Series
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// Validate reports the first thing wrong, naming the key.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base_url: %q is not an absolute http(s) URL", c.BaseURL))
	}
	if c.HTTP.Listen == "" {
		errs = append(errs, errors.New("http.listen: is empty"))
	}
	if _, err := c.Location(); err != nil {
		errs = append(errs, err)
	}
	if !regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}){1,2}$`).MatchString(c.Brand.Color) {
		errs = append(errs, fmt.Errorf("brand.color: %q is not a colour such as #8c1515", c.Brand.Color))
	}
	if c.Feeds.Items < 1 {
		errs = append(errs, fmt.Errorf("feeds.items: %d must be at least 1", c.Feeds.Items))
	}
	if _, err := cron.ParseStandard(c.Feeds.Schedule); err != nil {
		errs = append(errs, fmt.Errorf("feeds.schedule: %q: %w", c.Feeds.Schedule, err))
	}
	if c.Feeds.PollInterval.Duration < 0 {
		errs = append(errs, fmt.Errorf("feeds.poll_interval: %s is negative (0s disables polling)", c.Feeds.PollInterval))
	}
	slug := regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	seen := map[string]bool{}
	for i, s := range c.Sections {
		if !slug.MatchString(s.Slug) {
			errs = append(errs, fmt.Errorf("sections.%d.slug: %q must be lower-case letters, digits and '-'", i, s.Slug))
		}
		if seen["section/"+s.Slug] {
			errs = append(errs, fmt.Errorf("sections.%d.slug: %q is used twice", i, s.Slug))
		}
		seen["section/"+s.Slug] = true
	}
	for i, s := range c.Series {
		if !slug.MatchString(s.Slug) {
			errs = append(errs, fmt.Errorf("series.%d.slug: %q must be lower-case letters, digits and '-'", i, s.Slug))
		}
		if seen["series/"+s.Slug] {
			errs = append(errs, fmt.Errorf("series.%d.slug: %q is used twice", i, s.Slug))
		}
		seen["series/"+s.Slug] = true
		if s.NotePattern != "" {
			if _, err := regexp.Compile(s.NotePattern); err != nil {
				errs = append(errs, fmt.Errorf("series.%d.note_pattern: %w", i, err))
			}
		}
		if s.DigestSchedule != "" {
			if _, err := cron.ParseStandard(s.DigestSchedule); err != nil {
				errs = append(errs, fmt.Errorf("series.%d.digest_schedule: %q: %w", i, s.DigestSchedule, err))
			}
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("http.max_body_bytes: %d is below 1024", c.HTTP.MaxBodyBytes))
	}
	if c.SMTP.URL != "" {
		u, err := url.Parse(c.SMTP.URL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") {
			errs = append(errs, errors.New("smtp.url: must be smtp://… or smtps://…"))
		}
	}
	return errors.Join(errs...)
}

// applyEnv walks the config struct and sets every field whose environment
// variable is present.
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "SYNDICATED_") {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	return walkEnv(reflect.ValueOf(cfg).Elem(), "SYNDICATED", "", env)
}

var textUnmarshaler = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()

func walkEnv(v reflect.Value, envPrefix, keyPrefix string, env map[string]string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("toml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		envName := envPrefix + "_" + strings.ToUpper(name)
		key := keyPrefix + name
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && !reflect.PointerTo(fv.Type()).Implements(textUnmarshaler) {
			if err := walkEnv(fv, envName, key+".", env); err != nil {
				return err
			}
			continue
		}
		if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct {
			for j := 0; j < fv.Len(); j++ {
				if err := walkEnv(fv.Index(j), fmt.Sprintf("%s_%d", envName, j), fmt.Sprintf("%s.%d.", key, j), env); err != nil {
					return err
				}
			}
			continue
		}
		raw, ok := env[envName]
		if !ok {
			continue
		}
		if err := setFromString(fv, raw); err != nil {
			return fmt.Errorf("config: %s (%s): %w", envName, key, err)
		}
	}
	return nil
}

func setFromString(fv reflect.Value, raw string) error {
	if fv.CanAddr() && fv.Addr().Type().Implements(textUnmarshaler) {
		return fv.Addr().Interface().(interface{ UnmarshalText([]byte) error }).UnmarshalText([]byte(raw))
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return err
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return err
		}
		fv.SetInt(n)
	case reflect.Float64:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return err
		}
		fv.SetFloat(n)
	case reflect.Slice:
		if fv.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", fv.Type())
		}
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		fv.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", fv.Type())
	}
	return nil
}

// SeriesBySlug returns the configured series with that slug.
func (c *Config) SeriesBySlug(slug string) (Series, bool) {
	for _, s := range c.Series {
		if s.Slug == slug {
			return s, true
		}
	}
	return Series{}, false
}

// SeriesRules turns the configured series into classification rules.
// Validate has already checked every pattern compiles.
func (c *Config) SeriesRules() []article.SeriesRule {
	rules := make([]article.SeriesRule, 0, len(c.Series))
	for _, s := range c.Series {
		r := article.SeriesRule{Slug: s.Slug, Tags: s.Tags}
		if s.NotePattern != "" {
			r.NotePattern = regexp.MustCompile(s.NotePattern)
		}
		rules = append(rules, r)
	}
	return rules
}

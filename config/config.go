// Package config loads syndicated's one TOML file, applies SYNDICATED_…
// environment overrides named from each key's path, and fills defaults so
// that no config at all still gives a working daemon.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
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
type Duration struct {
	time.Duration
	// invalid keeps text that is not a duration, so that Validate reports
	// it with every other problem, naming the key, instead of the first
	// one stopping the file's decoding.
	invalid string
}

// UnmarshalText never fails: text that is not a duration is kept for
// Validate to report.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		d.invalid = string(b)
		return nil
	}
	d.Duration, d.invalid = v, ""
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
	// ContentSection is the section of a file in ContentDir that names
	// none (a page copy without breadcrumb); empty: such a file is refused.
	ContentSection string `toml:"content_section"`
	// Samples imports the shipped sample articles when the store is empty.
	Samples bool `toml:"samples"`
	// ProbePhotos asks image servers (HEAD) for the size of lead photos
	// given without one, so RSS enclosures carry a real length.
	ProbePhotos bool `toml:"probe_photos"`
	// ProbePhotosAllow are loopback, private or link-local addresses
	// (CIDRs or addresses) the photo probe may reach all the same (an
	// internal image server); any other such address is refused.
	ProbePhotosAllow []string `toml:"probe_photos_allow"`
	// Secret keys HMAC tokens; when empty one is generated and kept in DATA/secret.
	Secret    string    `toml:"secret"`
	Language  string    `toml:"language"`
	Newsroom  Newsroom  `toml:"newsroom"`
	HTTP      HTTP      `toml:"http"`
	Database  Database  `toml:"database"`
	Feeds     Feeds     `toml:"feeds"`
	SMTP      SMTP      `toml:"smtp"`
	Digest    Digest    `toml:"digest"`
	Brand     Brand     `toml:"brand"`
	Subscribe Subscribe `toml:"subscribe"`
	Articles  Articles  `toml:"articles"`
	Bounce    Bounce    `toml:"bounce"`
	Log       Log       `toml:"log"`
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
	// TrustedProxies are the reverse proxies (CIDRs or addresses) whose
	// X-Forwarded-For / Forwarded headers name the client; from any other
	// peer the headers are ignored. Empty: the peer is the client.
	TrustedProxies []string `toml:"trusted_proxies"`
	// ForwardedHeader is the one header the trusted proxies record the
	// client in: "X-Forwarded-For" or "Forwarded". The other is never read,
	// so a client cannot pass an address of its choosing through a proxy
	// that sets one header and forwards the other.
	ForwardedHeader string `toml:"forwarded_header"`
	// AdminListen, when set, is HOST:PORT of a second listener serving
	// /metrics (and the health checks); /metrics then leaves the public one.
	AdminListen string `toml:"admin_listen"`
	// PublicMetrics serves /metrics on the public listener to every
	// client; otherwise (and without AdminListen) to loopback clients only.
	PublicMetrics bool `toml:"public_metrics"`
}

// TrustedProxyPrefixes parses http.trusted_proxies; a bare address is a
// one-address prefix.
func (h HTTP) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	return ParsePrefixes("http.trusted_proxies", h.TrustedProxies)
}

// ParsePrefixes parses the list of CIDRs or addresses under key; a bare
// address is a one-address prefix.
func ParsePrefixes(key string, list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %q is neither a CIDR such as 10.0.0.0/8 nor an IP address", key, i, s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
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
	// ArchivePeriod is what one archive document covers: month, week or
	// day (a section or series may set its own); a period holding more
	// than PageItems stories is paged by day, a day in parts.
	ArchivePeriod string `toml:"archive_period"`
	// PageItems bounds the items of an archive document.
	PageItems int `toml:"page_items"`
	// AuthorTagFeeds serves a feed for every author and every tag, built
	// on request.
	AuthorTagFeeds bool `toml:"author_tag_feeds"`
	// CacheMiB bounds the memory of the documents built on request
	// (archive documents, author and tag feeds).
	CacheMiB int `toml:"cache_mib"`
	// Webfeeds adds Feedly's webfeeds elements (icon, logo, accent
	// colour); the W3C validator warns about their namespace.
	Webfeeds bool `toml:"webfeeds"`
	// Hub is "builtin" to run the WebSub hub in the daemon, or empty.
	Hub string `toml:"hub"`
	// HubLease is the lease a subscriber gets when it asks for none, and
	// HubMaxLease the longest the built-in hub grants.
	HubLease    Duration `toml:"hub_lease"`
	HubMaxLease Duration `toml:"hub_max_lease"`
	// HubAllowCallbacks are networks (CIDRs or addresses) the built-in hub
	// may call back although they are loopback, private or link-local.
	HubAllowCallbacks []string `toml:"hub_allow_callbacks"`
	// Audience counts, per feed, the subscribers aggregators report and
	// the distinct clients a day.
	Audience bool `toml:"audience"`
}

// HubBuiltin is the value of feeds.hub that runs the built-in hub.
const HubBuiltin = "builtin"

// HubCallbackPrefixes parses feeds.hub_allow_callbacks; a bare address is
// a one-address prefix.
func (f Feeds) HubCallbackPrefixes() ([]netip.Prefix, error) {
	return ParsePrefixes("feeds.hub_allow_callbacks", f.HubAllowCallbacks)
}

// ArchivePeriodOf is the archive period of a section or series: its own
// archive_period, else feeds.archive_period.
func (c *Config) ArchivePeriodOf(own string) string {
	if own != "" {
		return own
	}
	return c.Feeds.ArchivePeriod
}

type SMTP struct {
	// URL is smtp://user:pass@host:port?tls=opportunistic|mandatory|none or
	// smtps://…; empty writes every message to DATA/mail/ as .eml files.
	URL     string `toml:"url"`
	From    string `toml:"from"`
	ReplyTo string `toml:"reply_to"`
	// Timeout bounds connecting (greeting, EHLO, STARTTLS, AUTH);
	// DataTimeout one message's transaction up to the reply to the final
	// "." (RFC 5321 §4.5.3.2: 5 and 10 minutes).
	Timeout     Duration `toml:"timeout"`
	DataTimeout Duration `toml:"data_timeout"`
	Connections int      `toml:"connections"`
	RatePerSec  float64  `toml:"rate_per_second"`
	// UnsubscribeMailbox, when set, is advertised as the mailto:
	// List-Unsubscribe beside the https one-click link; set it only to a
	// mailbox whose mail is processed. Empty: https one-click only.
	UnsubscribeMailbox string `toml:"unsubscribe_mailbox"`
	// DKIM signing: all three set, or none.
	DKIMDomain   string `toml:"dkim_domain"`
	DKIMSelector string `toml:"dkim_selector"`
	DKIMKeyFile  string `toml:"dkim_key_file"`
}

type Brand struct {
	Name string `toml:"name"`
	Link string `toml:"link"`
	Logo string `toml:"logo"`
	// Color is the pages' masthead and accent colour, "#rrggbb".
	Color     string `toml:"color"`
	Copyright string `toml:"copyright"`
	// Icon is the absolute URL of a square icon (PNG, JPEG or GIF,
	// 512×512) readers show beside every item; empty: a built-in one.
	Icon string `toml:"icon"`
	// AccentColor is the colour Feedly shows the feeds in, "RRGGBB".
	AccentColor string `toml:"accent_color"`
}

// Log says how the daemon and the commands log, on stderr.
type Log struct {
	// Format is "text" or "json".
	Format string `toml:"format"`
	// Level is "debug", "info", "warn" or "error".
	Level string `toml:"level"`
}

// SlogLevel is Level as a slog.Level (Validate has checked it).
func (l Log) SlogLevel() slog.Level {
	var v slog.Level
	if err := v.UnmarshalText([]byte(l.Level)); err != nil {
		return slog.LevelInfo
	}
	return v
}

// Digest holds what every series' digest shares.
type Digest struct {
	// CatchUp is how late serve still creates a scheduled digest that was
	// missed while no replica ran: at start-up, a run missed less than
	// CatchUp ago happens then (once: an issue per series and ISO week);
	// 0 turns catching up off.
	CatchUp Duration `toml:"catch_up"`
	// MaxRetryAge ends the retries of a delivery that keeps failing
	// temporarily, counted from the issue's creation.
	MaxRetryAge Duration `toml:"max_retry_age"`
}

// Bounce is what comes back after the first hop: the per-copy envelope
// senders (VERP) and the ways bounces, complaints and unsubscribe requests
// come in (package bounce).
type Bounce struct {
	// Address is the base of every copy's envelope sender
	// (LOCAL+TOKEN@DOMAIN), e.g. bounces@bounce.example.org; empty: copies
	// go out from smtp.from and nothing names them when they come back.
	Address string `toml:"address"`
	// Listen is HOST:PORT of the inbound SMTP server taking mail for the
	// address's domain (an MX record or a relay's transport points here).
	Listen string `toml:"listen"`
	// TLSCertFile and TLSKeyFile (PEM), both or neither, make Listen
	// offer STARTTLS.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// MaxMessageBytes bounds one notification read by SMTP or IMAP.
	MaxMessageBytes int64 `toml:"max_message_bytes"`
	// Mailbox is imaps://USER:PASSWORD@HOST[:993]/MAILBOX, read every
	// MailboxPoll; handled messages move to MailboxDone, or stay flagged
	// when it is empty.
	Mailbox     string   `toml:"mailbox"`
	MailboxDone string   `toml:"mailbox_done"`
	MailboxPoll Duration `toml:"mailbox_poll"`
	// SoftLimit soft bounces received within SoftWindow, about at least
	// SoftIssues issues, make a subscriber bounced.
	SoftLimit  int      `toml:"soft_limit"`
	SoftWindow Duration `toml:"soft_window"`
	SoftIssues int      `toml:"soft_issues"`
	// ComplaintWarn is the complaint rate (complaints per copy sent) above
	// which digest status warns.
	ComplaintWarn float64 `toml:"complaint_warn"`
	// WebhookMaxAge is how old a signed webhook call may be (Mailgun,
	// SendGrid).
	WebhookMaxAge Duration       `toml:"webhook_max_age"`
	SES           BounceSES      `toml:"ses"`
	Mailgun       BounceMailgun  `toml:"mailgun"`
	SendGrid      BounceSendGrid `toml:"sendgrid"`
	Postmark      BouncePostmark `toml:"postmark"`
}

// BounceSES turns on POST /webhooks/bounce/ses for these SNS topics.
type BounceSES struct {
	TopicARNs []string `toml:"topic_arns"`
}

// BounceMailgun turns on POST /webhooks/bounce/mailgun.
type BounceMailgun struct {
	SigningKey string `toml:"signing_key"`
}

// BounceSendGrid turns on POST /webhooks/bounce/sendgrid.
type BounceSendGrid struct {
	PublicKey string `toml:"public_key"`
}

// BouncePostmark turns on POST /webhooks/bounce/postmark.
type BouncePostmark struct {
	Username string `toml:"username"`
	Password string `toml:"password"`
}

// Inbound reports whether mail to bounce.address is read (by SMTP or
// IMAP): copies then offer a mailto: unsubscribe address of their own.
func (b Bounce) Inbound() bool { return b.Address != "" && (b.Listen != "" || b.Mailbox != "") }

// Webhooks reports whether a provider's webhook is configured.
func (b Bounce) Webhooks() bool {
	return len(b.SES.TopicARNs) > 0 || b.Mailgun.SigningKey != "" || b.SendGrid.PublicKey != "" || b.Postmark.Username != ""
}

type Subscribe struct {
	// Welcome sends a welcome email once a sign-up is confirmed: the
	// series chosen, a link to the latest issue of each and the reader's
	// preferences link.
	Welcome bool `toml:"welcome"`
	// PreferencesTTL is how long the preferences link in an email works.
	PreferencesTTL     Duration `toml:"preferences_ttl"`
	ConfirmTTL         Duration `toml:"confirm_ttl"`
	PerAddressInterval Duration `toml:"per_address_interval"`
	// Per client IP: PerClientBurst sign-ups at once, then one more every PerClientEvery.
	PerClientBurst int      `toml:"per_client_burst"`
	PerClientEvery Duration `toml:"per_client_every"`
}

// Articles bounds what an imported article may carry.
type Articles struct {
	// Earliest (YYYY-MM-DD, UTC) and MaxAhead bound the published and
	// updated times: an article dated before Earliest, or more than
	// MaxAhead after now, is refused naming the field.
	Earliest string   `toml:"earliest"`
	MaxAhead Duration `toml:"max_ahead"`
}

// EarliestDate is articles.earliest, parsed (Validate has checked it).
func (a Articles) EarliestDate() time.Time {
	t, _ := time.Parse(time.DateOnly, a.Earliest)
	return t
}

type Section struct {
	Slug        string `toml:"slug"`
	Title       string `toml:"title"`
	Description string `toml:"description"`
	// Aliases are the other names articles give the section: breadcrumb
	// paths ("China / Society"), other languages ("社会").
	Aliases []string `toml:"aliases"`
	// ArchivePeriod overrides feeds.archive_period for this section.
	ArchivePeriod string `toml:"archive_period"`
}

type Series struct {
	Slug           string   `toml:"slug"`
	Title          string   `toml:"title"`
	Description    string   `toml:"description"`
	Tags           []string `toml:"tags"`
	NotePattern    string   `toml:"note_pattern"`
	DigestSchedule string   `toml:"digest_schedule"`
	// DigestSubject is the digest's subject line, a Go text/template given
	// .Series (the title), .Range (the stories' dates in words), .From, .To,
	// .Week and .Stories; empty: "{{.Series}}: {{.Range}}".
	DigestSubject string `toml:"digest_subject"`

	// Cadences the series offers its readers: "weekly" (the digest),
	// "daily", "story" (one email per new story); empty: weekly only.
	// DefaultCadence is what a reader who chooses none gets (empty: the
	// first of Cadences). DailySchedule and StorySchedule are the cron
	// specs of the daily and story issues (empty: DefaultDailyTime and
	// DefaultStoryTime in newsroom.zone).
	Cadences       []string `toml:"cadences"`
	DefaultCadence string   `toml:"default_cadence"`
	DailySchedule  string   `toml:"daily_schedule"`
	StorySchedule  string   `toml:"story_schedule"`
	// ArchivePeriod overrides feeds.archive_period for this series.
	ArchivePeriod string `toml:"archive_period"`
}

// Cadence names (subscribers.Cadence).
var cadenceNames = []string{"weekly", "daily", "story"}

// Default times of the daily and story issues, in newsroom.zone: the day's
// stories at 18:00; new stories looked for every minute.
const (
	DefaultDailyTime = "0 18 * * *"
	DefaultStoryTime = "* * * * *"
)

// SeriesCadences is what series s offers: its cadences (weekly when none
// is configured) and its default.
func (c *Config) SeriesCadences(s Series) (offered []string, def string) {
	offered = s.Cadences
	if len(offered) == 0 {
		offered = []string{"weekly"}
	}
	def = s.DefaultCadence
	if def == "" {
		def = offered[0]
	}
	return offered, def
}

// CadenceSchedule is the cron spec of series s's issues of cadence
// (weekly: DigestSchedule).
func (c *Config) CadenceSchedule(s Series, cadence string) string {
	zoned := func(spec, def string) string {
		if spec != "" {
			return spec
		}
		return "CRON_TZ=" + c.Newsroom.Zone + " " + def
	}
	switch cadence {
	case "daily":
		return zoned(s.DailySchedule, DefaultDailyTime)
	case "story":
		return zoned(s.StorySchedule, DefaultStoryTime)
	}
	return c.DigestSchedule(s)
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
			Listen:          "127.0.0.1:8080",
			CacheMaxAge:     Duration{Duration: 5 * time.Minute},
			ReadTimeout:     Duration{Duration: 10 * time.Second},
			WriteTimeout:    Duration{Duration: 30 * time.Second},
			IdleTimeout:     Duration{Duration: 120 * time.Second},
			MaxBodyBytes:    1 << 20,
			ForwardedHeader: "X-Forwarded-For",
		},
		Feeds: Feeds{Schedule: "*/5 * * * *", Items: 50, PollInterval: Duration{Duration: 10 * time.Second},
			ArchivePeriod: "month", PageItems: 100, AuthorTagFeeds: true, CacheMiB: 64, Audience: true,
			HubLease: Duration{Duration: 10 * 24 * time.Hour}, HubMaxLease: Duration{Duration: 30 * 24 * time.Hour}},
		SMTP: SMTP{
			From:        "Syndicated <digest@syndicated.example>",
			Timeout:     Duration{Duration: 5 * time.Minute},
			DataTimeout: Duration{Duration: 10 * time.Minute},
			Connections: 4,
			RatePerSec:  10,
		},
		Brand: Brand{
			Name: "Syndicated",
			// Link empty: base_url + "/" (see Load).
			Color:     "#8c1515",
			Copyright: "© Syndicated",
		},
		Log:    Log{Format: "text", Level: "info"},
		Digest: Digest{CatchUp: Duration{Duration: 24 * time.Hour}, MaxRetryAge: Duration{Duration: 24 * time.Hour}},
		Subscribe: Subscribe{
			Welcome:            true,
			PreferencesTTL:     Duration{Duration: 365 * 24 * time.Hour},
			ConfirmTTL:         Duration{Duration: 72 * time.Hour},
			PerAddressInterval: Duration{Duration: 10 * time.Minute},
			PerClientBurst:     5,
			PerClientEvery:     Duration{Duration: 2 * time.Minute},
		},
		Articles: Articles{Earliest: "1980-01-01", MaxAhead: Duration{Duration: 366 * 24 * time.Hour}},
		Bounce: Bounce{
			MaxMessageBytes: 10 << 20,
			MailboxPoll:     Duration{Duration: time.Minute},
			SoftLimit:       3,
			SoftWindow:      Duration{Duration: 30 * 24 * time.Hour},
			SoftIssues:      2,
			ComplaintWarn:   0.001,
			WebhookMaxAge:   Duration{Duration: 24 * time.Hour},
		},
		Sections: []Section{{
			Slug:        "society",
			Title:       "Society",
			Description: "News from the Society section.",
			Aliases:     []string{"China / Society", "社会"},
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
//
// Every problem found is reported at once, one a line, each naming its key
// (see Problems).
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	var problems []error
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
		for _, k := range md.Undecoded() {
			problems = append(problems, fmt.Errorf("unknown key %q", k.String()))
		}
		def := Default()
		if !md.IsDefined("sections") {
			cfg.Sections = def.Sections
		}
		if !md.IsDefined("series") {
			cfg.Series = def.Series
		}
	}
	problems = append(problems, applyEnv(&cfg, environ)...)
	if cfg.Brand.Link == "" {
		cfg.Brand.Link = strings.TrimRight(cfg.BaseURL, "/") + "/"
	}
	if err := cfg.Validate(); err != nil {
		problems = append(problems, Problems(err)...)
	}
	if len(problems) == 0 {
		return cfg, nil
	}
	src := "config"
	if path != "" {
		src = "config " + path
	}
	return cfg, &Error{Source: src, Problems: problems}
}

// Error is every problem Load found.
type Error struct {
	Source   string // "config FILE"
	Problems []error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.Source, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() []error { return e.Problems }

// Problems splits an error from Load or Validate into its problems.
func Problems(err error) []error {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Problems
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// ParseSchedule parses a cron spec with the parser the scheduler uses
// (robfig/cron's standard one: five fields, descriptors such as @daily,
// an optional CRON_TZ= or TZ= prefix). It turns the parser's panics on
// some malformed specs (a zone with no fields after it) into errors.
func ParseSchedule(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, errors.New("not a cron spec: want an optional CRON_TZ=Zone, then five fields (minute hour day-of-month month day-of-week) or a descriptor such as @daily")
		}
	}()
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("is empty")
	}
	return cron.ParseStandard(spec)
}

// IsLoopback reports whether base_url names this machine only (localhost,
// 127.0.0.0/8, ::1): links in mail sent from such a configuration work for
// nobody else.
func (c *Config) IsLoopback() bool {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// Warnings are settings that load but are unwise for real mail: each says
// which key to change.
func (c *Config) Warnings() []string {
	var w []string
	if strings.TrimSpace(c.SMTP.URL) != "" && c.IsLoopback() {
		w = append(w, fmt.Sprintf("base_url: %s is loopback while smtp.url is set: digests will not be sent until base_url is the public address readers reach (their unsubscribe and view links use it)", c.BaseURL))
	}
	if b := c.Bounce; b.Address != "" && !b.Inbound() && !b.Webhooks() {
		w = append(w, "bounce.address: copies go out with it as their envelope sender, but nothing reads what comes back: set bounce.listen, bounce.mailbox or a provider's webhook")
	}
	if c.Bounce.Inbound() && c.SMTP.UnsubscribeMailbox != "" {
		w = append(w, "smtp.unsubscribe_mailbox: not used: with bounce.listen or bounce.mailbox each copy's mailto: List-Unsubscribe is its own address at bounce.address's domain")
	}
	if u, err := url.Parse(c.BaseURL); err == nil && u.Scheme == "http" {
		w = append(w, "base_url: http, so List-Unsubscribe is not https as RFC 8058 one-click unsubscribe requires (mailbox providers may ignore it): set an https base_url")
	}
	return w
}

// tomlKey is the TOML key of a config struct field, if it has one.
func tomlKey(f reflect.StructField) (string, bool) {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name, name != "" && name != "-"
}

// applyEnv walks the config struct and sets every field whose environment
// variable is present.
func applyEnv(cfg *Config, environ []string) []error {
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

func walkEnv(v reflect.Value, envPrefix, keyPrefix string, env map[string]string) []error {
	var errs []error
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, ok := tomlKey(t.Field(i))
		if !ok {
			continue
		}
		envName := envPrefix + "_" + strings.ToUpper(name)
		key := keyPrefix + name
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && !reflect.PointerTo(fv.Type()).Implements(textUnmarshaler) {
			errs = append(errs, walkEnv(fv, envName, key+".", env)...)
			continue
		}
		if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct {
			for j := 0; j < fv.Len(); j++ {
				errs = append(errs, walkEnv(fv.Index(j), fmt.Sprintf("%s_%d", envName, j), fmt.Sprintf("%s.%d.", key, j), env)...)
			}
			continue
		}
		raw, ok := env[envName]
		if !ok {
			continue
		}
		if err := setFromString(fv, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", key, envName, err))
		}
	}
	return errs
}

func setFromString(fv reflect.Value, raw string) error {
	if d, ok := fv.Addr().Interface().(*Duration); ok {
		v, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 90s, 5m, 72h)", raw)
		}
		*d = Duration{Duration: v}
		return nil
	}
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

// SectionRules turns the configured sections into the rules the importer
// resolves an article's section with.
func (c *Config) SectionRules() []article.SectionRule {
	rules := make([]article.SectionRule, 0, len(c.Sections))
	for _, s := range c.Sections {
		rules = append(rules, article.SectionRule{Slug: s.Slug, Title: s.Title, Aliases: s.Aliases})
	}
	return rules
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

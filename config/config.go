// Package config loads syndicated's one TOML file, applies SYNDICATED_…
// environment overrides named from each key's path, and fills defaults so
// that no config at all still gives a working daemon.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
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
	var out []netip.Prefix
	for i, s := range f.HubAllowCallbacks {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("feeds.hub_allow_callbacks[%d]: %q is neither a CIDR such as 10.0.0.0/8 nor an IP address", i, s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
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

// validate reports bounce.* problems.
func (b Bounce) validate(bad func(key, format string, args ...any)) {
	if b.Address != "" {
		a, err := mail.ParseAddress(b.Address)
		local, _, _ := strings.Cut(b.Address, "@")
		switch {
		case err != nil || a.Name != "" || strings.Contains(b.Address, "<"):
			bad("bounce.address", "%q is not a bare email address such as bounces@bounce.example.org", b.Address)
		case strings.Contains(local, "+"):
			bad("bounce.address", "%q: the local part must not contain '+' (it separates each copy's token)", b.Address)
		case len(local) > 20:
			bad("bounce.address", "%q: the local part is longer than 20 characters, so tokens would not fit in an address", b.Address)
		}
	}
	if b.Listen != "" {
		if b.Address == "" {
			bad("bounce.listen", "needs bounce.address (the domain it takes mail for)")
		}
		if _, port, err := net.SplitHostPort(b.Listen); err != nil {
			bad("bounce.listen", "%q is not HOST:PORT: %v", b.Listen, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("bounce.listen", "%q: port %q is not a number from 0 to 65535", b.Listen, port)
		}
	}
	if (b.TLSCertFile == "") != (b.TLSKeyFile == "") {
		bad("bounce.tls_cert_file", "STARTTLS needs bounce.tls_cert_file and bounce.tls_key_file both set")
	}
	for key, f := range map[string]string{"bounce.tls_cert_file": b.TLSCertFile, "bounce.tls_key_file": b.TLSKeyFile} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				bad(key, "%v", err)
			}
		}
	}
	if b.MaxMessageBytes < 64<<10 {
		bad("bounce.max_message_bytes", "%d is below 65536", b.MaxMessageBytes)
	}
	if b.Mailbox != "" {
		u, err := url.Parse(b.Mailbox)
		_, hasPass := u.User.Password()
		switch {
		case err != nil || u.Scheme != "imaps" || u.Hostname() == "":
			bad("bounce.mailbox", "must be imaps://USER:PASSWORD@HOST[:993]/MAILBOX (IMAP over TLS)")
		case u.User.Username() == "" || !hasPass:
			bad("bounce.mailbox", "needs a user and a password: imaps://USER:PASSWORD@HOST/MAILBOX")
		}
		if b.Address == "" {
			bad("bounce.mailbox", "needs bounce.address (only copies sent from it can be matched)")
		}
	}
	if b.SoftLimit < 1 {
		bad("bounce.soft_limit", "%d must be at least 1", b.SoftLimit)
	}
	if b.SoftIssues < 1 || b.SoftIssues > b.SoftLimit {
		bad("bounce.soft_issues", "%d must be from 1 to bounce.soft_limit (%d)", b.SoftIssues, b.SoftLimit)
	}
	if b.SoftWindow.Duration <= 0 {
		bad("bounce.soft_window", "must be positive")
	}
	if b.ComplaintWarn <= 0 || b.ComplaintWarn >= 1 {
		bad("bounce.complaint_warn", "%g must be a rate between 0 and 1 (0.001 is 0.1 %%)", b.ComplaintWarn)
	}
	for i, a := range b.SES.TopicARNs {
		if !strings.HasPrefix(a, "arn:aws") || strings.Count(a, ":") != 5 {
			bad(fmt.Sprintf("bounce.ses.topic_arns.%d", i), "%q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", a)
		}
	}
	if k := b.Mailgun.SigningKey; k != "" && len(k) < 16 {
		bad("bounce.mailgun.signing_key", "is %d characters; paste Mailgun's HTTP webhook signing key", len(k))
	}
	if (b.Postmark.Username == "") != (b.Postmark.Password == "") || (b.Postmark.Password != "" && len(b.Postmark.Password) < 16) {
		bad("bounce.postmark.password", "set bounce.postmark.username and a password of at least 16 characters, and the same in the webhook URL")
	}
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

// validateFeedScale checks the archive, author and tag feed, hub and
// audience keys of [feeds] and the archive_period of sections and series.
func (c *Config) validateFeedScale() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+": "+format, args...))
	}
	period := func(key, v string) {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "", "month", "week", "day":
		default:
			bad(key, "%q is not month, week or day", v)
		}
	}
	period("feeds.archive_period", c.Feeds.ArchivePeriod)
	for i, s := range c.Sections {
		period(fmt.Sprintf("sections[%d].archive_period", i), s.ArchivePeriod)
	}
	for i, s := range c.Series {
		period(fmt.Sprintf("series[%d].archive_period", i), s.ArchivePeriod)
	}
	if c.Feeds.PageItems < 1 {
		bad("feeds.page_items", "%d must be at least 1", c.Feeds.PageItems)
	}
	if c.Feeds.CacheMiB < 1 {
		bad("feeds.cache_mib", "%d must be at least 1", c.Feeds.CacheMiB)
	}
	switch c.Feeds.Hub {
	case "":
	case HubBuiltin:
		if c.Feeds.HubURL != "" {
			bad("feeds.hub", "%q and feeds.hub_url %q both set: use one hub", c.Feeds.Hub, c.Feeds.HubURL)
		}
	default:
		bad("feeds.hub", "%q: want \"builtin\" or empty (an external hub goes in feeds.hub_url)", c.Feeds.Hub)
	}
	if c.Feeds.HubMaxLease.Duration < time.Minute {
		bad("feeds.hub_max_lease", "%s is shorter than a minute", c.Feeds.HubMaxLease.Duration)
	}
	if c.Feeds.HubLease.Duration < time.Minute || c.Feeds.HubLease.Duration > c.Feeds.HubMaxLease.Duration {
		bad("feeds.hub_lease", "%s must be a minute or more and at most feeds.hub_max_lease (%s)", c.Feeds.HubLease.Duration, c.Feeds.HubMaxLease.Duration)
	}
	if _, err := c.Feeds.HubCallbackPrefixes(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// MinSecretLen is the shortest secret serve accepts.
const MinSecretLen = 16

// Validate reports everything wrong, each problem naming its key (joined:
// Problems splits them).
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+": "+format, args...))
	}
	checkURL := func(key, v string, required bool) {
		if v == "" && !required {
			return
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key, "%q is not an absolute http(s) URL", v)
		}
	}
	checkURL("base_url", c.BaseURL, true)
	checkURL("feeds.hub_url", c.Feeds.HubURL, false)
	checkURL("brand.link", c.Brand.Link, false)
	checkURL("brand.logo", c.Brand.Logo, false)
	if c.Secret != "" && len(c.Secret) < MinSecretLen {
		bad("secret", "is %d character(s); it must be at least %d (or empty: one is generated)", len(c.Secret), MinSecretLen)
	}
	if c.HTTP.Listen == "" {
		bad("http.listen", "is empty")
	} else if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen", "%q is not HOST:PORT: %v", c.HTTP.Listen, err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("http.listen", "%q: port %q is not a number from 0 to 65535", c.HTTP.Listen, port)
	}
	if _, err := c.HTTP.TrustedProxyPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if h := c.HTTP.ForwardedHeader; !strings.EqualFold(h, "X-Forwarded-For") && !strings.EqualFold(h, "Forwarded") {
		bad("http.forwarded_header", "%q: want X-Forwarded-For or Forwarded", h)
	}
	if _, err := ParsePrefixes("probe_photos_allow", c.ProbePhotosAllow); err != nil {
		errs = append(errs, err)
	}
	if _, err := time.Parse(time.DateOnly, c.Articles.Earliest); err != nil {
		bad("articles.earliest", "%q is not a date such as 1980-01-01", c.Articles.Earliest)
	}
	if c.Articles.MaxAhead.Duration <= 0 {
		bad("articles.max_ahead", "must be positive (e.g. 8784h, a year)")
	}
	if c.HTTP.AdminListen != "" {
		if _, port, err := net.SplitHostPort(c.HTTP.AdminListen); err != nil {
			bad("http.admin_listen", "%q is not HOST:PORT: %v", c.HTTP.AdminListen, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("http.admin_listen", "%q: port %q is not a number from 0 to 65535", c.HTTP.AdminListen, port)
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		bad("http.max_body_bytes", "%d is below 1024", c.HTTP.MaxBodyBytes)
	}
	if _, err := c.Location(); err != nil {
		errs = append(errs, err)
	}
	if !regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}){1,2}$`).MatchString(c.Brand.Color) {
		errs = append(errs, fmt.Errorf("brand.color: %q is not a colour such as #8c1515", c.Brand.Color))
	}
	if c.Feeds.Items < 1 {
		bad("feeds.items", "%d must be at least 1", c.Feeds.Items)
	}
	if _, err := ParseSchedule(c.Feeds.Schedule); err != nil {
		bad("feeds.schedule", "%q: %v", c.Feeds.Schedule, err)
	}
	errs = append(errs, c.validateFeedScale()...)
	errs = append(errs, checkDurations(reflect.ValueOf(c).Elem(), "")...)
	checkDir := func(key, dir string, write bool) {
		if dir == "" {
			return
		}
		if err := usableDir(dir, write); err != nil {
			bad(key, "%v", err)
		}
	}
	checkDir("content_dir", c.ContentDir, false)
	checkDir("feeds.output_dir", c.Feeds.OutputDir, true)
	if v := c.Database.URL; v != "" {
		scheme, _, _ := strings.Cut(v, ":")
		switch scheme {
		case "sqlite", "file", "postgres", "postgresql":
		default:
			bad("database.url", "scheme %q: want sqlite:PATH or postgres://…", scheme)
		}
	}
	if c.SMTP.URL != "" {
		u, err := url.Parse(c.SMTP.URL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			bad("smtp.url", "must be smtp://HOST:PORT or smtps://HOST:PORT")
		}
	}
	if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
		bad("smtp.from", "%q is not an email address: %v", c.SMTP.From, err)
	}
	if c.SMTP.ReplyTo != "" {
		if _, err := mail.ParseAddress(c.SMTP.ReplyTo); err != nil {
			bad("smtp.reply_to", "%q is not an email address: %v", c.SMTP.ReplyTo, err)
		}
	}
	if c.SMTP.UnsubscribeMailbox != "" {
		if _, err := mail.ParseAddress(c.SMTP.UnsubscribeMailbox); err != nil || strings.Contains(c.SMTP.UnsubscribeMailbox, "<") {
			bad("smtp.unsubscribe_mailbox", "%q is not a bare email address such as unsubscribe@example.com", c.SMTP.UnsubscribeMailbox)
		}
	}
	if d := c.SMTP; (d.DKIMDomain != "" || d.DKIMSelector != "" || d.DKIMKeyFile != "") && (d.DKIMDomain == "" || d.DKIMSelector == "" || d.DKIMKeyFile == "") {
		bad("smtp.dkim_domain", "DKIM signing needs smtp.dkim_domain, smtp.dkim_selector and smtp.dkim_key_file all set")
	}
	if c.SMTP.Connections < 1 {
		bad("smtp.connections", "%d must be at least 1", c.SMTP.Connections)
	}
	if c.SMTP.RatePerSec < 0 {
		bad("smtp.rate_per_second", "%g is negative (0 means no limit)", c.SMTP.RatePerSec)
	}
	c.Bounce.validate(bad)
	if c.Subscribe.PerClientBurst < 1 {
		bad("subscribe.per_client_burst", "%d must be at least 1", c.Subscribe.PerClientBurst)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q: want text or json", c.Log.Format)
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	slug := regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	seen := map[string]bool{}
	for i, s := range c.Sections {
		key := fmt.Sprintf("sections.%d.slug", i)
		if !slug.MatchString(s.Slug) {
			bad(key, "%q must be lower-case letters, digits and '-'", s.Slug)
		}
		if seen["section/"+s.Slug] {
			bad(key, "%q is used twice", s.Slug)
		}
		seen["section/"+s.Slug] = true
	}
	c.validateSectionNames(bad)
	for i, s := range c.Series {
		key := fmt.Sprintf("series.%d.", i)
		if !slug.MatchString(s.Slug) {
			bad(key+"slug", "%q must be lower-case letters, digits and '-'", s.Slug)
		}
		if seen["series/"+s.Slug] {
			bad(key+"slug", "%q is used twice", s.Slug)
		}
		seen["series/"+s.Slug] = true
		if s.NotePattern != "" {
			if _, err := regexp.Compile(s.NotePattern); err != nil {
				bad(key+"note_pattern", "%v", err)
			}
		}
		if s.DigestSchedule != "" {
			if _, err := ParseSchedule(s.DigestSchedule); err != nil {
				bad(key+"digest_schedule", "%q: %v", s.DigestSchedule, err)
			}
		}
		if _, err := texttemplate.New("subject").Parse(s.DigestSubject); err != nil {
			bad(key+"digest_subject", "%q: %v", s.DigestSubject, err)
		}
		errs = append(errs, c.validateCadences(key, s)...)
	}
	return errors.Join(errs...)
}

// validateCadences checks series s's cadences, default and schedules;
// key is "series.N.".
func (c *Config) validateCadences(key string, s Series) []error {
	var errs []error
	seen := map[string]bool{}
	for i, name := range s.Cadences {
		switch {
		case !slices.Contains(cadenceNames, name):
			errs = append(errs, fmt.Errorf("%scadences.%d: %q is not a cadence (want weekly, daily or story)", key, i, name))
		case seen[name]:
			errs = append(errs, fmt.Errorf("%scadences.%d: %q is listed twice", key, i, name))
		}
		seen[name] = true
	}
	offered, _ := c.SeriesCadences(s)
	if s.DefaultCadence != "" && !slices.Contains(offered, s.DefaultCadence) {
		errs = append(errs, fmt.Errorf("%sdefault_cadence: %q is not one of the series' cadences %v", key, s.DefaultCadence, offered))
	}
	for _, sc := range []struct{ name, spec string }{{"daily_schedule", s.DailySchedule}, {"story_schedule", s.StorySchedule}} {
		if sc.spec == "" {
			continue
		}
		if _, err := ParseSchedule(sc.spec); err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %q: %v", key, sc.name, sc.spec, err))
		}
	}
	return errs
}

// tomlKey is the TOML key of a config struct field, if it has one.
func tomlKey(f reflect.StructField) (string, bool) {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name, name != "" && name != "-"
}

// checkDurations reports every Duration field holding text that is not a
// duration, or a negative one.
func checkDurations(v reflect.Value, prefix string) []error {
	var errs []error
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, ok := tomlKey(t.Field(i))
		if !ok {
			continue
		}
		switch fv := v.Field(i); {
		case fv.Type() == reflect.TypeFor[Duration]():
			d := fv.Interface().(Duration)
			if d.invalid != "" {
				errs = append(errs, fmt.Errorf("%s%s: %q is not a duration (e.g. 90s, 5m, 72h)", prefix, name, d.invalid))
			} else if d.Duration < 0 {
				errs = append(errs, fmt.Errorf("%s%s: %s is negative", prefix, name, d.Duration))
			}
		case fv.Kind() == reflect.Struct:
			errs = append(errs, checkDurations(fv, prefix+name+".")...)
		}
	}
	return errs
}

// usableDir reports why dir cannot be read (or, with write, written).
func usableDir(dir string, write bool) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) && write {
		return nil // created on first write
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	_, err = f.ReadDir(1)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if write {
		tmp, err := os.CreateTemp(dir, ".syndicated-check-*")
		if err != nil {
			return fmt.Errorf("%s is not writable: %w", dir, err)
		}
		tmp.Close()
		os.Remove(tmp.Name())
	}
	return nil
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

// validateSectionNames checks that no name (slug, title, alias) of a
// section names another section too, and that content_section is one.
func (c *Config) validateSectionNames(bad func(key, format string, args ...any)) {
	owner := map[string]string{}
	for i, s := range c.Sections {
		names := append([]string{s.Slug, s.Title}, s.Aliases...)
		for j, n := range names {
			key := article.SectionKey(n)
			if key == "" {
				if j >= 2 {
					bad(fmt.Sprintf("sections.%d.aliases", i), "alias %d is empty", j-2)
				}
				continue
			}
			if o, ok := owner[key]; ok && o != s.Slug {
				bad(fmt.Sprintf("sections.%d.aliases", i), "%q also names section %q", n, o)
				continue
			}
			owner[key] = s.Slug
		}
	}
	if c.ContentSection != "" {
		if _, ok := article.ResolveSection(c.SectionRules(), c.ContentSection); !ok {
			bad("content_section", "%q is not a configured section (a slug, title or alias of [[sections]])", c.ContentSection)
		}
	}
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

package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/syndicated/syndicated/article"
)

// MinSecretLen is the shortest secret serve accepts.
const MinSecretLen = 16

// Validate reports everything wrong, each problem naming its key (joined:
// Problems splits them). Each section checks its own keys; the checks
// they share are the small validators at the end of this file.
func (c *Config) Validate() error {
	var p problems
	c.validateTop(&p)
	if _, err := c.Location(); err != nil {
		p.raw(err)
	}
	c.HTTP.validate(&p)
	c.Database.validate(&p)
	c.Feeds.validate(&p)
	c.SMTP.validate(&p)
	c.Brand.validate(&p)
	c.Subscribe.validate(&p)
	c.Articles.validate(&p)
	c.Bounce.validate(&p)
	c.Log.validate(&p)
	c.validateSections(&p)
	c.validateSeries(&p)
	p = append(p, checkDurations(reflect.ValueOf(c).Elem(), "")...)
	return errors.Join(p...)
}

// problems collects what is wrong, each problem prefixed with its key.
type problems []error

// add records err under key; a nil err is no problem.
func (p *problems) add(key string, err error) {
	if err != nil {
		*p = append(*p, fmt.Errorf("%s: %w", key, err))
	}
}

// addf records a problem under key.
func (p *problems) addf(key, format string, args ...any) {
	*p = append(*p, fmt.Errorf(key+": "+format, args...))
}

// raw records an error that already names its key.
func (p *problems) raw(err error) {
	if err != nil {
		*p = append(*p, err)
	}
}

// validateTop checks the keys outside any table.
func (c *Config) validateTop(p *problems) {
	p.add("base_url", httpURL(c.BaseURL))
	if c.Secret != "" && len(c.Secret) < MinSecretLen {
		p.addf("secret", "is %d character(s); it must be at least %d (or empty: one is generated)", len(c.Secret), MinSecretLen)
	}
	_, err := ParsePrefixes("probe_photos_allow", c.ProbePhotosAllow)
	p.raw(err)
	if c.ContentDir != "" {
		p.add("content_dir", usableDir(c.ContentDir, false))
	}
}

func (h HTTP) validate(p *problems) {
	if h.Listen == "" {
		p.addf("http.listen", "is empty")
	} else {
		p.add("http.listen", hostPort(h.Listen))
	}
	if h.AdminListen != "" {
		p.add("http.admin_listen", hostPort(h.AdminListen))
	}
	_, err := h.TrustedProxyPrefixes()
	p.raw(err)
	p.add("http.forwarded_header", oneOf(h.ForwardedHeader, true, "X-Forwarded-For", "Forwarded"))
	if h.MaxBodyBytes < 1024 {
		p.addf("http.max_body_bytes", "%d is below 1024", h.MaxBodyBytes)
	}
}

func (d Database) validate(p *problems) {
	if d.URL == "" {
		return
	}
	switch scheme, _, _ := strings.Cut(d.URL, ":"); scheme {
	case "sqlite", "file", "postgres", "postgresql":
	default:
		p.addf("database.url", "scheme %q: want sqlite:PATH or postgres://…", scheme)
	}
}

func (f Feeds) validate(p *problems) {
	p.add("feeds.schedule", cronSpec(f.Schedule))
	p.add("feeds.items", atLeast(f.Items, 1))
	if f.OutputDir != "" {
		p.add("feeds.output_dir", usableDir(f.OutputDir, true))
	}
	if f.HubURL != "" {
		p.add("feeds.hub_url", httpURL(f.HubURL))
	}
	p.add("feeds.archive_period", archivePeriod(f.ArchivePeriod))
	p.add("feeds.page_items", atLeast(f.PageItems, 1))
	p.add("feeds.cache_mib", atLeast(f.CacheMiB, 1))
	switch f.Hub {
	case "":
	case HubBuiltin:
		if f.HubURL != "" {
			p.addf("feeds.hub", "%q and feeds.hub_url %q both set: use one hub", f.Hub, f.HubURL)
		}
	default:
		p.addf("feeds.hub", "%q: want \"builtin\" or empty (an external hub goes in feeds.hub_url)", f.Hub)
	}
	if f.HubMaxLease.Duration < time.Minute {
		p.addf("feeds.hub_max_lease", "%s is shorter than a minute", f.HubMaxLease.Duration)
	}
	if f.HubLease.Duration < time.Minute || f.HubLease.Duration > f.HubMaxLease.Duration {
		p.addf("feeds.hub_lease", "%s must be a minute or more and at most feeds.hub_max_lease (%s)", f.HubLease.Duration, f.HubMaxLease.Duration)
	}
	_, err := f.HubCallbackPrefixes()
	p.raw(err)
}

func (s SMTP) validate(p *problems) {
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			p.addf("smtp.url", "must be smtp://HOST:PORT or smtps://HOST:PORT")
		}
	}
	p.add("smtp.from", emailAddress(s.From))
	if s.ReplyTo != "" {
		p.add("smtp.reply_to", emailAddress(s.ReplyTo))
	}
	if s.UnsubscribeMailbox != "" {
		p.add("smtp.unsubscribe_mailbox", bareAddress(s.UnsubscribeMailbox, "unsubscribe@example.com"))
	}
	if set := []string{s.DKIMDomain, s.DKIMSelector, s.DKIMKeyFile}; slices.Contains(set, "") && slices.ContainsFunc(set, func(v string) bool { return v != "" }) {
		p.addf("smtp.dkim_domain", "DKIM signing needs smtp.dkim_domain, smtp.dkim_selector and smtp.dkim_key_file all set")
	}
	p.add("smtp.connections", atLeast(s.Connections, 1))
	if s.RatePerSec < 0 {
		p.addf("smtp.rate_per_second", "%g is negative (0 means no limit)", s.RatePerSec)
	}
}

// hexColor is a CSS colour such as #8c1515 or #fff.
var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}){1,2}$`)

func (b Brand) validate(p *problems) {
	if b.Link != "" {
		p.add("brand.link", httpURL(b.Link))
	}
	if b.Logo != "" {
		p.add("brand.logo", httpURL(b.Logo))
	}
	if !hexColor.MatchString(b.Color) {
		p.addf("brand.color", "%q is not a colour such as #8c1515", b.Color)
	}
}

func (s Subscribe) validate(p *problems) {
	p.add("subscribe.per_client_burst", atLeast(s.PerClientBurst, 1))
}

func (a Articles) validate(p *problems) {
	if _, err := time.Parse(time.DateOnly, a.Earliest); err != nil {
		p.addf("articles.earliest", "%q is not a date such as 1980-01-01", a.Earliest)
	}
	if a.MaxAhead.Duration <= 0 {
		p.addf("articles.max_ahead", "must be positive (e.g. 8784h, a year)")
	}
}

func (l Log) validate(p *problems) {
	p.add("log.format", oneOf(l.Format, false, "text", "json"))
	p.add("log.level", oneOf(l.Level, true, "debug", "info", "warn", "error"))
}

func (b Bounce) validate(p *problems) {
	if b.Address != "" {
		local, _, _ := strings.Cut(b.Address, "@")
		switch err := bareAddress(b.Address, "bounces@bounce.example.org"); {
		case err != nil:
			p.add("bounce.address", err)
		case strings.Contains(local, "+"):
			p.addf("bounce.address", "%q: the local part must not contain '+' (it separates each copy's token)", b.Address)
		case len(local) > 20:
			p.addf("bounce.address", "%q: the local part is longer than 20 characters, so tokens would not fit in an address", b.Address)
		}
	}
	if b.Listen != "" {
		if b.Address == "" {
			p.addf("bounce.listen", "needs bounce.address (the domain it takes mail for)")
		}
		p.add("bounce.listen", hostPort(b.Listen))
	}
	if (b.TLSCertFile == "") != (b.TLSKeyFile == "") {
		p.addf("bounce.tls_cert_file", "STARTTLS needs bounce.tls_cert_file and bounce.tls_key_file both set")
	}
	for _, f := range []struct{ key, path string }{{"bounce.tls_cert_file", b.TLSCertFile}, {"bounce.tls_key_file", b.TLSKeyFile}} {
		if f.path != "" {
			_, err := os.Stat(f.path)
			p.add(f.key, err)
		}
	}
	if b.MaxMessageBytes < 64<<10 {
		p.addf("bounce.max_message_bytes", "%d is below 65536", b.MaxMessageBytes)
	}
	if b.Mailbox != "" {
		u, err := url.Parse(b.Mailbox)
		_, hasPass := u.User.Password()
		switch {
		case err != nil || u.Scheme != "imaps" || u.Hostname() == "":
			p.addf("bounce.mailbox", "must be imaps://USER:PASSWORD@HOST[:993]/MAILBOX (IMAP over TLS)")
		case u.User.Username() == "" || !hasPass:
			p.addf("bounce.mailbox", "needs a user and a password: imaps://USER:PASSWORD@HOST/MAILBOX")
		}
		if b.Address == "" {
			p.addf("bounce.mailbox", "needs bounce.address (only copies sent from it can be matched)")
		}
	}
	p.add("bounce.soft_limit", atLeast(b.SoftLimit, 1))
	if b.SoftIssues < 1 || b.SoftIssues > b.SoftLimit {
		p.addf("bounce.soft_issues", "%d must be from 1 to bounce.soft_limit (%d)", b.SoftIssues, b.SoftLimit)
	}
	if b.SoftWindow.Duration <= 0 {
		p.addf("bounce.soft_window", "must be positive")
	}
	if b.ComplaintWarn <= 0 || b.ComplaintWarn >= 1 {
		p.addf("bounce.complaint_warn", "%g must be a rate between 0 and 1 (0.001 is 0.1 %%)", b.ComplaintWarn)
	}
	for i, a := range b.SES.TopicARNs {
		if !strings.HasPrefix(a, "arn:aws") || strings.Count(a, ":") != 5 {
			p.addf(fmt.Sprintf("bounce.ses.topic_arns.%d", i), "%q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", a)
		}
	}
	if k := b.Mailgun.SigningKey; k != "" && len(k) < 16 {
		p.addf("bounce.mailgun.signing_key", "is %d characters; paste Mailgun's HTTP webhook signing key", len(k))
	}
	if (b.Postmark.Username == "") != (b.Postmark.Password == "") || (b.Postmark.Password != "" && len(b.Postmark.Password) < 16) {
		p.addf("bounce.postmark.password", "set bounce.postmark.username and a password of at least 16 characters, and the same in the webhook URL")
	}
}

// validateSections checks [[sections]]: slugs, archive periods, that no
// name (slug, title, alias) names two sections, and that content_section
// names one.
func (c *Config) validateSections(p *problems) {
	seen := map[string]bool{}
	owner := map[string]string{}
	for i, s := range c.Sections {
		key := fmt.Sprintf("sections.%d.", i)
		p.add(key+"slug", slug(s.Slug))
		p.add(key+"slug", unique(s.Slug, seen))
		p.add(fmt.Sprintf("sections[%d].archive_period", i), archivePeriod(s.ArchivePeriod))
		names := append([]string{s.Slug, s.Title}, s.Aliases...)
		for j, n := range names {
			name := article.SectionKey(n)
			if name == "" {
				if j >= 2 {
					p.addf(key+"aliases", "alias %d is empty", j-2)
				}
				continue
			}
			if o, ok := owner[name]; ok && o != s.Slug {
				p.addf(key+"aliases", "%q also names section %q", n, o)
				continue
			}
			owner[name] = s.Slug
		}
	}
	if c.ContentSection != "" {
		if _, ok := article.ResolveSection(c.SectionRules(), c.ContentSection); !ok {
			p.addf("content_section", "%q is not a configured section (a slug, title or alias of [[sections]])", c.ContentSection)
		}
	}
}

// validateSeries checks [[series]]: slugs, match pattern, schedules,
// subject template, cadences and archive periods.
func (c *Config) validateSeries(p *problems) {
	seen := map[string]bool{}
	for i, s := range c.Series {
		key := fmt.Sprintf("series.%d.", i)
		p.add(key+"slug", slug(s.Slug))
		p.add(key+"slug", unique(s.Slug, seen))
		if s.NotePattern != "" {
			_, err := regexp.Compile(s.NotePattern)
			p.add(key+"note_pattern", err)
		}
		if s.DigestSchedule != "" {
			p.add(key+"digest_schedule", cronSpec(s.DigestSchedule))
		}
		if _, err := texttemplate.New("subject").Parse(s.DigestSubject); err != nil {
			p.addf(key+"digest_subject", "%q: %v", s.DigestSubject, err)
		}
		c.validateCadences(p, key, s)
		p.add(fmt.Sprintf("series[%d].archive_period", i), archivePeriod(s.ArchivePeriod))
	}
}

// validateCadences checks series s's cadences, default and schedules;
// key is "series.N.".
func (c *Config) validateCadences(p *problems, key string, s Series) {
	seen := map[string]bool{}
	for i, name := range s.Cadences {
		switch {
		case !slices.Contains(cadenceNames, name):
			p.addf(fmt.Sprintf("%scadences.%d", key, i), "%q is not a cadence (want weekly, daily or story)", name)
		case seen[name]:
			p.addf(fmt.Sprintf("%scadences.%d", key, i), "%q is listed twice", name)
		}
		seen[name] = true
	}
	offered, _ := c.SeriesCadences(s)
	if s.DefaultCadence != "" && !slices.Contains(offered, s.DefaultCadence) {
		p.addf(key+"default_cadence", "%q is not one of the series' cadences %v", s.DefaultCadence, offered)
	}
	if s.DailySchedule != "" {
		p.add(key+"daily_schedule", cronSpec(s.DailySchedule))
	}
	if s.StorySchedule != "" {
		p.add(key+"story_schedule", cronSpec(s.StorySchedule))
	}
}

// The validators below say what is wrong with one value; the caller names
// the key.

// hostPort checks a listen address: HOST:PORT with a numeric port (HOST
// may be empty: every interface).
func hostPort(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %v", v, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", v, port)
	}
	return nil
}

// httpURL checks an absolute http or https URL.
func httpURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", v)
	}
	return nil
}

// emailAddress checks an address as a header shows it, with or without a
// display name.
func emailAddress(v string) error {
	if _, err := mail.ParseAddress(v); err != nil {
		return fmt.Errorf("%q is not an email address: %v", v, err)
	}
	return nil
}

// bareAddress checks an address without display name or angle brackets
// (it becomes part of an envelope or a mailto: URL); example is shown.
func bareAddress(v, example string) error {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || strings.Contains(v, "<") {
		return fmt.Errorf("%q is not a bare email address such as %s", v, example)
	}
	return nil
}

// cronSpec checks a schedule as the scheduler parses it.
func cronSpec(v string) error {
	if _, err := ParseSchedule(v); err != nil {
		return fmt.Errorf("%q: %v", v, err)
	}
	return nil
}

// atLeast checks a count against its minimum.
func atLeast(n, minimum int) error {
	if n < minimum {
		return fmt.Errorf("%d must be at least %d", n, minimum)
	}
	return nil
}

// oneOf checks v against the choices; fold ignores letter case.
func oneOf(v string, fold bool, choices ...string) error {
	for _, c := range choices {
		if v == c || fold && strings.EqualFold(v, c) {
			return nil
		}
	}
	list := strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
	return fmt.Errorf("%q: want %s", v, list)
}

// archivePeriod checks what one archive document covers; empty is the
// default (feeds.archive_period's, or month).
func archivePeriod(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "month", "week", "day":
		return nil
	}
	return fmt.Errorf("%q is not month, week or day", v)
}

// slugPattern is what a section's or series' slug may be: it appears in
// URLs and list names.
var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// slug checks a section's or series' slug.
func slug(v string) error {
	if !slugPattern.MatchString(v) {
		return fmt.Errorf("%q must be lower-case letters, digits and '-'", v)
	}
	return nil
}

// unique checks that seen has not had v yet, then adds it.
func unique(v string, seen map[string]bool) error {
	defer func() { seen[v] = true }()
	if seen[v] {
		return fmt.Errorf("%q is used twice", v)
	}
	return nil
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

package config

import (
	"cmp"
	"fmt"
	"io"
	"strings"
)

// Placement is what a configuration alone does not say of itself, for
// WriteCheck: the file it came from and where its data and mail go.
type Placement struct {
	File     string // the config file; empty: built-in defaults
	Database string // the database, described without its password (storage.Describe)
	Mail     string // the SMTP server without its password, or the spool the mail is written to
	Bounces  string // where later bounces and complaints come in, without secrets; empty: not shown
}

// WriteCheck writes what "syndicated config check" shows of a loaded
// configuration: that it is OK and where it came from, its Warnings on
// warn, then the settings an operator checks first, one a line (never a
// secret: p says where the database and mail go).
func (c *Config) WriteCheck(w, warn io.Writer, p Placement) {
	fmt.Fprintf(w, "config OK (%s, with SYNDICATED_* overrides)\n", cmp.Or(p.File, "built-in defaults"))
	for _, s := range c.Warnings() {
		fmt.Fprintln(warn, "warning: "+s)
	}
	fmt.Fprintf(w, "base_url      %s\nlisten        %s\ndatabase      %s\nsmtp          %s\nfeeds         every %q, %d items\n",
		c.BaseURL, c.HTTP.Listen, p.Database, p.Mail, c.Feeds.Schedule, c.Feeds.Items)
	for _, s := range c.Sections {
		fmt.Fprintf(w, "section       %s (%s)\n", s.Slug, s.Title)
	}
	for _, s := range c.Series {
		fmt.Fprintf(w, "series        %s (%s), digest %q\n", s.Slug, s.Title, c.DigestSchedule(s))
	}
	if p.Bounces != "" {
		fmt.Fprintf(w, "bounces       %s\n", p.Bounces)
	}
}

// CheckRealMail refuses real mail (smtp.url set) while base_url is
// loopback: the unsubscribe and view links of what is sent would work for
// nobody. The commands that send mail ask it first; Warnings says the same
// to config check.
func (c *Config) CheckRealMail() error {
	if strings.TrimSpace(c.SMTP.URL) != "" && c.IsLoopback() {
		return fmt.Errorf("base_url is %s, a loopback address, while smtp.url is set: set base_url (SYNDICATED_BASE_URL) to the public address readers reach before sending real mail", c.BaseURL)
	}
	return nil
}

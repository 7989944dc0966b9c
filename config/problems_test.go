package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// What config check prints for files with something wrong under every
// key Validate checks: one line per problem, each naming its key, every
// one at once. The lines are what an operator reads.
func TestProblemsOneLinePerKey(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"everything", everythingWrong, []string{
			"articles.earliest: \"1980\" is not a date such as 1980-01-01",
			"articles.max_ahead: must be positive (e.g. 8784h, a year)",
			"base_url: \"ftp://x\" is not an absolute http(s) URL",
			"bounce.address: \"Bounces <b@x.example>\" is not a bare email address such as bounces@bounce.example.org",
			"bounce.complaint_warn: 1.5 must be a rate between 0 and 1 (0.001 is 0.1 %)",
			"bounce.listen: \"2525\" is not HOST:PORT: address 2525: missing port in address",
			"bounce.mailbox: must be imaps://USER:PASSWORD@HOST[:993]/MAILBOX (IMAP over TLS)",
			"bounce.mailgun.signing_key: is 5 characters; paste Mailgun's HTTP webhook signing key",
			"bounce.max_message_bytes: 100 is below 65536",
			"bounce.postmark.password: set bounce.postmark.username and a password of at least 16 characters, and the same in the webhook URL",
			"bounce.ses.topic_arns.0: \"ses-bounces\" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
			"bounce.soft_issues: 0 must be from 1 to bounce.soft_limit (0)",
			"bounce.soft_limit: 0 must be at least 1",
			"bounce.soft_window: must be positive",
			"bounce.tls_cert_file: STARTTLS needs bounce.tls_cert_file and bounce.tls_key_file both set",
			"bounce.tls_cert_file: stat /nonexistent/cert.pem: no such file or directory",
			"brand.color: \"red\" is not a colour such as #8c1515",
			"brand.link: \"example.com\" is not an absolute http(s) URL",
			"brand.logo: \"/logo.png\" is not an absolute http(s) URL",
			"content_dir: stat /nonexistent/syndicated: no such file or directory",
			"content_section: \"sports\" is not a configured section (a slug, title or alias of [[sections]])",
			"database.url: scheme \"mysql\": want sqlite:PATH or postgres://…",
			"feeds.archive_period: \"year\" is not month, week or day",
			"feeds.cache_mib: 0 must be at least 1",
			"feeds.hub: \"external\": want \"builtin\" or empty (an external hub goes in feeds.hub_url)",
			"feeds.hub_allow_callbacks[0]: \"localhost\" is neither a CIDR such as 10.0.0.0/8 nor an IP address",
			"feeds.hub_lease: 1s must be a minute or more and at most feeds.hub_max_lease (30s)",
			"feeds.hub_max_lease: 30s is shorter than a minute",
			"feeds.hub_url: \"hub.example\" is not an absolute http(s) URL",
			"feeds.items: 0 must be at least 1",
			"feeds.output_dir: /etc/hostname is not a directory",
			"feeds.page_items: 0 must be at least 1",
			"feeds.schedule: \"CRON_TZ=Asia/Shanghai\": not a cron spec: want an optional CRON_TZ=Zone, then five fields (minute hour day-of-month month day-of-week) or a descriptor such as @daily",
			"http.admin_listen: \"127.0.0.1:99999\": port \"99999\" is not a number from 0 to 65535",
			"http.forwarded_header: \"X-Real-IP\": want X-Forwarded-For or Forwarded",
			"http.idle_timeout: -1s is negative",
			"http.listen: \"8080\" is not HOST:PORT: address 8080: missing port in address",
			"http.max_body_bytes: 10 is below 1024",
			"http.read_timeout: \"soon\" is not a duration (e.g. 90s, 5m, 72h)",
			"http.trusted_proxies[0]: \"10.0.0.0/33\" is neither a CIDR such as 10.0.0.0/8 nor an IP address",
			"log.format: \"xml\": want text or json",
			"log.level: \"loud\": want debug, info, warn or error",
			"newsroom.zone: \"Mars/Olympus_Mons\" is not an IANA time zone such as Asia/Shanghai",
			"probe_photos_allow[0]: \"nonsense\" is neither a CIDR such as 10.0.0.0/8 nor an IP address",
			"secret: is 5 character(s); it must be at least 16 (or empty: one is generated)",
			"sections.0.slug: \"Bad Slug\" must be lower-case letters, digits and '-'",
			"sections.1.aliases: alias 0 is empty",
			"sections.2.aliases: \"Society\" also names section \"society\"",
			"sections.3.slug: \"society\" is used twice",
			"sections[0].archive_period: \"year\" is not month, week or day",
			"series.0.cadences.1: \"hourly\" is not a cadence (want weekly, daily or story)",
			"series.0.cadences.2: \"weekly\" is listed twice",
			"series.0.daily_schedule: \"at six\": expected exactly 5 fields, found 2: [at six]",
			"series.0.default_cadence: \"story\" is not one of the series' cadences [weekly hourly weekly]",
			"series.0.digest_schedule: \"TZ=0\": not a cron spec: want an optional CRON_TZ=Zone, then five fields (minute hour day-of-month month day-of-week) or a descriptor such as @daily",
			"series.0.digest_subject: \"{{.Series\": template: subject:1: unclosed action",
			"series.0.note_pattern: error parsing regexp: missing closing ): `(`",
			"series.0.story_schedule: \"CRON_TZ=Mars/Olympus * * * * *\": provided bad location Mars/Olympus: unknown time zone Mars/Olympus",
			"series.1.slug: \"s\" is used twice",
			"series[0].archive_period: \"year\" is not month, week or day",
			"smtp.connections: 0 must be at least 1",
			"smtp.dkim_domain: DKIM signing needs smtp.dkim_domain, smtp.dkim_selector and smtp.dkim_key_file all set",
			"smtp.from: \"nobody\" is not an email address: mail: missing '@' or angle-addr",
			"smtp.rate_per_second: -1 is negative (0 means no limit)",
			"smtp.reply_to: \"also nobody\" is not an email address: mail: no angle-addr",
			"smtp.unsubscribe_mailbox: \"Unsub <u@example.com>\" is not a bare email address such as unsubscribe@example.com",
			"smtp.url: must be smtp://HOST:PORT or smtps://HOST:PORT",
			"subscribe.per_client_burst: 0 must be at least 1",
		}},
		{"other forms", otherFormsWrong, []string{
			"bounce.address: \"bounces+x@bounce.example.org\": the local part must not contain '+' (it separates each copy's token)",
			"bounce.listen: \"127.0.0.1:x\": port \"x\" is not a number from 0 to 65535",
			"bounce.mailbox: needs a user and a password: imaps://USER:PASSWORD@HOST/MAILBOX",
			"bounce.postmark.password: set bounce.postmark.username and a password of at least 16 characters, and the same in the webhook URL",
			"bounce.soft_issues: 3 must be from 1 to bounce.soft_limit (2)",
			"bounce.tls_cert_file: STARTTLS needs bounce.tls_cert_file and bounce.tls_key_file both set",
			"bounce.tls_key_file: stat /nonexistent/key.pem: no such file or directory",
			"feeds.hub: \"builtin\" and feeds.hub_url \"https://hub.example.org/\" both set: use one hub",
			"feeds.hub_lease: 2h0m0s must be a minute or more and at most feeds.hub_max_lease (1h0m0s)",
			"http.admin_listen: \"localhost:http\": port \"http\" is not a number from 0 to 65535",
			"http.listen: is empty",
			"series.1.cadences.1: \"daily\" is listed twice",
			"series.1.default_cadence: \"weekly\" is not one of the series' cadences [daily daily]",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.toml")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, nil)
			var got []string
			for _, p := range Problems(err) {
				if strings.Contains(p.Error(), "\n") {
					t.Errorf("a problem on several lines: %q", p)
				}
				got = append(got, p.Error())
			}
			want := slices.Clone(tc.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				for _, g := range got {
					t.Logf("%q,", g)
				}
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

const everythingWrong = `
base_url = "ftp://x"
secret = "short"
content_dir = "/nonexistent/syndicated"
content_section = "sports"
probe_photos_allow = ["nonsense"]
[newsroom]
zone = "Mars/Olympus_Mons"
[http]
listen = "8080"
read_timeout = "soon"
idle_timeout = "-1s"
max_body_bytes = 10
trusted_proxies = ["10.0.0.0/33"]
forwarded_header = "X-Real-IP"
admin_listen = "127.0.0.1:99999"
[database]
url = "mysql://x"
[feeds]
schedule = "CRON_TZ=Asia/Shanghai"
items = 0
output_dir = "/etc/hostname"
hub_url = "hub.example"
archive_period = "year"
page_items = 0
cache_mib = 0
hub = "external"
hub_lease = "1s"
hub_max_lease = "30s"
hub_allow_callbacks = ["localhost"]
[smtp]
url = "http://x"
from = "nobody"
reply_to = "also nobody"
unsubscribe_mailbox = "Unsub <u@example.com>"
dkim_domain = "example.com"
connections = 0
rate_per_second = -1.0
[brand]
link = "example.com"
logo = "/logo.png"
color = "red"
[log]
format = "xml"
level = "loud"
[subscribe]
per_client_burst = 0
[articles]
earliest = "1980"
max_ahead = "0s"
[bounce]
address = "Bounces <b@x.example>"
listen = "2525"
tls_cert_file = "/nonexistent/cert.pem"
max_message_bytes = 100
mailbox = "imap://u:p@h/INBOX"
soft_limit = 0
soft_issues = 0
soft_window = "0s"
complaint_warn = 1.5
[bounce.ses]
topic_arns = ["ses-bounces"]
[bounce.mailgun]
signing_key = "short"
[bounce.postmark]
username = "pm"
[[sections]]
slug = "Bad Slug"
archive_period = "year"
[[sections]]
slug = "society"
aliases = ["  "]
[[sections]]
slug = "people"
aliases = ["Society"]
[[sections]]
slug = "society"
[[series]]
slug = "s"
note_pattern = "("
digest_schedule = "TZ=0"
digest_subject = "{{.Series"
cadences = ["weekly", "hourly", "weekly"]
default_cadence = "story"
daily_schedule = "at six"
story_schedule = "CRON_TZ=Mars/Olympus * * * * *"
archive_period = "year"
[[series]]
slug = "s"
`

const otherFormsWrong = `
[http]
listen = ""
admin_listen = "localhost:http"
[feeds]
hub = "builtin"
hub_url = "https://hub.example.org/"
hub_lease = "2h"
hub_max_lease = "1h"
[bounce]
address = "bounces+x@bounce.example.org"
listen = "127.0.0.1:x"
tls_key_file = "/nonexistent/key.pem"
mailbox = "imaps://imap.example.org/INBOX"
soft_limit = 2
soft_issues = 3
[bounce.postmark]
username = "pm"
password = "short"
[[series]]
slug = "a"
[[series]]
slug = "b"
cadences = ["daily", "daily"]
default_cadence = "weekly"
`

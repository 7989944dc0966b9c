package feeds

import (
	_ "embed"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

//go:generate go run icon_gen.go

// The embedded default icon (an original drawing, see icon_gen.go): served
// at IconPath when no brand icon is configured, and at FaviconPath.
var (
	//go:embed icon.png
	defaultIcon []byte
	//go:embed favicon.ico
	defaultFavicon []byte
)

const (
	// IconPath is where a Set serves the default icon (512×512 PNG).
	IconPath = "/feeds/icon.png"
	// FaviconPath is the site's favicon, given to JSON Feed readers.
	FaviconPath = "/favicon.ico"
)

// assetTime dates the embedded icons (their Last-Modified).
var assetTime = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// Brand is the publisher's identity in every feed: the icon and name
// readers show next to each item, a logo, an accent colour, copyright.
type Brand struct {
	// Icon is the absolute URL of a square icon, ideally a PNG, JPEG or
	// GIF (the only types an RSS <image> may have) of 512×512. Empty: the
	// embedded default at BaseURL + IconPath.
	Icon string
	// Logo is the absolute URL of the publisher's logo (Atom <logo>,
	// webfeeds:logo); Icon when empty.
	Logo string
	// AccentColor is Feedly's webfeeds:accentColor, six hex digits
	// ("0B6E75"; a leading "#" is dropped). Empty leaves it out.
	AccentColor string
	// Copyright is the RSS <copyright> and the Atom <rights>.
	Copyright string
}

var hexColor = regexp.MustCompile(`^[0-9A-Fa-f]{6}$`)

func (b Brand) normalize() (Brand, error) {
	for _, f := range []struct{ name, v string }{{"icon", b.Icon}, {"logo", b.Logo}} {
		if f.v == "" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return b, fmt.Errorf("feeds: brand %s %q is not an absolute http(s) URL", f.name, f.v)
		}
	}
	b.AccentColor = strings.TrimPrefix(strings.TrimSpace(b.AccentColor), "#")
	if b.AccentColor != "" && !hexColor.MatchString(b.AccentColor) {
		return b, fmt.Errorf("feeds: brand accent color %q is not six hex digits (RRGGBB)", b.AccentColor)
	}
	b.AccentColor = strings.ToUpper(b.AccentColor)
	return b, nil
}

// brandURLs are a spec's brand addresses, resolved against its BaseURL.
type brandURLs struct {
	icon, logo, favicon string
	// rssImage is the RSS <image> URL: the first of icon and logo whose
	// extension the W3C validator accepts for an RSS image (ImageUrlFormat);
	// empty when neither does.
	rssImage string
}

func (b *Brand) urls(baseURL string) brandURLs {
	u := brandURLs{icon: b.Icon, logo: b.Logo, favicon: baseURL + FaviconPath}
	if u.icon == "" {
		u.icon = baseURL + IconPath
	}
	if u.logo == "" {
		u.logo = u.icon
	}
	for _, c := range []string{u.icon, u.logo} {
		if rssImageOK(c) {
			u.rssImage = c
			break
		}
	}
	return u
}

var wordExt = regexp.MustCompile(`^\w+$`)

// rssImageOK applies the validator's ImageUrlFormat rule: the text after
// the URL's last "." must be jpg, jpeg, gif or png when it is a word.
func rssImageOK(u string) bool {
	ext := strings.ToLower(u[strings.LastIndexByte(u, '.')+1:])
	if !wordExt.MatchString(ext) {
		return true
	}
	switch ext {
	case "jpg", "jpeg", "gif", "png":
		return true
	}
	return false
}

// ScheduleInterval is how often a robfig/cron schedule (five fields,
// CRON_TZ= allowed) fires: the shortest gap between its runs over a week
// from a fixed date, so that it is the same on every start. Use it as
// Options.TTL when feeds are rebuilt on that schedule.
func ScheduleInterval(spec string) (time.Duration, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return 0, fmt.Errorf("feeds: schedule %q: %w", spec, err)
	}
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	end := from.Add(8 * 24 * time.Hour)
	var best time.Duration
	prev := s.Next(from)
	for i := 0; i < 20_000 && !prev.IsZero(); i++ {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		if gap := next.Sub(prev); best == 0 || gap < best {
			best = gap
		}
		if next.After(end) {
			break
		}
		prev = next
	}
	if best == 0 {
		return 0, fmt.Errorf("feeds: schedule %q does not repeat", spec)
	}
	return best, nil
}

// ttlMinutes is the RSS <ttl>: d in whole minutes, rounded up; 0 (no
// <ttl>) when d is 0.
func ttlMinutes(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Minute - 1) / time.Minute)
}

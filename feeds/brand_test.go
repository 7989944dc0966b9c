package feeds

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	atomparser "github.com/mmcdole/gofeed/atom"
	jsonparser "github.com/mmcdole/gofeed/json"
	rssparser "github.com/mmcdole/gofeed/rss"

	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestBrandInEveryFormat: the publisher's icon, logo, accent colour and
// copyright, and the RSS ttl, arrive in every format where readers look
// for them, validator-clean, read back by gofeed.
func TestBrandInEveryFormat(t *testing.T) {
	sch := jsonFeedSchema(t)
	spec := testSpecs("")[0]
	arts := seedArticles()[:1]
	type want struct {
		icon, logo, rssImage, accent string
	}
	defaultIcon := testBase + IconPath
	cases := []struct {
		name  string
		brand Brand
		want  want
	}{
		{"default icon", Brand{Copyright: "© 2019 News & Co. <newsroom>"},
			want{icon: defaultIcon, logo: defaultIcon, rssImage: defaultIcon}},
		{"brand icon and logo", Brand{Icon: "https://cdn.news.example/brand/icon-512.png", Logo: "https://cdn.news.example/brand/logo.svg",
			AccentColor: "#0b6e75", Copyright: "© 2019 News & Co. <newsroom>"},
			want{icon: "https://cdn.news.example/brand/icon-512.png", logo: "https://cdn.news.example/brand/logo.svg",
				rssImage: "https://cdn.news.example/brand/icon-512.png", accent: "0B6E75"}},
		// An SVG may not be an RSS image: the channel goes without one
		// rather than with another publisher's picture.
		{"svg only", Brand{Icon: "https://cdn.news.example/brand/icon.svg", Copyright: "© News"},
			want{icon: "https://cdn.news.example/brand/icon.svg", logo: "https://cdn.news.example/brand/icon.svg"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{Brand: c.brand, TTL: 5 * time.Minute, Webfeeds: true}
			render := func(f Format) []byte {
				body, err := Render(spec, arts, f, opts)
				if err != nil {
					t.Fatal(err)
				}
				return body
			}
			// RSS: <image>, <copyright>, <ttl>, webfeeds.
			body := render(RSS)
			checkRSSRules(t, body, spec.BaseURL+"/feeds/society.rss", "")
			rf, err := (&rssparser.Parser{}).Parse(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if c.want.rssImage == "" {
				if rf.Image != nil {
					t.Errorf("RSS image %+v, want none", rf.Image)
				}
			} else if rf.Image == nil || rf.Image.URL != c.want.rssImage || rf.Image.Title != "Society" || rf.Image.Link != testBase+"/" {
				t.Errorf("RSS image %+v, want %s titled and linked as the channel", rf.Image, c.want.rssImage)
			}
			if rf.Copyright != c.brand.Copyright || rf.TTL != "5" {
				t.Errorf("RSS copyright %q, ttl %q", rf.Copyright, rf.TTL)
			}
			ext := func(name string) string {
				if es := rf.Extensions["webfeeds"][name]; len(es) > 0 {
					return es[0].Value
				}
				return ""
			}
			if ext("icon") != c.want.icon || ext("logo") != c.want.logo || ext("accentColor") != c.want.accent {
				t.Errorf("webfeeds icon %q logo %q accentColor %q, want %+v", ext("icon"), ext("logo"), ext("accentColor"), c.want)
			}
			uf, err := gofeed.NewParser().Parse(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if uf.Copyright != c.brand.Copyright || (c.want.rssImage != "" && (uf.Image == nil || uf.Image.URL != c.want.rssImage)) {
				t.Errorf("gofeed: copyright %q image %+v", uf.Copyright, uf.Image)
			}

			// Atom: <icon>, <logo>, <rights>, webfeeds.
			body = render(Atom)
			checkAtomRules(t, body, spec.BaseURL+"/feeds/society.atom", "")
			af, err := (&atomparser.Parser{}).Parse(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if af.Icon != c.want.icon || af.Logo != c.want.logo || af.Rights != c.brand.Copyright {
				t.Errorf("Atom icon %q logo %q rights %q, want %+v", af.Icon, af.Logo, af.Rights, c.want)
			}
			if es := af.Extensions["webfeeds"]["icon"]; len(es) != 1 || es[0].Value != c.want.icon {
				t.Errorf("Atom webfeeds:icon %+v", es)
			}
			uf, _ = gofeed.NewParser().Parse(bytes.NewReader(body))
			if uf.Image == nil || (uf.Image.URL != c.want.logo && uf.Image.URL != c.want.icon) || uf.Copyright != c.brand.Copyright {
				t.Errorf("gofeed Atom: image %+v copyright %q", uf.Image, uf.Copyright)
			}

			// JSON Feed: icon and favicon.
			body = render(JSON)
			validateJSONFeed(t, sch, body)
			jf, err := (&jsonparser.Parser{}).Parse(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if jf.Icon != c.want.icon || jf.Favicon != testBase+FaviconPath {
				t.Errorf("JSON icon %q favicon %q", jf.Icon, jf.Favicon)
			}
			uf, _ = gofeed.NewParser().Parse(bytes.NewReader(body))
			if uf.Image == nil || uf.Image.URL != c.want.icon {
				t.Errorf("gofeed JSON image %+v", uf.Image)
			}
		})
	}
}

func TestBrandRejected(t *testing.T) {
	for _, b := range []Brand{{AccentColor: "teal"}, {AccentColor: "#12345"}, {Icon: "/static/icon.png"}, {Logo: "ftp://x.example/logo.png"}} {
		if _, err := NewBuilder(nil, testSpecs(""), Options{Brand: b}); err == nil || !strings.Contains(err.Error(), "brand") {
			t.Errorf("%+v: error %v, want one naming the brand key", b, err)
		}
	}
}

func TestScheduleInterval(t *testing.T) {
	for spec, want := range map[string]time.Duration{
		"*/5 * * * *":                        5 * time.Minute,
		"CRON_TZ=Asia/Shanghai */15 * * * *": 15 * time.Minute,
		"0 */2 * * *":                        2 * time.Hour,
		"0 9,17 * * *":                       8 * time.Hour, // the shorter gap
		"CRON_TZ=Asia/Shanghai 0 9 * * MON":  7 * 24 * time.Hour,
		"0 0 1 * *":                          28 * 24 * time.Hour, // February
	} {
		if got, err := ScheduleInterval(spec); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", spec, got, err, want)
		}
	}
	if _, err := ScheduleInterval("every five minutes"); err == nil || !strings.Contains(err.Error(), "every five minutes") {
		t.Errorf("bad schedule: %v", err)
	}
	body, err := Render(testSpecs("")[0], nil, RSS, Options{TTL: 90 * time.Second})
	if err != nil || !bytes.Contains(body, []byte("<ttl>2</ttl>")) {
		t.Errorf("TTL 90s: want <ttl>2</ttl> (minutes, rounded up): %v\n%s", err, body)
	}
	if body, _ := Render(testSpecs("")[0], nil, RSS, Options{}); bytes.Contains(body, []byte("<ttl>")) {
		t.Errorf("no TTL configured, but <ttl> written")
	}
}

// TestIconsServed: the default icon the feeds name is served as a PNG, and
// the favicon as an ICO holding PNG images of at least 64 px (JSON Feed's
// favicon minimum); with a brand icon, the favicon leads to it and the
// default icon is gone.
func TestIconsServed(t *testing.T) {
	st := storagetest.SQLite(t)
	set := newTestSet(t, st, testSpecs(""), func() time.Time { return fixedNow })
	rec := httptest.NewRecorder()
	set.ServeHTTP(rec, httptest.NewRequest("GET", IconPath, nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || rec.Header().Get("ETag") == "" {
		t.Fatalf("icon: %d %v", rec.Code, rec.Header())
	}
	img, err := png.Decode(rec.Body)
	if err != nil || img.Bounds().Dx() != 512 || img.Bounds().Dy() != 512 {
		t.Fatalf("icon is not a 512×512 PNG: %v", err)
	}
	gz := httptest.NewRequest("GET", IconPath, nil)
	gz.Header.Set("Accept-Encoding", "gzip")
	rec = httptest.NewRecorder()
	set.ServeHTTP(rec, gz)
	if rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("PNG served gzip-encoded")
	}

	rec = httptest.NewRecorder()
	set.Favicon().ServeHTTP(rec, httptest.NewRequest("GET", FaviconPath, nil))
	ico := rec.Body.Bytes()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/x-icon" || len(ico) < 6 {
		t.Fatalf("favicon: %d %v", rec.Code, rec.Header())
	}
	if binary.LittleEndian.Uint16(ico[0:]) != 0 || binary.LittleEndian.Uint16(ico[2:]) != 1 {
		t.Fatalf("favicon is not an ICO file")
	}
	largest := 0
	for i := range int(binary.LittleEndian.Uint16(ico[4:])) {
		e := ico[6+16*i:]
		size, off := int(binary.LittleEndian.Uint32(e[8:])), int(binary.LittleEndian.Uint32(e[12:]))
		im, err := png.Decode(bytes.NewReader(ico[off : off+size]))
		if err != nil || im.Bounds().Dx() != int(e[0]) {
			t.Fatalf("favicon image %d: %v", i, err)
		}
		largest = max(largest, im.Bounds().Dx())
	}
	if largest < 64 {
		t.Errorf("largest favicon image %d px", largest)
	}
	cond := httptest.NewRequest("GET", FaviconPath, nil)
	cond.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec = httptest.NewRecorder()
	set.Favicon().ServeHTTP(rec, cond)
	if rec.Code != http.StatusNotModified {
		t.Errorf("favicon revalidation: %d", rec.Code)
	}

	b, err := NewBuilder(st, testSpecs(""), Options{Brand: Brand{Icon: "https://cdn.news.example/icon.png"}})
	if err != nil {
		t.Fatal(err)
	}
	branded := NewSet(b, SetOptions{})
	rec = httptest.NewRecorder()
	branded.Favicon().ServeHTTP(rec, httptest.NewRequest("GET", FaviconPath, nil))
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "https://cdn.news.example/icon.png" {
		t.Errorf("branded favicon: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	branded.ServeHTTP(rec, httptest.NewRequest("GET", IconPath, nil))
	if rec.Code != 404 {
		t.Errorf("default icon served beside a brand icon: %d", rec.Code)
	}
}

// TestWebfeedsOptIn: Feedly's elements and their namespace (which the W3C
// validator warns about) appear only when Options.Webfeeds asks for them.
func TestWebfeedsOptIn(t *testing.T) {
	spec := testSpecs("")[0]
	arts := seedArticles()[:1]
	brand := Brand{AccentColor: "0B6E75"}
	for _, on := range []bool{false, true} {
		for _, f := range []Format{RSS, Atom} {
			body, err := Render(spec, arts, f, Options{Brand: brand, Webfeeds: on})
			if err != nil {
				t.Fatal(err)
			}
			has := bytes.Contains(body, []byte(nsWebfeeds))
			if has != on || bytes.Contains(body, []byte("webfeeds:accentColor")) != on {
				t.Errorf("%s with Webfeeds %t: namespace present %t", f, on, has)
			}
		}
	}
}

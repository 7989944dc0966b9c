package feeds

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"strconv"
	"time"

	gorilla "github.com/gorilla/feeds"
)

// Namespaces used by the XML formats.
const (
	nsAtom    = "http://www.w3.org/2005/Atom"
	nsContent = "http://purl.org/rss/1.0/modules/content/"
	nsDC      = "http://purl.org/dc/elements/1.1/"
	nsMedia   = "http://search.yahoo.com/mrss/"
	nsHistory = "http://purl.org/syndication/history/1.0" // RFC 5005
	// nsWebfeeds holds Feedly's icon, logo and accent colour elements.
	nsWebfeeds = "http://webfeeds.org/rss/1.0"
	rfc5005    = "https://www.rfc-editor.org/rfc/rfc5005"
)

// page is one document to render: the subscription feed (archive zero) or
// an archive document of a spec.
type page struct {
	spec    *Spec
	entries []*entry
	archive pageRef // zero: the subscription feed
	// prev and next are the archive documents before and after this one
	// (the subscription feed's prev is the newest archived); zero: none.
	prev, next pageRef
	complete   bool // the document holds the whole feed (RFC 5005 §2)
	generator  string
	version    string
	brand      *Brand
	brandURLs  brandURLs
	webfeeds   bool      // write Feedly's webfeeds elements
	ttl        int       // RSS <ttl> in minutes; 0: none
	updated    time.Time // newest item Updated; the document's Last-Modified
	published  time.Time
}

// epoch dates an empty feed, so that its bytes do not change per build.
func epoch() time.Time { return time.Unix(0, 0).UTC() }

func (p *page) selfURL(f Format) string {
	if !p.archive.IsZero() {
		return p.spec.archiveURL(f, p.archive)
	}
	return p.spec.FeedURL(f)
}

func (p *page) path(f Format) string {
	if !p.archive.IsZero() {
		return p.spec.archivePath(f, p.archive)
	}
	return p.spec.FeedPath(f)
}

// historyLinks returns the RFC 5005 links of the document: rel → URL.
func (p *page) historyLinks(f Format) (prev, next, current string) {
	s := p.spec
	if !p.prev.IsZero() {
		prev = s.archiveURL(f, p.prev)
	}
	if p.archive.IsZero() {
		return prev, "", ""
	}
	if !p.next.IsZero() {
		next = s.archiveURL(f, p.next)
	}
	return prev, next, s.FeedURL(f)
}

// gorillaFeed is the format-neutral gorilla/feeds value the three formats
// start from; items are in the same order as p.entries.
func (p *page) gorillaFeed() *gorilla.Feed {
	s := p.spec
	updated, published := p.updated, p.published
	if updated.IsZero() {
		updated, published = epoch(), epoch()
	}
	gf := &gorilla.Feed{
		Title:       s.Title,
		Link:        &gorilla.Link{Href: s.SiteURL},
		Description: s.Description,
		Author:      &gorilla.Author{Name: s.Author},
		Updated:     updated,
		Created:     published,
		Id:          s.FeedURL(Atom),
		Copyright:   p.brand.Copyright,
		Items:       make([]*gorilla.Item, 0, len(p.entries)),
	}
	if u := p.brandURLs.rssImage; u != "" {
		// The validator wants the image's title and link to be the channel's.
		gf.Image = &gorilla.Image{Url: u, Title: s.Title, Link: s.SiteURL}
	}
	for _, e := range p.entries {
		it := &gorilla.Item{
			Title:       e.title,
			Link:        &gorilla.Link{Href: e.link},
			Description: e.summary,
			Id:          e.guid,
			IsPermaLink: strconv.FormatBool(e.permalink),
			Created:     e.published,
			Updated:     e.updated,
			Content:     e.content,
		}
		if e.photo != nil {
			it.Enclosure = &gorilla.Enclosure{
				Url:    e.photo.URL,
				Type:   e.photoType,
				Length: strconv.FormatInt(e.photo.Length, 10), // "0" when unknown
			}
		}
		gf.Items = append(gf.Items, it)
	}
	return gf
}

func (p *page) render(f Format) ([]byte, error) {
	switch f {
	case RSS:
		return p.renderRSS()
	case Atom:
		return p.renderAtom()
	default:
		return p.renderJSON()
	}
}

func marshalXML(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// hexEscapes rewrites the encoder's "&amp;" and "&lt;" outside CDATA
// sections as the hexadecimal character references "&#x26;" and "&#x3C;",
// the same characters to any XML parser. The RSS Profile asks for them in
// plain text, and the W3C validator's CharacterData rule is satisfied only
// by a "&#x" on the lines of an element whose text holds "&" or "<" (see
// conformance_test.go). Outside CDATA every "&" encoding/xml writes starts
// an escape, so a literal "&amp;" in the text (escaped to "&amp;amp;")
// stays what it was; CDATA (gorilla's content:encoded) is left as it is.
func hexEscapes(b []byte) []byte {
	n := bytes.Count(b, []byte("&amp;")) + bytes.Count(b, []byte("&lt;"))
	if n == 0 {
		return b
	}
	const cdataStart, cdataEnd = "<![CDATA[", "]]>"
	out := make([]byte, 0, len(b)+2*n)
	for len(b) > 0 {
		i := bytes.IndexAny(b, "&<")
		if i < 0 {
			break
		}
		out = append(out, b[:i]...)
		b = b[i:]
		switch {
		case bytes.HasPrefix(b, []byte(cdataStart)):
			end := bytes.Index(b, []byte(cdataEnd))
			if end < 0 {
				end = len(b) - len(cdataEnd)
			}
			out = append(out, b[:end+len(cdataEnd)]...)
			b = b[end+len(cdataEnd):]
		case bytes.HasPrefix(b, []byte("&amp;")):
			out = append(out, "&#x26;"...)
			b = b[len("&amp;"):]
		case bytes.HasPrefix(b, []byte("&lt;")):
			out = append(out, "&#x3C;"...)
			b = b[len("&lt;"):]
		default:
			out = append(out, b[0])
			b = b[1:]
		}
	}
	return append(out, b...)
}

// empty marshals as an empty element (<fh:archive/> and the like).
type empty struct{}

// ---- RSS 2.0 ----

type rssRoot struct {
	XMLName   xml.Name    `xml:"rss"`
	Version   string      `xml:"version,attr"`
	NSContent string      `xml:"xmlns:content,attr"`
	NSAtom    string      `xml:"xmlns:atom,attr"`
	NSDC      string      `xml:"xmlns:dc,attr"`
	NSMedia   string      `xml:"xmlns:media,attr"`
	NSHistory string      `xml:"xmlns:fh,attr"`
	NSWebfeed string      `xml:"xmlns:webfeeds,attr,omitempty"`
	Channel   *rssChannel `xml:"channel"`
}

// rssChannel extends gorilla's channel with atom:link (self, hub, RFC 5005)
// and the RFC 5005 markers; Items shadows gorilla's items.
type rssChannel struct {
	*gorilla.RssFeed
	webfeeds
	AtomLinks []xmlLink  `xml:"atom:link"`
	Archive   *empty     `xml:"fh:archive"`
	Complete  *empty     `xml:"fh:complete"`
	Items     []*rssItem `xml:"item"`
}

// webfeeds are the elements Feedly reads for a feed's icon, logo and
// accent colour (namespace nsWebfeeds, prefix webfeeds).
type webfeeds struct {
	Icon        string `xml:"webfeeds:icon,omitempty"`
	Logo        string `xml:"webfeeds:logo,omitempty"`
	AccentColor string `xml:"webfeeds:accentColor,omitempty"`
}

func (p *page) webfeedsElements() webfeeds {
	if !p.webfeeds {
		return webfeeds{}
	}
	return webfeeds{Icon: p.brandURLs.icon, Logo: p.brandURLs.logo, AccentColor: p.brand.AccentColor}
}

// webfeedsNS is the xmlns:webfeeds declaration: only when the elements are
// written, as the W3C validator warns about an unknown namespace.
func (p *page) webfeedsNS() string {
	if !p.webfeeds {
		return ""
	}
	return nsWebfeeds
}

type xmlLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
}

// rssItem extends gorilla's item: several categories, dc:creator for names
// (RSS <author> must be an e-mail address), the language, the update time
// and media:content for the lead photo.
type rssItem struct {
	*gorilla.RssItem
	Categories []string      `xml:"category"`
	Creators   []string      `xml:"dc:creator"`
	Language   string        `xml:"dc:language,omitempty"`
	Updated    string        `xml:"atom:updated,omitempty"`
	Media      *mediaContent `xml:"media:content"`
}

type mediaContent struct {
	URL         string     `xml:"url,attr"`
	Type        string     `xml:"type,attr"`
	Medium      string     `xml:"medium,attr"`
	FileSize    int64      `xml:"fileSize,attr,omitempty"`
	Description *mediaText `xml:"media:description"`
	Credit      string     `xml:"media:credit,omitempty"`
}

type mediaText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

func (p *page) renderRSS() ([]byte, error) {
	gf := p.gorillaFeed()
	base := (&gorilla.Rss{Feed: gf}).RssFeed()
	base.Language = p.spec.Language
	base.Generator = p.generatorText()
	base.ManagingEditor = "" // must be an e-mail address; we have a name
	base.Ttl = p.ttl
	ch := &rssChannel{RssFeed: base, webfeeds: p.webfeedsElements(), Items: make([]*rssItem, len(base.Items))}
	ch.AtomLinks = append(ch.AtomLinks, xmlLink{Href: p.selfURL(RSS), Rel: "self", Type: RSS.MediaType()})
	if p.spec.HubURL != "" {
		ch.AtomLinks = append(ch.AtomLinks, xmlLink{Href: p.spec.HubURL, Rel: "hub"})
	}
	ch.AtomLinks = p.appendHistory(ch.AtomLinks, RSS, func(href, rel string) xmlLink {
		return xmlLink{Href: href, Rel: rel, Type: RSS.MediaType()}
	})
	ch.Archive, ch.Complete = p.markers()
	for i, bi := range base.Items {
		e := p.entries[i]
		bi.Author = "" // gorilla puts the name here; names go to dc:creator
		bi.Description = html.EscapeString(e.summary)
		bi.PubDate = e.published.Format(time.RFC1123Z)
		it := &rssItem{
			RssItem:    bi,
			Categories: e.categories,
			Creators:   e.authors,
			Language:   e.language,
			Updated:    e.updated.Format(time.RFC3339),
		}
		if ph := e.photo; ph != nil {
			it.Media = &mediaContent{URL: ph.URL, Type: e.photoType, Medium: "image", FileSize: ph.Length, Credit: ph.Credit}
			if ph.Caption != "" {
				it.Media.Description = &mediaText{Type: "plain", Text: ph.Caption}
			}
		}
		ch.Items[i] = it
	}
	body, err := marshalXML(&rssRoot{
		Version: "2.0", NSContent: nsContent, NSAtom: nsAtom, NSDC: nsDC,
		NSMedia: nsMedia, NSHistory: nsHistory, NSWebfeed: p.webfeedsNS(), Channel: ch,
	})
	if err != nil {
		return nil, err
	}
	return hexEscapes(body), nil
}

func (p *page) appendHistory(links []xmlLink, f Format, mk func(href, rel string) xmlLink) []xmlLink {
	prev, next, current := p.historyLinks(f)
	if current != "" {
		links = append(links, mk(current, "current"))
	}
	if prev != "" {
		links = append(links, mk(prev, "prev-archive"))
	}
	if next != "" {
		links = append(links, mk(next, "next-archive"))
	}
	return links
}

func (p *page) markers() (archive, complete *empty) {
	if !p.archive.IsZero() {
		return &empty{}, nil
	}
	if p.complete {
		return nil, &empty{}
	}
	return nil, nil
}

func (p *page) generatorText() string {
	if p.version != "" {
		return p.generator + " " + p.version
	}
	return p.generator
}

// ---- Atom 1.0 ----

// atomRoot extends gorilla's feed: xml:lang, a generator, several links
// (alternate, self, hub, RFC 5005) and the RFC 5005 markers; Entries
// shadows gorilla's entries.
type atomRoot struct {
	*gorilla.AtomFeed
	Lang      string `xml:"xml:lang,attr,omitempty"`
	NSHistory string `xml:"xmlns:fh,attr"`
	NSWebfeed string `xml:"xmlns:webfeeds,attr,omitempty"`
	webfeeds
	Generator *atomGenerator     `xml:"generator"`
	Links     []gorilla.AtomLink `xml:"link"`
	Archive   *empty             `xml:"fh:archive"`
	Complete  *empty             `xml:"fh:complete"`
	Entries   []*atomEntry       `xml:"entry"`
}

type atomGenerator struct {
	URI     string `xml:"uri,attr,omitempty"`
	Version string `xml:"version,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// atomEntry extends gorilla's entry: xml:lang, several authors and
// categories with the required term attribute.
type atomEntry struct {
	*gorilla.AtomEntry
	Lang       string               `xml:"xml:lang,attr,omitempty"`
	Authors    []gorilla.AtomAuthor `xml:"author"`
	Categories []atomCategory       `xml:"category"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

func (p *page) renderAtom() ([]byte, error) {
	gf := p.gorillaFeed()
	base := (&gorilla.Atom{Feed: gf}).AtomFeed()
	base.Id = p.spec.FeedURL(Atom) // the same logical feed across archive pages
	base.Link = nil
	base.Icon, base.Logo = p.brandURLs.icon, p.brandURLs.logo
	root := &atomRoot{
		AtomFeed:  base,
		Lang:      p.spec.Language,
		NSHistory: nsHistory,
		NSWebfeed: p.webfeedsNS(),
		webfeeds:  p.webfeedsElements(),
		Generator: &atomGenerator{Text: p.generator, Version: p.version},
		Entries:   make([]*atomEntry, len(base.Entries)),
	}
	root.Links = append(root.Links,
		gorilla.AtomLink{Href: p.spec.SiteURL, Rel: "alternate", Type: "text/html"},
		gorilla.AtomLink{Href: p.selfURL(Atom), Rel: "self", Type: Atom.MediaType()},
	)
	if p.spec.HubURL != "" {
		root.Links = append(root.Links, gorilla.AtomLink{Href: p.spec.HubURL, Rel: "hub"})
	}
	for _, l := range p.appendHistory(nil, Atom, func(href, rel string) xmlLink {
		return xmlLink{Href: href, Rel: rel, Type: Atom.MediaType()}
	}) {
		root.Links = append(root.Links, gorilla.AtomLink{Href: l.Href, Rel: l.Rel, Type: l.Type})
	}
	root.Archive, root.Complete = p.markers()
	for i, be := range base.Entries {
		e := p.entries[i]
		be.Id = e.atomID
		be.Published = e.published.Format(time.RFC3339)
		be.Updated = e.updated.Format(time.RFC3339)
		be.Author = nil
		if be.Summary != nil {
			be.Summary.Type = "text"
		}
		for j := range be.Links {
			if be.Links[j].Rel == "enclosure" && be.Links[j].Length == "0" {
				be.Links[j].Length = "" // unknown: Atom makes length optional
			}
		}
		ae := &atomEntry{AtomEntry: be, Categories: make([]atomCategory, len(e.categories))}
		if e.language != p.spec.Language {
			ae.Lang = e.language
		}
		for _, n := range e.authors {
			ae.Authors = append(ae.Authors, gorilla.AtomAuthor{AtomPerson: gorilla.AtomPerson{Name: n}})
		}
		for j, c := range e.categories {
			ae.Categories[j] = atomCategory{Term: c}
		}
		root.Entries[i] = ae
	}
	return marshalXML(root)
}

// ---- JSON Feed 1.1 ----

const jsonFeedVersion = "https://jsonfeed.org/version/1.1"

// jsonFeed extends gorilla's JSON feed: items always present (an empty feed
// has "items": []) and an RFC 5005 extension object.
type jsonFeed struct {
	*gorilla.JSONFeed
	Items   []*jsonItem  `json:"items"`
	History *jsonHistory `json:"_rfc5005,omitempty"`
}

// jsonItem extends gorilla's item with the 1.1 keys it gets wrong or lacks:
// language, banner_image (gorilla's own field writes "banner_" and stays
// empty), and attachments whose size is size_in_bytes.
type jsonItem struct {
	*gorilla.JSONItem
	BannerImage string           `json:"banner_image,omitempty"`
	Language    string           `json:"language,omitempty"`
	Attachments []jsonAttachment `json:"attachments,omitempty"`
}

type jsonAttachment struct {
	URL         string `json:"url"`
	MIMEType    string `json:"mime_type"`
	Title       string `json:"title,omitempty"`
	SizeInBytes int64  `json:"size_in_bytes,omitempty"`
}

// jsonHistory is the RFC 5005 extension; next_url carries the same
// backfill chain for readers that know only JSON Feed.
type jsonHistory struct {
	About       string `json:"about"`
	Archive     bool   `json:"archive,omitempty"`
	Complete    bool   `json:"complete,omitempty"`
	Current     string `json:"current,omitempty"`
	PrevArchive string `json:"prev_archive,omitempty"`
	NextArchive string `json:"next_archive,omitempty"`
}

func (p *page) renderJSON() ([]byte, error) {
	gf := p.gorillaFeed()
	base := (&gorilla.JSON{Feed: gf}).JSONFeed()
	base.Version = jsonFeedVersion
	base.Language = p.spec.Language
	base.FeedUrl = p.selfURL(JSON)
	base.Icon, base.Favicon = p.brandURLs.icon, p.brandURLs.favicon
	base.Author = nil // deprecated in 1.1
	base.Authors = []*gorilla.JSONAuthor{{Name: p.spec.Author}}
	if p.spec.HubURL != "" {
		base.Hubs = []*gorilla.JSONHub{{Type: "WebSub", Url: p.spec.HubURL}}
	}
	prev, next, current := p.historyLinks(JSON)
	base.NextUrl = prev // JSON Feed's next_url leads to older items
	jf := &jsonFeed{JSONFeed: base, Items: make([]*jsonItem, len(base.Items))}
	if !p.archive.IsZero() || !p.prev.IsZero() || p.complete {
		jf.History = &jsonHistory{About: rfc5005, Archive: !p.archive.IsZero(), Complete: p.complete,
			Current: current, PrevArchive: prev, NextArchive: next}
	}
	for i, bi := range base.Items {
		e := p.entries[i]
		bi.Author = nil
		bi.Authors = make([]*gorilla.JSONAuthor, len(e.authors))
		for j, n := range e.authors {
			bi.Authors[j] = &gorilla.JSONAuthor{Name: n}
		}
		bi.Tags = e.categories
		it := &jsonItem{JSONItem: bi, Language: e.language}
		if ph := e.photo; ph != nil {
			bi.Image = ph.URL
			it.BannerImage = ph.URL
			it.Attachments = []jsonAttachment{{URL: ph.URL, MIMEType: e.photoType, Title: ph.Caption, SizeInBytes: ph.Length}}
		}
		jf.Items[i] = it
	}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(jf); err != nil {
		return nil, fmt.Errorf("feeds: json: %w", err)
	}
	return buf.Bytes(), nil
}

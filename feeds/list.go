package feeds

import (
	"time"

	gorilla "github.com/gorilla/feeds"
)

// List is a feed of links that is not one of the subscription feeds (the
// digest's issues of a series), written as Atom the way those are:
// gorilla/feeds, extended with xml:lang, self and alternate links, text
// summaries and times in the newsroom's zone.
type List struct {
	ID, Title, Subtitle string
	Lang, Author        string
	SelfURL             string // this document
	AlternateURL        string // the HTML page it lists
	// Updated is the document's time; the zero time, for a list with no
	// entry yet, writes the epoch, which is as good as any and stable.
	Updated time.Time
	Zone    *time.Location // UTC when nil
	Entries []ListEntry
}

// ListEntry is one link of a List.
type ListEntry struct {
	ID, Title, URL, Summary string
	Published, Updated      time.Time
}

// atomList extends gorilla's feed with xml:lang and several links.
type atomList struct {
	*gorilla.AtomFeed
	Lang  string             `xml:"xml:lang,attr,omitempty"`
	Links []gorilla.AtomLink `xml:"link"`
}

// Atom renders l as an Atom 1.0 document (RFC 4287).
func (l *List) Atom() ([]byte, error) {
	zone := l.Zone
	if zone == nil {
		zone = time.UTC
	}
	stamp := func(t time.Time) string { return t.In(zone).Format(time.RFC3339) }
	updated := l.Updated
	if updated.IsZero() {
		updated = epoch()
	}
	gf := &gorilla.Feed{Title: l.Title, Description: l.Subtitle, Author: &gorilla.Author{Name: l.Author}, Updated: updated}
	for _, e := range l.Entries {
		gf.Items = append(gf.Items, &gorilla.Item{Id: e.ID, Title: e.Title, Link: &gorilla.Link{Href: e.URL, Type: "text/html"},
			Description: e.Summary, Created: e.Published, Updated: e.Updated})
	}
	base := (&gorilla.Atom{Feed: gf}).AtomFeed()
	base.Id, base.Link, base.Updated = l.ID, nil, stamp(updated)
	for i, be := range base.Entries {
		be.Published, be.Updated = stamp(l.Entries[i].Published), stamp(l.Entries[i].Updated)
		if be.Summary != nil {
			be.Summary.Type = "text"
		}
	}
	return marshalXML(&atomList{AtomFeed: base, Lang: l.Lang, Links: []gorilla.AtomLink{
		{Href: l.SelfURL, Rel: "self", Type: Atom.MediaType()},
		{Href: l.AlternateURL, Rel: "alternate", Type: "text/html"},
	}})
}

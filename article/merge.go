package article

import "time"

// Outcome says what storing an article did.
type Outcome int

const (
	Unchanged    Outcome = iota // same content: nothing written
	Created                     // first time this id was seen
	Edited                      // content changed: Updated moved forward
	Reclassified                // only derived metadata changed (series, photo size or type): Updated kept
)

func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case Edited:
		return "edited"
	case Reclassified:
		return "reclassified"
	default:
		return "unchanged"
	}
}

// Merge decides what to store when incoming arrives for an id that may
// already be stored (existing is nil when it is not). It never changes the
// id or GUID of a stored article, keeps Published when the source does not
// give one, and moves Updated only when the content changed: to the
// source's own Updated when that is later, otherwise to now. Every store
// runs it inside the transaction that writes the result, so the rule lives
// here once.
func Merge(existing, incoming *Article, now time.Time) (*Article, Outcome) {
	m := *incoming
	if existing == nil {
		if m.Published.IsZero() {
			m.Published = m.Updated
		}
		if m.Published.IsZero() {
			m.Published = now
		}
		if m.Updated.Before(m.Published) {
			m.Updated = m.Published
		}
		return &m, Created
	}
	m.ID, m.GUID = existing.ID, existing.GUID
	if m.Published.IsZero() {
		m.Published = existing.Published
	}
	if m.Photo != nil && existing.Photo != nil && m.Photo.URL == existing.Photo.URL {
		ph := *m.Photo
		if ph.Length == 0 {
			ph.Length = existing.Photo.Length
		}
		if ph.Type == "" {
			ph.Type = existing.Photo.Type
		}
		m.Photo = &ph
	}
	if m.ContentHash() == existing.ContentHash() {
		if equalStrings(m.Series, existing.Series) && samePhotoMeta(m.Photo, existing.Photo) {
			return existing, Unchanged
		}
		m.Updated = existing.Updated
		return &m, Reclassified
	}
	if !m.Updated.After(existing.Updated) {
		m.Updated = now
	}
	if m.Updated.Before(m.Published) {
		m.Updated = m.Published
	}
	return &m, Edited
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// samePhotoMeta compares what ContentHash leaves out of a photo. A source
// that does not know the size (0) keeps the size learned before.
func samePhotoMeta(a, b *Photo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Length == b.Length && a.Type == b.Type
}

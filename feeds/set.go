package feeds

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// resource is one immutable served document: its bytes, the gzip bytes,
// and every header value precomputed so that serving allocates little.
type resource struct {
	path, url string
	format    Format
	slug      string
	archive   int
	sum       string // sha256 of plain, hex
	plain     representation
	gz        representation
	lastMod   time.Time // whole seconds
	hdrLM     []string
	hdrType   []string
	hdrLink   []string // WebSub discovery: hub and self; nil without a hub
}

type representation struct {
	body    []byte
	etag    string // quoted
	hdrETag []string
	hdrLen  []string
}

func newRepresentation(body []byte) representation {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return representation{body: body, etag: etag, hdrETag: []string{etag},
		hdrLen: []string{strconv.Itoa(len(body))}}
}

func newResource(d Doc, lastMod time.Time) (*resource, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(d.Body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(d.Body)
	lastMod = lastMod.UTC().Truncate(time.Second)
	var link []string
	if d.Hub != "" {
		link = []string{"<" + d.Hub + `>; rel="hub"`, "<" + d.URL + `>; rel="self"`}
	}
	return &resource{
		path: d.Path, url: d.URL, format: d.Format, slug: d.Slug, archive: d.Archive,
		sum:     hex.EncodeToString(sum[:]),
		plain:   newRepresentation(d.Body),
		gz:      newRepresentation(buf.Bytes()),
		lastMod: lastMod,
		hdrLM:   []string{lastMod.Format(http.TimeFormat)},
		hdrType: []string{d.Format.ContentType()},
		hdrLink: link,
	}, nil
}

// newAsset is an embedded file served as is (no gzip variant: images are
// compressed already).
func newAsset(path, contentType string, body []byte) *resource {
	return &resource{path: path, plain: newRepresentation(body), lastMod: assetTime,
		hdrLM: []string{assetTime.Format(http.TimeFormat)}, hdrType: []string{contentType}}
}

// snapshot is the immutable set of subscription feeds being served.
type snapshot struct {
	byPath map[string]*resource
	paths  []string // sorted
	pages  map[string]int
}

// Set holds the built documents and serves them. Rebuild swaps in a new
// immutable snapshot atomically; requests never wait for a build and never
// build the subscription feeds themselves. Archive pages are built on the
// first request and cached until the store changes (Invalidate, or a
// Rebuild that sees a change).
type Set struct {
	b          *Builder
	maxAge     []string
	snap       atomic.Pointer[snapshot]
	rebuildMu  sync.Mutex
	archiveMu  sync.Mutex
	archive    map[string]*resource
	generation uint64 // guarded by archiveMu; bumped on invalidation
	// icon is the embedded default icon at IconPath; nil when the brand
	// has its own. favicon is served at FaviconPath (see Favicon).
	icon, favicon *resource
}

// SetOptions tune a Set.
type SetOptions struct {
	// MaxAge is the Cache-Control max-age of served feeds (0: max-age=0).
	MaxAge time.Duration
}

// NewSet returns an empty Set over b; call Rebuild before serving.
func NewSet(b *Builder, opts SetOptions) *Set {
	s := &Set{b: b, archive: map[string]*resource{}}
	s.favicon = newAsset(FaviconPath, "image/x-icon", defaultFavicon)
	if b.brand.Icon == "" {
		s.icon = newAsset(IconPath, "image/png", defaultIcon)
	}
	s.maxAge = []string{"public, max-age=" + strconv.Itoa(int(opts.MaxAge/time.Second))}
	s.snap.Store(&snapshot{byPath: map[string]*resource{}, pages: map[string]int{}})
	return s
}

// Change names one document whose bytes changed in a Rebuild.
type Change struct {
	Path string // URL path
	URL  string // absolute URL (the WebSub topic)
}

// Rebuild builds every subscription feed and swaps them in. It returns the
// documents whose bytes changed (all of them on the first call). A document
// whose bytes did not change keeps its ETag, Last-Modified and gzip bytes.
func (s *Set) Rebuild(ctx context.Context) ([]Change, error) {
	s.rebuildMu.Lock()
	defer s.rebuildMu.Unlock()
	docs, err := s.b.Build(ctx)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("feeds: rebuild: %w", err)
	}
	old := s.snap.Load()
	next := &snapshot{byPath: make(map[string]*resource, len(docs)), pages: map[string]int{}}
	var changes []Change
	for _, d := range docs {
		prev := old.byPath[d.Path]
		if prev != nil && bytes.Equal(prev.plain.body, d.Body) {
			next.byPath[d.Path] = prev
		} else {
			lm := d.Updated
			// Bytes changed but the newest Updated did not move forward (an
			// article withdrawn, say): move Last-Modified on so that
			// If-Modified-Since clients see the change.
			if prev != nil && !lm.After(prev.lastMod) {
				lm = prev.lastMod.Add(time.Second)
			}
			r, err := newResource(d, lm)
			if err != nil {
				return nil, fmt.Errorf("feeds: %s: %w", d.Path, err)
			}
			next.byPath[d.Path] = r
			changes = append(changes, Change{Path: d.Path, URL: d.URL})
		}
		next.paths = append(next.paths, d.Path)
		next.pages[d.Slug] = d.Pages
	}
	sort.Strings(next.paths)
	pagesMoved := len(old.pages) != len(next.pages)
	for k, v := range next.pages {
		if old.pages[k] != v {
			pagesMoved = true
		}
	}
	s.snap.Store(next)
	if len(changes) > 0 || pagesMoved {
		s.dropArchive()
	}
	return changes, nil
}

// Invalidate drops the cached archive pages; call it when the store
// changed in a way a Rebuild may not see (an old article edited or
// withdrawn). Ingest should call it after any PutArticle that was not
// Unchanged.
func (s *Set) Invalidate() {
	s.b.Invalidate()
	s.dropArchive()
}

func (s *Set) dropArchive() {
	s.archiveMu.Lock()
	s.archive = map[string]*resource{}
	s.generation++
	s.archiveMu.Unlock()
}

// Paths lists the URL paths of the subscription feeds, sorted.
func (s *Set) Paths() []string { return append([]string(nil), s.snap.Load().paths...) }

// Get returns the served bytes of path (subscription feed or archive
// page), building an archive page if needed.
func (s *Set) Get(ctx context.Context, path string) ([]byte, Format, error) {
	r, err := s.lookup(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	return r.plain.body, r.format, nil
}

func (s *Set) lookup(ctx context.Context, path string) (*resource, error) {
	if r := s.snap.Load().byPath[path]; r != nil {
		return r, nil
	}
	return s.archivePage(ctx, path)
}

func (s *Set) archivePage(ctx context.Context, path string) (*resource, error) {
	s.archiveMu.Lock()
	r, gen := s.archive[path], s.generation
	s.archiveMu.Unlock()
	if r != nil {
		return r, nil
	}
	// Pages beyond those of the last Rebuild are not queried for: a
	// crawler guessing numbers costs no database work.
	known := false
	snap := s.snap.Load()
	for i := range s.b.specs {
		sp := &s.b.specs[i]
		if _, n, ok := sp.parseArchivePath(path); ok && !sp.NoArchive && n <= snap.pages[sp.Slug] {
			known = true
		}
	}
	if !known {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	docs, err := s.b.BuildArchive(ctx, path)
	if err != nil {
		return nil, err
	}
	var found *resource
	built := make([]*resource, 0, len(docs))
	for _, d := range docs {
		r, err := newResource(d, d.Updated)
		if err != nil {
			return nil, fmt.Errorf("feeds: %s: %w", d.Path, err)
		}
		built = append(built, r)
		if d.Path == path {
			found = r
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	s.archiveMu.Lock()
	if s.generation == gen { // not invalidated while building
		for _, r := range built {
			if old := s.archive[r.path]; old != nil && old.sum == r.sum {
				continue
			}
			s.archive[r.path] = r
		}
		if cached := s.archive[path]; cached != nil && cached.sum == found.sum {
			found = cached
		}
	}
	s.archiveMu.Unlock()
	return found, nil
}

// ArchivePaths lists the URL paths of every complete archive page of every
// spec as of the last Rebuild.
func (s *Set) ArchivePaths() []string {
	snap := s.snap.Load()
	var out []string
	for i := range s.b.specs {
		sp := &s.b.specs[i]
		if sp.NoArchive {
			continue
		}
		for n := 1; n <= snap.pages[sp.Slug]; n++ {
			for _, f := range Formats {
				out = append(out, sp.ArchivePath(f, n))
			}
		}
	}
	return out
}

// IsNotFound reports whether err means an unknown feed or archive page.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

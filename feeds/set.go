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

	"github.com/syndicated/syndicated/feeds/feedstate"
)

// resource is one immutable served document: its bytes, the gzip bytes,
// and every header value precomputed so that serving allocates little.
type resource struct {
	path, url string
	format    Format
	slug      string
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

func docSum(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func newResource(d Doc, sum string, lastMod time.Time) (*resource, error) {
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
	lastMod = lastMod.UTC().Truncate(time.Second)
	var link []string
	if d.Hub != "" {
		link = []string{"<" + d.Hub + `>; rel="hub"`, "<" + d.URL + `>; rel="self"`}
	}
	return &resource{
		path: d.Path, url: d.URL, format: d.Format, slug: d.Slug,
		sum:     sum,
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
	paths  []string              // sorted
	months map[string]monthRange // archive months by spec slug
}

// Set holds the built documents and serves them. Rebuild swaps in a new
// immutable snapshot atomically; requests never wait for a build and never
// build the subscription feeds themselves. Archive pages are built on the
// first request and cached until the store changes (Invalidate, or a
// Rebuild that sees a change). Every document's hash, Last-Modified and
// last WebSub ping are kept in a feedstate.Store, so that Last-Modified
// moves on whenever the bytes change and never goes back, across restarts
// and replicas too.
type Set struct {
	b          *Builder
	state      feedstate.Store
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
	// State keeps each document's hash, Last-Modified and last ping; the
	// daemon passes its storage. Nil keeps them in memory for the life of
	// the Set (previews, tests).
	State feedstate.Store
}

// NewSet returns an empty Set over b; call Rebuild before serving.
func NewSet(b *Builder, opts SetOptions) *Set {
	s := &Set{b: b, state: opts.State, archive: map[string]*resource{}}
	if s.state == nil {
		s.state = feedstate.NewMemory()
	}
	s.favicon = newAsset(FaviconPath, "image/x-icon", defaultFavicon)
	if b.brand.Icon == "" {
		s.icon = newAsset(IconPath, "image/png", defaultIcon)
	}
	s.maxAge = []string{"public, max-age=" + strconv.Itoa(int(opts.MaxAge/time.Second))}
	s.snap.Store(&snapshot{byPath: map[string]*resource{}, months: map[string]monthRange{}})
	return s
}

// Change names one document whose bytes changed and have not been
// announced to the WebSub hub yet.
type Change struct {
	Path   string // URL path
	URL    string // absolute URL (the WebSub topic)
	SHA256 string // hex SHA-256 of the new bytes (see MarkPublished)
}

// Rebuild builds every subscription feed and swaps them in. It returns the
// documents whose bytes changed since the last Rebuild and whose new bytes
// were not announced yet (see MarkPublished): on the first call after a
// start, only those that changed since the last ping before it. A document
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
	next := &snapshot{byPath: make(map[string]*resource, len(docs)), months: map[string]monthRange{}}
	var fresh []Doc
	for _, d := range docs {
		if prev := old.byPath[d.Path]; prev != nil && bytes.Equal(prev.plain.body, d.Body) {
			next.byPath[d.Path] = prev
		} else {
			fresh = append(fresh, d)
		}
		next.paths = append(next.paths, d.Path)
		next.months[d.Slug] = monthRange{d.First, d.End}
	}
	built, err := s.resources(ctx, fresh)
	if err != nil {
		return nil, err
	}
	var changes []Change
	for i, r := range built {
		next.byPath[r.res.path] = r.res
		if r.st.LastPing.IsZero() {
			changes = append(changes, Change{Path: r.res.path, URL: fresh[i].URL, SHA256: r.res.sum})
		}
	}
	sort.Strings(next.paths)
	monthsMoved := len(old.months) != len(next.months)
	for k, v := range next.months {
		if old.months[k] != v {
			monthsMoved = true
		}
	}
	s.snap.Store(next)
	if len(fresh) > 0 || monthsMoved {
		s.dropArchive()
	}
	return changes, nil
}

type built struct {
	res *resource
	st  feedstate.State
}

// resources makes the served resources of docs, their Last-Modified from
// the state store: the stored one for bytes stored already, else a new
// state (feedstate.Next).
func (s *Set) resources(ctx context.Context, docs []Doc) ([]built, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	paths := make([]string, len(docs))
	for i, d := range docs {
		paths[i] = d.Path
	}
	stored, err := s.state.FeedStates(ctx, paths)
	if err != nil {
		return nil, fmt.Errorf("feeds: %w", err)
	}
	out := make([]built, len(docs))
	for i, d := range docs {
		sum := docSum(d.Body)
		st, ok := stored[d.Path]
		if !ok || st.SHA256 != sum {
			if st, err = s.state.PutFeedState(ctx, feedstate.State{Path: d.Path, SHA256: sum, LastModified: d.Updated}); err != nil {
				return nil, fmt.Errorf("feeds: %w", err)
			}
		}
		r, err := newResource(d, sum, st.LastModified)
		if err != nil {
			return nil, fmt.Errorf("feeds: %s: %w", d.Path, err)
		}
		out[i] = built{r, st}
	}
	return out, nil
}

// MarkPublished records that the hub was told of changes (as Rebuild
// returned them) at at, so that a restart does not announce them again.
// Documents whose bytes changed since are not marked.
func (s *Set) MarkPublished(ctx context.Context, changes []Change, at time.Time) error {
	for _, c := range changes {
		if err := s.state.MarkFeedPinged(ctx, c.Path, c.SHA256, at); err != nil {
			return fmt.Errorf("feeds: %w", err)
		}
	}
	return nil
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
// page), building an archive page if needed. A numbered archive page of
// old gives a *MovedError.
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
	// Months outside the archive of the last Rebuild are not queried for:
	// a crawler guessing URLs costs no database work.
	known := false
	snap := s.snap.Load()
	for i := range s.b.specs {
		sp := &s.b.specs[i]
		if ref, ok := sp.parseArchivePath(path); ok && !sp.NoArchive {
			months := snap.months[sp.Slug]
			known = months.has(ref.month) || ref.legacy > 0 && months.any()
		}
	}
	if !known {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	docs, err := s.b.BuildArchive(ctx, path)
	if err != nil {
		return nil, err
	}
	made, err := s.resources(ctx, docs)
	if err != nil {
		return nil, err
	}
	var found *resource
	for _, m := range made {
		if m.res.path == path {
			found = m.res
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	s.archiveMu.Lock()
	if s.generation == gen { // not invalidated while building
		for _, m := range made {
			if old := s.archive[m.res.path]; old != nil && old.sum == m.res.sum {
				continue
			}
			s.archive[m.res.path] = m.res
		}
		if cached := s.archive[path]; cached != nil && cached.sum == found.sum {
			found = cached
		}
	}
	s.archiveMu.Unlock()
	return found, nil
}

// ArchivePaths lists the URL paths of every archive page (every month
// from the oldest article's to the last complete one) of every spec as of
// the last Rebuild.
func (s *Set) ArchivePaths() []string {
	snap := s.snap.Load()
	var out []string
	for i := range s.b.specs {
		sp := &s.b.specs[i]
		if sp.NoArchive {
			continue
		}
		months := snap.months[sp.Slug]
		for m := months.first; months.has(m); m = m.Next() {
			for _, f := range Formats {
				out = append(out, sp.ArchivePath(f, m))
			}
		}
	}
	return out
}

// IsNotFound reports whether err means an unknown feed or archive page.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

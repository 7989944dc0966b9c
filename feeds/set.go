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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/feeds/feedstate"
)

// resource is one immutable served document: its bytes, the gzip bytes,
// and every header value precomputed so that serving allocates little.
type resource struct {
	path, url string
	format    Format
	slug      string
	key       string // the spec's feed key
	// archive marks an archive document; spanFrom and spanTo bound the
	// publication times whose changes may change it (zero: unbounded).
	archive          bool
	spanFrom, spanTo time.Time
	sum              string // sha256 of plain, hex
	plain            representation
	gz               representation
	lastMod          time.Time // whole seconds
	hdrLM            []string
	hdrType          []string
	hdrLink          []string // WebSub discovery: hub and self; nil without a hub
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
	// Exact-size copies: rendering grows its buffers well past the bytes,
	// and held documents must cost what the cache budget counts.
	plain, gz := bytes.Clone(d.Body), bytes.Clone(buf.Bytes())
	var link []string
	if d.Hub != "" {
		link = []string{"<" + d.Hub + `>; rel="hub"`, "<" + d.URL + `>; rel="self"`}
	}
	return &resource{
		path: d.Path, url: d.URL, format: d.Format, slug: d.Slug, key: d.Key,
		archive: d.Archive != "", spanFrom: d.SpanFrom, spanTo: d.SpanTo,
		sum:     sum,
		plain:   newRepresentation(plain),
		gz:      newRepresentation(gz),
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
}

// Set holds the built documents and serves them. Rebuild swaps in a new
// immutable snapshot of the section and series subscription feeds
// atomically; requests never wait for a build and never build those
// themselves. Archive documents and the author and tag feeds are built on
// their first request and kept, least recently used out first, within
// SetOptions.CacheBytes, until an article change that may change them
// (read from the store's change log at each Rebuild) or the end of the
// day for those whose links move when a period ends. Every document's
// hash, Last-Modified and last WebSub ping are kept in a feedstate.Store,
// so that Last-Modified moves on whenever the bytes change and never goes
// back, across restarts and replicas too.
type Set struct {
	b      *Builder
	state  feedstate.Store
	maxAge []string
	snap   atomic.Pointer[snapshot]

	rebuildMu sync.Mutex
	rev       int64 // the articles revision the cache reflects; guarded by rebuildMu
	haveRev   bool

	cacheMu    sync.Mutex
	cache      *docCache
	generation uint64 // guarded by cacheMu; bumped on every invalidation
	// icon is the embedded default icon at IconPath; nil when the brand
	// has its own. favicon is served at FaviconPath (see Favicon).
	icon, favicon *resource
	// subscription maps the subscription feed paths of the specs to their
	// feed (for FeedOf).
	subscription map[string]feedFormat
}

type feedFormat struct {
	path   string
	format Format
}

// DefaultCacheBytes is the memory budget of built archive documents and
// author and tag feeds, by default.
const DefaultCacheBytes = 64 << 20

// SetOptions tune a Set.
type SetOptions struct {
	// MaxAge is the Cache-Control max-age of served feeds (0: max-age=0).
	MaxAge time.Duration
	// State keeps each document's hash, Last-Modified and last ping; the
	// daemon passes its storage. Nil keeps them in memory for the life of
	// the Set (previews, tests).
	State feedstate.Store
	// CacheBytes bounds the memory of the documents built on request
	// (DefaultCacheBytes when 0).
	CacheBytes int64
}

// NewSet returns an empty Set over b; call Rebuild before serving.
func NewSet(b *Builder, opts SetOptions) *Set {
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	s := &Set{b: b, state: opts.State, cache: newDocCache(opts.CacheBytes), subscription: map[string]feedFormat{}}
	for i := range b.specs {
		for _, f := range Formats {
			s.subscription[b.specs[i].FeedPath(f)] = feedFormat{b.specs[i].Path, f}
		}
	}
	if s.state == nil {
		s.state = feedstate.NewMemory()
	}
	s.favicon = newAsset(FaviconPath, "image/x-icon", defaultFavicon)
	if b.brand.Icon == "" {
		s.icon = newAsset(IconPath, "image/png", defaultIcon)
	}
	s.maxAge = []string{"public, max-age=" + strconv.Itoa(int(opts.MaxAge/time.Second))}
	s.snap.Store(&snapshot{byPath: map[string]*resource{}})
	return s
}

// Change names one document whose bytes changed and have not been
// announced to the WebSub hub yet.
type Change struct {
	Path   string // URL path
	URL    string // absolute URL (the WebSub topic)
	SHA256 string // hex SHA-256 of the new bytes (see MarkPublished); empty for an author or tag feed, built on request
}

// Rebuild builds every section and series subscription feed and swaps
// them in, after dropping the built-on-request documents that the article
// changes since the last Rebuild may have changed. It returns the
// documents whose bytes changed since the last Rebuild and whose new bytes
// were not announced yet (see MarkPublished): on the first call after a
// start, only those that changed since the last ping before it. The
// author and tag feeds an article change touched are returned too, with
// no SHA256 (they are built when asked for). A document whose bytes did
// not change keeps its ETag, Last-Modified and gzip bytes.
func (s *Set) Rebuild(ctx context.Context) ([]Change, error) {
	s.rebuildMu.Lock()
	defer s.rebuildMu.Unlock()
	touched, err := s.applyChanges(ctx)
	if err != nil {
		return nil, err
	}
	s.b.mu.Lock()
	s.b.rev = s.rev
	s.b.mu.Unlock()
	docs, err := s.b.Build(ctx)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("feeds: rebuild: %w", err)
	}
	old := s.snap.Load()
	next := &snapshot{byPath: make(map[string]*resource, len(docs))}
	var fresh []Doc
	for _, d := range docs {
		if prev := old.byPath[d.Path]; prev != nil && bytes.Equal(prev.plain.body, d.Body) {
			next.byPath[d.Path] = prev
		} else {
			fresh = append(fresh, d)
		}
		next.paths = append(next.paths, d.Path)
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
	s.snap.Store(next)
	if p := s.b.people; p != nil {
		for _, key := range touched {
			kind, slug, _ := strings.Cut(key, ":")
			sp := *p
			sp.Slug, sp.Kind, sp.Path = slug, KindAuthor, ""
			if kind == article.KeyTag {
				sp.Kind = KindTag
			}
			n, err := sp.Normalize()
			if err != nil {
				continue // a slug that makes no feed
			}
			for _, f := range Formats {
				changes = append(changes, Change{Path: n.FeedPath(f), URL: n.FeedURL(f)})
			}
		}
	}
	return changes, nil
}

// applyChanges reads the article changes since the revision the cache
// reflects and drops what they may have changed; it returns the author
// and tag feed keys they touched, sorted. Without a change log (or when
// the log no longer goes back that far) it drops every cached document.
func (s *Set) applyChanges(ctx context.Context) ([]string, error) {
	rev, err := s.b.store.ArticlesRevision(ctx)
	if err != nil {
		return nil, fmt.Errorf("feeds: %w", err)
	}
	if !s.haveRev || rev == s.rev {
		s.rev, s.haveRev = rev, true
		return nil, nil
	}
	log, ok := s.b.store.(article.ChangeLog)
	if !ok {
		s.dropAll()
		s.rev = rev
		return nil, nil
	}
	changes, err := log.ArticleChanges(ctx, s.rev, maxChanges)
	if errors.Is(err, article.ErrChangesPruned) || len(changes) == maxChanges {
		s.dropAll()
		s.rev = rev
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("feeds: %w", err)
	}
	touched := map[string]bool{}
	s.cacheMu.Lock()
	for _, c := range changes {
		for _, k := range c.Keys {
			s.cache.dropKey(k, c.Published)
			if strings.HasPrefix(k, article.KeyAuthor+":") || strings.HasPrefix(k, article.KeyTag+":") {
				touched[k] = true
			}
		}
		s.rev = max(s.rev, c.Revision)
	}
	s.generation++
	s.cacheMu.Unlock()
	s.rev = max(s.rev, rev)
	keys := make([]string, 0, len(touched))
	for k := range touched {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// maxChanges is the most article changes Rebuild applies one by one; past
// that it drops every cached document instead.
const maxChanges = 20_000

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
// Documents whose bytes changed since are not marked; nor are author and
// tag feeds (no SHA256).
func (s *Set) MarkPublished(ctx context.Context, changes []Change, at time.Time) error {
	for _, c := range changes {
		if c.SHA256 == "" {
			continue
		}
		if err := s.state.MarkFeedPinged(ctx, c.Path, c.SHA256, at); err != nil {
			return fmt.Errorf("feeds: %w", err)
		}
	}
	return nil
}

// Invalidate is called when the store changed in a way a Rebuild must
// see. A store with a change log (article.ChangeLog) needs nothing: the
// next Rebuild drops exactly what the changes touched. Without one, every
// document built on request is dropped.
func (s *Set) Invalidate() {
	s.b.Invalidate()
	if _, ok := s.b.store.(article.ChangeLog); !ok {
		s.dropAll()
	}
}

func (s *Set) dropAll() {
	s.cacheMu.Lock()
	s.cache.clear()
	s.generation++
	s.cacheMu.Unlock()
}

// Paths lists the URL paths of the subscription feeds, sorted.
func (s *Set) Paths() []string { return append([]string(nil), s.snap.Load().paths...) }

// Get returns the served bytes of path (a subscription feed, an archive
// document, an author or tag feed), building it if needed. An archive URL
// naming no document gives a *MovedError.
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
	return s.onRequest(ctx, path)
}

// onRequest returns a document built on request: from the cache, or
// built now (with the other formats of the same document) and cached
// unless an invalidation happened meanwhile.
func (s *Set) onRequest(ctx context.Context, path string) (*resource, error) {
	now := s.b.now()
	s.cacheMu.Lock()
	r, gen := s.cache.get(path, now), s.generation
	s.cacheMu.Unlock()
	if r != nil {
		return r, nil
	}
	var docs []Doc
	var err error
	if strings.Contains(path, "/archive/") {
		docs, err = s.b.BuildArchive(ctx, path)
	} else {
		docs, err = s.b.BuildPerson(ctx, path)
	}
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
	// Documents whose links or items move when a period ends (subscription
	// feeds, the newest archive documents) are kept until the day ends.
	y, m, d := now.In(s.b.loc).Date()
	dayEnd := time.Date(y, m, d+1, 0, 0, 0, 0, s.b.loc)
	s.cacheMu.Lock()
	if s.generation == gen {
		for _, m := range made {
			var until time.Time
			if !m.res.archive || m.res.spanTo.IsZero() {
				until = dayEnd
			}
			s.cache.add(m.res, until)
		}
	}
	s.cacheMu.Unlock()
	return found, nil
}

// ArchivePaths lists the URL paths of every archive document of every
// section and series feed, newest first per feed, as of now.
func (s *Set) ArchivePaths(ctx context.Context) ([]string, error) {
	var out []string
	for i := range s.b.specs {
		sp := &s.b.specs[i]
		refs, err := s.b.archiveDocs(ctx, sp)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			for _, f := range Formats {
				out = append(out, sp.archivePath(f, r))
			}
		}
	}
	return out, nil
}

// CacheStats reports the documents built on request that are held, and
// their bytes (plain and gzip).
func (s *Set) CacheStats() (docs int, bytes int64) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	return s.cache.len(), s.cache.size
}

// IsNotFound reports whether err means an unknown feed or archive page.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

package audience

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/axiomhq/hyperloglog"
	"github.com/dchest/siphash"

	"github.com/syndicated/syndicated/server/clientip"
)

// Options configure a Counter. Store is required.
type Options struct {
	Store Store
	// Location is the zone days are counted in (the newsroom's); UTC when nil.
	Location *time.Location
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// ClientIP is the client's address (behind trusted proxies, the
	// forwarded one: clientip.Resolver's Addr); the connection's peer when
	// nil. An address, not its text, so that counting allocates nothing.
	ClientIP func(*http.Request) netip.Addr
	// MaxFeeds bounds the feeds counted separately (default 2,000); the
	// requests of any more are counted under OtherFeed.
	MaxFeeds int
	// Flush is how often counts are written to the store (default 30s).
	Flush time.Duration
	// KeepDays is how many days of client counts are kept (default 35).
	KeepDays int
	Log      *slog.Logger
}

// OtherFeed counts the feeds beyond Options.MaxFeeds.
const OtherFeed = "other"

// Bounds of what one feed holds in memory.
const (
	maxReportsPerFeed = 64
	maxAgentBytes     = 512
)

// Counter counts each feed's audience as requests come, in memory bounded
// by MaxFeeds, and writes it to the Store every Flush (Run).
type Counter struct {
	o Options

	mu    sync.Mutex // guards keys and adding to feeds; taken before a feed's own
	feeds sync.Map   // feed → *feedCount, read without a lock on every request
	nfeed int        // feeds held; guarded by mu
	keys  map[string][2]uint64
	// rotate installs the next day's key when the day ends; guarded by mu.
	rotate *time.Timer
	// pending are sketches of days that ended, not written yet; pendMu is
	// taken with no other lock held.
	pendMu  sync.Mutex
	pending []flushItem
	day     atomic.Pointer[dayKey]
}

// dayKey is the current day and its hash key.
type dayKey struct {
	day   string
	start time.Time
	end   time.Time
	k0    uint64
	k1    uint64
	ok    bool // the key is known (Run fetched it)
}

type reportKey struct{ aggregator, ident string }

type reportVal struct {
	subscribers int
	written     bool // in the store already, as it stands
}

type feedCount struct {
	mu      sync.Mutex
	day     string
	sketch  *hyperloglog.Sketch
	dirty   bool
	reports map[reportKey]reportVal
	changed bool // reports not written yet
}

type flushItem struct {
	feed, day string
	sketch    *hyperloglog.Sketch
}

// NewCounter returns a Counter; call Run to keep its keys and write its
// counts.
func NewCounter(o Options) (*Counter, error) {
	if o.Store == nil {
		return nil, fmt.Errorf("audience: a counter needs a store")
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClientIP == nil {
		o.ClientIP = clientip.Peer
	}
	if o.MaxFeeds <= 0 {
		o.MaxFeeds = 2000
	}
	if o.Flush <= 0 {
		o.Flush = 30 * time.Second
	}
	if o.KeepDays <= 0 {
		o.KeepDays = 35
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c := &Counter{o: o, keys: map[string][2]uint64{}}
	c.day.Store(&dayKey{})
	return c, nil
}

// Day is the day t falls in, in the counter's zone: "2019-04-24".
func (c *Counter) Day(t time.Time) string { return t.In(c.o.Location).Format(time.DateOnly) }

func (c *Counter) dayBounds(t time.Time) (string, time.Time, time.Time) {
	y, m, d := t.In(c.o.Location).Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, c.o.Location)
	return start.Format(time.DateOnly), start, time.Date(y, m, d+1, 0, 0, 0, 0, c.o.Location)
}

// setDay installs the key of the day now falls in (when known) and
// arranges for the next day's to be installed when this one ends, so that
// requests never read the clock.
func (c *Counter) setDay(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	day, start, end := c.dayBounds(now)
	if dk := c.day.Load(); dk.day == day && dk.ok {
		return
	}
	k, ok := c.keys[day]
	c.day.Store(&dayKey{day: day, start: start, end: end, k0: k[0], k1: k[1], ok: ok})
	if c.rotate != nil {
		c.rotate.Stop()
	}
	c.rotate = time.AfterFunc(end.Sub(now), func() { c.setDay(end) })
}

// Observe counts one request for feed (its path without extension) in
// format (its extension): an aggregator's report, or one client.
func (c *Counter) Observe(feed, format string, r *http.Request) {
	var ua string
	if v := r.Header["User-Agent"]; len(v) > 0 {
		ua = v[0]
	}
	if rep, ok := ParseUserAgent(ua); ok {
		fc := c.feed(feed)
		ident := format
		if rep.FeedID != "" {
			ident += " " + rep.FeedID
		}
		fc.mu.Lock()
		k := reportKey{rep.Aggregator, ident}
		if old, ok := fc.reports[k]; ok || len(fc.reports) < maxReportsPerFeed {
			if !ok || old.subscribers != rep.Subscribers || !old.written {
				fc.reports[k] = reportVal{subscribers: rep.Subscribers}
				fc.changed = true
			}
		}
		fc.mu.Unlock()
		return
	}
	dk := c.day.Load()
	if !dk.ok {
		return // no key for the day yet (Run fetches it): not counted
	}
	var buf [640]byte
	b := buf[:0]
	if a := c.o.ClientIP(r); a.IsValid() {
		b, _ = a.AppendText(b) // the address's text, as hashed before: today's count goes on
	}
	b = append(b, 0)
	if len(ua) > maxAgentBytes {
		ua = ua[:maxAgentBytes]
	}
	b = append(b, ua...)
	h := siphash.Hash(dk.k0, dk.k1, b)
	fc := c.feed(feed)
	fc.mu.Lock()
	var ended *flushItem
	if fc.day != dk.day {
		if fc.sketch != nil && fc.dirty {
			ended = &flushItem{feed, fc.day, fc.sketch}
		}
		fc.day, fc.sketch = dk.day, hyperloglog.New14()
	}
	fc.sketch.InsertHash(h)
	fc.dirty = true
	fc.mu.Unlock()
	if ended != nil {
		c.pendMu.Lock()
		if len(c.pending) < c.o.MaxFeeds {
			c.pending = append(c.pending, *ended)
		}
		c.pendMu.Unlock()
	}
}

// feed returns the counts of feed, or of OtherFeed when MaxFeeds are
// counted already.
func (c *Counter) feed(feed string) *feedCount {
	if fc, ok := c.feeds.Load(feed); ok {
		return fc.(*feedCount)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if fc, ok := c.feeds.Load(feed); ok {
		return fc.(*feedCount)
	}
	if c.nfeed >= c.o.MaxFeeds {
		feed = OtherFeed
		if fc, ok := c.feeds.Load(feed); ok {
			return fc.(*feedCount)
		}
	}
	fc := &feedCount{reports: map[reportKey]reportVal{}}
	c.feeds.Store(feed, fc)
	c.nfeed++
	return fc
}

// Run fetches the day's hash key (and the next day's, ahead of midnight)
// from the store, writes the counts every Flush, and prunes days past
// KeepDays, until ctx ends; then it writes what is left.
func (c *Counter) Run(ctx context.Context) error {
	c.prepareKeys(ctx)
	t := time.NewTicker(c.o.Flush)
	defer t.Stop()
	defer func() {
		c.mu.Lock()
		if c.rotate != nil {
			c.rotate.Stop()
		}
		c.mu.Unlock()
	}()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return c.Flush(context.WithoutCancel(ctx))
		case <-t.C:
		}
		c.prepareKeys(ctx)
		if err := c.Flush(ctx); err != nil && ctx.Err() == nil {
			c.o.Log.Warn("audience: write counts", "err", err)
		}
		if now := c.o.Now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			today, start, _ := c.dayBounds(now)
			keep := start.AddDate(0, 0, -c.o.KeepDays).Format(time.DateOnly)
			if err := c.o.Store.PruneAudience(ctx, keep, today, now.AddDate(0, 0, -c.o.KeepDays)); err != nil && ctx.Err() == nil {
				c.o.Log.Warn("audience: prune", "err", err)
			}
		}
	}
}

// Prepare fetches today's and tomorrow's hash keys, so that requests are
// counted from the first (Run does it too, and keeps doing it).
func (c *Counter) Prepare(ctx context.Context) { c.prepareKeys(ctx) }

// prepareKeys makes sure today's and tomorrow's keys are known.
func (c *Counter) prepareKeys(ctx context.Context) {
	now := c.o.Now()
	today, _, end := c.dayBounds(now)
	tomorrow, _, _ := c.dayBounds(end)
	for _, day := range []string{today, tomorrow} {
		c.mu.Lock()
		_, have := c.keys[day]
		c.mu.Unlock()
		if have {
			continue
		}
		hexKey, err := c.o.Store.AudienceKey(ctx, day, func() (string, error) {
			b := make([]byte, 16)
			_, err := rand.Read(b)
			return hex.EncodeToString(b), err
		})
		if err != nil {
			if ctx.Err() == nil {
				c.o.Log.Warn("audience: day key", "day", day, "err", err)
			}
			continue
		}
		raw, err := hex.DecodeString(hexKey)
		if err != nil || len(raw) != 16 {
			c.o.Log.Warn("audience: stored day key is not 16 hex bytes", "day", day)
			continue
		}
		c.mu.Lock()
		c.keys[day] = [2]uint64{binary.LittleEndian.Uint64(raw), binary.LittleEndian.Uint64(raw[8:])}
		for d := range c.keys {
			if d < today {
				delete(c.keys, d) // an ended day's key is forgotten
			}
		}
		c.mu.Unlock()
	}
	c.setDay(now)
}

// Flush writes the counts not written yet to the store.
func (c *Counter) Flush(ctx context.Context) error {
	now := c.o.Now()
	var reports []StoredReport
	var sketches []flushItem
	c.pendMu.Lock()
	sketches = append(sketches, c.pending...)
	c.pending = nil
	c.pendMu.Unlock()
	c.feeds.Range(func(k, v any) bool {
		feed, fc := k.(string), v.(*feedCount)
		fc.mu.Lock()
		if fc.changed {
			for k, v := range fc.reports {
				if !v.written {
					reports = append(reports, StoredReport{Feed: feed, Aggregator: k.aggregator, Ident: k.ident, Subscribers: v.subscribers, Reported: now})
					fc.reports[k] = reportVal{subscribers: v.subscribers, written: true}
				}
			}
			fc.changed = false
		}
		if fc.dirty && fc.sketch != nil {
			sketches = append(sketches, flushItem{feed, fc.day, fc.sketch.Clone()})
			fc.dirty = false
		}
		fc.mu.Unlock()
		return true
	})
	sort.Slice(reports, func(i, j int) bool { return reports[i].Feed < reports[j].Feed })
	if err := c.o.Store.PutAudienceReports(ctx, reports); err != nil {
		return err
	}
	for _, it := range sketches {
		err := c.o.Store.MergeAudienceSketch(ctx, it.feed, it.day, func(old []byte) ([]byte, error) {
			if old == nil {
				return it.sketch.MarshalBinary()
			}
			stored := hyperloglog.New14()
			if err := stored.UnmarshalBinary(old); err != nil {
				return nil, fmt.Errorf("stored sketch: %w", err)
			}
			if err := stored.Merge(it.sketch); err != nil {
				return nil, err
			}
			return stored.MarshalBinary()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Handler counts every GET or HEAD of a subscription feed (feedOf names
// the feed and format of a path, ok false for anything else: archive
// pages are read by backfilling clients, not subscribers) and serves it
// with next.
func (c *Counter) Handler(next http.Handler, feedOf func(path string) (feed, format string, ok bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if feed, format, ok := feedOf(r.URL.Path); ok {
				c.Observe(feed, format, r)
			}
		}
		next.ServeHTTP(w, r)
	})
}

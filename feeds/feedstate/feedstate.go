// Package feedstate is what the feeds keep about each served document
// across restarts and replicas: the hash of its bytes, its Last-Modified
// and when those bytes were last announced to a WebSub hub.
package feedstate

import (
	"context"
	"sync"
	"time"
)

// State is one served document's record.
type State struct {
	Path string // URL path
	// SHA256 is the hex SHA-256 of the document's bytes.
	SHA256 string
	// LastModified is the Last-Modified served for these bytes, in whole
	// seconds; it never goes backwards for a path.
	LastModified time.Time
	// LastPing is when these bytes were announced to the hub; zero when
	// they have not been.
	LastPing time.Time
}

// Store keeps States. Implementations run Next inside the transaction that
// writes its result, so replicas sharing a database agree on one
// Last-Modified per set of bytes.
type Store interface {
	// FeedStates returns the stored states of paths; a path never stored
	// is absent from the map.
	FeedStates(ctx context.Context, paths []string) (map[string]State, error)
	// PutFeedState records st.SHA256 for st.Path (see Next) and returns
	// the state as stored.
	PutFeedState(ctx context.Context, st State) (State, error)
	// MarkFeedPinged sets LastPing of path to at if its stored bytes are
	// still sum (newer bytes are not marked by an older ping).
	MarkFeedPinged(ctx context.Context, path, sum string, at time.Time) error
}

// Next returns the state to store when a document's bytes are st.SHA256
// and prev is what is stored (nil when nothing is). Equal bytes keep prev.
// New bytes take st.LastModified (the document's newest item time) unless
// that is not after prev's, in which case they take a second after
// prev's: If-Modified-Since clients then see every change, including a
// withdrawal or a back-dated item that leaves the newest time as it was.
// LastPing is cleared, since the new bytes were not announced.
func Next(prev *State, st State) State {
	st.LastModified = st.LastModified.UTC().Truncate(time.Second)
	st.LastPing = time.Time{}
	if prev == nil {
		return st
	}
	if prev.SHA256 == st.SHA256 {
		return *prev
	}
	if floor := prev.LastModified.Add(time.Second); st.LastModified.Before(floor) {
		st.LastModified = floor
	}
	return st
}

// Memory is a Store in memory, for a Set without a database (previews,
// tests); its states last as long as the process.
type Memory struct {
	mu     sync.Mutex
	states map[string]State
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	m := &Memory{states: map[string]State{}}
	return m
}

// FeedStates implements Store.
func (m *Memory) FeedStates(_ context.Context, paths []string) (map[string]State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]State, len(paths))
	for _, p := range paths {
		if st, ok := m.states[p]; ok {
			out[p] = st
		}
	}
	return out, nil
}

// PutFeedState implements Store.
func (m *Memory) PutFeedState(_ context.Context, st State) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var prev *State
	if old, ok := m.states[st.Path]; ok {
		prev = &old
	}
	next := Next(prev, st)
	m.states[st.Path] = next
	return next, nil
}

// MarkFeedPinged implements Store.
func (m *Memory) MarkFeedPinged(_ context.Context, path, sum string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.states[path]; ok && st.SHA256 == sum {
		st.LastPing = at.UTC()
		m.states[path] = st
	}
	return nil
}

// Package storage ties the article and subscriber stores together behind one
// interface and opens the backend a database URL names: SQLite (the default,
// a file under the data directory) or PostgreSQL (for several replicas).
package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/feeds/audience"
	"github.com/syndicated/syndicated/feeds/feedstate"
	"github.com/syndicated/syndicated/feeds/websub"
	"github.com/syndicated/syndicated/storage/postgres"
	"github.com/syndicated/syndicated/storage/sqlite"
	"github.com/syndicated/syndicated/subscribers"
)

// Locker hands out named locks so that a scheduled job runs on one replica
// only. TryLock does not wait: ok is false when someone else holds name.
// release must be called once the job is done; calling it again is a no-op.
//
// On PostgreSQL the lock is a session advisory lock, exclusive across every
// process sharing the database schema (deployments in other schemas of the
// same database have locks of their own). On SQLite it is exclusive within one Store
// only, which is enough because SQLite serves a single process.
type Locker interface {
	TryLock(ctx context.Context, name string) (release func(), ok bool, err error)
}

// Storage is everything the daemon keeps.
type Storage interface {
	article.Store
	article.ChangeLog
	subscribers.Store
	digest.Store
	digest.CadenceStore
	subscribers.PreferenceStore
	subscribers.WelcomeOutbox
	feedstate.Store
	websub.Store
	audience.Store
	digest.Admin
	bounce.Store
	Locker
	// PutArticles applies PutArticle to each article in one transaction:
	// all are stored or, when one fails, none. For bulk loads and seeding
	// benchmarks; ingest that must keep the good files uses PutArticle.
	PutArticles(ctx context.Context, as []*article.Article, now time.Time) ([]article.PutResult, error)
	// Secret returns the value kept under name, or, when there is none yet,
	// calls generate and stores and returns its result. Processes sharing
	// the database that race on first use all get the one value stored
	// first. An error from generate is returned and nothing is stored.
	// For keys every replica must share (the HMAC key of signed tokens).
	Secret(ctx context.Context, name string, generate func() (string, error)) (string, error)
	// SubscriberCounts and OpenDeliveryCounts are the counts the metrics
	// read at scrape time (metrics.Store).
	SubscriberCounts(ctx context.Context) (map[subscribers.Status]int, error)
	OpenDeliveryCounts(ctx context.Context, now time.Time) (byState map[digest.State]int, due int, err error)
	Ping(ctx context.Context) error
	Close() error
}

// Compile-time checks that both backends implement Storage.
var (
	_ Storage = (*sqlite.Store)(nil)
	_ Storage = (*postgres.Store)(nil)
)

// DefaultDataDir is where data lives when no directory is given.
const DefaultDataDir = "data"

// DefaultSQLiteFile is the SQLite file name inside the data directory.
const DefaultSQLiteFile = "syndicated.db"

// ErrUnsupportedURL is returned (wrapped) for a database URL whose scheme no
// backend handles.
var ErrUnsupportedURL = errors.New("unsupported database URL")

// Open opens the backend dbURL names, creating and migrating its schema:
//
//	""                               SQLite at dataDir/syndicated.db
//	sqlite: / sqlite://              same
//	sqlite:PATH, sqlite://PATH, file:PATH
//	                                 SQLite at PATH, relative to dataDir
//	sqlite:///ABS/PATH               SQLite at an absolute path
//	postgres://…, postgresql://…     PostgreSQL (pgx connection string)
//
// dataDir defaults to DefaultDataDir and is created when SQLite needs it.
func Open(ctx context.Context, dbURL, dataDir string) (Storage, error) {
	if dataDir == "" {
		dataDir = DefaultDataDir
	}
	scheme, rest, hasScheme := strings.Cut(dbURL, ":")
	if !hasScheme {
		// A bare path is ambiguous with a typo'd URL; only "" is accepted.
		if dbURL == "" {
			return openSQLite(ctx, "", dataDir)
		}
		return nil, fmt.Errorf("%w %q: want sqlite:PATH or postgres://…", ErrUnsupportedURL, Redact(dbURL))
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "file":
		return openSQLite(ctx, sqlitePath(rest), dataDir)
	case "postgres", "postgresql":
		s, err := postgres.Open(ctx, dbURL)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", Redact(dbURL), err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("%w: scheme %q in %q (want sqlite: or postgres://)", ErrUnsupportedURL, scheme, Redact(dbURL))
	}
}

// sqlitePath extracts the file path from what follows "sqlite:" or "file:",
// dropping any query string (pragmas are fixed by the backend).
func sqlitePath(rest string) string {
	rest, _, _ = strings.Cut(rest, "?")
	if p, ok := strings.CutPrefix(rest, "//"); ok {
		// sqlite:///abs → "/abs"; sqlite://rel/x.db → "rel/x.db".
		return p
	}
	return rest
}

func openSQLite(ctx context.Context, path, dataDir string) (Storage, error) {
	if path == "" {
		path = DefaultSQLiteFile
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dataDir, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Redact returns dbURL with any password replaced, for logs and errors.
func Redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		// Unparseable: keep only the scheme so a password cannot leak.
		if scheme, _, ok := strings.Cut(dbURL, ":"); ok {
			return scheme + ":…"
		}
		return "…"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Package postgres stores articles and subscribers in PostgreSQL through
// pgx, for several replicas sharing one database. Writers of the same row
// serialise on SELECT … FOR UPDATE; insert races end in ON CONFLICT.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/syndicated/syndicated/storage/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock classes for the two-int4 key space, which PostgreSQL keeps
// apart from the single-bigint space TryLock uses.
const (
	lockClassMigrate    = 0x53594e01 // "SYN" 1
	lockClassSubscriber = 0x53594e02
)

// Store is the PostgreSQL backend. Its zero value is not usable; call Open.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects with a pgx connection string (postgres://… or key=value),
// checks the server answers, and applies pending migrations. Connection
// parameters pgx does not know (search_path=…) are sent to the server.
func Open(ctx context.Context, connString string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgx's parse errors do not echo the password.
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return s, nil
}

// Pool exposes the connection pool for packages that add their own tables
// through later migrations.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Close closes the pool, releasing every advisory lock still held.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// lockKey maps a lock name to the bigint key space of advisory locks.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("syndicated:" + name))
	return int64(h.Sum64())
}

// TryLock takes a session advisory lock on a connection it keeps out of the
// pool until release, so the lock lives exactly as long as the job. If the
// process dies the connection drops and the server frees the lock.
func (s *Store) TryLock(ctx context.Context, name string) (func(), bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	key := lockKey(name)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		conn.Release()
		return func() {}, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// The caller's ctx may be done by now; unlocking must still happen.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var released bool
			if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&released); err != nil || !released {
				// Closing the session is the sure way to drop the lock.
				c := conn.Hijack()
				c.Close(ctx)
				return
			}
			conn.Release()
		})
	}, true, nil
}

// migrate applies pending migrations in one transaction, under an advisory
// transaction lock so that replicas starting together take turns; the second
// finds everything applied.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, int32(lockClassMigrate)); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		applied := map[int]bool{}
		for _, v := range versions {
			applied[int(v)] = true
		}
		for _, m := range ms {
			if applied[m.Version] {
				continue
			}
			// No arguments: pgx uses the simple protocol, which allows
			// several statements in one file.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`,
				m.Version, m.Name); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

var errNoRows = pgx.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }

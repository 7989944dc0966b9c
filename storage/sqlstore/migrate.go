package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/syndicated/syndicated/storage/internal/migrate"
)

// migrations are written once for both backends. {{NAME}} stands for a type
// that differs (Dialect.Types), and a line starting "--sqlite " or
// "--postgres " is that backend's only, without the prefix. A migration's
// identity is its version and file name, as recorded in schema_migrations.
//
//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the migrations rendered for d, ordered by version.
func Migrations(d *Dialect) ([]migrate.Migration, error) {
	ms, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	for i, m := range ms {
		lines := strings.Split(m.SQL, "\n")
		for j, line := range lines {
			if rest, ok := strings.CutPrefix(line, "--"+d.Name+" "); ok {
				lines[j] = rest
			}
		}
		text := strings.Join(lines, "\n")
		for k, v := range d.Types {
			text = strings.ReplaceAll(text, "{{"+k+"}}", v)
		}
		if k := strings.Index(text, "{{"); k >= 0 {
			return nil, fmt.Errorf("migration %s: no %s type for %.20s", m.Name, d.Name, text[k:])
		}
		ms[i].SQL = text
	}
	return ms, nil
}

// Migrate applies every migration not yet in schema_migrations, in one write
// transaction (after the dialect's migration lock) so that two processes
// cannot both apply one: the second finds everything applied. A database
// migrated by a newer binary, with versions this one does not know, is
// refused.
func (s *Store) Migrate(ctx context.Context) error {
	return s.MigrateTo(ctx, 0)
}

// dataSteps are what a migration cannot say in SQL: each runs in the
// migration transaction right after the SQL file of its version.
var dataSteps = map[int]func(ctx context.Context, q db) error{
	11: mergeCaseDuplicates,
	40: backfillArticleKeys,
}

// MigrateTo is Migrate up to version upTo only (0: every version), for
// tests of a migration on data written before it.
func (s *Store) MigrateTo(ctx context.Context, upTo int) error {
	ms, err := Migrations(s.d)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(q db) error {
		for _, stmt := range []string{s.d.MigrateLock, s.d.MigrationsTable} {
			if stmt == "" {
				continue
			}
			if _, err := q.exec(ctx, stmt); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
		versions, err := collect(func(r *sql.Rows) (int, error) {
			var v int
			return v, r.Scan(&v)
		})(q.query(ctx, `SELECT version FROM schema_migrations`))
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		known := ms[len(ms)-1].Version
		applied := map[int]bool{}
		for _, v := range versions {
			if v > known {
				return fmt.Errorf("database schema is at version %d, this syndicated knows up to %d: upgrade syndicated",
					maxOf(versions), known)
			}
			applied[v] = true
		}
		for _, m := range ms {
			if applied[m.Version] || (upTo > 0 && m.Version > upTo) {
				continue
			}
			// No arguments: both drivers then run every statement of the file.
			if _, err := q.c.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if step := dataSteps[m.Version]; step != nil {
				if err := step(ctx, q); err != nil {
					return fmt.Errorf("migration %s: %w", m.Name, err)
				}
			}
			if _, err := q.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, q.t(time.Now())); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// backfillArticleKeys fills article_authors and article_tags (migration
// 0040) for the articles stored before them, a batch of documents at a time.
func backfillArticleKeys(ctx context.Context, q db) error {
	const batch = 1000
	after := ""
	for {
		type row struct {
			id  string
			doc []byte
		}
		rows, err := collect(func(r *sql.Rows) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.doc)
		})(q.query(ctx, fmt.Sprintf(`SELECT id, doc FROM articles WHERE id > ? ORDER BY id LIMIT %d`, batch), after))
		if err != nil {
			return fmt.Errorf("backfill author and tag feeds: %w", err)
		}
		for _, r := range rows {
			a, err := decodeArticle(r.doc)
			if err != nil {
				return fmt.Errorf("backfill author and tag feeds: article %s: %w", r.id, err)
			}
			pub := q.t(a.Published)
			if err := putKeyRows(ctx, q, "article_authors", "slug", r.id, a.AuthorSlugs(), pub, a.Status); err != nil {
				return fmt.Errorf("backfill author feeds: article %s: %w", r.id, err)
			}
			if err := putKeyRows(ctx, q, "article_tags", "slug", r.id, a.TagSlugs(), pub, a.Status); err != nil {
				return fmt.Errorf("backfill tag feeds: article %s: %w", r.id, err)
			}
		}
		if len(rows) < batch {
			return nil
		}
		after = rows[len(rows)-1].id
	}
}

func maxOf(vs []int) int {
	m := 0
	for _, v := range vs {
		m = max(m, v)
	}
	return m
}

package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Secret returns the value stored under name, or calls generate, stores its
// result and returns it. Replicas racing on one database all end with the
// value committed first: a second insert waits for the first to commit and
// then does nothing, and the read after it (a new snapshot under READ
// COMMITTED) sees the committed row.
func (s *Store) Secret(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !isNoRows(err) {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	gen, err := generate()
	if err != nil {
		return "", fmt.Errorf("secret %s: generate: %w", name, err)
	}
	if gen == "" {
		return "", fmt.Errorf("secret %s: generate returned an empty value", name)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, gen); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	})
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

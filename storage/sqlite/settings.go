package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Secret returns the value stored under name, or calls generate, stores its
// result and returns it. Processes racing on one file all end with the value
// that was stored first: the insert does nothing on conflict, and the value
// is read back in the same IMMEDIATE transaction.
func (s *Store) Secret(ctx context.Context, name string, generate func() (string, error)) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	gen, err := generate()
	if err != nil {
		return "", fmt.Errorf("secret %s: generate: %w", name, err)
	}
	if gen == "" {
		return "", fmt.Errorf("secret %s: generate returned an empty value", name)
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, gen); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	})
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

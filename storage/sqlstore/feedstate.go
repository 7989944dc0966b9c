package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/syndicated/syndicated/feeds/feedstate"
)

// FeedStates returns the stored states of paths, Dialect.Batch paths a query.
func (s *Store) FeedStates(ctx context.Context, paths []string) (map[string]feedstate.State, error) {
	out := make(map[string]feedstate.State, len(paths))
	q := s.read()
	for start := 0; start < len(paths); start += s.d.Batch {
		chunk := paths[start:min(start+s.d.Batch, len(paths))]
		args := make([]any, len(chunk))
		for i, p := range chunk {
			args[i] = p
		}
		states, err := collect(func(r *sql.Rows) (feedstate.State, error) { return scanFeedState(r) })(q.query(ctx,
			`SELECT path, sha256, last_modified, last_ping FROM feed_state WHERE path IN `+values(1, len(chunk)), args...))
		if err != nil {
			return nil, fmt.Errorf("feed states: %w", err)
		}
		for _, st := range states {
			out[st.Path] = st
		}
	}
	return out, nil
}

func scanFeedState(r rowScanner) (feedstate.State, error) {
	var st feedstate.State
	err := r.Scan(&st.Path, &st.SHA256, tm{&st.LastModified}, tm{&st.LastPing})
	return st, err
}

// PutFeedState stores feedstate.Next of the stored row and st, reading the
// row with the dialect's lock so that replicas take turns; two inserting a
// new path at once meet in ON CONFLICT and the loser retries as an update.
func (s *Store) PutFeedState(ctx context.Context, st feedstate.State) (feedstate.State, error) {
	for attempt := 0; ; attempt++ {
		var out feedstate.State
		err := s.tx(ctx, func(q db) error {
			var prev *feedstate.State
			old, err := scanFeedState(q.row(ctx, `SELECT path, sha256, last_modified, last_ping FROM feed_state
				WHERE path = ?`+q.d.ForUpdate, st.Path))
			switch {
			case err == nil:
				prev = &old
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			out = feedstate.Next(prev, st)
			switch {
			case prev != nil && prev.SHA256 == out.SHA256:
				return nil
			case prev != nil:
				_, err = q.exec(ctx, `UPDATE feed_state SET sha256 = ?, last_modified = ?, last_ping = NULL WHERE path = ?`,
					out.SHA256, q.t(out.LastModified), out.Path)
				return err
			}
			n, err := q.execN(ctx, `INSERT INTO feed_state (path, sha256, last_modified) VALUES (?, ?, ?)
				ON CONFLICT (path) DO NOTHING`, out.Path, out.SHA256, q.t(out.LastModified))
			if err == nil && n == 0 {
				err = errRace
			}
			return err
		})
		if errors.Is(err, errRace) && attempt < 3 {
			continue
		}
		if err != nil {
			return feedstate.State{}, fmt.Errorf("put feed state %s: %w", st.Path, err)
		}
		return out, nil
	}
}

// MarkFeedPinged records a ping of path's bytes sum.
func (s *Store) MarkFeedPinged(ctx context.Context, path, sum string, at time.Time) error {
	err := s.tx(ctx, func(q db) error {
		_, err := q.exec(ctx, `UPDATE feed_state SET last_ping = ? WHERE path = ? AND sha256 = ?`, q.t(at), path, sum)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark feed %s pinged: %w", path, err)
	}
	return nil
}
